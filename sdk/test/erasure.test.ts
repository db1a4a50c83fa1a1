import { describe, expect, it, vi } from "vitest";
import { mulberry32 as rng } from "../bench/_util.ts";
import { InvalidParametersError, NotEnoughShardsError, ShardMismatchError } from "../src/errors.ts";
import {
  StripeSplitter,
  createReedSolomon,
  decodeStream,
  encodeStream,
  encodeStripe,
  getStripeLayout,
  isValidBlockSize,
  getStripeRange,
  parityMatrix,
  rebuildShards,
  type StripeLayout,
} from "../src/erasure/index.ts";
import { gfDiv, gfInv, gfMul, invertMatrix, mulRegion } from "../src/erasure/gf256.ts";

function randomBytes(len: number, rand: () => number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (rand() * 256) | 0;
  return b;
}
function* subsets(n: number, k: number, start = 0, acc: number[] = []): Generator<number[]> {
  if (acc.length === k) {
    yield [...acc];
    return;
  }
  for (let i = start; i <= n - (k - acc.length); i++) {
    acc.push(i);
    yield* subsets(n, k, i + 1, acc);
    acc.pop();
  }
}
function sample(n: number, k: number, rand: () => number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, k).sort((a, b) => a - b);
}
function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
/** Splits bytes into random-size chunks, as a network stream would deliver them. */
function* chunked(data: Uint8Array, rand: () => number, max = 5000): Generator<Uint8Array> {
  let off = 0;
  while (off < data.length) {
    const n = 1 + Math.floor(rand() * max);
    yield data.subarray(off, off + n);
    off += n;
  }
}
async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p.slice());
  return concat(parts);
}
async function encodeToShards(
  data: Uint8Array,
  k: number,
  n: number,
  blockSize: number,
  rand: () => number,
): Promise<Uint8Array[]> {
  const parts: Uint8Array[][] = Array.from({ length: n }, () => []);
  for await (const stripe of encodeStream(chunked(data, rand), {
    dataShards: k,
    totalShards: n,
    blockSize,
  }))
    stripe.blocks.forEach((b, i) => parts[i].push(b.slice()));
  return parts.map(concat);
}

describe("GF(2^8)", () => {
  it("multiplication is the field's (0x11d): known products and inverses", () => {
    expect(gfMul(2, 0x80)).toBe(0x1d);
    expect(gfMul(3, 7)).toBe(9);
    for (let a = 1; a < 256; a++) {
      const inv = invertMatrix([Uint8Array.of(a)]);
      expect(gfMul(a, inv![0][0])).toBe(1);
    }
  });

  it("division undoes multiplication, and division by 0 is refused", () => {
    expect(gfDiv(0x1d, 2)).toBe(0x80);
    expect(gfDiv(9, 7)).toBe(3);
    expect(gfDiv(0, 0x53)).toBe(0);
    for (let b = 1; b < 256; b += 17) expect(gfDiv(gfMul(0xa7, b), b)).toBe(0xa7);
    expect(() => gfDiv(5, 0)).toThrow(/0 has no inverse/);
  });

  it("0 has no inverse; a singular matrix has none either (undefined, not a wrong matrix)", () => {
    expect(() => gfInv(0)).toThrow(RangeError);
    expect(() => gfInv(0)).toThrow(/0 has no inverse/);
    expect(gfMul(gfInv(0x53), 0x53)).toBe(1);
    expect(invertMatrix([Uint8Array.of(0)])).toBeUndefined();
    expect(invertMatrix([Uint8Array.of(1, 2), Uint8Array.of(2, 4)])).toBeUndefined(); // row 2 = 2·row 1
    expect(
      invertMatrix([Uint8Array.of(1, 0, 1), Uint8Array.of(0, 1, 1), Uint8Array.of(1, 1, 0)]),
    ).toBeUndefined(); // row 3 = row 1 ⊕ row 2
    // A zero on the diagonal is not singularity: rows are swapped to find a pivot.
    expect(invertMatrix([Uint8Array.of(0, 1), Uint8Array.of(1, 0)])?.map((r) => [...r])).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });

  it("word (aligned) and byte (unaligned) kernels agree for every coefficient", () => {
    const rand = rng(1);
    const src = randomBytes(1029, rand);
    for (let c = 0; c < 256; c++) {
      const a = new Uint8Array(1024);
      const b = new Uint8Array(1025).subarray(1); // unaligned: byte path
      mulRegion(a, src.subarray(0, 1024), c, false);
      mulRegion(b, src.subarray(1, 1025), c, false);
      for (let i = 0; i < 1024; i += 97) expect(a[i]).toBe(gfMul(c, src[i]));
      for (let i = 0; i < 1024; i += 89) expect(b[i]).toBe(gfMul(c, src[i + 1]));
      const acc = a.slice();
      mulRegion(acc, src.subarray(0, 1024), c, true);
      expect(acc.every((x) => x === 0)).toBe(true);
    }
  });

  it("mulRegion overwrites or accumulates into dst[0, src.length) only, whatever dst held", () => {
    const rand = rng(2);
    const before = randomBytes(44, rand);
    // A 36-byte source at offset 0 may take the word path; 37 bytes or offset 1 cannot.
    for (const [len, offset] of [
      [36, 0],
      [37, 0],
      [36, 1],
    ]) {
      const src = randomBytes(len, rand);
      for (const c of [0, 1, 2, 0x8e]) {
        const at = (): Uint8Array => {
          const d = new Uint8Array(before.length + offset).subarray(offset);
          d.set(before);
          return d;
        };
        const over = at();
        mulRegion(over, src, c, false);
        const acc = at();
        mulRegion(acc, src, c, true);
        const where = `c=${c} len=${len} offset=${offset}`;
        expect([...over.subarray(0, len)], where).toEqual([...src].map((x) => gfMul(c, x)));
        expect([...acc.subarray(0, len)], where).toEqual(
          [...src].map((x, i) => before[i] ^ gfMul(c, x)),
        );
        // Bytes past src.length belong to someone else.
        expect([...over.subarray(len)], where).toEqual([...before.subarray(len)]);
        expect([...acc.subarray(len)], where).toEqual([...before.subarray(len)]);
      }
    }
  });
});

describe("parityMatrix", () => {
  it("has ones in its first row and column (parity 0 is the XOR of the data blocks)", () => {
    const p = parityMatrix(4, 6);
    expect([...p[0]]).toEqual([1, 1, 1, 1]);
    expect(p[1][0]).toBe(1);
    expect(parityMatrix(10, 32).every((row) => row[0] === 1)).toBe(true);
  });

  it("is pinned: the k=4, n=6 matrix is part of the shard format", () => {
    expect(parityMatrix(4, 6).map((r) => [...r])).toEqual([
      [1, 1, 1, 1],
      [1, 217, 92, 172],
    ]);
  });

  it("every square submatrix sampled from n=32 matrices is invertible (MDS)", () => {
    const rand = rng(7);
    for (const k of [1, 2, 8, 16, 24, 31]) {
      const p = parityMatrix(k, 32);
      for (let trial = 0; trial < 40; trial++) {
        const size = 1 + Math.floor(rand() * Math.min(k, 32 - k));
        const rows = sample(32 - k, size, rand);
        const cols = sample(k, size, rand);
        const sub = rows.map((r) => Uint8Array.from(cols, (c) => p[r][c]));
        expect(invertMatrix(sub), `k=${k} rows ${rows} cols ${cols}`).toBeDefined();
      }
    }
  });
});

describe("createReedSolomon", () => {
  it("rejects invalid parameters with InvalidParametersError", () => {
    // The message names the parameter, the value given and what is allowed.
    const bad: [number, number, string, RegExp][] = [
      [0, 4, "dataShards", /^dataShards = 0: .*integer ≥ 1/],
      [-1, 4, "dataShards", /^dataShards = -1: .*integer ≥ 1/],
      [1.5, 4, "dataShards", /^dataShards = 1.5: .*integer ≥ 1/],
      [5, 4, "totalShards", /^totalShards = 4: .*integer ≥ dataShards \(5\)/],
      [4, 33, "totalShards", /^totalShards = 33: .*≤ 32/],
      [4, Number.NaN, "totalShards", /^totalShards = NaN: .*integer ≥ dataShards \(4\)/],
    ];
    for (const [k, n, parameter, message] of bad) {
      let err: unknown;
      try {
        createReedSolomon({ dataShards: k, totalShards: n });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidParametersError);
      expect((err as InvalidParametersError).name).toBe("InvalidParametersError");
      expect((err as InvalidParametersError).parameter).toBe(parameter);
      expect((err as InvalidParametersError).message).toMatch(message);
    }
    expect(() => createReedSolomon({ dataShards: 32, totalShards: 32 })).not.toThrow();
    expect(() => createReedSolomon({ dataShards: 1, totalShards: 1 })).not.toThrow();
  });

  it("parity equals the matrix definition, computed byte by byte with gfMul", () => {
    const rand = rng(3);
    for (const [k, n] of [
      [1, 3],
      [4, 6],
      [5, 9],
      [10, 14],
      [16, 32],
    ] as const) {
      const p = parityMatrix(k, n);
      const rs = createReedSolomon({ dataShards: k, totalShards: n });
      for (const len of [64, 40 * 1024 + 12, 13]) {
        const data = Array.from({ length: k }, () => randomBytes(len, rand));
        const parity = rs.encode(data);
        for (let i = 0; i < n - k; i++)
          for (let x = 0; x < len; x += 1 + Math.floor(rand() * 50)) {
            let acc = 0;
            for (let j = 0; j < k; j++) acc ^= gfMul(p[i][j], data[j][x]);
            expect(parity[i][x]).toBe(acc);
          }
      }
    }
  });

  it("rejects blocks of different lengths", () => {
    const rs = createReedSolomon({ dataShards: 2, totalShards: 3 });
    expect(() => rs.encode([new Uint8Array(8), new Uint8Array(9)])).toThrow(InvalidParametersError);
    expect(() => rs.encode([new Uint8Array(8), new Uint8Array(9)])).toThrow(
      /^data = 9: .*differ in length \(8\)/,
    );
    expect(() => rs.encode([new Uint8Array(8)])).toThrow(InvalidParametersError);
    expect(() => rs.encode([new Uint8Array(8)])).toThrow(/^data = 1: .*2 data blocks/);
  });

  it("encode into the caller's parity blocks: refuses the wrong count or length, naming what it must be", () => {
    const rs = createReedSolomon({ dataShards: 2, totalShards: 4 });
    const data = [Uint8Array.of(1, 2, 3, 4), Uint8Array.of(5, 6, 7, 8)];
    const bad: [Uint8Array[], RegExp][] = [
      [[new Uint8Array(4)], /^parity = 1: .*2 parity blocks/],
      [[new Uint8Array(4), new Uint8Array(4), new Uint8Array(4)], /^parity = 3: .*2 parity blocks/],
      [[new Uint8Array(4), new Uint8Array(3)], /^parity = 3: .*length must be 4/],
      [[new Uint8Array(5), new Uint8Array(4)], /^parity = 5: .*length must be 4/],
    ];
    for (const [parity, message] of bad) {
      expect(() => rs.encode(data, parity)).toThrow(InvalidParametersError);
      expect(() => rs.encode(data, parity)).toThrow(message);
    }
    const out = [new Uint8Array(4), new Uint8Array(4)];
    const parity = rs.encode(data, out);
    expect(parity[0]).toBe(out[0]);
    expect(parity[1]).toBe(out[1]);
    expect(parity).toEqual(rs.encode(data));
  });

  it("encode overwrites the caller's parity blocks: bytes left in them from an earlier stripe do not leak into the parity", () => {
    const rs = createReedSolomon({ dataShards: 3, totalShards: 5 });
    for (const len of [8, 7]) {
      const data = [0, 1, 2].map((b) => Uint8Array.from({ length: len }, (_, i) => 17 * b + i + 1));
      const dirty = [new Uint8Array(len).fill(0xff), new Uint8Array(len).fill(0x5a)];
      expect(rs.encode(data, dirty), `${len} bytes`).toEqual(rs.encode(data));
    }
  });

  it("reconstruct refuses a stripe of the wrong size, wanted indexes outside [0, n), blocks of different lengths", () => {
    const rs = createReedSolomon({ dataShards: 2, totalShards: 4 });
    const b = new Uint8Array(8);
    const bad: [() => unknown, RegExp][] = [
      [() => rs.reconstruct([b, b, b]), /^shards = 3: .*4 blocks/],
      [() => rs.reconstruct([b, b, b, b, b]), /^shards = 5: .*4 blocks/],
      [() => rs.reconstruct([b, undefined, b, b], { wanted: [4] }), /^wanted = 4: .*\[0, 4\)/],
      [() => rs.reconstruct([b, undefined, b, b], { wanted: [1, -1] }), /^wanted = -1: .*\[0, 4\)/],
      [() => rs.reconstruct([b, undefined, b, b], { wanted: [0.5] }), /^wanted = 0.5: .*\[0, 4\)/],
      [
        () => rs.reconstruct([b, undefined, new Uint8Array(9), b]),
        /^shards\[2\] = 9: .*differ in length \(8\)/,
      ],
      [
        () => rs.reconstruct([undefined, b, b, new Uint8Array(7)]),
        /^shards\[3\] = 7: .*differ in length \(8\)/,
      ],
    ];
    for (const [call, message] of bad) {
      expect(call).toThrow(InvalidParametersError);
      expect(call).toThrow(message);
    }
  });

  it("reconstruct asked only for shards it was given returns them, however few the others", () => {
    const rs = createReedSolomon({ dataShards: 3, totalShards: 5 });
    const b = Uint8Array.of(7, 7);
    const result = rs.reconstruct([undefined, b, undefined, undefined, null], { wanted: [1] });
    expect(result).toEqual([undefined, b, undefined, undefined, undefined]);
    expect(result[1]).toBe(b);
  });

  // (k, n): exhaustive over every k-subset while C(n, k) is small, sampled beyond.
  const shapes: [number, number][] = [
    [1, 1],
    [1, 2],
    [1, 5],
    [2, 3],
    [2, 4],
    [3, 5],
    [4, 6],
    [4, 8],
    [5, 8],
    [6, 10],
    [8, 8],
    [3, 12],
    [10, 16],
    [16, 32],
    [1, 32],
    [2, 32],
    [31, 32],
    [32, 32],
    [20, 30],
  ];
  for (const [k, n] of shapes) {
    it(`k=${k}, n=${n}: every ${binomial(n, k) <= 300 ? "" : "sampled "}k-subset rebuilds the whole stripe`, () => {
      const rand = rng(k * 100 + n);
      const rs = createReedSolomon({ dataShards: k, totalShards: n });
      for (const len of [4 * 37, 33]) {
        // 148 bytes: word path; 33 bytes: byte path
        const data = Array.from({ length: k }, () => randomBytes(len, rand));
        const parity = rs.encode(data);
        const all = [...data, ...parity];
        const exhaustive = binomial(n, k) <= 300;
        const picks = exhaustive
          ? [...subsets(n, k)]
          : Array.from({ length: 60 }, () => sample(n, k, rand));
        for (const keep of picks) {
          const given = all.map((b, i) => (keep.includes(i) ? b : undefined));
          const out = rs.reconstruct(given);
          for (let i = 0; i < n; i++) expect(out[i], `keep ${keep}, shard ${i}`).toEqual(all[i]);
        }
      }
    });
  }

  it("rebuilds one lost shard (data or parity) from any k others, without touching the rest", () => {
    const rand = rng(99);
    const [k, n] = [4, 6];
    const rs = createReedSolomon({ dataShards: k, totalShards: n });
    const data = Array.from({ length: k }, () => randomBytes(4096, rand));
    const all = [...data, ...rs.encode(data)];
    for (let lost = 0; lost < n; lost++) {
      const others = [...Array(n).keys()].filter((i) => i !== lost);
      for (const keep of subsets(others.length, k)) {
        const given = all.map((b, i) => (keep.map((j) => others[j]).includes(i) ? b : undefined));
        const out = rs.reconstruct(given, { wanted: [lost] });
        expect(out[lost]).toEqual(all[lost]);
        const untouched = [...Array(n).keys()].filter((i) => i !== lost && given[i] === undefined);
        for (const i of untouched) expect(out[i]).toBeUndefined();
      }
    }
  });

  it("names the missing shard indexes when fewer than k are present", () => {
    const rs = createReedSolomon({ dataShards: 4, totalShards: 6 });
    const b = new Uint8Array(16);
    let err: unknown;
    try {
      rs.reconstruct([b, undefined, b, undefined, null, undefined]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotEnoughShardsError);
    const e = err as NotEnoughShardsError;
    expect(e.name).toBe("NotEnoughShardsError");
    expect(e.missing).toEqual([1, 3, 4, 5]);
    expect(e.have).toBe(2);
    expect(e.need).toBe(4);
  });

  it("a long-lived codec keeps at most 64 decode matrices, however many loss patterns it meets", () => {
    // A repairing provider runs one codec for days and meets a new loss pattern with every
    // repair: C(12, 4) = 495 here, C(32, 16) ≈ 6·10^8 at n = 32. The cache of inverted
    // matrices (a Map, watched through Map.prototype.set) must stay bounded.
    const k = 4;
    const n = 12;
    const rand = rng(9);
    const rs = createReedSolomon({ dataShards: k, totalShards: n });
    const stripe = Array.from({ length: k }, () => randomBytes(16, rand));
    stripe.push(...rs.encode(stripe));
    const patterns = [...subsets(n, k)].slice(0, 200);
    const set = Map.prototype.set;
    let sets = 0;
    let largest = 0;
    const spy = vi.spyOn(Map.prototype, "set").mockImplementation(function (
      this: Map<unknown, unknown>,
      key: unknown,
      value: unknown,
    ) {
      set.call(this, key, value);
      sets++;
      largest = Math.max(largest, this.size);
      return this;
    });
    const rebuilt: (Uint8Array | undefined)[][] = [];
    try {
      for (const keep of [...patterns, ...patterns])
        rebuilt.push(rs.reconstruct(stripe.map((b, i) => (keep.includes(i) ? b : undefined))));
    } finally {
      spy.mockRestore();
    }
    expect(sets).toBeGreaterThanOrEqual(patterns.length);
    expect(largest).toBeLessThanOrEqual(64);
    // Evicted patterns are recomputed, to the same blocks.
    for (const full of rebuilt) expect(full).toEqual(stripe);
  });
});

describe("stripe layout", () => {
  it("shrinks the last stripe to the smallest 512-aligned block size", () => {
    const at = (dataLength: number): StripeLayout =>
      getStripeLayout({ dataShards: 4, totalShards: 6, dataLength });
    expect(at(0)).toMatchObject({ stripeCount: 0, lastBlockSize: 0, shardSize: 0 });
    expect(at(1)).toMatchObject({ stripeCount: 1, lastBlockSize: 512, shardSize: 512 });
    expect(at(2048)).toMatchObject({ stripeCount: 1, lastBlockSize: 512, shardSize: 512 });
    expect(at(2049)).toMatchObject({ stripeCount: 1, lastBlockSize: 1024, shardSize: 1024 });
    const mib = 1024 * 1024;
    expect(at(4 * mib)).toMatchObject({
      blockSize: mib,
      stripeCount: 1,
      lastBlockSize: mib,
      shardSize: mib,
    });
    expect(at(4 * mib + 1)).toMatchObject({
      stripeCount: 2,
      lastBlockSize: 512,
      shardSize: mib + 512,
    });
    expect(at(10 * mib)).toMatchObject({
      stripeCount: 3,
      lastBlockSize: mib / 2,
      shardSize: 2.5 * mib,
    });
  });

  it("stripe ranges: block s at s·B in every shard, data at s·k·B", () => {
    const mib = 1024 * 1024;
    const layout = getStripeLayout({ dataShards: 4, totalShards: 6, dataLength: 10 * mib });
    expect(getStripeRange(layout, 0)).toEqual({
      shardOffset: 0,
      blockSize: mib,
      dataOffset: 0,
      dataBytes: 4 * mib,
    });
    expect(getStripeRange(layout, 2)).toEqual({
      shardOffset: 2 * mib,
      blockSize: mib / 2,
      dataOffset: 8 * mib,
      dataBytes: 2 * mib,
    });
    // Past the end, before the start, between stripes, not a number: the message gives the range.
    for (const stripe of [3, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => getStripeRange(layout, stripe), `${stripe}`).toThrow(InvalidParametersError);
      expect(() => getStripeRange(layout, stripe), `${stripe}`).toThrow(
        new RegExp(`^stripe = ${stripe}: .*\\[0, 3\\)`),
      );
    }
  });

  it("rejects invalid block sizes (the one rule: a power of two, 512 to 64 MiB) and lengths", () => {
    for (const blockSize of [512, 1024, 64 * 1024, 1024 * 1024, 64 * 1024 * 1024])
      expect(isValidBlockSize(blockSize), `${blockSize}`).toBe(true);
    for (const blockSize of [
      0,
      511,
      1000,
      513,
      1536,
      3 * 1024 * 1024,
      128 * 1024 * 1024,
      1.5 * 512,
    ]) {
      expect(isValidBlockSize(blockSize), `${blockSize}`).toBe(false);
      expect(() =>
        getStripeLayout({ dataShards: 2, totalShards: 3, dataLength: 1, blockSize }),
      ).toThrow(InvalidParametersError);
      expect(() =>
        getStripeLayout({ dataShards: 2, totalShards: 3, dataLength: 1, blockSize }),
      ).toThrow(new RegExp(`^blockSize = ${blockSize}: .*power of two from 512 to 67108864`));
      // The splitter applies the same rule.
      expect(() => new StripeSplitter({ dataShards: 2, blockSize }), `${blockSize}`).toThrow(
        /^blockSize = .*power of two/,
      );
    }
    for (const dataLength of [-1, 0.5, Number.NaN, 2 ** 53]) {
      expect(() => getStripeLayout({ dataShards: 2, totalShards: 3, dataLength })).toThrow(
        InvalidParametersError,
      );
      expect(() => getStripeLayout({ dataShards: 2, totalShards: 3, dataLength })).toThrow(
        new RegExp(`^dataLength = ${dataLength}: .*safe integer ≥ 0`),
      );
    }
    expect(() => getStripeLayout({ dataShards: 0, totalShards: 3, dataLength: 1 })).toThrow(
      InvalidParametersError,
    );
  });

  it("splitter: shard i is the concatenation of block i of each stripe", () => {
    const rand = rng(5);
    const data = randomBytes(3 * 2048 + 700, rand);
    const s = new StripeSplitter({ dataShards: 2, blockSize: 1024 });
    const stripes = [...[...chunked(data, rand, 900)].flatMap((c) => s.push(c))];
    const last = s.finish()!;
    expect(stripes.map((x) => x.blockSize)).toEqual([1024, 1024, 1024]);
    expect(last).toMatchObject({ index: 3, blockSize: 512, dataBytes: 700 });
    expect(last.data.length).toBe(1024);
    expect(concat([...stripes.map((x) => x.data), last.data.subarray(0, 700)])).toEqual(data);
    expect(last.data.subarray(700).every((x) => x === 0)).toBe(true);
  });

  it("splitter: a second finish() gives no stripe (the last one is not handed out twice)", () => {
    const s = new StripeSplitter({ dataShards: 2, blockSize: 1024 });
    s.push(new Uint8Array(700).fill(1));
    expect(s.finish()).toMatchObject({ index: 0, dataBytes: 700 });
    expect(s.finish()).toBeUndefined();
  });

  it("splitter: bytes pushed after finish() are refused, not silently dropped", () => {
    for (const filled of [0, 700]) {
      const s = new StripeSplitter({ dataShards: 2, blockSize: 1024 });
      s.push(new Uint8Array(filled));
      s.finish();
      expect(() => s.push(new Uint8Array(5))).toThrow(InvalidParametersError);
      expect(() => s.push(new Uint8Array(5))).toThrow(/^chunk = 5: .*after finish/);
    }
  });
});

describe("encodeStream / decodeStream / rebuildShards", () => {
  const k = 4;
  const n = 6;
  const blockSize = 1024;
  const stripe = k * blockSize;
  const sizes = [0, 1, 511, stripe - 1, stripe, stripe + 1, 3 * stripe + 2049, 7 * stripe];
  /** `size` bytes drawn from `rand`, their layout and their n shards. */
  async function encoded(size: number, rand: () => number) {
    const data = randomBytes(size, rand);
    const layout = getStripeLayout({ dataShards: k, totalShards: n, blockSize, dataLength: size });
    return { data, layout, shards: await encodeToShards(data, k, n, blockSize, rand) };
  }
  for (const size of sizes) {
    it(`${size} bytes: every k-subset of shards decodes to the same bytes`, async () => {
      const rand = rng(size + 1);
      const { data, layout, shards } = await encoded(size, rand);
      for (const s of shards) expect(s.length).toBe(layout.shardSize);
      for (const keep of subsets(n, k)) {
        const given = shards.map((s, i) => (keep.includes(i) ? chunked(s, rand, 700) : undefined));
        expect(await collect(decodeStream(layout, given)), `keep ${keep}`).toEqual(data);
      }
    });
  }

  it("shards delivered as async streams (as from the network) decode and rebuild", async () => {
    const rand = rng(14);
    const { data, layout, shards } = await encoded(2 * stripe + 700, rand);
    async function* network(bytes: Uint8Array, seed: number): AsyncGenerator<Uint8Array> {
      await Promise.resolve();
      yield* chunked(bytes, rng(seed), 600);
    }
    const given = (lost: number[]) =>
      shards.map((s, i) => (lost.includes(i) ? undefined : network(s, i)));
    expect(await collect(decodeStream(layout, given([0, 3])))).toEqual(data);
    const parts: Uint8Array[] = [];
    for await (const [block] of rebuildShards(layout, given([2, 5]), [5]))
      parts.push(block.slice());
    expect(concat(parts)).toEqual(shards[5]);
  });

  it("decodeStream reads only k shards, data shards first: the others are never pulled", async () => {
    const rand = rng(16);
    const { data, layout, shards } = await encoded(3 * stripe + 100, rand);
    for (const lost of [[], [1], [0, 2]]) {
      const pulled = new Set<number>();
      const given = shards.map((s, i) =>
        lost.includes(i)
          ? undefined
          : (function* () {
              pulled.add(i);
              yield s;
            })(),
      );
      expect(await collect(decodeStream(layout, given))).toEqual(data);
      const present = Array.from({ length: n }, (_, i) => i).filter((i) => !lost.includes(i));
      expect([...pulled].sort(), `lost ${lost}`).toEqual(present.slice(0, k));
    }
  });

  it("decodeStream yields only data bytes: no empty chunks for the padding blocks", async () => {
    const rand = rng(15);
    // 1 byte, and a last stripe of 1 block + 1 byte: most blocks of the last stripe are padding.
    for (const size of [1, stripe + blockSize + 1]) {
      const { data, layout, shards } = await encoded(size, rand);
      const chunks: Uint8Array[] = [];
      for await (const c of decodeStream(
        layout,
        shards.map((s, i) => (i === 1 ? undefined : [s])),
      ))
        chunks.push(c.slice());
      expect(
        chunks.map((c) => c.length),
        `${size} bytes`,
      ).not.toContain(0);
      expect(concat(chunks)).toEqual(data);
    }
  });

  it("an empty stream is no stripe at all, not an empty one", async () => {
    const splitter = new StripeSplitter({ dataShards: k, blockSize });
    expect(splitter.push(new Uint8Array(0))).toEqual([]);
    expect(splitter.finish()).toBeUndefined();
    const stripes = [];
    for await (const s of encodeStream([new Uint8Array(0)], {
      dataShards: k,
      totalShards: n,
      blockSize,
    }))
      stripes.push(s);
    expect(stripes).toEqual([]);
  });

  it("data shards alone are the padded stream, block by block (systematic)", async () => {
    const rand = rng(11);
    const data = randomBytes(2 * stripe + 10, rand);
    const shards = await encodeToShards(data, k, n, blockSize, rand);
    // stripe 0, block 1 is data bytes [1024, 2048)
    expect(shards[1].subarray(0, blockSize)).toEqual(data.subarray(blockSize, 2 * blockSize));
    // last stripe: block size 512, block 0 holds the 10 leftover bytes then zeros
    expect(shards[0].subarray(2 * blockSize, 2 * blockSize + 10)).toEqual(
      data.subarray(2 * stripe),
    );
    expect(shards[0].length).toBe(2 * blockSize + 512);
  });

  it("a repairing provider rebuilds a lost shard from any k others", async () => {
    const rand = rng(12);
    const { layout, shards } = await encoded(5 * stripe + 3333, rand);
    for (let lost = 0; lost < n; lost++) {
      const given = shards.map((s, i) => (i === lost || (i + lost) % n === 1 ? undefined : [s]));
      const parts: Uint8Array[] = [];
      for await (const [block] of rebuildShards(layout, given, [lost])) parts.push(block.slice());
      expect(concat(parts)).toEqual(shards[lost]);
    }
  });

  it("n up to 32: a sampled k-subset of 32 shards decodes the stream", async () => {
    const rand = rng(32);
    const data = randomBytes(40_000, rand);
    for (const [kk, nn] of [
      [16, 32],
      [1, 32],
      [30, 32],
    ] as const) {
      const layout = getStripeLayout({
        dataShards: kk,
        totalShards: nn,
        blockSize: 512,
        dataLength: data.length,
      });
      const shards = await encodeToShards(data, kk, nn, 512, rand);
      for (let t = 0; t < 5; t++) {
        const keep = sample(nn, kk, rand);
        const given = shards.map((s, i) => (keep.includes(i) ? [s] : undefined));
        expect(await collect(decodeStream(layout, given))).toEqual(data);
      }
    }
  });

  it("typed errors: not enough shards, a short shard, a long shard", async () => {
    const rand = rng(13);
    const { layout, shards } = await encoded(stripe + 5, rand);

    const three = shards.map((s, i) => (i === 0 || i === 2 || i === 5 ? [s] : undefined));
    const err = await collect(decodeStream(layout, three)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotEnoughShardsError);
    expect((err as NotEnoughShardsError).missing).toEqual([1, 3, 4]);

    const short = shards.map((s, i) =>
      i === 4 ? [s.subarray(0, s.length - 1)] : i === 1 ? undefined : [s],
    );
    const e2 = await collect(decodeStream(layout, short)).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(ShardMismatchError);
    expect((e2 as ShardMismatchError).shardIndex).toBe(4);
    expect((e2 as ShardMismatchError).message).toMatch(/shard 4 ended early/);
    expect(e2).toMatchObject({ expected: layout.shardSize, actual: layout.shardSize - 1 });

    const long = shards.map((s, i) => (i === 2 ? [s, Uint8Array.of(0)] : [s]));
    const e3 = await collect(decodeStream(layout, long)).catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(ShardMismatchError);
    expect((e3 as ShardMismatchError).shardIndex).toBe(2);
    expect((e3 as ShardMismatchError).message).toMatch(/shard 2 is longer than the layout/);
    expect(e3).toMatchObject({ expected: layout.shardSize, actual: layout.shardSize + 1 });
  });

  it("argument errors: a shard array of the wrong size, a wanted shard outside [0, n), a stripe of the wrong size", async () => {
    const layout = getStripeLayout({ dataShards: k, totalShards: n, blockSize, dataLength: 10 });
    const shards = Array.from({ length: n }, () => [new Uint8Array(512)]);
    for (const count of [n - 1, n + 1]) {
      const e = await collect(
        decodeStream(layout, shards.slice(0, count).concat(count > n ? [[]] : [])),
      ).catch((e: unknown) => e);
      expect(e).toBeInstanceOf(InvalidParametersError);
      expect((e as Error).message).toMatch(
        new RegExp(`^shards = ${count}: .*array of ${n} entries`),
      );
    }
    // rebuildShards refuses before reading any shard, even of an empty stream (no stripes).
    const empty = getStripeLayout({ dataShards: k, totalShards: n, blockSize, dataLength: 0 });
    for (const at of [layout, empty])
      for (const wanted of [n, -1, 1.5]) {
        const e = await collect(
          (async function* () {
            for await (const blocks of rebuildShards(at, shards, [0, wanted])) yield* blocks;
          })(),
        ).catch((e: unknown) => e);
        expect(e, `${at.dataLength} bytes, wanted ${wanted}`).toBeInstanceOf(
          InvalidParametersError,
        );
        expect((e as Error).message).toMatch(new RegExp(`^wanted = ${wanted}: .*\\[0, ${n}\\)`));
      }
    const codec = createReedSolomon({ dataShards: k, totalShards: n });
    const stripe = { index: 0, blockSize: 512, dataBytes: 10, data: new Uint8Array(k * 512 - 1) };
    expect(() => encodeStripe(codec, stripe)).toThrow(InvalidParametersError);
    expect(() => encodeStripe(codec, stripe)).toThrow(
      new RegExp(`^stripe.data = ${k * 512 - 1}: .*k·blockSize = ${k * 512}`),
    );
  });
});

describe("default block size (1 MiB)", () => {
  it("24 MiB + 5 bytes streams through encode and a parity-using decode", async () => {
    const MiB = 1024 * 1024;
    const size = 24 * MiB + 5;
    const data = new Uint8Array(size);
    const rand = rng(24);
    for (let off = 0; off < size; off += 4) data[off] = (rand() * 256) | 0; // sparse: fast to make
    const layout = getStripeLayout({ dataShards: 4, totalShards: 6, dataLength: size });
    expect(layout).toMatchObject({
      blockSize: MiB,
      stripeCount: 7,
      lastBlockSize: 512,
      shardSize: 6 * MiB + 512,
    });
    const shards = await encodeToShards(data, 4, 6, MiB, rng(1));
    const given = shards.map((s, i) =>
      i === 0 || i === 2 ? undefined : chunked(s, rng(i), 256 * 1024),
    );
    const out = await collect(decodeStream(layout, given));
    // Buffer.equals: toEqual walks 24 M elements one by one (seconds).
    expect(out.length).toBe(size);
    expect(Buffer.from(out.buffer, out.byteOffset, out.length).equals(data)).toBe(true);
  });
});

describe("fewer than k shards: refused before any shard is read", () => {
  it("decodeStream and rebuildShards name the missing shards without pulling a byte from the sources given, even when only a present shard is wanted", async () => {
    const rand = rng(307);
    const data = randomBytes(3 * 4 * 512 + 100, rand);
    const layout = getStripeLayout({
      dataShards: 4,
      totalShards: 6,
      blockSize: 512,
      dataLength: data.length,
    });
    const shards = await encodeToShards(data, 4, 6, 512, rand);
    let pulled = 0;
    /** Shard i as a source that counts the chunks taken from it (a download, say). */
    function* source(i: number): Generator<Uint8Array> {
      pulled++;
      yield shards[i]!;
    }
    const three = (): (Iterable<Uint8Array> | undefined)[] =>
      shards.map((_, i) => (i === 0 || i === 2 || i === 5 ? source(i) : undefined));
    for (const run of [
      () => collect(decodeStream(layout, three())),
      async () => {
        for await (const blocks of rebuildShards(layout, three(), [0])) void blocks;
      },
    ]) {
      const error = await run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NotEnoughShardsError);
      expect(error).toMatchObject({ missing: [1, 3, 4], have: 3, need: 4 });
      expect(pulled).toBe(0);
    }
  });
});
