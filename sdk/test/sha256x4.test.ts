// The 4-lane WebAssembly SIMD SHA-256 of the segment tree (src/merkle/sha256x4.ts), against
// node:crypto; the generated module against its generator; the loader without SIMD or without
// a synchronous compile.
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generateSha256x4Source, generatedPath } from "../../scripts/gen-sha256x4.ts";
import {
  createSha256x4,
  getSha256x4Loader,
  simdSupported,
  type Sha256x4,
  type WasmApi,
} from "../src/merkle/sha256x4.ts";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const sha = (...parts: Uint8Array[]): Buffer => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};

/** Reference: the roots of the height-h subtrees, straight from the definition. */
function referenceRoots(data: Uint8Array, height: number): Buffer {
  let level: Buffer[] = [];
  for (let off = 0; off < data.length; off += 512)
    level.push(sha(Uint8Array.of(0), data.subarray(off, off + 512)));
  for (let l = 0; l < height; l++) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(sha(Uint8Array.of(1), level[i], level[i + 1]));
    level = next;
  }
  return Buffer.concat(level);
}

function referenceParents(nodes: Uint8Array): Buffer {
  const out: Buffer[] = [];
  for (let off = 0; off < nodes.length; off += 64)
    out.push(sha(Uint8Array.of(1), nodes.subarray(off, off + 64)));
  return Buffer.concat(out);
}

describe("generated module", () => {
  it("is exactly what scripts/gen-sha256x4.ts produces", async () => {
    const committed = readFileSync(generatedPath, "utf8");
    expect(await generateSha256x4Source()).toBe(committed);
  });
});

describe("4-lane SIMD SHA-256 kernel", () => {
  it("runs here (Node has WebAssembly SIMD)", () => {
    expect(simdSupported()).toBe(true);
    expect(getSha256x4Loader()?.get()).toBeDefined();
  });
  const kernel = getSha256x4Loader()?.get() as Sha256x4;

  it("hashes leaves as node:crypto does, for every run length 0..40 and around the window", () => {
    for (const n of [...Array(41).keys(), 2047, 2048, 2049, 4099]) {
      const data = randomBytes(512 * n);
      expect(hex(kernel.subtreeRoots(data, 0)), `${n} segments`).toBe(hex(referenceRoots(data, 0)));
    }
  });

  it("hashes inner nodes as node:crypto does, for every pair count 0..40 and past a window", () => {
    for (const pairs of [...Array(41).keys(), 16383, 16384, 16385, 40000]) {
      const nodes = randomBytes(64 * pairs);
      expect(hex(kernel.parents(nodes)), `${pairs} pairs`).toBe(hex(referenceParents(nodes)));
    }
  });

  it("keeps the four lanes independent: a change in one message changes only its digest", () => {
    // Bytes in the first block (next to the prefix), a middle block and the last byte (which
    // sits in the constant-folded final block), for both shapes.
    const leafData = randomBytes(4 * 512);
    const nodeData = randomBytes(4 * 64);
    const cases: [Uint8Array, number, (d: Uint8Array) => Uint8Array][] = [
      [leafData, 512, (d) => kernel.subtreeRoots(d, 0)],
      [nodeData, 64, (d) => kernel.parents(d)],
    ];
    for (const [data, size, hashAll] of cases) {
      const before = hashAll(data);
      for (let lane = 0; lane < 4; lane++)
        for (const at of [0, 1, 3, size / 2, size - 2, size - 1]) {
          const changed = Uint8Array.from(data);
          changed[lane * size + at] ^= 0x80;
          const after = hashAll(changed);
          for (let other = 0; other < 4; other++) {
            const same =
              hex(after.subarray(32 * other, 32 * other + 32)) ===
              hex(before.subarray(32 * other, 32 * other + 32));
            expect(same, `lane ${lane} byte ${at}: digest ${other}`).toBe(other !== lane);
          }
          expect(hex(after)).toBe(
            hex(size === 512 ? referenceRoots(changed, 0) : referenceParents(changed)),
          );
        }
    }
    // Four equal messages give four equal digests; zero and all-ones bytes hash as they should.
    for (const fill of [0x00, 0xff]) {
      const d = new Uint8Array(4 * 512).fill(fill);
      expect(hex(kernel.subtreeRoots(d, 0))).toBe(hex(referenceRoots(d, 0)));
      const p = new Uint8Array(4 * 64).fill(fill);
      expect(hex(kernel.parents(p))).toBe(hex(referenceParents(p)));
    }
  });

  it("gives the subtree roots of every height 0..13, runs not a multiple of 4 included", () => {
    for (let h = 0; h <= 13; h++)
      for (const m of h <= 11 ? [1, 2, 3, 5] : [1, 3]) {
        const data = randomBytes(512 * m * 2 ** h);
        expect(hex(kernel.subtreeRoots(data, h)), `height ${h}, ${m} subtrees`).toBe(
          hex(referenceRoots(data, h)),
        );
      }
  });

  it("does not depend on what the previous call left in its memory", () => {
    const a = randomBytes(512 * 7);
    const first = hex(kernel.subtreeRoots(a, 0));
    kernel.subtreeRoots(randomBytes(512 * 2048), 11);
    kernel.parents(randomBytes(64 * 999));
    expect(hex(kernel.subtreeRoots(a, 0))).toBe(first);
    expect(hex(kernel.subtreeRoots(new Uint8Array(0), 0))).toBe("");
  });

  it("rejects input that is not whole subtrees", () => {
    expect(() => kernel.subtreeRoots(new Uint8Array(513), 0)).toThrow(RangeError);
    expect(() => kernel.subtreeRoots(new Uint8Array(3 * 512), 1)).toThrow(RangeError);
    expect(() => kernel.subtreeRoots(new Uint8Array(512), -1)).toThrow(RangeError);
    expect(() => kernel.parents(new Uint8Array(96))).toThrow(RangeError);
  });
});

describe("loader", () => {
  const real = globalThis.WebAssembly;

  it("reports no kernel without WebAssembly or without SIMD", () => {
    expect(createSha256x4(null)).toBeUndefined();
    expect(simdSupported(null)).toBe(false);
    const noSimd: WasmApi = { ...pick(real), validate: () => false };
    expect(simdSupported(noSimd)).toBe(false);
    expect(createSha256x4(noSimd)).toBeUndefined();
    const throwing: WasmApi = {
      ...pick(real),
      validate: () => {
        throw new Error("no");
      },
    };
    expect(createSha256x4(throwing)).toBeUndefined();
  });

  it("compiles asynchronously where a synchronous compile is refused (Chromium's main thread)", async () => {
    const mainThread: WasmApi = {
      ...pick(real),
      Module: function () {
        throw new RangeError("WebAssembly.Module(): Buffer size is larger than 4KB");
      } as unknown as typeof WebAssembly.Module,
    };
    const loader = createSha256x4(mainThread)!;
    expect(loader).toBeDefined();
    expect(loader.get()).toBeUndefined(); // still compiling
    const k = await loader.ready;
    expect(k).toBeDefined();
    expect(loader.get()).toBe(k);
    const data = randomBytes(512 * 9);
    expect(hex(k!.subtreeRoots(data, 0))).toBe(hex(referenceRoots(data, 0)));
  });

  it("stays without a kernel when no compile is allowed (a CSP without wasm-unsafe-eval)", async () => {
    const csp: WasmApi = {
      ...pick(real),
      Module: function () {
        throw new real.CompileError("Wasm code generation disallowed by embedder");
      } as unknown as typeof WebAssembly.Module,
      instantiate: (() =>
        Promise.reject(
          new real.CompileError("disallowed"),
        )) as unknown as typeof WebAssembly.instantiate,
    };
    const loader = createSha256x4(csp)!;
    expect(await loader.ready).toBeUndefined();
    expect(loader.get()).toBeUndefined();
  });
});

function pick(w: typeof WebAssembly): WasmApi {
  return {
    validate: w.validate,
    Module: w.Module,
    Instance: w.Instance,
    instantiate: w.instantiate,
  };
}
