// A shard's UnixFS CID, computed while the shard streams past, with no blockstore: leaves are
// hashed as they arrive and the balanced DAG's dag-pb nodes are built level by level. Gives the
// same CID as ipfs-unixfs-importer (what Helia's `addByteStream` uses) with the parameters below.
import * as dagPb from "@ipld/dag-pb";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import * as Digest from "multiformats/hashes/digest";
import { InvalidParametersError } from "../errors.ts";

/**
 * The import parameters of every shard: @helia/unixfs `addByteStream` defaults and IPIP-499's
 * `unixfs-v1-2025` profile. Pinned here because importer defaults move between versions
 * (ipfs-unixfs-importer alone defaults to 256 KiB chunks and 174 links). A provider imports a
 * shard with exactly these: `{ cidVersion: 1, rawLeaves: true, reduceSingleLeafToSelf: true,
 * chunker: fixedSize({ chunkSize: 1048576 }), layout: balanced({ maxChildrenPerNode: 1024 }) }`,
 * no mtime or mode.
 */
export const SHARD_UNIXFS_PARAMS = {
  /** Fixed-size chunker: leaf size in bytes. */
  chunkSize: 1_048_576,
  /** Balanced layout: links per dag-pb node. */
  maxChildrenPerNode: 1024,
  cidVersion: 1,
  rawLeaves: true,
  reduceSingleLeafToSelf: true,
} as const;

const SHA2_256 = 0x12;

/** Incremental SHA-256. */
export interface StreamingSha256 {
  readonly name: string;
  create(): { update(data: Uint8Array): unknown; digest(): Uint8Array };
}

/** @noble/hashes: browsers, workers, anywhere. */
export const portableStreamingSha256: StreamingSha256 = {
  name: "portable",
  create: () => nobleSha256.create(),
};

type NodeCrypto = {
  createHash(alg: string): { update(data: Uint8Array): unknown; digest(): Uint8Array };
};

/** node:crypto's `createHash`, reached without a static import; `undefined` outside Node. */
export function getNodeStreamingSha256(): StreamingSha256 | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const crypto = proc?.getBuiltinModule?.("node:crypto") as NodeCrypto | undefined;
  if (typeof crypto?.createHash !== "function") return undefined;
  return { name: "node:crypto", create: () => crypto.createHash("sha256") };
}

export interface UnixfsCidOptions {
  /** @default 1048576 */
  chunkSize?: number;
  /** @default 1024 */
  maxChildrenPerNode?: number;
  /** @default node:crypto in Node, @noble/hashes elsewhere */
  sha256?: StreamingSha256;
  /**
   * Called with each dag-pb node (not the raw leaves, which are the shard bytes themselves),
   * e.g. to write a CAR file alongside.
   */
  onNode?: (cid: CID, bytes: Uint8Array) => void;
}

interface Child {
  cid: CID;
  /** Bytes of file data under this child (UnixFS blocksize). */
  fileSize: number;
  /** Cumulative DAG size (dag-pb Tsize). */
  tsize: number;
}

export interface UnixfsCidResult {
  /** Root CID of the file (CIDv1; raw for a file of at most one chunk, dag-pb above). */
  cid: CID;
  /** File bytes. */
  size: number;
  /** Number of leaves (chunks); an empty file has one empty leaf. */
  leafCount: number;
}

function pushVarint(out: number[], value: number): void {
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

/**
 * The UnixFS `Data` protobuf of a file node without inline data: `Type = File`, `filesize`, one
 * `blocksizes` entry per child, in the field order ipfs-unixfs writes (so the bytes, and the
 * CID, are the same as its `marshal()`). Written here rather than by ipfs-unixfs because its
 * encoder (protons-runtime 7.1 and 8.0 `Writer.uint64`) writes a uint64 in [2^31, 2^32) as one
 * byte and leaves four bytes of the buffer uninitialized: a file node of 2–4 GiB gets a
 * different, wrong CID on every run.
 */
export function encodeUnixfsFileData(blockSizes: readonly number[]): Uint8Array {
  const out = [0x08, 0x02, 0x18];
  pushVarint(
    out,
    blockSizes.reduce((a, b) => a + b, 0),
  );
  for (const size of blockSizes) {
    out.push(0x20);
    pushVarint(out, size);
  }
  return Uint8Array.from(out);
}

/** Computes a UnixFS file CID from bytes fed in chunks of any size. Memory: one pending node per level. */
export class UnixfsCidBuilder {
  readonly chunkSize: number;
  readonly maxChildrenPerNode: number;
  readonly #sha: StreamingSha256;
  readonly #onNode: UnixfsCidOptions["onNode"];
  #leafHash: ReturnType<StreamingSha256["create"]>;
  #leafFilled = 0;
  #size = 0;
  #leafCount = 0;
  /** levels[l]: children waiting for their parent at height l+1 (level 0 holds leaves). */
  readonly #levels: Child[][] = [[]];
  #finished = false;
  #lastLeafPushed = false;

  constructor(options: UnixfsCidOptions = {}) {
    this.chunkSize = options.chunkSize ?? SHARD_UNIXFS_PARAMS.chunkSize;
    this.maxChildrenPerNode = options.maxChildrenPerNode ?? SHARD_UNIXFS_PARAMS.maxChildrenPerNode;
    if (!Number.isSafeInteger(this.chunkSize) || this.chunkSize < 1)
      throw new InvalidParametersError("chunkSize", this.chunkSize, "must be an integer ≥ 1");
    if (!Number.isSafeInteger(this.maxChildrenPerNode) || this.maxChildrenPerNode < 2)
      throw new InvalidParametersError(
        "maxChildrenPerNode",
        this.maxChildrenPerNode,
        "must be an integer ≥ 2",
      );
    this.#sha = options.sha256 ?? getNodeStreamingSha256() ?? portableStreamingSha256;
    this.#onNode = options.onNode;
    this.#leafHash = this.#sha.create();
  }

  update(chunk: Uint8Array): void {
    if (this.#finished)
      throw new InvalidParametersError("chunk", chunk.length, "update() after finish()");
    if (this.#lastLeafPushed && chunk.length > 0)
      throw new InvalidParametersError("chunk", chunk.length, "update() after the last leaf");
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(this.chunkSize - this.#leafFilled, chunk.length - off);
      this.#leafHash.update(n === chunk.length ? chunk : chunk.subarray(off, off + n));
      this.#leafFilled += n;
      off += n;
      if (this.#leafFilled === this.chunkSize) this.#endLeaf();
    }
    this.#size += chunk.length;
  }

  /**
   * Adds a whole leaf whose SHA-256 was computed elsewhere (a worker thread, or WebCrypto's
   * async `digest` in a browser), instead of its bytes. Leaves must be `chunkSize` bytes except
   * the last; not to be mixed with a partly fed leaf.
   */
  pushLeaf(digest: Uint8Array, size: number): void {
    if (this.#finished) throw new InvalidParametersError("leaf", size, "pushLeaf() after finish()");
    if (this.#leafFilled !== 0)
      throw new InvalidParametersError(
        "leaf",
        size,
        "pushLeaf() while a leaf is partly fed by update()",
      );
    if (this.#lastLeafPushed)
      throw new InvalidParametersError(
        "leaf",
        size,
        "a leaf shorter than chunkSize must be the last",
      );
    if (!Number.isSafeInteger(size) || size < 0 || size > this.chunkSize)
      throw new InvalidParametersError("size", size, `a leaf holds 0..${this.chunkSize} bytes`);
    if (digest.length !== 32)
      throw new InvalidParametersError("digest", digest.length, "must be 32 bytes");
    if (size < this.chunkSize) this.#lastLeafPushed = true;
    // The chunker emits an empty chunk only for an empty file: after data, an empty leaf is none.
    if (size === 0 && this.#leafCount > 0) return;
    this.#addLeaf(digest.slice(), size);
    this.#size += size;
  }

  #endLeaf(): void {
    this.#addLeaf(this.#leafHash.digest(), this.#leafFilled);
    this.#leafHash = this.#sha.create();
    this.#leafFilled = 0;
  }

  #addLeaf(digest: Uint8Array, size: number): void {
    const cid = CID.createV1(raw.code, Digest.create(SHA2_256, digest));
    this.#push(0, { cid, fileSize: size, tsize: size });
    this.#leafCount++;
  }

  #push(level: number, child: Child): void {
    const list = this.#levels[level];
    list.push(child);
    // A full batch becomes a node at once: the balanced layout batches each level the same way
    // whatever follows, so only the topmost single node's role (root or not) waits for finish().
    if (list.length === this.maxChildrenPerNode) {
      this.#levels[level] = [];
      if (this.#levels.length === level + 1) this.#levels.push([]);
      this.#push(level + 1, this.#node(list));
    }
  }

  #node(children: Child[]): Child {
    const blockSizes: number[] = [];
    const links: dagPb.PBLink[] = [];
    let tsize = 0;
    let fileSize = 0;
    for (const c of children) {
      blockSizes.push(c.fileSize);
      links.push({ Name: "", Tsize: c.tsize, Hash: c.cid });
      tsize += c.tsize;
      fileSize += c.fileSize;
    }
    const data = encodeUnixfsFileData(blockSizes);
    const bytes = dagPb.encode(dagPb.prepare({ Data: data, Links: links }));
    const h = this.#sha.create();
    h.update(bytes);
    const cid = CID.createV1(dagPb.code, Digest.create(SHA2_256, h.digest()));
    this.#onNode?.(cid, bytes);
    return { cid, fileSize, tsize: tsize + bytes.length };
  }

  finish(): UnixfsCidResult {
    if (this.#finished) throw new InvalidParametersError("finish", 2, "finish() called twice");
    this.#finished = true;
    // The chunker emits a last partial chunk, or one empty chunk for an empty file.
    if (this.#leafFilled > 0 || this.#leafCount === 0) this.#endLeaf();
    const levels = this.#levels;
    if (this.#leafCount === 1) return { cid: levels[0][0].cid, size: this.#size, leafCount: 1 };
    for (let l = 0; ; l++) {
      const list = levels[l];
      const top = l === levels.length - 1;
      if (top && list.length === 1)
        return { cid: list[0].cid, size: this.#size, leafCount: this.#leafCount };
      if (list.length === 0) continue;
      if (top) levels.push([]);
      levels[l + 1].push(this.#node(list));
      levels[l] = [];
    }
  }
}

/** CID of a whole shard held in memory or streamed: `for await` over chunks. */
export async function computeUnixfsCid(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: UnixfsCidOptions = {},
): Promise<UnixfsCidResult> {
  const b = new UnixfsCidBuilder(options);
  for await (const chunk of source) b.update(chunk);
  return b.finish();
}
