// LARGE: a multi-GiB run through encrypt → decrypt, streamed (nothing holds the whole file).
// Runs in the normal suite; about 5–15 s on the native path on a 2-core machine.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  decryptStream,
  encryptStream,
  generateFileKey,
  getCiphertextLength,
} from "../src/crypto/index.ts";

const GiB = 1024 ** 3;

/**
 * Deterministic pseudo-random plaintext generated on the fly: a 4 MiB random block, each piece
 * a fresh copy with its index stamped in, in pieces of an odd size so chunks straddle pieces.
 */
function* generate(total: number, hash: ReturnType<typeof createHash>): Generator<Uint8Array> {
  const base = new Uint8Array(4 * 1024 * 1024 + 4096);
  for (let o = 0; o < base.length; o += 65_536)
    globalThis.crypto.getRandomValues(base.subarray(o, o + 65_536));
  const pieceSize = 1024 * 1024 + 13;
  let produced = 0;
  for (let i = 0; produced < total; i++) {
    const size = Math.min(pieceSize, total - produced);
    const start = (i * 4099) % 4096;
    const piece = base.slice(start, start + size);
    new DataView(piece.buffer).setUint32(0, i, true);
    hash.update(piece);
    produced += size;
    yield piece;
  }
}

async function* counting(
  source: AsyncIterable<Uint8Array>,
  counter: { bytes: number },
): AsyncGenerator<Uint8Array> {
  for await (const piece of source) {
    counter.bytes += piece.length;
    yield piece;
  }
}

describe("LARGE: multi-GiB streamed round trip", () => {
  it("2 GiB (+ 5 bytes): native encrypt → native decrypt, plaintext hashes equal, memory stays flat", async () => {
    const total = 2 * GiB + 5;
    const key = generateFileKey();
    const inHash = createHash("sha256");
    const outHash = createHash("sha256");
    const ciphertext = { bytes: 0 };
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const started = performance.now();
    let outBytes = 0;
    const encrypted = counting(
      encryptStream(generate(total, inHash), key, { implementation: "native" }),
      ciphertext,
    );
    for await (const piece of decryptStream(encrypted, key, {
      implementation: "native",
      expectedPlaintextLength: total,
    })) {
      outHash.update(piece);
      outBytes += piece.length;
      if ((outBytes & 0xfffffff) < piece.length)
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }
    const seconds = (performance.now() - started) / 1000;
    expect(outBytes).toBe(total);
    expect(ciphertext.bytes).toBe(getCiphertextLength(total));
    expect(outHash.digest("hex")).toBe(inHash.digest("hex"));
    expect(rssPeak - rssBefore).toBeLessThan(256 * 1024 * 1024);
    console.log(
      `LARGE 2 GiB streamed round trip: ${seconds.toFixed(1)} s (${((2 * total) / 1e6 / seconds).toFixed(0)} MB/s of encrypt+decrypt+hashing), RSS +${((rssPeak - rssBefore) / 2 ** 20).toFixed(0)} MiB`,
    );
  });

  it("256 MiB across paths: native encrypt → noble decrypt", async () => {
    const total = 256 * 1024 * 1024;
    const key = generateFileKey();
    const inHash = createHash("sha256");
    const outHash = createHash("sha256");
    const encrypted = encryptStream(generate(total, inHash), key, { implementation: "native" });
    for await (const piece of decryptStream(encrypted, key, { implementation: "noble" }))
      outHash.update(piece);
    expect(outHash.digest("hex")).toBe(inHash.digest("hex"));
  });
});
