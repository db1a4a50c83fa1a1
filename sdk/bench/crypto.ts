// STREAM encryption throughput on 256 MiB of random data, next to node:crypto's
// chacha20-poly1305 alone in the same run. Prints JSON lines { name, value, unit } (MB/s, and
// ratios). Run: node_modules/.bin/node sdk/bench/crypto.ts [MiB, default 256]
import { createCipheriv, createSecretKey, randomBytes, randomFillSync } from "node:crypto";
import { StreamDecryptor, StreamEncryptor, type EncryptOptions } from "../src/crypto/index.ts";

const MiB = 1024 * 1024;
const total = Number(process.argv[2] ?? 256) * MiB;
const pieceSize = MiB; // as a file reader hands them out
const data = new Uint8Array(total);
for (let o = 0; o < total; o += 64 * MiB) randomFillSync(data, o, Math.min(64 * MiB, total - o));
const key = new Uint8Array(randomBytes(32));

function report(name: string, value: number, unit: string): void {
  console.log(JSON.stringify({ name, value: Math.round(value * 100) / 100, unit }));
}

/**
 * Best MB/s of each variant over `rounds` rounds, the variants interleaved within a round: the
 * machine is shared, so the best run is the least disturbed, and interleaving gives every
 * variant the same chance at a quiet moment.
 */
function interleaved(
  rounds: number,
  bytes: number,
  variants: Record<string, () => void>,
): Record<string, number> {
  const top: Record<string, number> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(variants)) {
      const t0 = performance.now();
      fn();
      top[name] = Math.max(top[name] ?? 0, bytes / 1e6 / ((performance.now() - t0) / 1000));
    }
  }
  return top;
}

function pieces(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; o += size) out.push(bytes.subarray(o, o + size));
  return out;
}

const input = pieces(data, pieceSize);

const keyObject = createSecretKey(key);

function encryptAll(options: EncryptOptions, keep?: Uint8Array[]): void {
  const e = new StreamEncryptor(key, options);
  for (const p of input) for (const out of e.push(p)) keep?.push(out);
  for (const out of e.finish()) keep?.push(out);
}

const ciphertext: Uint8Array[] = [];
encryptAll({ implementation: "native" }, ciphertext);
// The ciphertext re-cut into 1 MiB pieces, as a downloader would hand them out.
const ctBytes = new Uint8Array(ciphertext.reduce((n, p) => n + p.length, 0));
let at = 0;
for (const p of ciphertext) {
  ctBytes.set(p, at);
  at += p.length;
}
ciphertext.length = 0;
const ctPieces = pieces(ctBytes, pieceSize);

function decryptAll(implementation: "native" | "noble"): void {
  const d = new StreamDecryptor(key, { implementation, expectedPlaintextLength: total });
  let n = 0;
  for (const p of ctPieces) for (const out of d.push(p)) n += out.length;
  for (const out of d.finish()) n += out.length;
  if (n !== total) throw new Error(`decrypted ${n} bytes, expected ${total}`);
}

const native = interleaved(5, total, {
  // Baseline: one node:crypto chacha20-poly1305 cipher over the whole data, 1 MiB updates.
  baseline: () => {
    const c = createCipheriv("chacha20-poly1305", key, new Uint8Array(12), { authTagLength: 16 });
    for (const p of input) c.update(p);
    c.final();
    c.getAuthTag();
  },
  // The same cipher, a fresh cipher object per 64 KiB chunk (what any chunked AEAD pays).
  perChunk: () => {
    const nonce = new Uint8Array(12);
    for (let o = 0; o < total; o += 65_536) {
      const c = createCipheriv("chacha20-poly1305", keyObject, nonce, { authTagLength: 16 });
      c.update(data.subarray(o, o + 65_536));
      c.final();
      c.getAuthTag();
    }
  },
  // With the length known (a file's size), as the upload pipeline encrypts.
  enc: () => encryptAll({ implementation: "native", plaintextLength: total }),
  enc1M: () => encryptAll({ implementation: "native", plaintextLength: total, chunkSize: MiB }),
  // Length unknown: the last full chunk of each input piece is held, copied, until more comes.
  encUnknown: () => encryptAll({ implementation: "native" }),
  dec: () => decryptAll("native"),
});
const noble = interleaved(2, total, {
  enc: () => encryptAll({ implementation: "noble", plaintextLength: total }),
  dec: () => decryptAll("noble"),
});

report(
  "crypto: node:crypto chacha20-poly1305 alone, one message (baseline)",
  native.baseline!,
  "MB/s",
);
report(
  "crypto: node:crypto chacha20-poly1305, a cipher per 64 KiB chunk",
  native.perChunk!,
  "MB/s",
);
report("crypto: STREAM encrypt, native path (64 KiB chunks, length known)", native.enc!, "MB/s");
report("crypto: STREAM encrypt, native path (1 MiB chunks, for comparison)", native.enc1M!, "MB/s");
report(
  "crypto: STREAM encrypt, native path, length not known in advance",
  native.encUnknown!,
  "MB/s",
);
report("crypto: STREAM decrypt, native path", native.dec!, "MB/s");
report("crypto: STREAM encrypt, noble path (browser)", noble.enc!, "MB/s");
report("crypto: STREAM decrypt, noble path (browser)", noble.dec!, "MB/s");
report(
  "crypto: STREAM encrypt native / node:crypto baseline",
  native.enc! / native.baseline!,
  "ratio",
);
report(
  "crypto: STREAM decrypt native / node:crypto baseline",
  native.dec! / native.baseline!,
  "ratio",
);
report(
  "crypto: STREAM encrypt noble / node:crypto baseline",
  noble.enc! / native.baseline!,
  "ratio",
);
report("crypto: STREAM encrypt noble / native", noble.enc! / native.enc!, "ratio");
