// Segment-Merkle work split for a parallel pipeline (docs/protocol.md, "Segment commitments"
// and "Pipeline"). Workers hash whole blocks into subtree roots; the main thread only combines
// one node per block. Runs in Node, worker threads and browsers: node:crypto is reached through
// `process.getBuiltinModule` (no static import), noble is the portable fallback.
import type * as NodeCrypto from "node:crypto";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import {
  SEGMENT_SIZE,
  getNodeHasher,
  portableHasher,
  type SegmentHasher,
} from "../merkle/hasher.ts";

export { SEGMENT_SIZE, type SegmentHasher };

/** The segment hasher of an implementation (native falls back to portable where absent). */
export function getSegmentHasher(implementation: HashImplementation): SegmentHasher {
  return (implementation === "native" ? getNodeHasher() : undefined) ?? portableHasher;
}

/** One-shot SHA-256. */
export type Sha256 = (data: Uint8Array) => Uint8Array;

/** Which hash implementation: node:crypto (`"native"`) or @noble/hashes (`"portable"`). */
export type HashImplementation = "native" | "portable";

let nodeCrypto: typeof NodeCrypto | null | undefined;
function loadNodeCrypto(): typeof NodeCrypto | null {
  if (nodeCrypto !== undefined) return nodeCrypto;
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  nodeCrypto = (proc?.getBuiltinModule?.("node:crypto") as typeof NodeCrypto | undefined) ?? null;
  return nodeCrypto;
}

/** Whether node:crypto is there (Node, Deno, Bun). */
export function isNativeHashAvailable(): boolean {
  return loadNodeCrypto() !== null;
}

/** The SHA-256 function of an implementation (native falls back to portable where absent). */
export function getSha256(implementation: HashImplementation): Sha256 {
  const nc = implementation === "native" ? loadNodeCrypto() : null;
  if (nc === null) return nobleSha256;
  // crypto.hash: one native call, ~1 µs per 513-byte leaf (createHash costs 3 calls).
  return (data) => {
    const b = nc.hash("sha256", data, "buffer");
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  };
}

const zeroCache = new WeakMap<SegmentHasher, Uint8Array[]>();

/**
 * Root of a subtree of height h made only of padding: Z[0] = bytes32(0) (a padding leaf),
 * Z[h+1] = H(0x01 ‖ Z[h] ‖ Z[h]).
 */
export function zeroSubtreeRoot(hasher: SegmentHasher, height: number): Uint8Array {
  let z = zeroCache.get(hasher);
  if (z === undefined) zeroCache.set(hasher, (z = [new Uint8Array(32)]));
  while (z.length <= height) z.push(hasher.node(z[z.length - 1]!, z[z.length - 1]!));
  return z[height]!;
}

/** ceil(log2(x)) for x ≥ 1. */
export function ceilLog2(x: number): number {
  let h = 0;
  while (2 ** h < x) h++;
  return h;
}

/**
 * Root of the subtree of height `height` over the segments of `block` (length a multiple of
 * 512, at most 2^height segments), the missing leaves being bytes32(0) padding. This is the
 * tree node that covers the block when the block starts at a multiple of 2^height segments.
 */
export function blockSubtreeRoot(
  hasher: SegmentHasher,
  block: Uint8Array,
  height: number,
): Uint8Array {
  const leaves = block.length / SEGMENT_SIZE;
  if (!Number.isInteger(leaves) || leaves < 1 || leaves > 2 ** height)
    throw new RangeError(
      `block of ${block.length} bytes does not fit a subtree of height ${height}`,
    );
  // Same stack fold as a streaming builder, then padding on the right with zero subtrees.
  const stack: (Uint8Array | undefined)[] = [];
  for (let i = 0; i < leaves; i++) {
    let h = hasher.leaf(block.subarray(i * SEGMENT_SIZE, (i + 1) * SEGMENT_SIZE));
    let l = 0;
    while (stack[l] !== undefined) {
      h = hasher.node(stack[l]!, h);
      stack[l] = undefined;
      l++;
    }
    stack[l] = h;
  }
  let acc: Uint8Array | undefined;
  for (let l = 0; l < height; l++) {
    const pending = stack[l];
    if (acc === undefined) {
      if (pending !== undefined) acc = hasher.node(pending, zeroSubtreeRoot(hasher, l));
    } else
      acc =
        pending !== undefined
          ? hasher.node(pending, acc)
          : hasher.node(acc, zeroSubtreeRoot(hasher, l));
  }
  return acc ?? stack[height]!;
}

/**
 * Builds a shard's segment-Merkle root from the roots of its blocks, in order. Every block but
 * the last covers exactly 2^height segments (the block size is 512·2^height); the last may be
 * shorter (its root computed with zero padding leaves). A shard of one block whose leaf count
 * L is below 2^height is the special case where the whole tree has depth ceil(log2 L): its one
 * "block root" must be computed at that height (see {@link shardTreeHeightForSingleBlock}).
 */
export class MerkleCombiner {
  readonly #hasher: SegmentHasher;
  readonly #height: number;
  /** stack[i]: pending node at level height+i, or undefined. */
  readonly #stack: (Uint8Array | undefined)[] = [];
  #count = 0;

  constructor(hasher: SegmentHasher, blockHeight: number) {
    this.#hasher = hasher;
    this.#height = blockHeight;
  }

  #parent(left: Uint8Array, right: Uint8Array): Uint8Array {
    return this.#hasher.node(left, right);
  }

  /** Adds the next block's subtree root. */
  push(root: Uint8Array): void {
    let node: Uint8Array = root.slice(0, 32);
    let i = 0;
    let c = this.#count;
    while (c & 1) {
      node = this.#parent(this.#stack[i]!, node);
      this.#stack[i] = undefined;
      i++;
      c >>>= 1;
    }
    this.#stack[i] = node;
    this.#count++;
  }

  /** The root: for one block, that block's root; else the blocks padded to a power of two. */
  finish(): Uint8Array {
    if (this.#count === 0) throw new RangeError("no blocks");
    if (this.#count === 1) return this.#stack[0]!.slice();
    // Fold from the lowest pending level, padding each missing right sibling with zeros.
    let acc: Uint8Array | undefined;
    const top = ceilLog2(this.#count);
    for (let i = 0; i < top; i++) {
      const pending = this.#stack[i];
      if (acc === undefined) {
        if (pending !== undefined)
          acc = this.#parent(pending, zeroSubtreeRoot(this.#hasher, this.#height + i));
      } else if (pending !== undefined) {
        acc = this.#parent(pending, acc);
      } else {
        acc = this.#parent(acc, zeroSubtreeRoot(this.#hasher, this.#height + i));
      }
    }
    return acc ?? this.#stack[top]!.slice();
  }
}

/** Leaf count of a shard of `shardSize` bytes (at least 1). */
export function leafCountOf(shardSize: number): number {
  return Math.max(1, Math.ceil(shardSize / SEGMENT_SIZE));
}
