// A shard's UnixFS CID (CIDv1, raw leaves, balanced DAG) from its leaves' SHA-256 digests, so
// workers hash 1 MiB leaves in parallel and the main thread only builds the few parent nodes.
// Same parameters as the cid module (SHARD_UNIXFS_PARAMS); tests check both give one CID.
// (The cid module's UnixfsCidBuilder takes bytes only; a pushLeaf(digest, size) there would
// make this file unnecessary.)
import * as dagPb from "@ipld/dag-pb";
import { UnixFS } from "ipfs-unixfs";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import * as Digest from "multiformats/hashes/digest";
import type { Sha256 } from "./hash.ts";

import { SHARD_UNIXFS_PARAMS } from "../cid/unixfs.ts";

/** UnixFS leaf (chunk) size of every shard: 1 MiB. */
export const UNIXFS_CHUNK_SIZE: number = SHARD_UNIXFS_PARAMS.chunkSize;
/** Children per parent node in the balanced layout. */
export const UNIXFS_MAX_CHILDREN: number = SHARD_UNIXFS_PARAMS.maxChildrenPerNode;

const SHA256_CODE = 0x12;

interface Node {
  cid: CID;
  /** Tsize: the bytes of this node's block plus everything under it. */
  size: number;
  /** File bytes under this node. */
  fileSize: number;
}

/** Raw-leaf CID from a leaf's SHA-256 digest. */
export function rawLeafCid(digest: Uint8Array): CID {
  return CID.createV1(raw.code, Digest.create(SHA256_CODE, digest));
}

/**
 * Streaming UnixFS file CID from leaf digests. Memory: the pending nodes of the first level
 * (at most `maxChildren`) plus one per level above, so it is bounded for any file size.
 */
export class UnixFsCombiner {
  readonly #sha: Sha256;
  readonly #maxChildren: number;
  /** levels[0]: pending leaves; levels[i]: pending parents of height i. */
  readonly #levels: Node[][] = [[]];
  #leaves = 0;

  constructor(sha: Sha256, maxChildren: number = UNIXFS_MAX_CHILDREN) {
    this.#sha = sha;
    this.#maxChildren = maxChildren;
  }

  /** Adds the next leaf (a chunk of `size` bytes whose SHA-256 is `digest`). */
  pushLeaf(digest: Uint8Array, size: number): void {
    this.#leaves++;
    this.#add(0, { cid: rawLeafCid(digest.slice(0, 32)), size, fileSize: size });
  }

  #add(level: number, node: Node): void {
    const nodes = (this.#levels[level] ??= []);
    // A full group is reduced only when one more node arrives: the last group is reduced at
    // finish() (and a lone top group may need no parent at all).
    if (nodes.length === this.#maxChildren) {
      this.#add(level + 1, this.#parent(nodes));
      nodes.length = 0;
    }
    nodes.push(node);
  }

  #parent(children: readonly Node[]): Node {
    const file = new UnixFS({ type: "file" });
    const links: dagPb.PBLink[] = [];
    let tsize = 0;
    let fileSize = 0;
    for (const c of children) {
      if (c.fileSize === 0) continue; // the importer drops empty leaves
      file.addBlockSize(BigInt(c.fileSize));
      links.push({ Name: "", Tsize: c.size, Hash: c.cid });
      tsize += c.size;
      fileSize += c.fileSize;
    }
    const block = dagPb.encode(dagPb.prepare({ Data: file.marshal(), Links: links }));
    const cid = CID.createV1(dagPb.code, Digest.create(SHA256_CODE, this.#sha(block).slice()));
    return { cid, size: block.length + tsize, fileSize };
  }

  /** The file's CID. One leaf is its own CID; otherwise groups are reduced level by level. */
  finish(): CID {
    if (this.#leaves === 0) throw new RangeError("no leaves");
    for (let level = 0; ; level++) {
      const nodes = this.#levels[level]!;
      const above = this.#levels[level + 1];
      if (above === undefined || above.length === 0) {
        if (nodes.length === 1) return nodes[0]!.cid;
        if (level === 0 || nodes.length > 1) {
          // balanced(): the remaining group becomes the root when nothing sits above it.
          return this.#parent(nodes).cid;
        }
      }
      this.#add(level + 1, this.#parent(nodes));
      nodes.length = 0;
    }
  }
}
