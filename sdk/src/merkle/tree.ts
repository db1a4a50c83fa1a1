// Segment Merkle tree of a shard (docs/protocol.md, "Segment commitments"): streaming builder,
// proofs exactly as contracts/libraries/SegmentMerkle.sol checks them, and the provider's tree
// cache (levels at and above a cut) that makes a proof cost 2^L segment reads.
import { InvalidFormatError, InvalidParametersError, ShardMismatchError } from "../errors.ts";
import {
  SEGMENT_SIZE,
  getDefaultHasher,
  hashParents,
  hashSubtreeRoots,
  type SegmentHasher,
} from "./hasher.ts";

const ZERO32 = new Uint8Array(32);

/** Number of segments (leaves) of a shard of `shardSize` bytes: ceil(size / 512), at least 1. */
export function getSegmentCount(shardSize: number): number {
  return Math.max(1, Math.ceil(shardSize / SEGMENT_SIZE));
}

/** ceil(log2(leafCount)): the number of sibling hashes in a proof. */
export function getSegmentTreeDepth(leafCount: number): number {
  let d = 0;
  while (2 ** d < leafCount) d++;
  return d;
}

const zeroCache = new WeakMap<SegmentHasher, Uint8Array[]>();
/** Z[l]: root of an all-padding subtree of height l (Z[0] = bytes32(0)). */
function zeros(hasher: SegmentHasher, level: number): Uint8Array {
  let z = zeroCache.get(hasher);
  if (z === undefined) zeroCache.set(hasher, (z = [ZERO32]));
  while (z.length <= level) z.push(hasher.node(z[z.length - 1], z[z.length - 1]));
  return z[level];
}

/** Tree nodes at and above level `level` (0 = leaves), kept by a prover. */
export interface SegmentTreeCache {
  leafCount: number;
  root: Uint8Array;
  /** Lowest stored level L (≤ depth). A proof reads the 2^L segments under one level-L node. */
  level: number;
  /**
   * `levels[i]` holds level L+i, for L ≤ L+i < depth: ceil(leafCount / 2^(L+i)) nodes of 32
   * bytes, left to right. Nodes wholly inside the padding are not stored (they are Z[l]).
   */
  levels: Uint8Array[];
}

export interface SegmentTreeResult {
  /** The Merkle root committed on-chain. */
  root: Uint8Array;
  /** Number of 512-byte segments (leaves), at least 1. */
  leafCount: number;
  /** Present when a `cacheLevel` was asked for. */
  cache?: SegmentTreeCache;
}

export interface SegmentTreeOptions {
  /** Hash implementation. @default node:crypto in Node, portable elsewhere */
  hasher?: SegmentHasher;
  /**
   * Keep every node at this level and above, for proofs from a cache. Memory and cache size:
   * about 2·32·leafCount/2^L bytes (L = 6: 2 MiB per GiB of shard, proofs read 32 KiB).
   * @default undefined (root only, O(log n) memory)
   */
  cacheLevel?: number;
}

/** Growable flat array of 32-byte nodes (allocated on first use: most trees keep no cache). */
class NodeList {
  bytes = new Uint8Array(0);
  count = 0;
  /** Appends one node, or several (a multiple of 32 bytes). */
  push(nodes: Uint8Array): void {
    const need = this.count * 32 + nodes.length;
    if (need > this.bytes.length) {
      const next = new Uint8Array(Math.max(32 * 64, this.bytes.length * 2, need));
      next.set(this.bytes);
      this.bytes = next;
    }
    this.bytes.set(nodes, this.count * 32);
    this.count += nodes.length / 32;
  }
  toArray(): Uint8Array {
    return this.bytes.slice(0, this.count * 32);
  }
}

/** Segments hashed per batch: a 1 MiB window of the SIMD kernel, a subtree of height 11. */
const BATCH_HEIGHT = 11;
const BATCH = 2 ** BATCH_HEIGHT;

/**
 * Builds a shard's segment tree from bytes fed in chunks of any size. Without a cache level it
 * holds one partial segment and one node per level. Whole runs of segments are hashed in
 * batches (the hasher's `subtreeRoots` and `parents`: the WebAssembly SIMD kernel by default),
 * a lone segment or node one call at a time.
 */
export class SegmentTreeBuilder {
  readonly #hasher: SegmentHasher;
  readonly #cacheLevel: number | undefined;
  readonly #cached = new NodeList();
  readonly #stack: (Uint8Array | undefined)[] = [];
  readonly #partial = new Uint8Array(SEGMENT_SIZE);
  #partialLength = 0;
  #leafCount = 0;
  #finished = false;

  constructor(options: SegmentTreeOptions = {}) {
    this.#hasher = options.hasher ?? getDefaultHasher();
    const level = options.cacheLevel;
    if (level !== undefined && (!Number.isInteger(level) || level < 0 || level > 52))
      throw new InvalidParametersError("cacheLevel", level, "must be an integer in [0, 52]");
    this.#cacheLevel = level;
  }

  /** Bytes fed so far. */
  get bytesIn(): number {
    return this.#leafCount * SEGMENT_SIZE + this.#partialLength;
  }

  /**
   * Merges `nodes`, consecutive level-`level` nodes (32 bytes each) that start where the tree
   * stands (leafCount a multiple of 2^level), into the stack one level at a time, hashing each
   * level's pairs in one batch.
   */
  #mergeRun(nodes: Uint8Array, level: number): void {
    const stack = this.#stack;
    let run = nodes;
    for (let l = level; run.length > 0; l++) {
      if (l === this.#cacheLevel) this.#cached.push(run);
      const left = stack[l];
      if (left !== undefined) {
        const joined = new Uint8Array(32 + run.length);
        joined.set(left);
        joined.set(run, 32);
        run = joined;
        stack[l] = undefined;
      }
      if ((run.length / 32) % 2 === 1) {
        stack[l] = run.slice(run.length - 32);
        run = run.subarray(0, run.length - 32);
      }
      run = run.length > 0 ? hashParents(this.#hasher, run) : run;
    }
    this.#leafCount += (nodes.length / 32) * 2 ** level;
  }

  /** Whole segments (a multiple of 512 bytes), at a segment boundary. */
  #addSegments(bytes: Uint8Array): void {
    const total = bytes.length / SEGMENT_SIZE;
    let pos = 0;
    while (pos < total) {
      const c = this.#leafCount;
      // Up to the next multiple of BATCH segments, as whole subtrees of the largest height
      // that both the position and the run allow (and not above the cache level).
      const m = Math.min(BATCH - (c % BATCH), total - pos);
      let h = 0;
      while (h < BATCH_HEIGHT && c % 2 ** (h + 1) === 0 && 2 ** (h + 1) <= m) h++;
      if (this.#cacheLevel !== undefined) h = Math.min(h, this.#cacheLevel);
      const k = m - (m % 2 ** h);
      if (k < 2)
        this.#addLeaf(
          this.#hasher.leaf(bytes.subarray(pos * SEGMENT_SIZE, (pos + 1) * SEGMENT_SIZE)),
        );
      else
        this.#mergeRun(
          hashSubtreeRoots(
            this.#hasher,
            bytes.subarray(pos * SEGMENT_SIZE, (pos + k) * SEGMENT_SIZE),
            h,
          ),
          h,
        );
      pos += Math.max(k, 1);
    }
  }

  #addLeaf(leaf: Uint8Array): void {
    const stack = this.#stack;
    const hasher = this.#hasher;
    let h = leaf;
    let l = 0;
    if (this.#cacheLevel === 0) this.#cached.push(h);
    while (stack[l] !== undefined) {
      h = hasher.node(stack[l] as Uint8Array, h);
      stack[l] = undefined;
      l++;
      if (l === this.#cacheLevel) this.#cached.push(h);
    }
    stack[l] = h;
    this.#leafCount++;
  }

  /**
   * Appends a complete subtree of 2^height segments whose root was computed elsewhere (e.g. a
   * worker ran `computeSegmentTree` on a full 1 MiB block: height 11). The builder must be at a
   * multiple of 2^height segments with no partial segment; a last, shorter block is fed with
   * `update()`. With a cache level, height must not exceed it.
   */
  pushSubtree(root: Uint8Array, height: number): void {
    if (this.#finished)
      throw new InvalidParametersError("subtree", height, "pushSubtree() after finish()");
    if (!Number.isInteger(height) || height < 0 || height > 52)
      throw new InvalidParametersError("height", height, "must be an integer in [0, 52]");
    if (root.length !== 32)
      throw new InvalidParametersError("root", root.length, "must be 32 bytes");
    if (this.#cacheLevel !== undefined && height > this.#cacheLevel)
      throw new InvalidParametersError(
        "height",
        height,
        `must be ≤ the cache level ${this.#cacheLevel}`,
      );
    if (this.#partialLength !== 0 || this.#leafCount % 2 ** height !== 0)
      throw new InvalidParametersError(
        "height",
        height,
        `subtree must start at a multiple of ${2 ** height} segments (at ${this.bytesIn} bytes)`,
      );
    this.#mergeRun(Uint8Array.from(root), height);
  }

  update(chunk: Uint8Array): void {
    if (this.#finished)
      throw new InvalidParametersError("chunk", chunk.length, "update() after finish()");
    let off = 0;
    if (this.#partialLength > 0) {
      const n = Math.min(SEGMENT_SIZE - this.#partialLength, chunk.length);
      this.#partial.set(chunk.subarray(0, n), this.#partialLength);
      this.#partialLength += n;
      off = n;
      if (this.#partialLength < SEGMENT_SIZE) return;
      this.#addLeaf(this.#hasher.leaf(this.#partial));
      this.#partialLength = 0;
    }
    const whole = Math.floor((chunk.length - off) / SEGMENT_SIZE) * SEGMENT_SIZE;
    if (whole > 0) this.#addSegments(chunk.subarray(off, off + whole));
    off += whole;
    if (off < chunk.length) {
      this.#partial.set(chunk.subarray(off));
      this.#partialLength = chunk.length - off;
    }
  }

  finish(): SegmentTreeResult {
    if (this.#finished) throw new InvalidParametersError("finish", 2, "finish() called twice");
    this.#finished = true;
    const hasher = this.#hasher;
    if (this.#partialLength > 0 || this.#leafCount === 0) {
      this.#partial.fill(0, this.#partialLength);
      this.#addLeaf(hasher.leaf(this.#partial));
    }
    const leafCount = this.#leafCount;
    const depth = getSegmentTreeDepth(leafCount);
    const stack = this.#stack;
    let tail: Uint8Array | undefined;
    for (let l = 0; l < depth; l++) {
      if (l === this.#cacheLevel && tail !== undefined) this.#cached.push(tail);
      const left = stack[l];
      if (left !== undefined) tail = hasher.node(left, tail ?? zeros(hasher, l));
      else if (tail !== undefined) tail = hasher.node(tail, zeros(hasher, l));
    }
    const root = tail ?? (stack[depth] as Uint8Array);
    const result: SegmentTreeResult = { root: Uint8Array.from(root), leafCount };
    if (this.#cacheLevel !== undefined) {
      const level = Math.min(this.#cacheLevel, depth);
      const levels: Uint8Array[] = [];
      if (level < depth) {
        levels.push(this.#cached.toArray());
        for (let l = level; l < depth - 1; l++)
          levels.push(parentLevel(hasher, levels[levels.length - 1], l));
      }
      result.cache = { leafCount, root: result.root, level, levels };
    }
    return result;
  }
}

/** Level l+1 from level l (count_l nodes; a missing right sibling is padding). */
function parentLevel(hasher: SegmentHasher, nodes: Uint8Array, l: number): Uint8Array {
  const count = nodes.length / 32;
  const pairs = Math.floor(count / 2);
  const even = hashParents(hasher, nodes.subarray(0, 64 * pairs));
  if (count % 2 === 0) return even;
  const out = new Uint8Array((pairs + 1) * 32);
  out.set(even);
  out.set(hasher.node(nodes.subarray(64 * pairs), zeros(hasher, l)), 32 * pairs);
  return out;
}

/** Root and leaf count of a whole shard held in memory. */
export function computeSegmentTree(
  data: Uint8Array,
  options: SegmentTreeOptions = {},
): SegmentTreeResult {
  const b = new SegmentTreeBuilder(options);
  b.update(data);
  return b.finish();
}

/** A challenged segment and its sibling path, leaf level first: what the contract checks. */
export interface SegmentProof {
  /** Exactly 512 bytes (the last segment of a shard zero-padded). */
  segment: Uint8Array;
  /** depth sibling hashes of 32 bytes, leaf level first. */
  path: Uint8Array[];
}

/** Reads segments [first, first + count) of a shard; fewer bytes only at the shard's end. */
export type ReadSegments = (first: number, count: number) => Uint8Array | Promise<Uint8Array>;

function checkIndex(index: number, leafCount: number): void {
  if (!Number.isSafeInteger(index) || index < 0 || index >= leafCount)
    throw new InvalidParametersError("index", index, `segment index must be in [0, ${leafCount})`);
}

function proveWithBytes(
  cache: SegmentTreeCache,
  index: number,
  bytes: Uint8Array,
  hasher: SegmentHasher,
): SegmentProof {
  const { leafCount, level: L } = cache;
  const depth = getSegmentTreeDepth(leafCount);
  const first = Math.floor(index / 2 ** L) * 2 ** L;
  const count = Math.min(2 ** L, leafCount - first);
  if (bytes.length > count * SEGMENT_SIZE || bytes.length <= (count - 1) * SEGMENT_SIZE)
    if (!(count === 1 && bytes.length === 0))
      throw new ShardMismatchError(
        `read ${bytes.length} bytes for segments ${first}..${first + count - 1}`,
        {
          expected: count * SEGMENT_SIZE,
          actual: bytes.length,
        },
      );
  const padded = new Uint8Array(count * SEGMENT_SIZE);
  padded.set(bytes);
  // Rebuild the subtree under the level-L node, collecting the siblings on the way up.
  let nodes = hashSubtreeRoots(hasher, padded, 0);
  const path: Uint8Array[] = [];
  let pos = index - first;
  for (let l = 0; l < Math.min(L, depth); l++) {
    const sib = pos ^ 1;
    path.push(sib * 32 < nodes.length ? nodes.slice(32 * sib, 32 * sib + 32) : zeros(hasher, l));
    nodes = parentLevel(hasher, nodes, l);
    pos >>= 1;
  }
  const top = nodes.subarray(0, 32);
  const expected =
    L < depth
      ? cache.levels[0].subarray(32 * (first / 2 ** L), 32 * (first / 2 ** L) + 32)
      : cache.root;
  if (!equalBytes(top, expected))
    throw new ShardMismatchError(
      `segments ${first}..${first + count - 1} do not match the tree cache`,
      {
        expected: toHex(expected),
        actual: toHex(top),
      },
    );
  for (let l = L; l < depth; l++) {
    const nodesAt = cache.levels[l - L];
    const sib = Math.floor(index / 2 ** l) ^ 1;
    path.push(
      sib * 32 < nodesAt.length ? nodesAt.slice(sib * 32, sib * 32 + 32) : zeros(hasher, l),
    );
  }
  return {
    segment: padded.slice((index - first) * SEGMENT_SIZE, (index - first + 1) * SEGMENT_SIZE),
    path,
  };
}

/**
 * Builds the proof for segment `index` from a tree cache plus the 2^L segments under its
 * level-L node (one contiguous read of 2^L·512 bytes). Throws ShardMismatchError when the
 * segments read do not hash to the cached node: the stored shard is damaged.
 */
export async function proveFromCache(
  cache: SegmentTreeCache,
  index: number,
  readSegments: ReadSegments,
  options: { hasher?: SegmentHasher } = {},
): Promise<SegmentProof> {
  checkIndex(index, cache.leafCount);
  const L = cache.level;
  const first = Math.floor(index / 2 ** L) * 2 ** L;
  const count = Math.min(2 ** L, cache.leafCount - first);
  const bytes = await readSegments(first, count);
  return proveWithBytes(cache, index, bytes, options.hasher ?? getDefaultHasher());
}

/** Proof for segment `index` of a shard held in memory. */
export function proveSegment(
  data: Uint8Array,
  index: number,
  options: { hasher?: SegmentHasher } = {},
): SegmentProof {
  const hasher = options.hasher ?? getDefaultHasher();
  const { cache } = computeSegmentTree(data, { hasher, cacheLevel: 4 });
  const c = cache as SegmentTreeCache;
  checkIndex(index, c.leafCount);
  const first = Math.floor(index / 2 ** c.level) * 2 ** c.level;
  const count = Math.min(2 ** c.level, c.leafCount - first);
  return proveWithBytes(
    c,
    index,
    data.subarray(first * SEGMENT_SIZE, (first + count) * SEGMENT_SIZE),
    hasher,
  );
}

/**
 * Checks a proof as the Solidity verifier does: leafCount ≥ 1, index < leafCount, a 512-byte
 * segment, exactly depth(leafCount) 32-byte siblings, and the recomputed root equal to `root`.
 * Returns false (never throws) for anything malformed.
 */
export function verifySegmentProof(
  root: Uint8Array,
  leafCount: number,
  index: number,
  segment: Uint8Array,
  path: readonly Uint8Array[],
  options: { hasher?: SegmentHasher } = {},
): boolean {
  if (!Number.isSafeInteger(leafCount) || leafCount < 1) return false;
  if (!Number.isSafeInteger(index) || index < 0 || index >= leafCount) return false;
  if (segment.length !== SEGMENT_SIZE || root.length !== 32) return false;
  if (path.length !== getSegmentTreeDepth(leafCount)) return false;
  const hasher = options.hasher ?? getDefaultHasher();
  let h = hasher.leaf(segment);
  let pos = index;
  for (const sibling of path) {
    if (sibling.length !== 32) return false;
    h = pos % 2 === 1 ? hasher.node(sibling, h) : hasher.node(h, sibling);
    pos = Math.floor(pos / 2);
  }
  return equalBytes(h, root);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function toHex(b: Uint8Array): string {
  let s = "0x";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

// Serialized cache, version 1 (all integers big-endian):
//   0  4  magic "CCMT"          4  1  version = 1         5  1  hash id = 1 (SHA-256, 0x00/0x01)
//   6  1  level L               7  1  reserved = 0        8  4  segment size = 512
//  12  8  leafCount            20 32  root
//  52  …  levels L .. depth−1, each ceil(leafCount / 2^l) nodes of 32 bytes, concatenated
const MAGIC = [0x43, 0x43, 0x4d, 0x54]; // "CCMT": Co-operative Cloud Merkle Tree
const HEADER = 52;

function levelSizes(leafCount: number, level: number): number[] {
  const depth = getSegmentTreeDepth(leafCount);
  const sizes: number[] = [];
  for (let l = level; l < depth; l++) sizes.push(Math.ceil(leafCount / 2 ** l) * 32);
  return sizes;
}

/** Bytes a provider stores beside a shard to prove from it. */
export function serializeSegmentTreeCache(cache: SegmentTreeCache): Uint8Array {
  const sizes = levelSizes(cache.leafCount, cache.level);
  const out = new Uint8Array(HEADER + sizes.reduce((a, s) => a + s, 0));
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = 1;
  out[5] = 1;
  out[6] = cache.level;
  view.setUint32(8, SEGMENT_SIZE);
  view.setUint32(12, Math.floor(cache.leafCount / 2 ** 32));
  view.setUint32(16, cache.leafCount >>> 0);
  out.set(cache.root, 20);
  let off = HEADER;
  sizes.forEach((s, i) => {
    if (cache.levels[i]?.length !== s)
      throw new InvalidParametersError(
        `levels[${i}]`,
        cache.levels[i]?.length,
        `must hold ${s} bytes`,
      );
    out.set(cache.levels[i], off);
    off += s;
  });
  return out;
}

/**
 * Reads a serialized cache; InvalidFormatError when it is not one this version wrote or its
 * levels do not hash up to its root (checked: ~leafCount/2^L hashes).
 */
export function parseSegmentTreeCache(
  bytes: Uint8Array,
  options: { hasher?: SegmentHasher } = {},
): SegmentTreeCache {
  const fail = (why: string): never => {
    throw new InvalidFormatError("segment tree cache", why);
  };
  if (bytes.length < HEADER) fail(`${bytes.length} bytes is shorter than the header`);
  if (MAGIC.some((m, i) => bytes[i] !== m)) fail("bad magic");
  if (bytes[4] !== 1) fail(`unsupported version ${bytes[4]}`);
  if (bytes[5] !== 1) fail(`unsupported hash id ${bytes[5]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(8) !== SEGMENT_SIZE) fail(`segment size ${view.getUint32(8)}`);
  const leafCount = view.getUint32(12) * 2 ** 32 + view.getUint32(16);
  if (leafCount < 1 || !Number.isSafeInteger(leafCount)) fail(`leafCount ${leafCount}`);
  const level = bytes[6];
  if (level > getSegmentTreeDepth(leafCount)) fail(`level ${level} above depth`);
  const sizes = levelSizes(leafCount, level);
  if (bytes.length !== HEADER + sizes.reduce((a, s) => a + s, 0))
    fail(`length ${bytes.length} does not match leafCount ${leafCount}`);
  const levels: Uint8Array[] = [];
  let off = HEADER;
  for (const s of sizes) {
    levels.push(bytes.slice(off, off + s));
    off += s;
  }
  const root = bytes.slice(20, 52);
  const hasher = options.hasher ?? getDefaultHasher();
  const depth = getSegmentTreeDepth(leafCount);
  for (let i = 0; i < levels.length; i++) {
    const up = parentLevel(hasher, levels[i], level + i);
    const expected = i + 1 < levels.length ? levels[i + 1] : root;
    if (!equalBytes(up, expected)) fail(`level ${level + i + 1} does not match the level below`);
  }
  if (levels.length === 0 && level !== depth) fail("no levels stored below the root");
  return { leafCount, level, root, levels };
}
