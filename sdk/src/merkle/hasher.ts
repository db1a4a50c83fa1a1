// The two hashes of the segment tree, behind a small interface so that Node uses its native
// SHA-256 and browsers a portable one, without a top-level `node:` import anywhere.
import { sha256Leaf, sha256Node } from "./sha256.ts";

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

let defaultHasher: SegmentHasher | undefined;

/** node:crypto-backed when available, else portable. */
export function getDefaultHasher(): SegmentHasher {
  defaultHasher ??= getNodeHasher() ?? portableHasher;
  return defaultHasher;
}
