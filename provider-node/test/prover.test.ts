// Proofs read from a stored CCMT file match the SDK's proofs over the whole shard, for every
// shape of tree: one segment, a partial last segment, a leaf count that is not a power of two,
// a cut above the tree's depth.
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import {
  SEGMENT_SIZE,
  computeSegmentTree,
  proveSegment,
  serializeSegmentTreeCache,
  verifySegmentProof,
  type SegmentTreeCache,
} from "@coop-cloud/sdk";
import { describe, expect, it } from "vitest";

import { CacheFileError, proveFromCacheFile } from "../src/prover/cache-file.ts";

const dir = mkdtempSync(join(tmpdir(), "coop-prover-"));

describe("proveFromCacheFile", () => {
  for (const size of [100, 512, 513, 7 * 512 + 3, 64 * 512, 1000 * 512 + 17, 3 * 2 ** 20 + 4096])
    for (const level of [0, 3, 6])
      it(`${size} bytes, cut at level ${level}`, async () => {
        const data = new Uint8Array(randomBytes(size));
        const { root, leafCount, cache } = computeSegmentTree(data, { cacheLevel: level });
        const file = join(dir, `${size}-${level}.ccmt`);
        writeFileSync(file, serializeSegmentTreeCache(cache as SegmentTreeCache));
        const read = (first: number, count: number) =>
          data.subarray(first * SEGMENT_SIZE, (first + count) * SEGMENT_SIZE);
        const picks = new Set([
          0,
          leafCount - 1,
          Math.floor(leafCount / 2),
          Math.floor(Math.random() * leafCount),
        ]);
        for (const i of picks) {
          const p = await proveFromCacheFile(file, i, read);
          const want = proveSegment(data, i);
          expect(Buffer.from(p.segment).equals(Buffer.from(want.segment))).toBe(true);
          expect(p.path.map((x) => Buffer.from(x).toString("hex"))).toEqual(
            want.path.map((x) => Buffer.from(x).toString("hex")),
          );
          expect(verifySegmentProof(root, leafCount, i, p.segment, p.path)).toBe(true);
        }
      });

  it("refuses segments that do not match the cached node (a damaged shard)", async () => {
    const data = new Uint8Array(randomBytes(200 * 512));
    const { cache } = computeSegmentTree(data, { cacheLevel: 4 });
    const file = join(dir, "damaged.ccmt");
    writeFileSync(file, serializeSegmentTreeCache(cache as SegmentTreeCache));
    const damaged = Uint8Array.from(data);
    damaged[5 * 512 + 7] ^= 1;
    const read = (first: number, count: number) =>
      damaged.subarray(first * 512, (first + count) * 512);
    await expect(proveFromCacheFile(file, 5, read)).rejects.toBeInstanceOf(CacheFileError);
  });
});
