// Segment-tree throughput at 512-byte segments (MB/s of shard data, one core): the default
// paths (whole runs of segments on the 4-lane WebAssembly SIMD SHA-256, lone segments on
// node:crypto in Node or the portable code in browsers), the same without SIMD, and the
// alternatives they were chosen over. The four main paths run alternately, three rounds each in
// the same process, and the median round is reported, so load on the machine hits them alike.
// Prints JSON lines { name, value, unit }. Run: node_modules/.bin/node sdk/bench/merkle.ts [MiB, default 64]
import { hash, randomFillSync } from "node:crypto";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import {
  SEGMENT_SIZE,
  SegmentTreeBuilder,
  getDefaultHasher,
  getNodeHasher,
  getSimdHasher,
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

function treeMBps(hasher: SegmentHasher, bytes = total): number {
  const t0 = performance.now();
  const b = new SegmentTreeBuilder({ hasher });
  for (let off = 0; off < bytes; off += MiB) b.update(data.subarray(off, off + MiB));
  b.finish();
  return bytes / 1e6 / ((performance.now() - t0) / 1000);
}
const print = (name: string, value: number, unit = "MB/s"): void =>
  console.log(JSON.stringify({ name, value, unit }));

const simd = getSimdHasher(getNodeHasher() as SegmentHasher);
const simdPortable = getSimdHasher(portableHasher);
const main: [string, SegmentHasher | undefined][] = [
  ["node path (wasm SIMD ×4 batches, node:crypto lone leaves)", simd],
  ["browser path (wasm SIMD ×4 batches, portable lone leaves)", simdPortable],
  ["node path without SIMD (node:crypto leaves, JS nodes)", getNodeHasher()],
  ["browser path without SIMD (portable SHA-256)", portableHasher],
];
if (getDefaultHasher() !== simd) console.error("note: the default hasher is not the SIMD one here");
const rounds: number[][] = main.map(() => []);
for (let round = 0; round < 3; round++)
  main.forEach(([, h], i) => {
    if (h !== undefined) rounds[i].push(treeMBps(h));
  });
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const medians = rounds.map((r) => (r.length > 0 ? Math.round(median(r)) : 0));
main.forEach(([what, h], i) => {
  if (h !== undefined)
    print(`merkle tree ${SEGMENT_SIZE} B segments, ${what} (median of 3 alternating)`, medians[i]);
});
if (simd !== undefined && simdPortable !== undefined) {
  print(
    "merkle tree: SIMD node path / node path without SIMD",
    +(medians[0] / medians[2]).toFixed(2),
    "ratio",
  );
  print(
    "merkle tree: SIMD browser path / browser path without SIMD",
    +(medians[1] / medians[3]).toFixed(2),
    "ratio",
  );
}
print(
  `merkle tree ${SEGMENT_SIZE} B segments, node:crypto leaves and nodes (not chosen)`,
  Math.round(treeMBps(nativeNodes)),
);
print(
  `merkle tree ${SEGMENT_SIZE} B segments, @noble/hashes (not chosen)`,
  Math.round(treeMBps(noble, Math.min(total, 16 * MiB))),
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
