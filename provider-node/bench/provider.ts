// Provider node benchmarks, each beside a baseline measured in the same run. Prints JSON lines
// { name, value, unit } for scripts/bench.ts:
// - shard ingest over HTTP on loopback (a real provider process on a real chain: verify +
//   tree + CCMT + CID + store + pin + acceptShard), 1 GiB, beside a bare Helia addByteStream
//   of the same bytes into an FsBlockstore, three alternating pairs (medians);
// - gateway reads (CAR of the whole shard, raw blocks one by one) beside Helia's unixfs.cat;
// - proof building for c = 5 with 10 and with 1,000 shards held (in-process, real blockstore);
// - idle RSS, peak RSS (VmHWM) over the 1 GiB phase, and peak RSS of the provider process
//   while it ingests a 4 GiB shard (the high-water mark reset just before).
import { createCipheriv } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { ShardCommitmentBuilder } from "@coop-cloud/sdk";
import { unixfs } from "@helia/unixfs";
import { FsBlockstore } from "blockstore-fs";
import { FsDatastore } from "datastore-fs";
import { createHeliaLight } from "helia";
import { bytesToHex } from "viem";

import { loadConfig } from "../src/config.ts";
import { startIpfsNode } from "../src/ipfs/node.ts";
import { configureLogging } from "../src/log.ts";
import { proveStoredSegment } from "../src/prover/prove.ts";
import { receiveShard } from "../src/store/ingest.ts";
import { ShardStore } from "../src/store/shards.ts";
import { type LocalChain, startLocalChain } from "../test/fixtures/chain.ts";
import { createTestDeal } from "../test/fixtures/deals.ts";
import {
  type ProviderSetup,
  type RunningProvider,
  setupProvider,
  startProvider,
} from "../test/fixtures/provider.ts";

const GiB = 2 ** 30;
const MB = 1e6;
const INGEST_ROUNDS = 3;
const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const emit = (name: string, value: number, unit: string) =>
  console.log(JSON.stringify({ name, value: Math.round(value * 100) / 100, unit }));

/** Deterministic pseudo-random bytes (AES-128-CTR keystream), produced in 4 MiB pieces. */
function* bytes(size: number, seed = 1): Generator<Uint8Array> {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed);
  const c = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  const zero = Buffer.alloc(4 * 2 ** 20);
  for (let off = 0; off < size; off += zero.length) {
    const n = Math.min(zero.length, size - off);
    yield c.update(zero.subarray(0, n));
  }
}

function commitment(size: number, seed: number) {
  const b = new ShardCommitmentBuilder();
  for (const chunk of bytes(size, seed)) b.update(chunk);
  return b.finish();
}

function vmHWM(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}
function vmRSS(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** The node's warnings and errors, to say why an upload failed. */
function complaints(p: { logs: Record<string, unknown>[] }): string {
  const bad = p.logs.filter((l) => Number(l.level) >= 40).map((l) => JSON.stringify(l));
  return bad.length ? `; the node said:\n${bad.join("\n")}` : "";
}

/** PUTs a generated body over a plain node:http request (streamed). */
function upload(url: string, size: number, seed: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "PUT", headers: { "content-length": size } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    const gen = bytes(size, seed);
    const pump = () => {
      for (;;) {
        const next = gen.next();
        if (next.done) return void req.end();
        if (!req.write(next.value)) return void req.once("drain", pump);
      }
    };
    pump();
  });
}

async function drain(url: string): Promise<number> {
  const res = await fetch(url);
  let n = 0;
  for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) n += c.length;
  return n;
}

async function baselineHelia(size: number, seed: number) {
  const dir = mkdtempSync(join(tmpdir(), "coop-bench-helia-"));
  try {
    const helia = createHeliaLight({
      blockstore: new FsBlockstore(join(dir, "blocks")),
      datastore: new FsDatastore(join(dir, "ds")),
    });
    await helia.start();
    const fs = unixfs(helia);
    let t0 = performance.now();
    // addByteStream's defaults are the shard parameters (1 MiB raw leaves, 1024 links).
    const cid = await fs.addByteStream(bytes(size, seed), { cidVersion: 1, rawLeaves: true });
    const add = size / MB / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    let n = 0;
    for await (const c of fs.cat(cid)) n += c.length;
    const cat = n / MB / ((performance.now() - t0) / 1000);
    await helia.stop();
    return { add, cat, cid: cid.toString() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function proofBench() {
  configureLogging({ level: "silent", format: "json" });
  const dir = mkdtempSync(join(tmpdir(), "coop-bench-prove-"));
  try {
    const config = loadConfig({
      overrides: {
        dataDir: dir,
        "chain.rpcUrl": "http://127.0.0.1:1",
        "chain.market": `0x${"1".repeat(40)}`,
        "chain.token": `0x${"2".repeat(40)}`,
        "chain.membership": `0x${"3".repeat(40)}`,
        "ipfs.tcpPort": 0,
        "ipfs.wsPort": 0,
      },
    });
    const ipfs = await startIpfsNode(config);
    const store = new ShardStore(dir, ipfs);
    const size = 2 ** 20 + 512 * 3; // two leaves, depth 12
    const timeProofs = async () => {
      const recs = store.list();
      const samples: number[] = [];
      for (let round = 0; round < 20; round++) {
        const t0 = performance.now();
        for (let c = 0; c < 5; c++) {
          const rec = recs[Math.floor(Math.random() * recs.length)];
          await proveStoredSegment(store, rec, Math.floor(Math.random() * rec.leafCount));
        }
        samples.push(performance.now() - t0);
      }
      return median(samples);
    };
    let held = 0;
    const fill = async (upTo: number) => {
      for (; held < upTo; held++) {
        const tmp = join(store.tmpDir, `b${held}`);
        const got = await receiveShard(bytes(size, 1000 + held), tmp, {
          maxBytes: size,
          cacheLevel: 6,
        });
        const rec = await store.importShard(BigInt(held + 1), 0, tmp, got);
        rec.state = "accepted";
        store.save(rec);
        rmSync(tmp, { recursive: true, force: true });
      }
    };
    await fill(10);
    emit(
      "provider: build a c = 5 batch proof, 10 shards held (median of 20)",
      await timeProofs(),
      "ms",
    );
    await fill(1000);
    emit(
      "provider: build a c = 5 batch proof, 1,000 shards held (median of 20)",
      await timeProofs(),
      "ms",
    );
    await ipfs.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Ingests a 4 GiB shard: its rate and the node's peak RSS meanwhile. */
async function bench4GiB(chain: LocalChain, s: ProviderSetup, p: RunningProvider) {
  const c4 = commitment(4 * GiB, 9);
  // Restart the high-water mark (Linux ≥ 4.0), so the next figure is the 4 GiB ingest's own.
  writeFileSync(`/proc/${p.proc.pid}/clear_refs`, "5");
  const big = await createTestDeal(chain, [s.address], {
    k: 1,
    shardSize: 4 * GiB,
    shards: [new Uint8Array(0)],
    roots: [bytesToHex(c4.root)],
  });
  const t0 = performance.now();
  const st4 = await upload(`${p.url}/deals/${big.dealId}/shards/0`, 4 * GiB, 9);
  if (st4 !== 201) throw new Error(`4 GiB upload refused: ${st4}${complaints(p)}`);
  emit(
    "provider: shard ingest over HTTP, 4 GiB",
    (4 * GiB) / MB / ((performance.now() - t0) / 1000),
    "MB/s",
  );
  emit(
    "provider: peak RSS (VmHWM) of the node after ingesting a 4 GiB shard",
    vmHWM(p.proc.pid!) / MB,
    "MB",
  );
}

const only = process.argv[2];
if (!only || only === "proofs") await proofBench();
if (!only || only === "ingest") {
  const chain = await startLocalChain({ epochLength: 30, market: { acceptanceWindow: 1000 } });
  let setup: ProviderSetup | undefined;
  let running: RunningProvider | undefined;
  try {
    const s = (setup = await setupProvider(chain, 1, { capacity: 8 * GiB, stake: 100_000_000n }));
    const p = (running = await startProvider(s, {
      COOP_PROVIDER_SCRUB_INTERVAL: "86400",
      COOP_PROVIDER_MIN_FREE_BYTES: "0",
    }));
    await new Promise((r) => setTimeout(r, 3000));
    emit("provider: idle RSS (a started node, no shards)", vmRSS(p.proc.pid!) / MB, "MB");
    // 1 GiB: ingest over HTTP beside Helia's addByteStream, alternating, three rounds of new
    // bytes each (the machine's speed drifts between minutes: medians of the pairs); then the
    // gateway reads the first round's shard.
    const rounds: { ingest: number; add: number; cat: number }[] = [];
    let c1: ReturnType<typeof commitment> | undefined;
    for (let round = 0; round < INGEST_ROUNDS; round++) {
      const seed = 7 + round;
      const c = commitment(GiB, seed);
      c1 ??= c;
      const deal = await createTestDeal(chain, [s.address], {
        k: 1,
        shardSize: GiB,
        shards: [new Uint8Array(0)],
        roots: [bytesToHex(c.root)],
      });
      const t0 = performance.now();
      const status = await upload(`${p.url}/deals/${deal.dealId}/shards/0`, GiB, seed);
      if (status !== 201) throw new Error(`upload refused: ${status}${complaints(p)}`);
      const ingest = GiB / MB / ((performance.now() - t0) / 1000);
      console.error(JSON.stringify(p.logs.filter((l) => l.msg === "shard accepted").at(-1)));
      const base = await baselineHelia(GiB, seed);
      if (base.cid !== c.cid.toString()) throw new Error(`baseline CID ${base.cid} ≠ ${c.cid}`);
      rounds.push({ ingest, add: base.add, cat: base.cat });
    }
    const med = (f: (r: (typeof rounds)[number]) => number) => median(rounds.map(f));
    emit(
      `provider: shard ingest over HTTP, 1 GiB (verify + tree + CCMT + CID + store + pin + acceptShard; median of ${INGEST_ROUNDS})`,
      med((r) => r.ingest),
      "MB/s",
    );
    emit(
      `baseline: Helia addByteStream of the same 1 GiB into an FsBlockstore (median of ${INGEST_ROUNDS})`,
      med((r) => r.add),
      "MB/s",
    );
    emit(
      `provider: ingest / Helia addByteStream (median of the ${INGEST_ROUNDS} pairs)`,
      med((r) => r.ingest / r.add),
      "×",
    );
    const cid = c1!.cid.toString();
    let t0 = performance.now();
    const carBytes = await drain(`${p.url}/ipfs/${cid}?format=car`);
    emit(
      "provider: gateway CAR of a 1 GiB shard",
      carBytes / MB / ((performance.now() - t0) / 1000),
      "MB/s",
    );
    // Raw blocks one by one, as a trustless client walks the DAG.
    const reader = (await import("@ipld/dag-pb")).decode(
      new Uint8Array(await (await fetch(`${p.url}/ipfs/${cid}?format=raw`)).arrayBuffer()),
    );
    t0 = performance.now();
    let rawBytes = 0;
    for (const l of reader.Links) rawBytes += await drain(`${p.url}/ipfs/${l.Hash}?format=raw`);
    emit(
      "provider: gateway raw blocks of a 1 GiB shard, one request per block",
      rawBytes / MB / ((performance.now() - t0) / 1000),
      "MB/s",
    );
    emit(
      `baseline: Helia unixfs.cat of the same 1 GiB from an FsBlockstore (median of ${INGEST_ROUNDS})`,
      med((r) => r.cat),
      "MB/s",
    );
    emit(
      "provider: peak RSS (VmHWM) of the node over the 1 GiB ingest and gateway reads",
      vmHWM(p.proc.pid!) / MB,
      "MB",
    );
    // 4 GiB: peak RSS of the provider process while it ingests.
    if (!process.env.COOP_BENCH_SKIP_4G) await bench4GiB(chain, s, p);
  } finally {
    await running?.stop();
    if (setup) rmSync(setup.dataDir, { recursive: true, force: true });
    await chain.stop();
  }
}
