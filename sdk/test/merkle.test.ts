import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it, vi } from "vitest";
import { InvalidFormatError, InvalidParametersError, ShardMismatchError } from "../src/errors.ts";
import {
  SEGMENT_SIZE,
  SegmentTreeBuilder,
  computeSegmentTree,
  getNodeHasher,
  getSegmentCount,
  getSimdHasher,
  getSegmentTreeDepth,
  hashParents,
  hashSubtreeRoots,
  parseSegmentTreeCache,
  portableHasher,
  proveFromCache,
  proveSegment,
  serializeSegmentTreeCache,
  verifySegmentProof,
  type SegmentHasher,
} from "../src/merkle/index.ts";
import { sha256 } from "../src/merkle/sha256.ts";
import { simdSupported, type WasmApi } from "../src/merkle/sha256x4.ts";

interface Vectors {
  hash: string;
  segmentSize: number;
  trees: {
    name: string;
    data: string;
    leafCount: number;
    root: string;
    proofs: { index: number; segment: string; path: string[] }[];
  }[];
  invalid: {
    name: string;
    root: string;
    leafCount: number;
    index: number;
    segment: string;
    path: string[];
  }[];
}
const vectors = JSON.parse(
  readFileSync(new URL("../../test/vectors/segment-merkle.json", import.meta.url), "utf8"),
) as Vectors;

const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.slice(2), "hex"));
const toHex = (b: Uint8Array): string => `0x${Buffer.from(b).toString("hex")}`;

const nodeHasher = getNodeHasher() as SegmentHasher;
/** Both single-hash paths, without and with the SIMD kernel's batches. */
const hashers: SegmentHasher[] = [
  nodeHasher,
  portableHasher,
  getSimdHasher(nodeHasher)!,
  getSimdHasher(portableHasher)!,
];

/** Independent reference: every level in memory, straight from the spec. */
function referenceLevels(data: Uint8Array): Buffer[][] {
  const count = Math.max(1, Math.ceil(data.length / SEGMENT_SIZE));
  let width = 1;
  while (width < count) width *= 2;
  const h = (...p: Uint8Array[]): Buffer => {
    const x = createHash("sha256");
    for (const q of p) x.update(q);
    return x.digest();
  };
  const leaves: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const seg = Buffer.alloc(SEGMENT_SIZE);
    seg.set(data.subarray(i * SEGMENT_SIZE, (i + 1) * SEGMENT_SIZE));
    leaves.push(h(Uint8Array.of(0), seg));
  }
  while (leaves.length < width) leaves.push(Buffer.alloc(32));
  const levels = [leaves];
  while (levels[levels.length - 1].length > 1) {
    const prev = levels[levels.length - 1];
    const next: Buffer[] = [];
    for (let i = 0; i < prev.length; i += 2) next.push(h(Uint8Array.of(1), prev[i], prev[i + 1]));
    levels.push(next);
  }
  return levels;
}

describe("SHA-256 implementations", () => {
  it("portable SHA-256 equals node:crypto and noble on every length 0..300 and large inputs", () => {
    for (let len = 0; len <= 300; len++) {
      const d = randomBytes(len);
      expect(toHex(sha256(d))).toBe(toHex(createHash("sha256").update(d).digest()));
    }
    const big = randomBytes(100_003);
    expect(toHex(sha256(big))).toBe(toHex(nobleSha256(big)));
  });

  it("no node:crypto hasher where node:crypto, or its one-shot hash(), is missing (a browser, an older Node)", async () => {
    const builtin = process.getBuiltinModule.bind(process);
    for (const crypto of [undefined, {}]) {
      vi.resetModules();
      const spy = vi
        .spyOn(process, "getBuiltinModule")
        .mockImplementation(((id: string) =>
          id === "node:crypto" ? crypto : builtin(id)) as typeof process.getBuiltinModule);
      try {
        const fresh = await import("../src/merkle/hasher.ts");
        expect(fresh.getNodeHasher()).toBeUndefined();
        expect(fresh.getDefaultHasher().leaf).toBe(fresh.portableHasher.leaf);
      } finally {
        spy.mockRestore();
        vi.resetModules();
      }
    }
  });

  it("leaf and node hashes agree across hashers and with the definition", () => {
    for (let t = 0; t < 50; t++) {
      const seg = randomBytes(SEGMENT_SIZE);
      const l = randomBytes(32);
      const r = randomBytes(32);
      const leaf = createHash("sha256").update(Uint8Array.of(0)).update(seg).digest();
      const node = createHash("sha256").update(Uint8Array.of(1)).update(l).update(r).digest();
      for (const h of hashers) {
        expect(toHex(h.leaf(seg))).toBe(toHex(leaf));
        expect(toHex(h.node(l, r))).toBe(toHex(node));
      }
    }
  });
});

describe("shared vectors (test/vectors/segment-merkle.json)", () => {
  it("are SHA-256 over 512-byte segments", () => {
    expect(vectors.hash).toBe("sha256");
    expect(vectors.segmentSize).toBe(SEGMENT_SIZE);
    expect(vectors.trees.length).toBeGreaterThan(0);
    expect(vectors.invalid.length).toBeGreaterThan(0);
  });

  for (const hasher of hashers) {
    for (const tree of vectors.trees) {
      it(`[${hasher.name}] ${tree.name}: root, leaf count and every proof`, () => {
        const data = fromHex(tree.data);
        const { root, leafCount } = computeSegmentTree(data, { hasher });
        expect(toHex(root)).toBe(tree.root);
        expect(leafCount).toBe(tree.leafCount);
        for (const p of tree.proofs) {
          const segment = fromHex(p.segment);
          const path = p.path.map(fromHex);
          expect(verifySegmentProof(root, leafCount, p.index, segment, path, { hasher })).toBe(
            true,
          );
          const mine = proveSegment(data, p.index, { hasher });
          expect(toHex(mine.segment)).toBe(p.segment);
          expect(mine.path.map(toHex)).toEqual(p.path);
        }
      });
    }

    for (const bad of vectors.invalid) {
      it(`[${hasher.name}] rejects: ${bad.name}`, () => {
        const ok = verifySegmentProof(
          fromHex(bad.root),
          bad.leafCount,
          bad.index,
          fromHex(bad.segment),
          bad.path.map(fromHex),
          { hasher },
        );
        expect(ok).toBe(false);
      });
    }
  }
});

describe("SegmentTreeBuilder", () => {
  it("streams: any chunking gives the reference root, for random sizes", () => {
    const sizes = [
      0,
      1,
      511,
      512,
      513,
      1024,
      1536,
      4095,
      4097,
      64 * 512,
      64 * 512 + 1,
      100_000,
      333 * 512 + 17,
    ];
    for (const size of sizes) {
      const data = randomBytes(size);
      const ref = referenceLevels(data);
      const refRoot = toHex(ref[ref.length - 1][0]);
      for (const hasher of hashers) {
        const b = new SegmentTreeBuilder({ hasher });
        let off = 0;
        while (off < size) {
          const n = 1 + Math.floor(Math.random() * 3000);
          b.update(data.subarray(off, off + n));
          off += n;
        }
        const r = b.finish();
        expect(toHex(r.root), `${size} bytes, ${hasher.name}`).toBe(refRoot);
        expect(r.leafCount).toBe(getSegmentCount(size));
      }
    }
  });

  it("an empty shard has one zero segment", () => {
    const r = computeSegmentTree(new Uint8Array(0));
    expect(r.leafCount).toBe(1);
    expect(toHex(r.root)).toBe(toHex(computeSegmentTree(new Uint8Array(512)).root));
  });

  it("depth is ceil(log2(leafCount))", () => {
    expect([1, 2, 3, 4, 5, 8, 9, 2 ** 21].map(getSegmentTreeDepth)).toEqual([
      0, 1, 2, 2, 3, 3, 4, 21,
    ]);
  });
});

describe("proofs from the prover's tree cache", () => {
  const sizes = [1, 512 * 7, 512 * 64, 512 * 64 + 5, 512 * 1000 + 300, 512 * 1024];
  for (const size of sizes) {
    it(`${size} bytes: cache proofs equal full-tree proofs and verify, at every cache level`, async () => {
      const data = randomBytes(size);
      const ref = referenceLevels(data);
      const leafCount = getSegmentCount(size);
      const depth = getSegmentTreeDepth(leafCount);
      const indexes = [
        ...new Set([0, 1, leafCount - 1, leafCount >> 1, 63, 64, 65, 511, 999]),
      ].filter((i) => i < leafCount);
      for (const level of [0, 1, 3, 6, 40]) {
        const { root, cache } = computeSegmentTree(data, { cacheLevel: level });
        const bytes = serializeSegmentTreeCache(cache!);
        const parsed = parseSegmentTreeCache(bytes);
        expect(parsed.level).toBe(Math.min(level, depth));
        let reads = 0;
        for (const index of indexes) {
          const proof = await proveFromCache(parsed, index, async (first, count) => {
            reads += count;
            return data.subarray(first * SEGMENT_SIZE, (first + count) * SEGMENT_SIZE);
          });
          const expectedPath = ref.slice(0, -1).map((lv, l) => toHex(lv[(index >> l) ^ 1]));
          expect(proof.path.map(toHex), `index ${index} level ${level}`).toEqual(expectedPath);
          expect(verifySegmentProof(root, leafCount, index, proof.segment, proof.path)).toBe(true);
        }
        expect(reads).toBeLessThanOrEqual(indexes.length * 2 ** Math.min(level, depth));
      }
    });
  }

  it("cache size: level 6 keeps ~2·32/64 bytes per segment", () => {
    const data = randomBytes(512 * 4096);
    const { cache } = computeSegmentTree(data, { cacheLevel: 6 });
    const bytes = serializeSegmentTreeCache(cache!);
    expect(bytes.length).toBe(52 + 32 * (64 + 32 + 16 + 8 + 4 + 2));
  });

  it("a damaged shard is detected when proving (ShardMismatchError)", async () => {
    const data = randomBytes(512 * 200);
    const { cache } = computeSegmentTree(data, { cacheLevel: 4 });
    const damaged = Uint8Array.from(data);
    damaged[512 * 37 + 3] ^= 1;
    const err = await proveFromCache(cache!, 37, (first, count) =>
      damaged.subarray(first * 512, (first + count) * 512),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShardMismatchError);
    // other blocks of 16 segments are unaffected
    await expect(
      proveFromCache(cache!, 100, (first, count) =>
        damaged.subarray(first * 512, (first + count) * 512),
      ),
    ).resolves.toBeDefined();
  });

  it("rejects corrupted or foreign cache bytes (InvalidFormatError)", () => {
    const { cache } = computeSegmentTree(randomBytes(512 * 300), { cacheLevel: 2 });
    const good = serializeSegmentTreeCache(cache!);
    const cases: Uint8Array[] = [
      good.subarray(0, 40),
      Uint8Array.from(good, (x, i) => (i === 0 ? x ^ 1 : x)),
      Uint8Array.from(good, (x, i) => (i === 4 ? 2 : x)),
      good.subarray(0, good.length - 32),
      Uint8Array.from(good, (x, i) => (i === good.length - 1 ? x ^ 1 : x)),
      Uint8Array.from(good, (x, i) => (i === 60 ? x ^ 1 : x)),
    ];
    for (const c of cases) expect(() => parseSegmentTreeCache(c)).toThrow(InvalidFormatError);
    expect(parseSegmentTreeCache(good).leafCount).toBe(300);
  });
});

describe("pushSubtree: block roots computed elsewhere (worker threads)", () => {
  it("full blocks pushed as subtree roots plus a partial tail fed as bytes give the same root and cache", () => {
    const height = 3; // blocks of 8 segments
    const block = SEGMENT_SIZE * 2 ** height;
    for (const size of [block, 2 * block, 5 * block, 5 * block + 1, 7 * block + 3000, 16 * block]) {
      const data = randomBytes(size);
      const whole = computeSegmentTree(data, { cacheLevel: 4 });
      const b = new SegmentTreeBuilder({ cacheLevel: 4 });
      let off = 0;
      for (; off + block <= size; off += block)
        b.pushSubtree(computeSegmentTree(data.subarray(off, off + block)).root, height);
      b.update(data.subarray(off));
      const r = b.finish();
      expect(toHex(r.root), `${size}`).toBe(toHex(whole.root));
      expect(r.leafCount).toBe(whole.leafCount);
      expect(toHex(serializeSegmentTreeCache(r.cache!))).toBe(
        toHex(serializeSegmentTreeCache(whole.cache!)),
      );
    }
  });

  it("refuses misaligned subtrees and heights above the cache level", () => {
    const b = new SegmentTreeBuilder();
    b.update(new Uint8Array(SEGMENT_SIZE));
    expect(() => b.pushSubtree(new Uint8Array(32), 1)).toThrow();
    b.pushSubtree(new Uint8Array(32), 0);
    b.pushSubtree(new Uint8Array(32), 1);
    b.update(new Uint8Array(10));
    expect(() => b.pushSubtree(new Uint8Array(32), 0)).toThrow();
    expect(() =>
      new SegmentTreeBuilder({ cacheLevel: 2 }).pushSubtree(new Uint8Array(32), 3),
    ).toThrow();
  });
});

describe("a 64 MiB shard", () => {
  it("cache level 6: ~1 byte per segment, proofs read 32 KiB and match full-tree paths", async () => {
    const data = randomBytes(64 * 1024 * 1024 + 1000);
    const { root, leafCount, cache } = computeSegmentTree(data, { cacheLevel: 6 });
    const bytes = serializeSegmentTreeCache(cache!);
    expect(bytes.length).toBeLessThan(leafCount * 1.01 + 100); // 32·(1/64 + 1/128 + …) per segment
    const parsed = parseSegmentTreeCache(bytes);
    const full = computeSegmentTree(data, { cacheLevel: 0 }).cache!; // every level: reference paths
    for (const index of [0, 12345, leafCount - 2, leafCount - 1]) {
      let read = 0;
      const proof = await proveFromCache(parsed, index, (first, count) => {
        const b = data.subarray(first * SEGMENT_SIZE, (first + count) * SEGMENT_SIZE);
        read += b.length;
        return b;
      });
      expect(read).toBeLessThanOrEqual(32 * 1024);
      expect(proof.path.length).toBe(getSegmentTreeDepth(leafCount));
      expect(verifySegmentProof(root, leafCount, index, proof.segment, proof.path)).toBe(true);
      const reference = await proveFromCache(full, index, (first, count) =>
        data.subarray(first * SEGMENT_SIZE, (first + count) * SEGMENT_SIZE),
      );
      expect(proof.path.map(toHex)).toEqual(reference.path.map(toHex));
    }
  });
});

describe("misuse and malformed input get typed errors that say what is wrong", () => {
  it("hashParents refuses nodes that are not whole 64-byte pairs", () => {
    expect(() => hashParents(portableHasher, new Uint8Array(96))).toThrow(
      new RangeError("96 bytes is not whole pairs"),
    );
    expect(toHex(hashParents(portableHasher, new Uint8Array(64)))).toBe(
      toHex(portableHasher.node(new Uint8Array(32), new Uint8Array(32))),
    );
  });

  it("hashSubtreeRoots one hash at a time refuses data that is not whole subtrees of that height", () => {
    const seg = (n: number): Uint8Array => new Uint8Array(512 * n).fill(3);
    const cases: [Uint8Array, number][] = [
      [new Uint8Array(1000), 0],
      [seg(3), 1],
      [seg(2), -1],
      [new Uint8Array(0), 0.5],
      [seg(4), 1.5],
    ];
    for (const [data, height] of cases)
      expect(() => hashSubtreeRoots(portableHasher, data, height)).toThrow(
        new RangeError(`${data.length} bytes is not whole subtrees of height ${height}`),
      );
    const leaf = portableHasher.leaf(seg(1));
    const pair = toHex(portableHasher.node(leaf, leaf));
    expect(toHex(hashSubtreeRoots(portableHasher, seg(4), 1))).toBe(`${pair}${pair.slice(2)}`);
    expect(hashSubtreeRoots(portableHasher, new Uint8Array(0), 3).length).toBe(0);
  });

  it("a cache level outside [0, 52] is refused", () => {
    for (const cacheLevel of [-1, 53, 1.5])
      expect(() => new SegmentTreeBuilder({ cacheLevel })).toThrow(
        `cacheLevel = ${cacheLevel}: must be an integer in [0, 52]`,
      );
    expect(computeSegmentTree(new Uint8Array(512), { cacheLevel: 52 }).cache?.level).toBe(0);
  });

  it("pushSubtree refuses a bad height or root, and every call after finish()", () => {
    const b = new SegmentTreeBuilder();
    expect(() => b.pushSubtree(new Uint8Array(32), 53)).toThrow(
      "height = 53: must be an integer in [0, 52]",
    );
    expect(() => b.pushSubtree(new Uint8Array(32), -1)).toThrow(
      "height = -1: must be an integer in [0, 52]",
    );
    expect(() => b.pushSubtree(new Uint8Array(31), 0)).toThrow("root = 31: must be 32 bytes");
    b.pushSubtree(new Uint8Array(32), 0);
    b.finish();
    expect(() => b.pushSubtree(new Uint8Array(32), 0)).toThrow(
      "subtree = 0: pushSubtree() after finish()",
    );
    expect(() => b.update(new Uint8Array(7))).toThrow("chunk = 7: update() after finish()");
    expect(() => b.finish()).toThrow("finish = 2: finish() called twice");
    for (const f of [() => b.update(new Uint8Array(1)), () => b.finish()])
      expect(f).toThrow(InvalidParametersError);
  });

  it("pushSubtree takes a subtree of the largest height, 52, as the whole tree", () => {
    const b = new SegmentTreeBuilder();
    const root = Uint8Array.from({ length: 32 }, (_, i) => i);
    b.pushSubtree(root, 52);
    const result = b.finish();
    expect(result.leafCount).toBe(2 ** 52);
    expect(toHex(result.root)).toBe(toHex(root));
  });

  it("a segment index outside [0, leafCount) is refused", async () => {
    const data = randomBytes(512 * 20);
    const { cache } = computeSegmentTree(data, { cacheLevel: 2 });
    const read = (first: number, count: number): Uint8Array =>
      data.subarray(first * 512, (first + count) * 512);
    for (const index of [-1, 20, 0.5])
      await expect(proveFromCache(cache!, index, read)).rejects.toThrow(
        `index = ${index}: segment index must be in [0, 20)`,
      );
    expect(() => proveSegment(data, 20)).toThrow("index = 20: segment index must be in [0, 20)");
    await expect(proveFromCache(cache!, 19, read)).resolves.toBeDefined();
  });

  it("proveFromCache says which segments a short or long read was for", async () => {
    const data = randomBytes(512 * 200);
    const { cache } = computeSegmentTree(data, { cacheLevel: 4 }); // blocks of 16 segments
    for (const got of [100, 15 * 512, 16 * 512 + 1, 0]) {
      const err = await proveFromCache(cache!, 37, () => new Uint8Array(got)).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ShardMismatchError);
      expect(err).toMatchObject({
        message: `read ${got} bytes for segments 32..47`,
        expected: 16 * 512,
        actual: got,
      });
    }
    // A shard of 199 segments and 1 byte: its last block is 8 segments, the last one 1 byte.
    const tail = randomBytes(512 * 199 + 1);
    const t = computeSegmentTree(tail, { cacheLevel: 4 }).cache!;
    const err = await proveFromCache(t, 199, () => tail.subarray(192 * 512, 199 * 512)).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ message: "read 3584 bytes for segments 192..199", expected: 4096 });
    await expect(proveFromCache(t, 199, () => tail.subarray(192 * 512))).resolves.toBeDefined();
  });

  it("a cache whose root is not 32 bytes proves nothing", async () => {
    const data = randomBytes(512 * 4);
    const { cache } = computeSegmentTree(data, { cacheLevel: 2 }); // level 2 = depth: root only
    const read = (first: number, count: number): Uint8Array =>
      data.subarray(first * 512, (first + count) * 512);
    await expect(proveFromCache(cache!, 1, read)).resolves.toBeDefined();
    const longRoot = { ...cache!, root: Uint8Array.of(...cache!.root, 0) };
    await expect(proveFromCache(longRoot, 1, read)).rejects.toThrow(ShardMismatchError);
  });

  it("verifySegmentProof is false when a sibling hash is not 32 bytes", () => {
    const data = randomBytes(512 * 5);
    const { root } = computeSegmentTree(data);
    const proof = proveSegment(data, 2);
    expect(verifySegmentProof(root, 5, 2, proof.segment, proof.path)).toBe(true);
    for (const cut of [31, 33]) {
      const path = proof.path.map((p, i) =>
        i === 1 ? (cut < 32 ? p.subarray(0, cut) : Uint8Array.of(...p, 0)) : p,
      );
      expect(verifySegmentProof(root, 5, 2, proof.segment, path), `${cut}`).toBe(false);
    }
  });

  it("serializeSegmentTreeCache names a level of the wrong size", () => {
    const { cache } = computeSegmentTree(randomBytes(512 * 10), { cacheLevel: 1 });
    // levels 1..3 of a 10-leaf tree: 5, 3 and 2 nodes.
    const short = { ...cache!, levels: [cache!.levels[0]!, cache!.levels[1]!.subarray(32)] };
    const err = (() => {
      try {
        return serializeSegmentTreeCache(short);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidParametersError);
    expect(err).toMatchObject({
      message: "levels[1] = 64: must hold 96 bytes",
      parameter: "levels[1]",
      value: 64,
    });
    const missing = { ...cache!, levels: cache!.levels.slice(0, 2) };
    expect(() => serializeSegmentTreeCache(missing)).toThrow(
      "levels[2] = undefined: must hold 64 bytes",
    );
  });

  it("parseSegmentTreeCache says which header field it does not read", () => {
    const { cache } = computeSegmentTree(randomBytes(512 * 10), { cacheLevel: 1 });
    const good = serializeSegmentTreeCache(cache!);
    const edit = (f: (b: Uint8Array, v: DataView) => void): Uint8Array => {
      const b = Uint8Array.from(good);
      f(b, new DataView(b.buffer));
      return b;
    };
    const cases: [Uint8Array, string][] = [
      [edit((b) => (b[5] = 2)), "unsupported hash id 2"],
      [edit((_, v) => v.setUint32(8, 1024)), "segment size 1024"],
      [edit((_, v) => v.setUint32(16, 0)), "leafCount 0"],
      [edit((_, v) => v.setUint32(12, 2 ** 21)), `leafCount ${2 ** 53 + 10}`],
      [edit((b) => (b[6] = 5)), "level 5 above depth"],
    ];
    for (const [bytes, why] of cases)
      expect(() => parseSegmentTreeCache(bytes), why).toThrow(
        new InvalidFormatError("segment tree cache", why),
      );
    expect(parseSegmentTreeCache(good).leafCount).toBe(10);
  });
});

describe("builder position, cache levels, and proofs checked at their edges", () => {
  it("pushSubtree says where the builder stands when a subtree does not fit", () => {
    const b = new SegmentTreeBuilder();
    b.update(new Uint8Array(512 + 10));
    expect(b.bytesIn).toBe(522);
    expect(() => b.pushSubtree(new Uint8Array(32), 0)).toThrow(
      "height = 0: subtree must start at a multiple of 1 segments (at 522 bytes)",
    );
    const c = new SegmentTreeBuilder({ cacheLevel: 2 });
    expect(() => c.pushSubtree(new Uint8Array(32), 3)).toThrow(
      "height = 3: must be ≤ the cache level 2",
    );
    c.update(new Uint8Array(512 * 3));
    expect(c.bytesIn).toBe(1536);
    expect(() => c.pushSubtree(new Uint8Array(32), 2)).toThrow(
      "height = 2: subtree must start at a multiple of 4 segments (at 1536 bytes)",
    );
  });

  it("the cache holds exactly levels L .. depth - 1, none when L is the depth", () => {
    const data = randomBytes(512 * 10); // depth 4
    expect(computeSegmentTree(data, { cacheLevel: 1 }).cache!.levels.map((l) => l.length)).toEqual([
      5 * 32,
      3 * 32,
      2 * 32,
    ]);
    expect(computeSegmentTree(data, { cacheLevel: 4 }).cache!.levels).toEqual([]);
    expect(computeSegmentTree(data, { cacheLevel: 9 }).cache).toMatchObject({
      level: 4,
      levels: [],
    });
  });

  it("a damaged block names its segments and both hashes", async () => {
    const data = randomBytes(512 * 200);
    const { cache } = computeSegmentTree(data, { cacheLevel: 4 });
    const damaged = Uint8Array.from(data);
    damaged[512 * 37 + 3] ^= 1;
    const err = await proveFromCache(cache!, 37, (first, count) =>
      damaged.subarray(first * 512, (first + count) * 512),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShardMismatchError);
    const node = toHex(cache!.levels[0]!.subarray(32 * 2, 32 * 3));
    const got = toHex(computeSegmentTree(damaged.subarray(32 * 512, 48 * 512)).root);
    expect(err).toMatchObject({
      message: "segments 32..47 do not match the tree cache",
      expected: node,
      actual: got,
    });
  });

  it("proveFromCache reads only the segments of the last, shorter block", async () => {
    const data = randomBytes(512 * 200);
    const { root, cache } = computeSegmentTree(data, { cacheLevel: 4 });
    const reads: [number, number][] = [];
    const proof = await proveFromCache(cache!, 199, (first, count) => {
      reads.push([first, count]);
      return data.subarray(first * 512, (first + count) * 512);
    });
    expect(reads).toEqual([[192, 8]]);
    expect(verifySegmentProof(root, 200, 199, proof.segment, proof.path)).toBe(true);
  });

  it("a one-segment block read as more than 512 bytes is a mismatch, as is an empty read of a full one", async () => {
    const data = randomBytes(512 * 17);
    const { cache } = computeSegmentTree(data, { cacheLevel: 4 }); // the last block is segment 16 alone
    for (const bytes of [new Uint8Array(513), new Uint8Array(1024)]) {
      const err = await proveFromCache(cache!, 16, () => bytes).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ShardMismatchError);
      expect(err).toMatchObject({ message: `read ${bytes.length} bytes for segments 16..16` });
    }
    await expect(proveFromCache(cache!, 16, () => data.subarray(16 * 512))).resolves.toBeDefined();
  });

  it("verifySegmentProof is false for a leaf count that is no safe integer and a negative index", () => {
    const segment = randomBytes(512);
    const leaf = portableHasher.leaf(segment);
    expect(verifySegmentProof(leaf, 1, 0, segment, [])).toBe(true);
    for (const leafCount of [Number.NaN, Number.POSITIVE_INFINITY, 0.5])
      expect(verifySegmentProof(leaf, leafCount, 0, segment, []), `${leafCount}`).toBe(false);
    const data = randomBytes(512 * 2);
    const { root } = computeSegmentTree(data);
    const proof = proveSegment(data, 0);
    expect(verifySegmentProof(root, 2, 0, proof.segment, proof.path)).toBe(true);
    expect(verifySegmentProof(root, 2, -1, proof.segment, proof.path)).toBe(false);
    expect(verifySegmentProof(root, 2, -2, proof.segment, proof.path)).toBe(false);
  });

  it("keeps a cache only when asked for one", () => {
    const data = randomBytes(512 * 5);
    expect(computeSegmentTree(data).cache).toBeUndefined();
    expect(computeSegmentTree(data, { cacheLevel: 1 }).cache?.level).toBe(1);
  });
});

describe("the SIMD kernel's batch forms refuse malformed input as the one-by-one forms do", () => {
  const simd = getSimdHasher(portableHasher)!;
  const seg = (n: number): Uint8Array => new Uint8Array(512 * n).fill(5);

  it("parents and subtree roots name the length or height", () => {
    expect(() => hashParents(simd, new Uint8Array(160))).toThrow(
      new RangeError("160 bytes is not whole pairs"),
    );
    for (const height of [-1, 53, 0.5])
      expect(() => hashSubtreeRoots(simd, seg(4), height)).toThrow(
        new RangeError(`height ${height}`),
      );
    expect(() => hashSubtreeRoots(simd, seg(3), 1)).toThrow(
      new RangeError("1536 bytes is not whole subtrees of height 1"),
    );
    expect(toHex(hashSubtreeRoots(simd, seg(4), 2))).toBe(
      toHex(hashSubtreeRoots(portableHasher, seg(4), 2)),
    );
  });

  it("an engine whose validate() throws has no SIMD", () => {
    const broken = {
      validate: () => {
        throw new Error("no");
      },
    } as unknown as WasmApi;
    expect(simdSupported(broken)).toBe(false);
    expect(simdSupported(null)).toBe(false);
  });
});

describe("tree cache bytes: every check says what it found", () => {
  const { cache } = computeSegmentTree(randomBytes(512 * 10), { cacheLevel: 1 }); // levels 1, 2, 3
  const good = serializeSegmentTreeCache(cache!);
  const flip = (at: number): Uint8Array => Uint8Array.from(good, (x, i) => (i === at ? x ^ 1 : x));

  it("names the short header, the magic, the version, the length and the level that does not hash up", () => {
    const cases: [Uint8Array, string][] = [
      [good.subarray(0, 51), "51 bytes is shorter than the header"],
      [flip(0), "bad magic"],
      [Uint8Array.from(good, (x, i) => (i === 4 ? 2 : x)), "unsupported version 2"],
      [
        good.subarray(0, good.length - 32),
        `length ${good.length - 32} does not match leafCount 10`,
      ],
      [flip(52), "level 2 does not match the level below"], // a level-1 node
      [flip(good.length - 1), "level 3 does not match the level below"], // a level-3 node
      [flip(20), "level 4 does not match the level below"], // the root
    ];
    for (const [bytes, why] of cases)
      expect(() => parseSegmentTreeCache(bytes), why).toThrow(
        new InvalidFormatError("segment tree cache", why),
      );
  });

  it("a leaf count above 2^32 is written in both header words and read back", () => {
    const leafCount = 2 ** 32 + 5; // depth 33: at level 33 only the root is stored
    const bytes = serializeSegmentTreeCache({
      leafCount,
      level: 33,
      root: new Uint8Array(32),
      levels: [],
    });
    const view = new DataView(bytes.buffer);
    expect([view.getUint32(12), view.getUint32(16)]).toEqual([1, 5]);
    expect(parseSegmentTreeCache(bytes)).toMatchObject({ leafCount, level: 33, levels: [] });
  });
});
