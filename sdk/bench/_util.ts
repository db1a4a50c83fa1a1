// Shared benchmark helpers: deterministic pseudo-random data generated on the fly (no file held
// in memory) and the JSON-lines output every bench prints.
import { randomFillSync } from "node:crypto";

export const MiB = 1024 * 1024;

/** Prints one result as a JSON line `{ name, value, unit }`. */
export function report(name: string, value: number, unit: string): void {
  console.log(JSON.stringify({ name, value, unit }));
}

/**
 * `total` bytes of random-looking data in `pieceSize` pieces: a 16 MiB random pool replayed
 * with a piece counter stamped into each piece, so no two pieces are equal. The pieces are
 * views into one buffer that is overwritten for the next piece: consumers must copy or finish
 * with a piece before pulling the next (the pipeline copies at once).
 */
export function* randomPieces(total: number, pieceSize = MiB, seed = 1): Generator<Uint8Array> {
  const poolSize = 16 * MiB;
  const pool = randomFillSync(new Uint8Array(poolSize + pieceSize));
  const view = new DataView(pool.buffer);
  let counter = seed * 2 ** 20;
  for (let off = 0; off < total; off += pieceSize) {
    const at = (off % poolSize) & ~7;
    const piece = pool.subarray(at, at + Math.min(pieceSize, total - off));
    view.setFloat64(at, counter++); // distinct per piece
    yield piece;
  }
}

/** mulberry32: a small seeded PRNG (numbers in [0, 1)), so a test's or bench's choices replay. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Megabytes (10^6) per second. */
export function mbps(bytes: number, ms: number): number {
  return Math.round(bytes / 1e6 / (ms / 1000));
}
