// The segment tree's 4-lane SIMD SHA-256 in WebAssembly (generated/sha256x4-wasm.ts, written by
// scripts/gen-sha256x4.ts): four leaves or four inner nodes per pass of the rounds, one per
// 32-bit lane, and a whole run of segments to a level of subtree roots in one call, so that no
// JS call is made per hash. Runs wherever WebAssembly SIMD does (Node, workers, browsers).
import {
  SHA256X4_DATA_OFFSET,
  SHA256X4_WASM_HEX,
  SHA256X4_WINDOW_SEGMENTS,
  SIMD_PROBE_WASM,
} from "./generated/sha256x4-wasm.ts";

const SEGMENT = 512;

/** The kernel's two batch operations. Both return fresh arrays. */
export interface Sha256x4 {
  /**
   * Roots of the complete subtrees of height `height` over `data`, a whole number of 2^height
   * 512-byte segments: 32 bytes each, left to right (height 0: the leaf hashes).
   */
  subtreeRoots(data: Uint8Array, height: number): Uint8Array;
  /** `SHA-256(0x01 ‖ left ‖ right)` of each 64-byte pair of `nodes`: nodes.length / 2 bytes. */
  parents(nodes: Uint8Array): Uint8Array;
}

/** The parts of the `WebAssembly` namespace used (a parameter so tests can take some away). */
export type WasmApi = Pick<typeof WebAssembly, "validate" | "Module" | "Instance" | "instantiate">;

/** A kernel that may still be compiling. */
export interface Sha256x4Loader {
  /** The kernel, or undefined while it compiles asynchronously or after that failed. */
  get(): Sha256x4 | undefined;
  /** Settles once compiled (or failed); the kernel or undefined. */
  ready: Promise<Sha256x4 | undefined>;
}

interface Exports {
  memory: WebAssembly.Memory;
  roots(src: number, n: number, height: number, dst: number): void;
  parents(src: number, pairs: number, dst: number): void;
}

/** The `WebAssembly` namespace, or null where there is none (some locked-down browsers). */
const globalWasm = (): WasmApi | null =>
  typeof WebAssembly === "object" && WebAssembly !== null ? WebAssembly : null;

function decodeHex(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Whether this engine runs WebAssembly with 128-bit SIMD. */
export function simdSupported(wasm: WasmApi | null = globalWasm()): boolean {
  try {
    return wasm !== null && wasm.validate(Uint8Array.from(SIMD_PROBE_WASM));
  } catch {
    return false;
  }
}

function wrap(instance: WebAssembly.Instance): Sha256x4 {
  const ex = instance.exports as unknown as Exports;
  const mem = new Uint8Array(ex.memory.buffer); // the memory cannot grow (maximum = initial)
  const D = SHA256X4_DATA_OFFSET;
  const W = SHA256X4_WINDOW_SEGMENTS;
  const LOG_W = Math.log2(W);

  /** Roots of height ≤ log2(W): one call per window of W segments, in place. */
  function rootsUpToWindow(data: Uint8Array, height: number, out: Uint8Array): void {
    const n = data.length / SEGMENT;
    for (let s = 0; s < n; s += W) {
      const k = Math.min(W, n - s);
      mem.set(data.subarray(s * SEGMENT, (s + k) * SEGMENT), D);
      ex.roots(D, k, height, D);
      out.set(mem.subarray(D, D + (k >>> height) * 32), (s >>> height) * 32);
    }
  }

  function parents(nodes: Uint8Array): Uint8Array {
    const pairs = nodes.length / 64;
    if (!Number.isInteger(pairs)) throw new RangeError(`${nodes.length} bytes is not whole pairs`);
    const out = new Uint8Array(pairs * 32);
    const per = (W * SEGMENT) / 64; // pairs per window
    for (let s = 0; s < pairs; s += per) {
      const k = Math.min(per, pairs - s);
      mem.set(nodes.subarray(s * 64, (s + k) * 64), D);
      ex.parents(D, k, D);
      out.set(mem.subarray(D, D + k * 32), s * 32);
    }
    return out;
  }

  return {
    subtreeRoots(data, height) {
      const n = data.length / SEGMENT;
      if (!Number.isInteger(height) || height < 0 || height > 52)
        throw new RangeError(`height ${height}`);
      if (!Number.isInteger(n) || n % 2 ** height !== 0)
        throw new RangeError(`${data.length} bytes is not whole subtrees of height ${height}`);
      const low = Math.min(height, LOG_W);
      let level: Uint8Array = new Uint8Array((n / 2 ** low) * 32);
      rootsUpToWindow(data, low, level);
      for (let l = low; l < height; l++) level = parents(level);
      return level;
    },
    parents,
  };
}

/**
 * Compiles the kernel: synchronously where allowed, else asynchronously, `get()` answering
 * undefined until then. Chromium long refused a synchronous compile of over 4 KB on a page's
 * main thread (the module is ~50 KB); Chromium 156 compiles it synchronously there and in Web
 * Workers alike (checked December 2026), the fallback stays for engines that still refuse.
 * Undefined without SIMD.
 */
export function createSha256x4(wasm: WasmApi | null = globalWasm()): Sha256x4Loader | undefined {
  if (wasm === null || !simdSupported(wasm)) return undefined;
  const bytes = decodeHex(SHA256X4_WASM_HEX);
  let kernel: Sha256x4 | undefined;
  try {
    kernel = wrap(new wasm.Instance(new wasm.Module(bytes), {}));
    return { get: () => kernel, ready: Promise.resolve(kernel) };
  } catch {
    // RangeError where the main thread limits synchronous compiles; a CSP without
    // 'wasm-unsafe-eval' fails both ways.
    const ready = wasm.instantiate(bytes, {}).then(
      (r) => (kernel = wrap(r.instance)),
      () => undefined,
    );
    return { get: () => kernel, ready };
  }
}

let shared: Sha256x4Loader | null | undefined;

/** This thread's kernel (compiled on first use), or undefined without SIMD. */
export function getSha256x4Loader(): Sha256x4Loader | undefined {
  if (shared === undefined) shared = createSha256x4() ?? null;
  return shared ?? undefined;
}
