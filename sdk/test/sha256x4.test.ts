// The 4-lane WebAssembly SIMD SHA-256 of the segment tree (src/merkle/sha256x4.ts), against
// node:crypto; the generated module against its generator; the loader without SIMD or without
// a synchronous compile; and the tree built with it against the existing hashers.
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { generateSha256x4Source, generatedPath } from "../../scripts/gen-sha256x4.ts";
import {
  SegmentTreeBuilder,
  computeSegmentTree,
  getDefaultHasher,
  getNodeHasher,
  getSimdHasher,
  hashParents,
  hashSubtreeRoots,
  parseSegmentTreeCache,
  portableHasher,
  proveFromCache,
  serializeSegmentTreeCache,
  verifySegmentProof,
} from "../src/merkle/index.ts";
import { withSha256x4 } from "../src/merkle/hasher.ts";
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

  it("takes every height up to 52, the largest a tree has, and refuses 53", () => {
    expect(kernel.subtreeRoots(new Uint8Array(0), 52)).toHaveLength(0);
    expect(() => kernel.subtreeRoots(new Uint8Array(0), 53)).toThrow(RangeError);
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

  it("compiles asynchronously where a synchronous compile is refused (a main thread's size limit)", async () => {
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

describe("wired into the segment tree", () => {
  const node = getNodeHasher()!;
  const simd = getSimdHasher(node)!;
  const MiB = 1024 * 1024;

  it("is the default hasher here, and keeps the base's single hashes", () => {
    expect(getDefaultHasher()).toBe(simd);
    expect(getSimdHasher(node)).toBe(simd); // one per base: per-hasher caches stay warm
    expect(simd.leaf).toBe(node.leaf);
    expect(simd.node).toBe(node.node);
    expect(getSimdHasher(portableHasher)!.leaf).toBe(portableHasher.leaf);
    expect([portableHasher, node, simd, getSimdHasher(portableHasher)!].map((h) => h.name)).toEqual(
      ["portable", "node:crypto", "node:crypto + wasm simd ×4", "portable + wasm simd ×4"],
    );
  });

  // Mutation runs (vitest.mutation.config.ts) stop at 64 KiB + 1: under Stryker's
  // instrumentation the portable reference takes minutes per MiB.
  const sizes = [0, 1, 511, 512, 513, 4 * 512 - 1, 7 * 512, 64 * 1024 + 1].concat(
    process.env.COOP_MUTATION_RUN === "1" ? [] : [MiB - 1, MiB, MiB + 1, 3 * MiB + 517],
  );
  it("gives the existing code's roots and caches for shards of 0 B to 3 MiB, at every cache level", () => {
    for (const size of sizes) {
      const data = randomBytes(size);
      for (const cacheLevel of [undefined, 0, 1, 2, 5, 6, 11, 12, 40]) {
        const want = computeSegmentTree(data, { hasher: portableHasher, cacheLevel });
        const got = computeSegmentTree(data, { hasher: simd, cacheLevel });
        const what = `${size} bytes, cache level ${cacheLevel}`;
        expect(hex(got.root), what).toBe(hex(want.root));
        expect(got.leafCount, what).toBe(want.leafCount);
        if (cacheLevel !== undefined)
          expect(hex(serializeSegmentTreeCache(got.cache!)), what).toBe(
            hex(serializeSegmentTreeCache(want.cache!)),
          );
      }
    }
  });

  it("streams: chunks of any size and alignment, subtrees pushed between them", () => {
    const data = randomBytes(5 * MiB + 12345);
    const want = computeSegmentTree(data, { hasher: node, cacheLevel: 6 });
    const chunkings = [
      [MiB],
      [64 * 1024],
      [1000, 3 * 512, 700_000, 1, 511],
      [512 * 2047, 512 * 3, 512 * 4093],
    ];
    for (const pattern of chunkings) {
      const b = new SegmentTreeBuilder({ hasher: simd, cacheLevel: 6 });
      for (let off = 0, i = 0; off < data.length; i++) {
        const n = pattern[i % pattern.length];
        b.update(data.subarray(off, off + n));
        off += n;
      }
      const r = b.finish();
      expect(hex(r.root), pattern.join(",")).toBe(hex(want.root));
      expect(hex(serializeSegmentTreeCache(r.cache!))).toBe(
        hex(serializeSegmentTreeCache(want.cache!)),
      );
    }
    // 1 MiB blocks hashed elsewhere (a worker's subtreeRoots at the cache level), pushed in.
    const b = new SegmentTreeBuilder({ hasher: simd, cacheLevel: 6 });
    let off = 0;
    for (; off + MiB <= data.length; off += MiB) {
      const roots = hashSubtreeRoots(simd, data.subarray(off, off + MiB), 6);
      for (let j = 0; j < roots.length; j += 32) b.pushSubtree(roots.subarray(j, j + 32), 6);
    }
    b.update(data.subarray(off));
    expect(hex(b.finish().root)).toBe(hex(want.root));
  });

  it("proves and parses caches as the existing code does", async () => {
    const data = randomBytes(512 * 1000 + 300);
    const { root, leafCount, cache } = computeSegmentTree(data, { hasher: simd, cacheLevel: 6 });
    const parsed = parseSegmentTreeCache(serializeSegmentTreeCache(cache!), { hasher: simd });
    const read = (first: number, count: number) =>
      data.subarray(first * 512, (first + count) * 512);
    for (const index of [0, 1, 63, 64, 999, 1000]) {
      const a = await proveFromCache(parsed, index, read, { hasher: simd });
      const b = await proveFromCache(parsed, index, read, { hasher: portableHasher });
      expect(a.path.map(hex)).toEqual(b.path.map(hex));
      expect(verifySegmentProof(root, leafCount, index, a.segment, a.path)).toBe(true);
    }
  });

  it("batch helpers fall back to one call per hash for hashers without batch forms", () => {
    for (const n of [0, 1, 3, 4, 9, 64]) {
      const data = randomBytes(512 * n);
      expect(hex(hashSubtreeRoots(portableHasher, data, 0))).toBe(hex(referenceRoots(data, 0)));
    }
    const data = randomBytes(512 * 64);
    expect(hex(hashSubtreeRoots(node, data, 6))).toBe(hex(referenceRoots(data, 6)));
    const pairs = randomBytes(64 * 5);
    expect(hex(hashParents(portableHasher, pairs))).toBe(hex(referenceParents(pairs)));
    expect(() => hashSubtreeRoots(portableHasher, new Uint8Array(3 * 512), 1)).toThrow(RangeError);
  });

  it("falls back to the base hasher while the kernel is still compiling", () => {
    let compiled: Sha256x4 | undefined = undefined;
    const pending = withSha256x4(portableHasher, {
      get: () => compiled,
      ready: Promise.resolve(undefined),
    });
    const data = randomBytes(3 * MiB + 512 * 5);
    const want = hex(computeSegmentTree(data, { hasher: node }).root);
    const pairs = randomBytes(64 * 5);
    expect(hex(computeSegmentTree(data, { hasher: pending }).root)).toBe(want);
    expect(hex(hashParents(pending, pairs))).toBe(hex(referenceParents(pairs)));
    compiled = getSha256x4Loader()!.get();
    expect(hex(computeSegmentTree(data, { hasher: pending }).root)).toBe(want);
    expect(hex(hashParents(pending, pairs))).toBe(hex(referenceParents(pairs)));
  });

  it("without SIMD, the default hasher is the existing one and trees are unchanged", async () => {
    vi.resetModules();
    const validate = vi.spyOn(WebAssembly, "validate").mockReturnValue(false);
    try {
      const fresh = await import("../src/merkle/index.ts");
      expect(fresh.getSimdHasher()).toBeUndefined();
      expect(validate).toHaveBeenCalled();
      const h = fresh.getDefaultHasher();
      expect(h.name).toBe("node:crypto");
      expect(h.subtreeRoots).toBeUndefined();
      const data = randomBytes(MiB + 1000);
      expect(hex(fresh.computeSegmentTree(data).root)).toBe(
        hex(computeSegmentTree(data, { hasher: simd }).root),
      );
      const pipelineHash = await import("../src/pipeline/hash.ts");
      expect(pipelineHash.getSegmentHasher("portable").subtreeRoots).toBeUndefined();
    } finally {
      validate.mockRestore();
      vi.resetModules();
    }
  });
});
