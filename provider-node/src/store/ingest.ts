// One pass over an uploaded body: bytes go to temporary files (one per 1 MiB UnixFS leaf) while
// the segment tree (with the prover's CCMT cache levels), the UnixFS CID and its dag-pb nodes
// are computed, the leaves hashed in worker threads. Nothing here touches the blockstore: the
// caller imports only what it checked.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

import * as dagPb from "@ipld/dag-pb";
import {
  SEGMENT_SIZE,
  SHARD_UNIXFS_PARAMS,
  SegmentTreeBuilder,
  UnixfsCidBuilder,
  type SegmentTreeCache,
} from "@coop-cloud/sdk";
import type { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";

import { HttpError } from "../errors.ts";
import { defaultLeafHashWorkers, LeafHashers, type LeafHashes } from "./leaf-hashers.ts";

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
  /** Worker threads hashing leaves; 0 hashes on the calling thread. @default defaultLeafHashWorkers() from 8 MiB, else 0 */
  hashWorkers?: number;
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

/** A 1 MiB leaf is a complete segment subtree of this height (2^11 segments of 512 bytes). */
const LEAF_HEIGHT = Math.log2(LEAF / SEGMENT_SIZE);
/** Uploads at least this long hash their leaves in worker threads (smaller: inline). */
const WORKER_THRESHOLD = 8 * LEAF;

/**
 * Streams `body` into the temporary folder `tmpDir`, one file per 1 MiB UnixFS leaf (so the
 * import can move each leaf into the blockstore instead of copying it), computing every
 * commitment on the way. Each full leaf is gathered in a shared 1 MiB buffer, then a worker
 * thread writes it to its file and hashes it (segment subtree and SHA-256): the main thread only
 * copies bytes and assembles the results in order. A few leaves are in flight at most; the next
 * body chunk is read only when a buffer is free (backpressure).
 */
export async function receiveShard(
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  tmpDir: string,
  options: ReceiveOptions,
): Promise<ReceivedShard> {
  const tree = new SegmentTreeBuilder({ cacheLevel: options.cacheLevel });
  const nodes: { cid: CID; bytes: Uint8Array }[] = [];
  const unixfs = new UnixfsCidBuilder({ onNode: (cid, bytes) => nodes.push({ cid, bytes }) });
  const height = Math.min(options.cacheLevel, LEAF_HEIGHT);
  const workers =
    options.hashWorkers ?? (options.maxBytes >= WORKER_THRESHOLD ? defaultLeafHashWorkers() : 0);
  const hashers = new LeafHashers(workers);
  const maxSlots = 2 * Math.max(1, workers) + 2;
  const free: SharedArrayBuffer[] = [];
  let allocated = 0;
  const inFlight: Promise<{ slot: SharedArrayBuffer; hashes: LeafHashes }>[] = [];
  /** Takes the oldest leaf's hashes into the tree and the CID, and frees its buffer. */
  const settleOldest = async () => {
    const { slot, hashes } = await (inFlight.shift() as (typeof inFlight)[number]);
    for (let off = 0; off < hashes.nodes.length; off += 32)
      tree.pushSubtree(hashes.nodes.subarray(off, off + 32), height);
    unixfs.pushLeaf(hashes.digest, LEAF);
    free.push(slot);
  };
  const take = async (): Promise<SharedArrayBuffer> => {
    while (free.length === 0 && allocated === maxSlots) await settleOldest();
    if (free.length > 0) return free.pop() as SharedArrayBuffer;
    allocated++;
    return new SharedArrayBuffer(LEAF);
  };
  await mkdir(tmpDir);
  let slot = await take();
  let view = new Uint8Array(slot);
  let filled = 0;
  let leaf = 0;
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
      for (let off = 0; off < chunk.length;) {
        const n = Math.min(LEAF - filled, chunk.length - off);
        view.set(n === chunk.length ? chunk : chunk.subarray(off, off + n), filled);
        filled += n;
        off += n;
        if (filled < LEAF) continue;
        const full = slot;
        const job = hashers
          .writeAndHash(full, LEAF, leafFile(tmpDir, leaf++), height)
          .then((hashes) => ({ slot: full, hashes }));
        job.catch(() => undefined); // awaited in order by settleOldest, or dropped on failure
        inFlight.push(job);
        slot = await take();
        view = new Uint8Array(slot);
        filled = 0;
      }
    }
    while (inFlight.length > 0) await settleOldest();
    // The last, shorter leaf (or the one empty leaf of an empty body) is hashed here.
    if (filled > 0 || leaf === 0) {
      const last = view.subarray(0, filled);
      await writeFile(leafFile(tmpDir, leaf), last, { flag: "wx" });
      tree.update(last);
      unixfs.update(last);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOSPC")
      throw new HttpError(507, "disk_full", "the provider's disk is full");
    throw e;
  } finally {
    await Promise.allSettled(inFlight);
    await hashers.close();
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
