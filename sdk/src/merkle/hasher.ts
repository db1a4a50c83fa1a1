// The two hashes of the segment tree, behind a small interface so that Node uses its native
// SHA-256 and browsers a portable one, without a top-level `node:` import anywhere; and their
// batch forms, which the 4-lane WebAssembly SIMD kernel (sha256x4.ts) provides wherever SIMD
// runs.
import { sha256Leaf, sha256Node } from "./sha256.ts";
import { getSha256x4Loader, type Sha256x4Loader } from "./sha256x4.ts";

/** Segment size S in bytes (docs/protocol.md, "Segment commitments"). */
export const SEGMENT_SIZE = 512;

/** The segment tree's hashes. Both return a fresh 32-byte array. */
export interface SegmentHasher {
  /** Name for benchmarks and logs, e.g. `"node:crypto"`. */
  readonly name: string;
  /** `SHA-256(0x00 ‖ segment)` for a segment of exactly 512 bytes. */
  leaf(segment: Uint8Array): Uint8Array;
  /** `SHA-256(0x01 ‖ left ‖ right)` for two 32-byte nodes. */
  node(left: Uint8Array, right: Uint8Array): Uint8Array;
  /**
   * Batch form, optional: the roots of the complete subtrees of height `height` over `data`, a
   * whole number of 2^height segments, 32 bytes each, left to right (height 0: the leaves).
   * Callers go through {@link hashSubtreeRoots}, which falls back to `leaf` and `node`.
   */
  subtreeRoots?(data: Uint8Array, height: number): Uint8Array;
  /**
   * Batch form of `node`, optional: the parent of each 64-byte (left ‖ right) pair of `nodes`,
   * nodes.length / 2 bytes. Callers go through {@link hashParents}.
   */
  parents?(nodes: Uint8Array): Uint8Array;
}

/** `subtreeRoots` one leaf()/node() call per hash: what a hasher without the batch form does. */
function subtreeRootsOneByOne(hasher: SegmentHasher, data: Uint8Array, height: number): Uint8Array {
  const n = data.length / SEGMENT_SIZE;
  if (!Number.isInteger(n) || !Number.isInteger(height) || height < 0 || n % 2 ** height !== 0)
    throw new RangeError(`${data.length} bytes is not whole subtrees of height ${height}`);
  let level: Uint8Array = new Uint8Array(n * 32);
  for (let i = 0; i < n; i++)
    level.set(hasher.leaf(data.subarray(i * SEGMENT_SIZE, (i + 1) * SEGMENT_SIZE)), i * 32);
  for (let l = 0; l < height; l++) level = parentsOneByOne(hasher, level);
  return level;
}

function parentsOneByOne(hasher: SegmentHasher, nodes: Uint8Array): Uint8Array {
  const pairs = nodes.length / 64;
  if (!Number.isInteger(pairs)) throw new RangeError(`${nodes.length} bytes is not whole pairs`);
  const out = new Uint8Array(pairs * 32);
  for (let j = 0; j < pairs; j++)
    out.set(
      hasher.node(nodes.subarray(64 * j, 64 * j + 32), nodes.subarray(64 * j + 32, 64 * j + 64)),
      32 * j,
    );
  return out;
}

/**
 * Roots of the complete height-`height` subtrees over `data` (a whole number of 2^height
 * segments), 32 bytes each: the hasher's batch form when it has one, else one call per hash.
 */
export function hashSubtreeRoots(
  hasher: SegmentHasher,
  data: Uint8Array,
  height: number,
): Uint8Array {
  return hasher.subtreeRoots
    ? hasher.subtreeRoots(data, height)
    : subtreeRootsOneByOne(hasher, data, height);
}

/** The parents of an even number of 32-byte nodes (left ‖ right pairs): nodes.length / 2 bytes. */
export function hashParents(hasher: SegmentHasher, nodes: Uint8Array): Uint8Array {
  return hasher.parents ? hasher.parents(nodes) : parentsOneByOne(hasher, nodes);
}

/** Pure TypeScript SHA-256: browsers, workers, anywhere. */
export const portableHasher: SegmentHasher = {
  name: "portable",
  leaf: sha256Leaf,
  node: sha256Node,
};

type HashFn = (algorithm: string, data: Uint8Array, outputEncoding: "buffer") => Uint8Array;

/**
 * The hasher over node:crypto's one-shot `hash()` for leaves (native, ~0.9 µs per 513-byte
 * message), and the portable code for the 65-byte inner nodes, where the native call's fixed
 * cost exceeds the JS compression (measured in bench/merkle.ts). `undefined` outside Node (or on
 * a Node without `crypto.hash`). Reached through `process.getBuiltinModule`, which bundlers do
 * not follow, so browser builds never see `node:crypto`.
 */
export function getNodeHasher(): SegmentHasher | undefined {
  if (nodeHasher === undefined) nodeHasher = makeNodeHasher() ?? null;
  return nodeHasher ?? undefined;
}
let nodeHasher: SegmentHasher | null | undefined;

function makeNodeHasher(): SegmentHasher | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const crypto = proc?.getBuiltinModule?.("node:crypto") as { hash?: HashFn } | undefined;
  const hash = crypto?.hash;
  if (typeof hash !== "function") return undefined;
  const scratch = new Uint8Array(1 + SEGMENT_SIZE); // scratch[0] = 0x00, the leaf prefix
  return {
    name: "node:crypto",
    leaf(segment) {
      scratch.set(segment, 1);
      return hash("sha256", scratch, "buffer");
    },
    node: sha256Node,
  };
}

/**
 * Below these, the kernel's fixed cost (a whole 4-lane pass, a copy in and out) is more than
 * `base`'s single calls: one lane's worth of a leaf costs about two node:crypto leaves, one
 * node about 1.5 portable nodes (measured with Node 24, December 2026).
 */
const MIN_BATCH_SEGMENTS = 2;
const MIN_BATCH_PAIRS = 2;

/** `base` whose batch forms run on the SIMD kernel (its single hashes stay base's). */
export function withSha256x4(base: SegmentHasher, loader: Sha256x4Loader): SegmentHasher {
  return {
    name: `${base.name} + wasm simd ×4`,
    leaf: base.leaf,
    node: base.node,
    subtreeRoots(data, height) {
      const k = loader.get(); // undefined while an asynchronous compile is under way
      return k !== undefined && data.length >= MIN_BATCH_SEGMENTS * SEGMENT_SIZE
        ? k.subtreeRoots(data, height)
        : subtreeRootsOneByOne(base, data, height);
    },
    parents(nodes) {
      const k = loader.get();
      return k !== undefined && nodes.length >= MIN_BATCH_PAIRS * 64
        ? k.parents(nodes)
        : parentsOneByOne(base, nodes);
    },
  };
}

const simdHashers = new WeakMap<SegmentHasher, SegmentHasher>();

/**
 * `base` (default: node:crypto's in Node, else portable) with batch forms on the 4-lane
 * WebAssembly SIMD SHA-256; undefined where WebAssembly SIMD is missing. One per base, so that
 * per-hasher caches keep working.
 */
export function getSimdHasher(
  base: SegmentHasher = getNodeHasher() ?? portableHasher,
): SegmentHasher | undefined {
  const loader = getSha256x4Loader();
  if (loader === undefined) return undefined;
  let h = simdHashers.get(base);
  if (h === undefined) simdHashers.set(base, (h = withSha256x4(base, loader)));
  return h;
}

let defaultHasher: SegmentHasher | undefined;

/**
 * node:crypto-backed when available, else portable; batches (whole runs of segments) on the
 * WebAssembly SIMD kernel where it runs.
 */
export function getDefaultHasher(): SegmentHasher {
  defaultHasher ??= getSimdHasher() ?? getNodeHasher() ?? portableHasher;
  return defaultHasher;
}
