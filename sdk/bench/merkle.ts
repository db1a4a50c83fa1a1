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
import { sha256Node } from "../src/merkle/sha256.ts";

const MiB = 1024 * 1024;
const total = Number(process.argv[2] ?? 64) * MiB;
const data = randomFillSync(new Uint8Array(total));

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
};
const nativeNodes: SegmentHasher = {
  name: "node:crypto leaves and nodes",
  leaf: (getNodeHasher() as SegmentHasher).leaf,
  node: (l, r) => hash("sha256", concat(Uint8Array.of(1), l, r), "buffer"),
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
void sha256Node;
