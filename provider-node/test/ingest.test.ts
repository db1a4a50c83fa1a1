// receiveShard (no chain): the commitments it computes with its leaves hashed in worker threads
// or inline are the SDK's own, for every shape of shard and cache level, fed in odd-sized
// chunks; the leaf files it leaves are the shard's bytes; a body over the limit is refused.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { ShardCommitmentBuilder, serializeSegmentTreeCache } from "@coop-cloud/sdk";
import { describe, expect, it } from "vitest";

import { leafFile, receiveShard } from "../src/store/ingest.ts";

const MiB = 2 ** 20;
const dir = mkdtempSync(join(tmpdir(), "coop-ingest-"));
let n = 0;

/** `data` in chunks of `step` bytes, as a request stream delivers it. */
async function* chunks(data: Uint8Array, step: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < data.length; off += step) yield data.subarray(off, off + step);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("receiveShard", () => {
  const cases: [size: number, level: number, workers: number][] = [
    [0, 6, 0],
    [700, 6, 0],
    [MiB, 6, 2],
    [3 * MiB + 4096, 6, 2],
    [3 * MiB + 4096, 0, 1],
    [2 * MiB, 11, 2],
    [5 * MiB + 1, 14, 2],
    [3 * MiB + 4096, 6, 0],
  ];
  for (const [size, level, workers] of cases)
    it(`${size} bytes, cache level ${level}, ${workers} hash workers: the SDK's commitments`, async () => {
      const data = new Uint8Array(randomBytes(size));
      const want = new ShardCommitmentBuilder({ cacheLevel: level });
      want.update(data);
      const w = want.finish();
      const tmp = join(dir, String(n++));
      const got = await receiveShard(chunks(data, 65_521), tmp, {
        maxBytes: size,
        cacheLevel: level,
        hashWorkers: workers,
      });
      expect(got.size).toBe(size);
      expect(hex(got.root)).toBe(hex(w.root));
      expect(got.leafCount).toBe(w.leafCount);
      expect(got.cid.toString()).toBe(w.cid.toString());
      expect(hex(serializeSegmentTreeCache(got.cache))).toBe(
        hex(serializeSegmentTreeCache(w.cache!)),
      );
      // One file per 1 MiB leaf, holding the shard's bytes in order.
      const files = readdirSync(tmp);
      expect(files.length).toBe(Math.max(1, Math.ceil(size / MiB)));
      const back = Buffer.concat(files.map((_, i) => readFileSync(leafFile(tmp, i))));
      expect(back.equals(Buffer.from(data))).toBe(true);
      expect(got.leaves.length).toBe(files.length);
    });

  it("refuses a body longer than the limit, with worker threads running", async () => {
    const data = new Uint8Array(randomBytes(9 * MiB));
    await expect(
      receiveShard(chunks(data, 65_536), join(dir, "long"), {
        maxBytes: 9 * MiB - 1,
        cacheLevel: 6,
      }),
    ).rejects.toMatchObject({ status: 400, code: "wrong_size" });
  });
});
