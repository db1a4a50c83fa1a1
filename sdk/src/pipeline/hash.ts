// Hash implementations the pipeline's tasks use, chosen per run ("native" or "portable"). Runs in
// Node, worker threads and browsers: node:crypto is reached through `process.getBuiltinModule`
// (no static import), noble / the merkle module's portable SHA-256 are the fallbacks.
import type * as NodeCrypto from "node:crypto";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import {
  SEGMENT_SIZE,
  getNodeHasher,
  getSimdHasher,
  portableHasher,
  type SegmentHasher,
} from "../merkle/hasher.ts";

export { SEGMENT_SIZE, type SegmentHasher };

/**
 * The segment hasher of an implementation (native falls back to portable where absent). Both
 * hash whole runs of segments on the WebAssembly SIMD kernel where it runs (browsers included):
 * the implementation only chooses the single-hash path of odd tails.
 */
export function getSegmentHasher(implementation: HashImplementation): SegmentHasher {
  const base = (implementation === "native" ? getNodeHasher() : undefined) ?? portableHasher;
  return getSimdHasher(base) ?? base;
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

/** The SHA-256 function of an implementation (native falls back to portable where absent). */
export function getSha256(implementation: HashImplementation): Sha256 {
  const nc = implementation === "native" ? loadNodeCrypto() : null;
  if (nc === null) return nobleSha256;
  // crypto.hash: one native call per digest (UnixFS leaves of 1 MiB).
  return (data) => {
    const b = nc.hash("sha256", data, "buffer");
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  };
}
