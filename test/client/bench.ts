// The client's speed and memory (`node scripts/bench.ts --only client`). Prints JSON lines
// { name, value, unit } for scripts/bench.ts. One real local chain and four real provider
// processes (k = 2, n = 4), all on this machine:
// - putFile of a 256 MiB file, end to end (encode into a folder staging as the CLI does, the
//   permit deal, four parallel uploads, four acceptances on-chain), with where the time goes
//   (from putFile's progress events), beside a bare Helia addByteStream of the same file into
//   an FsBlockstore, measured in the same run;
// - getFile of the same file: rate and time to the first plaintext byte, with all four
//   providers up and with the two holding the data shards stopped (rebuilt from the parity);
// - peak RSS (VmHWM, via /usr/bin/time -v or /proc) of `coop put` and `coop get` as child
//   processes on a 4 GiB file, and their rates.
// Files live under bench/tmp/client and are deleted afterwards. COOP_BENCH_CLIENT_MIB and
// COOP_BENCH_CLIENT_BIG_MIB change the sizes (quick trial runs); COOP_BENCH_SKIP_4G skips the CLI part.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { open } from "node:fs/promises";
import { dirname, join } from "node:path";

import {
  type CoopContracts,
  type PutProgress,
  connectCoop,
  createKeySession,
  faucet,
  getFile,
  putFile,
} from "@coop-cloud/sdk/client";
import { createFolderStaging } from "@coop-cloud/sdk/node/staging.ts";
import { readShardFile } from "@coop-cloud/sdk/pipeline/node.ts";
import { unixfs } from "@helia/unixfs";
import { FsBlockstore } from "blockstore-fs";
import { FsDatastore } from "datastore-fs";
import { createHeliaLight } from "helia";
import { privateKeyToAccount } from "viem/accounts";

import { MiB, randomPieces } from "../../sdk/bench/_util.ts";
import { repoRoot, startLocalChain } from "../../provider-node/test/fixtures/chain.ts";
import {
  type ProviderSetup,
  type RunningProvider,
  setupProvider,
  startProvider,
} from "../../provider-node/test/fixtures/provider.ts";

const MB = 1e6;
const SIZE = Number(process.env.COOP_BENCH_CLIENT_MIB ?? 256) * MiB;
const BIG = Number(process.env.COOP_BENCH_CLIENT_BIG_MIB ?? 4096) * MiB;
const work = join(repoRoot, "bench/tmp/client");
const node = join(repoRoot, "node_modules/.bin/node");
const coopBin = join(repoRoot, "sdk/cli/coop.ts");
const OWNER_KEY = 5;
const label = (bytes: number) =>
  bytes >= 2 ** 30 ? `${bytes / 2 ** 30} GiB` : `${bytes / MiB} MiB`;

const emit = (name: string, value: number, unit: string) =>
  console.log(JSON.stringify({ name, value: Math.round(value * 100) / 100, unit }));
const log = (text: string) => console.error(`[client bench] ${text}`);
const rate = (bytes: number, ms: number) => bytes / MB / (ms / 1000);

/** Writes `size` deterministic pseudo-random bytes to `path`; returns their SHA-256. */
async function writeData(path: string, size: number, seed: number): Promise<string> {
  const fh = await open(path, "w");
  const hash = createHash("sha256");
  try {
    for (const piece of randomPieces(size, 4 * MiB, seed)) {
      hash.update(piece);
      await fh.write(piece);
    }
  } finally {
    await fh.close();
  }
  return hash.digest("hex");
}

/** Helia's addByteStream of the file into an FsBlockstore (1 MiB raw leaves, as the shards). */
async function heliaAdd(path: string, dir: string): Promise<number> {
  const helia = createHeliaLight({
    blockstore: new FsBlockstore(join(dir, "blocks")),
    datastore: new FsDatastore(join(dir, "ds")),
  });
  await helia.start();
  try {
    const t0 = performance.now();
    await unixfs(helia).addByteStream(createReadStream(path, { highWaterMark: MiB }), {
      cidVersion: 1,
      rawLeaves: true,
    });
    return performance.now() - t0;
  } finally {
    await helia.stop();
  }
}

/** Where a put's time went, from its progress events (ms since the call). */
class PutClock {
  readonly t0 = performance.now();
  dealStart = NaN;
  dealCreated = NaN;
  readonly sent = new Map<number, number>();
  readonly accepted = new Map<number, number>();
  onProgress = (p: PutProgress) => {
    const t = performance.now() - this.t0;
    if (p.stage === "deal" && Number.isNaN(this.dealStart)) this.dealStart = t;
    else if (p.stage === "deal-created") this.dealCreated = t;
    else if (p.stage === "upload" && p.bytes === p.total && !this.sent.has(p.shard))
      this.sent.set(p.shard, t);
    else if (p.stage === "accepted") this.accepted.set(p.shard, t);
  };
}

/** Reads the whole plaintext of a deal: ms to the first byte, total ms, and its SHA-256. */
async function timedGet(
  c: CoopContracts,
  dealId: bigint,
  keys: ReturnType<typeof createKeySession>,
) {
  const t0 = performance.now();
  const file = await getFile(c, { dealId }, { keys });
  const hash = createHash("sha256");
  let first = NaN;
  let bytes = 0;
  for await (const piece of file) {
    if (Number.isNaN(first)) first = performance.now() - t0;
    hash.update(piece);
    bytes += piece.length;
  }
  return { first, ms: performance.now() - t0, bytes, sha256: hash.digest("hex") };
}

interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak resident set size in bytes. */
  peakRss: number;
}

/**
 * Runs `coop <args>` as a child process and measures its peak RSS: GNU time's "Maximum resident
 * set size" when /usr/bin/time exists, else VmHWM polled from /proc every 100 ms.
 */
async function coop(args: string[], env: NodeJS.ProcessEnv): Promise<ChildRun> {
  const gnuTime = existsSync("/usr/bin/time");
  const timeFile = join(work, "time.txt");
  // Run as `npx coop` runs it: the file itself, so its shebang's Node flags apply.
  const argv = [coopBin, ...args];
  env = { ...env, PATH: `${dirname(node)}:${env.PATH ?? ""}` }; // its shebang finds this Node
  const t0 = performance.now();
  const child = gnuTime
    ? spawn("/usr/bin/time", ["-v", "-o", timeFile, ...argv], { env, cwd: work })
    : spawn(argv[0]!, argv.slice(1), { env, cwd: work });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
  let polled = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      if (m) polled = Math.max(polled, Number(m[1]) * 1024);
    } catch {
      // exited
    }
  }, 100);
  const [code] = (await once(child, "close")) as [number | null];
  clearInterval(poll);
  const ms = performance.now() - t0;
  let peakRss = polled;
  if (gnuTime) {
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(readFileSync(timeFile, "utf8"));
    if (m) peakRss = Number(m[1]) * 1024;
  }
  return { code, stdout, stderr, ms, peakRss };
}

function expectOk(r: ChildRun, what: string): Record<string, unknown> {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const loadBefore = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
log(`load average before: ${loadBefore}`);
emit("client: machine load average (1 min) as the bench started (2 cores)", Number(loadBefore), "");
const chain = await startLocalChain({
  epochLength: 60,
  market: { acceptanceWindow: 1000, maxMissedEpochs: 200, missedEpochSlash: 1000n },
});
const setups: ProviderSetup[] = [];
const nodes: (RunningProvider | undefined)[] = [];
const providerEnv = { COOP_PROVIDER_SCRUB_INTERVAL: "86400", COOP_PROVIDER_MIN_FREE_BYTES: "0" };
try {
  const capacity = 2 * Math.max(SIZE, BIG);
  for (const k of [1, 2, 3, 4])
    setups.push(await setupProvider(chain, k, { capacity, stake: 100_000_000n }));
  nodes.push(...(await Promise.all(setups.map((s) => startProvider(s, providerEnv)))));
  const owner = await connectCoop({
    rpcUrl: chain.rpcUrl,
    chainId: 31337,
    account: privateKeyToAccount(chain.keys[OWNER_KEY]),
    addresses: chain.addresses,
  });
  await faucet(owner);
  const keys = createKeySession(owner);
  await keys.kek(); // the one signature, before any timing

  // 1. put, beside Helia's addByteStream of the same file (COOP_BENCH_CLIENT_MIB=0: skip 1 and 2).
  if (SIZE > 0) {
    const input = join(work, "put.bin");
    const sha = await writeData(input, SIZE, 1);
    log(`putFile ${label(SIZE)} (k = 2, n = 4)`);
    const clock = new PutClock();
    const put = await putFile(owner, readShardFile(input), {
      name: "put.bin",
      size: SIZE,
      k: 2,
      n: 4,
      durationEpochs: 10,
      keys,
      staging: createFolderStaging(join(work, "staging")),
      onProgress: clock.onProgress,
    });
    const putMs = performance.now() - clock.t0;
    log(`Helia addByteStream ${label(SIZE)}`);
    const heliaMs = await heliaAdd(input, join(work, "helia"));
    rmSync(join(work, "helia"), { recursive: true, force: true });
    const lastSent = Math.max(...clock.sent.values());
    const lastAccepted = Math.max(...clock.accepted.values());
    const putRate = rate(SIZE, putMs);
    const heliaRate = rate(SIZE, heliaMs);
    emit(
      `client: putFile of ${label(SIZE)} to four providers (k = 2, n = 4), end to end`,
      putRate,
      "MB/s",
    );
    emit(
      `baseline: Helia addByteStream of the same ${label(SIZE)} into an FsBlockstore`,
      heliaRate,
      "MB/s",
    );
    emit("client: putFile / Helia addByteStream", putRate / heliaRate, "×");
    emit(
      "client: put time: encode to staged shards (with the manifest)",
      clock.dealStart / 1000,
      "s",
    );
    emit(
      "client: put time: deal (quote, permit, createDeal mined)",
      (clock.dealCreated - clock.dealStart) / 1000,
      "s",
    );
    emit(
      "client: put time: upload (four shards in parallel, to the last byte sent)",
      (lastSent - clock.dealCreated) / 1000,
      "s",
    );
    emit(
      "client: put time: acceptance (last byte sent → last shard accepted on-chain)",
      (lastAccepted - lastSent) / 1000,
      "s",
    );
    emit("client: put time: manifest stored, staging cleared", (putMs - lastAccepted) / 1000, "s");

    // 2. get: all providers up, then the two holding the data shards stopped.
    log(`getFile ${label(SIZE)}`);
    const got = await timedGet(owner, put.dealId, keys);
    if (got.sha256 !== sha) throw new Error("the file read back differs from the one stored");
    emit(`client: getFile of ${label(SIZE)}, four providers up`, rate(got.bytes, got.ms), "MB/s");
    emit("client: getFile time to first byte, four providers up", got.first, "ms");
    const down = put.shards
      .filter((s) => s.index < 2)
      .map((s) => setups.findIndex((x) => x.address.toLowerCase() === s.provider.toLowerCase()));
    for (const i of down) await nodes[i]!.stop();
    log(`getFile ${label(SIZE)} with the holders of shards 0 and 1 stopped`);
    const spare = await timedGet(owner, put.dealId, keys);
    if (spare.sha256 !== sha) throw new Error("the file read back (two providers down) differs");
    emit(
      `client: getFile of ${label(SIZE)}, the two data-shard providers down (rebuilt from parity)`,
      rate(spare.bytes, spare.ms),
      "MB/s",
    );
    emit("client: getFile time to first byte, two providers down", spare.first, "ms");
    for (const i of down) nodes[i] = await startProvider(setups[i]!, providerEnv);
    rmSync(input, { force: true });
  }

  // 3. coop put / coop get of a big file as child processes: peak RSS.
  if (!process.env.COOP_BENCH_SKIP_4G) {
    const big = join(work, "big.bin");
    const out = join(work, "big.out");
    const bigSha = await writeData(big, BIG, 2);
    const addresses = join(work, "addresses.json");
    writeFileSync(addresses, JSON.stringify(chain.addresses));
    const env = {
      ...process.env,
      COOP_RPC_URL: chain.rpcUrl,
      COOP_ADDRESSES: addresses,
      COOP_CHAIN_ID: "31337",
      COOP_DATA_DIR: join(work, "coop"),
      COOP_PRIVATE_KEY: chain.keys[OWNER_KEY],
    };
    try {
      log(`coop put ${label(BIG)}`);
      const p = await coop(["put", big, "-k", "2", "-n", "4", "--epochs", "10", "--json"], env);
      const stored = expectOk(p, "coop put");
      emit(`client: coop put of ${label(BIG)} (k = 2, n = 4), end to end`, rate(BIG, p.ms), "MB/s");
      emit(`client: peak RSS of coop put, ${label(BIG)}`, p.peakRss / MB, "MB");
      log(`coop get ${label(BIG)}`);
      const g = await coop(["get", String(stored.dealId), "-o", out, "--json"], env);
      if (g.code !== 0)
        for (const n of nodes)
          for (const l of n?.logs.filter((l) => Number(l.level) >= 40) ?? [])
            console.error(JSON.stringify(l));
      const read = expectOk(g, "coop get");
      if (read.sha256 !== bigSha)
        throw new Error(`coop get wrote other bytes than coop put stored`);
      emit(`client: coop get of ${label(BIG)}, end to end`, rate(BIG, g.ms), "MB/s");
      emit(`client: peak RSS of coop get, ${label(BIG)}`, g.peakRss / MB, "MB");
    } finally {
      rmSync(big, { force: true });
      rmSync(out, { force: true });
    }
  }
  const loadAfter = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
  emit("client: machine load average (1 min) as the bench ended (2 cores)", Number(loadAfter), "");
} finally {
  for (const n of nodes) await n?.stop();
  for (const s of setups) rmSync(s.dataDir, { recursive: true, force: true });
  await chain.stop();
  rmSync(work, { recursive: true, force: true });
}
// The pipeline's worker pool and keep-alive sockets may hold the loop open a while: done.
process.exit(0);
