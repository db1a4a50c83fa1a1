/**
 * Test helper: segment Merkle trees as docs/protocol.md specifies (SHA-256, 512-byte
 * segments, domain-separated leaves and nodes, power-of-two padding with zero leaves).
 * Separate from the SDK on purpose, so contract tests do not depend on it.
 */
import { createHash } from "node:crypto";
import type { Hex } from "viem";

export const SEGMENT_SIZE = 512;

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};
const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString("hex")}`;

export interface SegmentTree {
  /** Segments, each exactly SEGMENT_SIZE bytes (the last zero-padded). */
  segments: Buffer[];
  /** Real leaf count, ceil(size / 512), at least 1. */
  leafCount: number;
  /** Leaf hashes of the real leaves. */
  leaves: Hex[];
  /** All levels, leaf level (padded) first. */
  levels: Buffer[][];
  root: Hex;
}

/** Builds the segment tree of a shard. */
export function buildSegmentTree(data: Uint8Array): SegmentTree {
  const count = Math.max(1, Math.ceil(data.length / SEGMENT_SIZE));
  const segments: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const seg = Buffer.alloc(SEGMENT_SIZE);
    seg.set(data.subarray(i * SEGMENT_SIZE, Math.min(data.length, (i + 1) * SEGMENT_SIZE)));
    segments.push(seg);
  }
  let width = 1;
  while (width < count) width *= 2;
  const leafLevel = segments.map((s) => sha256(Uint8Array.of(0), s));
  while (leafLevel.length < width) leafLevel.push(Buffer.alloc(32));
  const levels: Buffer[][] = [leafLevel];
  while (levels[levels.length - 1].length > 1) {
    const prev = levels[levels.length - 1];
    const next: Buffer[] = [];
    for (let i = 0; i < prev.length; i += 2)
      next.push(sha256(Uint8Array.of(1), prev[i], prev[i + 1]));
    levels.push(next);
  }
  return {
    segments,
    leafCount: count,
    leaves: leafLevel.slice(0, count).map(hex),
    levels,
    root: hex(levels[levels.length - 1][0]),
  };
}

/** The proof (segment and sibling path, leaf level first) for the segment at `index`. */
export function segmentProof(tree: SegmentTree, index: number): { segment: Hex; path: Hex[] } {
  if (index < 0 || index >= tree.leafCount)
    throw new RangeError(`index ${index} outside 0..${tree.leafCount - 1}`);
  const path: Hex[] = [];
  for (let l = 0; l < tree.levels.length - 1; l++) path.push(hex(tree.levels[l][(index >> l) ^ 1]));
  return { segment: hex(tree.segments[index]), path };
}
