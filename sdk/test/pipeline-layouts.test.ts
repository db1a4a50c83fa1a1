// The layout space of encodeFile × decodeFile: every (k, n, B, C) the pipeline accepts must
// decode bit-exact, in order, from data shards and from parity, including layouts where a stripe
// holds a chunk boundary but no whole chunk (k·B < C + 16) and chunks far larger than a stripe.
import { createCipheriv, createHash } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { mulberry32 as prng } from "../bench/_util.ts";
import { decryptBytes } from "../src/crypto/index.ts";
import { MAX_CHUNK_SIZE } from "../src/crypto/format.ts";
import {
  createPipelinePool,
  decodeFile,
  encodeFile,
  type EncodeFileResult,
} from "../src/pipeline/index.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const pool = createPipelinePool({ size: 2 });
afterAll(() => pool.close());

/** Deterministic bytes (AES-CTR keystream under a key from the seed), so a failure reproduces. */
function bytes(length: number, seed: number): Uint8Array {
  const key = createHash("sha256").update(`layout data ${seed}`).digest();
  return createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

interface Layout {
  k: number;
  n: number;
  B: number;
  C: number;
  P: number;
}

/** The data shards, stripe by stripe, are the STREAM ciphertext (decrypted by the plain reader). */
function ciphertextOf(result: EncodeFileResult, shards: Uint8Array[]): Uint8Array {
  const { dataShards: k, blockSize: B, stripeCount, shardSize, ciphertextLength } = result;
  const ct = new Uint8Array(stripeCount * k * B);
  let off = 0;
  for (let s = 0; s < stripeCount; s++) {
    const b = s === stripeCount - 1 ? shardSize - s * B : B;
    for (let i = 0; i < k; i++) {
      ct.set(shards[i]!.subarray(s * B, s * B + b), off);
      off += b;
    }
  }
  return ct.subarray(0, ciphertextLength);
}

async function roundTrip(
  { k, n, B, C, P }: Layout,
  workers: "inline" | typeof pool,
): Promise<void> {
  const label = `k=${k} n=${n} B=${B} C=${C} P=${P}`;
  const data = bytes(P, k * 1e6 + B + C + P);
  const parts: Uint8Array[][] = Array.from({ length: n }, () => []);
  // Uneven input pieces, so window handling is exercised at every offset.
  const pieces: Uint8Array[] = [];
  for (let off = 0, step = 1; off < P; off += step, step = (step * 5 + 11) % 70_001 || 1)
    pieces.push(data.subarray(off, Math.min(P, off + step)));
  const result = await encodeFile(pieces, {
    dataShards: k,
    totalShards: n,
    blockSize: B,
    chunkSize: C,
    workers,
    sinks: parts.map((p) => ({ write: (b: Uint8Array) => void p.push(b.slice()) })),
  });
  const shards = parts.map((p) => Buffer.concat(p));
  for (const s of shards) expect(s.length, label).toBe(result.shardSize);
  expect(
    Buffer.from(decryptBytes(ciphertextOf(result, shards), result.key)).equals(data),
    label,
  ).toBe(true);
  // From the data shards, then from the last k shards (parity rebuilding data when n > k).
  const subsets = [Array.from({ length: k }, (_, i) => i)];
  if (n > k) subsets.push(Array.from({ length: k }, (_, i) => n - k + i));
  for (const use of subsets) {
    const out: Buffer[] = [];
    for await (const piece of decodeFile(
      shards.map((s, i) => (use.includes(i) ? s : undefined)),
      { ...result, workers, expected: result.shards },
    ))
      out.push(Buffer.from(piece));
    const got = Buffer.concat(out);
    expect(got.length, `${label} from ${use.join(",")}`).toBe(P);
    expect(got.equals(data), `${label} from ${use.join(",")}: bytes in order`).toBe(true);
  }
}

// Mutation runs (vitest.mutation.config.ts) leave out the slowest layouts.
const quickLayouts = process.env.COOP_MUTATION_RUN === "1";

describe("every layout decodes bit-exact, in order", () => {
  // Small stripes (k·B from 512 bytes to 4 MiB) against chunk sizes from the minimum to the
  // maximum, with the boundary cases C + 16 = k·B and C + 16 = k·B ± 1.
  const stripes: [number, number, number][] = [
    [1, 2, 512],
    [3, 5, 512],
    [2, 3, 4 * KiB],
    [4, 6, 16 * KiB],
    [1, 3, 64 * KiB],
    [4, 6, MiB],
  ];
  for (const [k, n, B] of stripes) {
    const kB = k * B;
    const chunks = [64, 200, kB - 17, kB - 16, kB - 15, kB, 64 * KiB, MiB, 4 * MiB, MAX_CHUNK_SIZE]
      // Tiny chunks against 4 MiB stripes are many chunks per stripe: the sampled cases cover them.
      .filter((C) => C >= 64 && C <= MAX_CHUNK_SIZE && (kB < MiB || C >= 4 * KiB))
      // Mutation runs (vitest.mutation.config.ts) skip chunks of 1 MiB+ over stripes under 64 KiB.
      .filter((C) => !(quickLayouts && kB < 64 * KiB && C >= MiB))
      .filter((C, i, all) => all.indexOf(C) === i);
    for (const C of chunks) {
      // Enough data for three stripes and two chunk boundaries; one boundary for chunks of 1 MiB
      // and more (a 16 MiB chunk over 512-byte stripes is already 32k stripes).
      const P = C >= MiB ? C + 7 : Math.max(2 * C + 7, 3 * kB + 5);
      it(`k=${k} n=${n} B=${B}, C=${C}: ${P} bytes`, async () => {
        await roundTrip({ k, n, B, C, P }, kB >= 64 * KiB ? pool : "inline");
      });
    }
  }

  it("the issue's layouts through the worker pool: k=4 B=16 KiB, k=1 B=64 KiB at 64 KiB chunks, the default layout at 4 MiB chunks", async () => {
    await roundTrip({ k: 4, n: 6, B: 16 * KiB, C: 64 * KiB, P: 300_000 }, pool);
    await roundTrip({ k: 1, n: 2, B: 64 * KiB, C: 64 * KiB, P: 300_000 }, pool);
    await roundTrip({ k: 4, n: 6, B: MiB, C: 4 * MiB, P: 9 * MiB + 3 }, pool);
  });

  it("sampled layouts: random k, n, B, C and sizes (including empty and one-byte files)", async () => {
    const seed = Number(process.env.LAYOUT_SEED ?? 20_261_125);
    const rand = prng(seed);
    const pick = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
    for (let i = 0; i < 40; i++) {
      const k = pick(1, 6);
      const n = pick(k, Math.min(32, k + 3));
      const B = 512 * 2 ** pick(0, 5);
      const C = pick(64, 3 * k * B);
      const P = i < 4 ? i % 2 : pick(0, 5 * k * B);
      await roundTrip({ k, n, B, C, P }, "inline").catch((err: unknown) => {
        throw new Error(`seed ${seed}, case ${i}: ${(err as Error).message}`, { cause: err });
      });
    }
  });
});
