// UnixFS CID throughput of a shard (1 MiB chunks, 1024 links): node:crypto and portable paths.
// Prints JSON lines { name, value, unit }. Run: node_modules/.bin/node sdk/bench/cid.ts [MiB, default 256]
import { randomFillSync } from "node:crypto";
import {
  UnixfsCidBuilder,
  getNodeStreamingSha256,
  portableStreamingSha256,
  type StreamingSha256,
} from "../src/cid/index.ts";

const MiB = 1024 * 1024;
const total = Number(process.argv[2] ?? 256) * MiB;
const pool = randomFillSync(new Uint8Array(64 * MiB));

function run(name: string, sha256: StreamingSha256, bytes: number): void {
  const t0 = performance.now();
  const b = new UnixfsCidBuilder({ sha256 });
  for (let off = 0; off < bytes; off += MiB)
    b.update(pool.subarray(off % pool.length, (off % pool.length) + MiB));
  b.finish();
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ name, value: Math.round(bytes / 1e6 / seconds), unit: "MB/s" }));
}

run("unixfs cid, node path (node:crypto)", getNodeStreamingSha256() as StreamingSha256, total);
run("unixfs cid, browser path (@noble/hashes)", portableStreamingSha256, Math.min(total, 64 * MiB));
