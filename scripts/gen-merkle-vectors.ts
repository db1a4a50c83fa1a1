/**
 * Writes test/vectors/segment-merkle.json: the shared segment-Merkle vectors that the
 * Solidity verifier (contracts/libraries/SegmentMerkle.sol) and the SDK must both pass.
 *
 * This is a deliberately tiny, independent reference implementation of the commitment in
 * docs/protocol.md ("Segment commitments"), using only node:crypto:
 *   leaf = sha256(0x00 ‖ segment), node = sha256(0x01 ‖ left ‖ right),
 *   512-byte segments (last one zero-padded), leaf level padded to a power of two with
 *   bytes32(0), path leaf level first, bit i of the index = "running hash is the right child".
 *
 * Run: npx tsx scripts/gen-merkle-vectors.ts
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const SEGMENT_SIZE = 512;
const ZERO = Buffer.alloc(32);

const sha256 = (...parts: Buffer[]): Buffer => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};
const hex = (b: Buffer): `0x${string}` => `0x${b.toString("hex")}`;

/** Deterministic bytes: sha256(label ‖ counter) blocks, concatenated and truncated. */
function counterStream(label: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  let off = 0;
  for (let i = 0; off < length; i++) {
    const ctr = Buffer.alloc(4);
    ctr.writeUInt32BE(i);
    const block = sha256(Buffer.from(label, "utf8"), ctr);
    off += block.copy(out, off);
  }
  return out;
}

function segments(data: Buffer): Buffer[] {
  const count = Math.max(1, Math.ceil(data.length / SEGMENT_SIZE));
  const segs: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const seg = Buffer.alloc(SEGMENT_SIZE);
    data.copy(seg, 0, i * SEGMENT_SIZE, Math.min(data.length, (i + 1) * SEGMENT_SIZE));
    segs.push(seg);
  }
  return segs;
}

/** All levels of the tree, leaf level first (padded to a power of two). */
function levels(segs: Buffer[]): Buffer[][] {
  let width = 1;
  while (width < segs.length) width *= 2;
  const leaves = segs.map((s) => sha256(Buffer.from([0]), s));
  while (leaves.length < width) leaves.push(ZERO);
  const out: Buffer[][] = [leaves];
  while (out[out.length - 1].length > 1) {
    const prev = out[out.length - 1];
    const next: Buffer[] = [];
    for (let i = 0; i < prev.length; i += 2)
      next.push(sha256(Buffer.from([1]), prev[i], prev[i + 1]));
    out.push(next);
  }
  return out;
}

function path(lv: Buffer[][], index: number): Buffer[] {
  const p: Buffer[] = [];
  for (let l = 0; l < lv.length - 1; l++) p.push(lv[l][(index >> l) ^ 1]);
  return p;
}

interface Proof {
  index: number;
  segment: string;
  path: string[];
}
interface Tree {
  name: string;
  data: string;
  leafCount: number;
  root: string;
  proofs: Proof[];
}
interface Invalid {
  name: string;
  root: string;
  leafCount: number;
  index: number;
  segment: string;
  path: string[];
}

const specs: { name: string; bytes: number }[] = [
  { name: "1 byte", bytes: 1 },
  { name: "511 bytes", bytes: 511 },
  { name: "512 bytes", bytes: 512 },
  { name: "513 bytes", bytes: 513 },
  { name: "3 segments", bytes: 3 * SEGMENT_SIZE },
  { name: "4 segments", bytes: 4 * SEGMENT_SIZE },
  { name: "5 segments (last partial)", bytes: 4 * SEGMENT_SIZE + 100 },
  { name: "17 segments", bytes: 17 * SEGMENT_SIZE },
  { name: "65 segments (last partial)", bytes: 64 * SEGMENT_SIZE + 7 },
];

const trees: Tree[] = [];
const built = new Map<string, { lv: Buffer[][]; segs: Buffer[] }>();
for (const spec of specs) {
  const data = counterStream(`coop-cloud segment-merkle ${spec.name}`, spec.bytes);
  const segs = segments(data);
  const lv = levels(segs);
  const n = segs.length;
  const indexes =
    n <= 17
      ? [...Array(n).keys()]
      : [0, 1, 2, 31, 32, 33, 63, n - 1].filter((v, i, a) => v < n && a.indexOf(v) === i);
  trees.push({
    name: spec.name,
    data: hex(data),
    leafCount: n,
    root: hex(lv[lv.length - 1][0]),
    proofs: indexes.map((i) => ({ index: i, segment: hex(segs[i]), path: path(lv, i).map(hex) })),
  });
  built.set(spec.name, { lv, segs });
}

// Invalid proofs: each must be rejected by every verifier.
const invalid: Invalid[] = [];
{
  const t = trees.find((x) => x.name === "17 segments")!;
  const p = t.proofs[5];
  const flip = (h: string, byte: number): string => {
    const b = Buffer.from(h.slice(2), "hex");
    b[byte] ^= 0x01;
    return hex(b);
  };
  const base = { root: t.root, leafCount: t.leafCount };
  invalid.push({
    name: "valid proof presented at another index",
    ...base,
    index: 4,
    segment: p.segment,
    path: p.path,
  });
  invalid.push({
    name: "valid proof presented at index differing in bit 3",
    ...base,
    index: 5 ^ 8,
    segment: p.segment,
    path: p.path,
  });
  invalid.push({
    name: "flipped segment byte",
    ...base,
    index: 5,
    segment: flip(p.segment, 100),
    path: p.path,
  });
  invalid.push({
    name: "flipped last segment byte",
    ...base,
    index: 5,
    segment: flip(p.segment, 511),
    path: p.path,
  });
  invalid.push({
    name: "flipped path byte",
    ...base,
    index: 5,
    segment: p.segment,
    path: [p.path[0], flip(p.path[1], 0), ...p.path.slice(2)],
  });
  invalid.push({
    name: "path too short",
    ...base,
    index: 5,
    segment: p.segment,
    path: p.path.slice(0, -1),
  });
  invalid.push({
    name: "path too long",
    ...base,
    index: 5,
    segment: p.segment,
    path: [...p.path, hex(ZERO)],
  });
  invalid.push({
    name: "index equals leafCount",
    ...base,
    index: t.leafCount,
    segment: p.segment,
    path: p.path,
  });
  invalid.push({
    name: "index beyond padded width",
    ...base,
    index: 37,
    segment: p.segment,
    path: p.path,
  });
  invalid.push({
    name: "segment too short",
    ...base,
    index: 5,
    segment: p.segment.slice(0, -2),
    path: p.path,
  });
  invalid.push({
    name: "segment too long",
    ...base,
    index: 5,
    segment: p.segment + "00",
    path: p.path,
  });
  invalid.push({
    name: "wrong leaf count (depth mismatch)",
    root: t.root,
    leafCount: 32 + 1,
    index: 5,
    segment: p.segment,
    path: p.path,
  });

  // A padding position: index 17 is below the padded width (32) but at/above leafCount.
  const { lv } = built.get("17 segments")!;
  invalid.push({
    name: "padding leaf position",
    ...base,
    index: 17,
    segment: hex(Buffer.alloc(SEGMENT_SIZE)),
    path: path(lv, 17).map(hex),
  });

  const one = trees.find((x) => x.name === "1 byte")!;
  invalid.push({
    name: "one-leaf tree with a non-empty path",
    root: one.root,
    leafCount: 1,
    index: 0,
    segment: one.proofs[0].segment,
    path: [hex(ZERO)],
  });
  invalid.push({
    name: "one-leaf tree, index 1",
    root: one.root,
    leafCount: 1,
    index: 1,
    segment: one.proofs[0].segment,
    path: [],
  });
  invalid.push({
    name: "leafCount zero",
    root: one.root,
    leafCount: 0,
    index: 0,
    segment: one.proofs[0].segment,
    path: [],
  });

  const t65 = trees.find((x) => x.name.startsWith("65"))!;
  const last = t65.proofs[t65.proofs.length - 1];
  invalid.push({
    name: "last leaf of 65, proof of another tree's root",
    root: t.root,
    leafCount: t65.leafCount,
    index: last.index,
    segment: last.segment,
    path: last.path,
  });
}

const out = { hash: "sha256", segmentSize: SEGMENT_SIZE, trees, invalid };
const here = dirname(fileURLToPath(import.meta.url));
const file = join(here, "..", "test", "vectors", "segment-merkle.json");
writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
console.log(
  `wrote ${file}: ${trees.length} trees, ${trees.reduce((a, t) => a + t.proofs.length, 0)} proofs, ${invalid.length} invalid`,
);
