// One pass over an uploaded body: bytes go to temporary files (one per 1 MiB UnixFS leaf) while
// the segment tree (with the prover's CCMT cache levels), the UnixFS CID and its dag-pb nodes
// are computed. Nothing here touches the blockstore: the caller imports only what it checked.
import { type FileHandle, mkdir, open } from "node:fs/promises";
import { join } from "node:path";

import * as dagPb from "@ipld/dag-pb";
import {
  SHARD_UNIXFS_PARAMS,
  SegmentTreeBuilder,
  UnixfsCidBuilder,
  type SegmentTreeCache,
} from "@coop-cloud/sdk";
import type { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";

import { HttpError } from "../errors.ts";

const LEAF = SHARD_UNIXFS_PARAMS.chunkSize;

export interface ReceivedShard {
  size: number;
  root: Uint8Array;
  leafCount: number;
  cid: CID;
  cache: SegmentTreeCache;
  /** dag-pb nodes of the UnixFS DAG (empty when the file is one raw leaf). */
  nodes: { cid: CID; bytes: Uint8Array }[];
  /** Leaf CIDs in file order (1 MiB raw blocks). */
  leaves: CID[];
}

export interface ReceiveOptions {
  /** Most bytes accepted; more is a wrong_size refusal. */
  maxBytes: number;
  /** CCMT cache level. */
  cacheLevel: number;
  signal?: AbortSignal;
}

/** Leaf CIDs in order: the links of the nodes right above the leaves, in the order built. */
export function leavesOf(root: CID, nodes: { cid: CID; bytes: Uint8Array }[]): CID[] {
  if (root.code === raw.code) return [root];
  const leaves: CID[] = [];
  for (const n of nodes) {
    const links = dagPb.decode(n.bytes).Links;
    if (links.length > 0 && links[0].Hash.code === raw.code)
      for (const l of links) leaves.push(l.Hash);
  }
  return leaves;
}

/** File of leaf `i` inside an upload's temporary folder. */
export function leafFile(tmpDir: string, i: number): string {
  return join(tmpDir, `${i}.leaf`);
}

/**
 * Streams `body` into the temporary folder `tmpDir`, one file per 1 MiB UnixFS leaf (so the
 * import can move each leaf into the blockstore instead of copying it), computing every
 * commitment on the way.
 */
export async function receiveShard(
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  tmpDir: string,
  options: ReceiveOptions,
): Promise<ReceivedShard> {
  const tree = new SegmentTreeBuilder({ cacheLevel: options.cacheLevel });
  const nodes: { cid: CID; bytes: Uint8Array }[] = [];
  const unixfs = new UnixfsCidBuilder({ onNode: (cid, bytes) => nodes.push({ cid, bytes }) });
  await mkdir(tmpDir);
  let leaf = 0;
  let filled = 0;
  let fh: FileHandle = await open(leafFile(tmpDir, 0), "wx");
  let size = 0;
  try {
    for await (const chunk of body) {
      options.signal?.throwIfAborted();
      size += chunk.length;
      if (size > options.maxBytes)
        throw new HttpError(
          400,
          "wrong_size",
          `the body is longer than the deal's shard size of ${options.maxBytes} bytes`,
        );
      // Write while hashing: the writes run on the thread pool while this thread hashes.
      const write = (async () => {
        for (let off = 0; off < chunk.length;) {
          if (filled === LEAF) {
            await fh.close();
            fh = await open(leafFile(tmpDir, ++leaf), "wx");
            filled = 0;
          }
          const n = Math.min(LEAF - filled, chunk.length - off);
          await fh.write(chunk, off, n);
          filled += n;
          off += n;
        }
      })();
      tree.update(chunk);
      unixfs.update(chunk);
      await write;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOSPC")
      throw new HttpError(507, "disk_full", "the provider's disk is full");
    throw e;
  } finally {
    await fh.close();
  }
  const t = tree.finish();
  const c = unixfs.finish();
  return {
    size,
    root: t.root,
    leafCount: t.leafCount,
    cid: c.cid,
    cache: t.cache as SegmentTreeCache,
    nodes,
    leaves: leavesOf(c.cid, nodes),
  };
}
