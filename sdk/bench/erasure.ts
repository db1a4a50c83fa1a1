// Reed–Solomon throughput (k=4, n=6, 1 MiB blocks): encode, decode with two data shards lost,
// rebuild of one lost shard. Prints JSON lines { name, value, unit }.
// Run: node_modules/.bin/node sdk/bench/erasure.ts [MiB of data, default 256]
import { randomFillSync } from "node:crypto";
import { createReedSolomon } from "../src/erasure/index.ts";

const MiB = 1024 * 1024;
const total = Number(process.argv[2] ?? 256) * MiB;
const k = 4;
const n = 6;
const blockSize = MiB;
const rs = createReedSolomon({ dataShards: k, totalShards: n });
// A pool of distinct stripes (64 MiB) reused round-robin, so the data is not cache-resident.
const poolStripes = Math.min(16, total / (k * blockSize));
const pool = Array.from({ length: poolStripes }, () => {
  const data = Array.from({ length: k }, () => randomFillSync(new Uint8Array(blockSize)));
  return [...data, ...rs.encode(data)];
});
const stripes = total / (k * blockSize);
const parity = Array.from({ length: n - k }, () => new Uint8Array(blockSize));

function run(name: string, fn: (s: Uint8Array[]) => void): void {
  for (let i = 0; i < 4; i++) fn(pool[i % poolStripes]); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < stripes; i++) fn(pool[i % poolStripes]);
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ name, value: Math.round(total / 1e6 / seconds), unit: "MB/s" }));
}

run(`rs encode k=${k} n=${n} (MB/s of data)`, (s) => rs.encode(s.slice(0, k), parity));
run(`rs decode k=${k} n=${n}, data shards 0 and 1 lost (MB/s of data)`, (s) =>
  rs.reconstruct([undefined, undefined, s[2], s[3], s[4], s[5]]),
);
run(`rs rebuild one lost data shard k=${k} n=${n} (MB/s of data read)`, (s) =>
  rs.reconstruct([s[0], undefined, s[2], s[3], s[4], undefined], { wanted: [1] }),
);
