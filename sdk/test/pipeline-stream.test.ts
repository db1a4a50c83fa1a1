// A 2 GiB file streamed through encodeFile → shard files → decodeFile (two data shards lost),
// compared by SHA-256, with the process's memory sampled along the way.
import { createHash, randomFillSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import {
  createPipelinePool,
  decodeFile,
  encodeFile,
  nullSink,
  type ShardSink,
} from "../src/pipeline/index.ts";
import { createFileSink, readShardFile } from "../src/pipeline/node.ts";

const MiB = 1024 * 1024;
const TOTAL = 2 * 1024 * MiB;
const dir = mkdtempSync(join(tmpdir(), "coop-pipeline-"));
const pool = createPipelinePool();
afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

/** TOTAL bytes from a 16 MiB random pool with a counter per piece; hashes what it yields. */
function* source(hash: ReturnType<typeof createHash>): Generator<Uint8Array> {
  const pool = randomFillSync(new Uint8Array(17 * MiB));
  const view = new DataView(pool.buffer);
  for (let off = 0, i = 0; off < TOTAL; off += MiB, i++) {
    const at = (off % (16 * MiB)) + (i % 7) * 8;
    view.setFloat64(at, i);
    const piece = pool.subarray(at, at + MiB);
    hash.update(piece);
    yield piece;
  }
}

it("2 GiB: encode to files, decode from 4 of 6 with roots checked, same SHA-256, bounded memory", async () => {
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sample = (): void => void (peak = Math.max(peak, process.memoryUsage().rss));
  // Shards 0 and 1 are "lost": decode must rebuild two data shards.
  const sinks: ShardSink[] = [];
  for (let i = 0; i < 6; i++)
    sinks.push(i < 2 ? nullSink : await createFileSink(join(dir, `shard-${i}`)));
  const inHash = createHash("sha256");
  const result = await encodeFile(source(inHash), { workers: pool, sinks, onProgress: sample });
  expect(result.plaintextLength).toBe(TOTAL);

  const outHash = createHash("sha256");
  let bytes = 0;
  const inputs = [0, 1, 2, 3, 4, 5].map((i) =>
    i < 2 ? undefined : readShardFile(join(dir, `shard-${i}`)),
  );
  for await (const piece of decodeFile(inputs, {
    ...result,
    workers: pool,
    expected: result.shards,
    recycleOutput: true,
    onProgress: sample,
  })) {
    outHash.update(piece);
    bytes += piece.length;
  }
  expect(bytes).toBe(TOTAL);
  expect(outHash.digest("hex")).toBe(inHash.digest("hex"));
  expect(peak - baseline).toBeLessThan(300 * MiB);
}, 600_000); // a guard against a hang, not a speed limit: a loaded 2-core machine took over 180 s
