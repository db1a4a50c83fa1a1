// Segment-tree throughput at 512-byte segments (MB/s of shard data, one core): node:crypto
// path, portable (browser) path, and the alternatives they were chosen over.
// Prints JSON lines { name, value, unit }. Run: node_modules/.bin/node sdk/bench/merkle.ts [MiB, default 64]
import { hash, randomFillSync } from "node:crypto";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import {
  SEGMENT_SIZE,
  SegmentTreeBuilder,
  getNodeHasher,
  portableHasher,
  type SegmentHasher,
} from "../src/merkle/index.ts";

const MiB = 1024 * 1024;
const total = Number(process.argv[2] ?? 64) * MiB;
const data = randomFillSync(new Uint8Array(total));

const concat = (...parts: Uint8Array[]): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
};
const nodeScratch = new Uint8Array(65);
nodeScratch[0] = 1;
const nativeNodes: SegmentHasher = {
  name: "node:crypto leaves and nodes",
  leaf: (getNodeHasher() as SegmentHasher).leaf,
  node: (l, r) => {
    nodeScratch.set(l, 1);
    nodeScratch.set(r, 33);
    return hash("sha256", nodeScratch, "buffer");
  },
};
const noble: SegmentHasher = {
  name: "@noble/hashes",
  leaf: (s) => nobleSha256(concat(Uint8Array.of(0), s)),
  node: (l, r) => nobleSha256(concat(Uint8Array.of(1), l, r)),
};

function run(name: string, hasher: SegmentHasher, bytes = total): void {
  const t0 = performance.now();
  const b = new SegmentTreeBuilder({ hasher });
  for (let off = 0; off < bytes; off += MiB) b.update(data.subarray(off, off + MiB));
  b.finish();
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ name, value: Math.round(bytes / 1e6 / seconds), unit: "MB/s" }));
}

run(
  `merkle tree ${SEGMENT_SIZE} B segments, node path (node:crypto leaves, JS nodes)`,
  getNodeHasher() as SegmentHasher,
);
run(`merkle tree ${SEGMENT_SIZE} B segments, browser path (portable SHA-256)`, portableHasher);
run(
  `merkle tree ${SEGMENT_SIZE} B segments, node:crypto leaves and nodes (not chosen)`,
  nativeNodes,
);
run(
  `merkle tree ${SEGMENT_SIZE} B segments, @noble/hashes (not chosen)`,
  noble,
  Math.min(total, 16 * MiB),
);

// WebCrypto is native in browsers but async only: one promise per 513- or 65-byte hash.
async function webCryptoTree(bytes: number): Promise<void> {
  const subtle = globalThis.crypto.subtle;
  const h = async (m: Uint8Array<ArrayBuffer>): Promise<Uint8Array> =>
    new Uint8Array(await subtle.digest("SHA-256", m));
  const t0 = performance.now();
  let level: Uint8Array[] = [];
  const batch = 1024; // hash a batch of leaves concurrently, then its inner nodes level by level
  for (let off = 0; off < bytes; off += batch * SEGMENT_SIZE) {
    const leaves = await Promise.all(
      Array.from({ length: batch }, (_, i) =>
        h(
          concat(
            Uint8Array.of(0),
            data.subarray(off + i * SEGMENT_SIZE, off + (i + 1) * SEGMENT_SIZE),
          ),
        ),
      ),
    );
    level = leaves;
    while (level.length > 1)
      level = await Promise.all(
        Array.from({ length: level.length / 2 }, (_, i) =>
          h(concat(Uint8Array.of(1), level[2 * i], level[2 * i + 1])),
        ),
      );
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    JSON.stringify({
      name: `merkle tree ${SEGMENT_SIZE} B segments, WebCrypto subtle.digest (not chosen: async per hash)`,
      value: Math.round(bytes / 1e6 / seconds),
      unit: "MB/s",
    }),
  );
}
await webCryptoTree(Math.min(total, 8 * MiB));
