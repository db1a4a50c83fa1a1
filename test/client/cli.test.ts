// The coop CLI as a user runs it: child processes of `node sdk/cli/coop.ts` against a real
// local chain and four real provider processes. Wallet import, faucet, membership, put and get
// bit-exact, ls, a wrong wallet, a share link without a wallet, a full governance round (price,
// then a dividend that is claimed) and usage errors, each checked through `--json` output and
// the documented exit codes. One chain for the file; the steps build on each other in order.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { storageMarketAbi } from "@coop-cloud/sdk/contracts/generated/abis.ts";
import { createPublicClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  type LocalChain,
  repoRoot,
  rpc,
  startLocalChain,
} from "../../provider-node/test/fixtures/chain.ts";
import {
  type RunningProvider,
  setupProvider,
  startProvider,
} from "../../provider-node/test/fixtures/provider.ts";

const node = join(repoRoot, "node_modules/.bin/node");
const coopBin = join(repoRoot, "sdk/cli/coop.ts");
const PASSWORD = "cli test password";

let chain: LocalChain;
const nodes: RunningProvider[] = [];
let work: string;
/** Alice keeps her key in a keystore (imported through the CLI); Bob and Carol use COOP_PRIVATE_KEY. */
let aliceDir: string;
let alice: `0x${string}`;
let bobKey: `0x${string}`;
let carolKey: `0x${string}`;
let baseEnv: NodeJS.ProcessEnv;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Runs `coop <args>` with the test chain's settings; `input` is piped to stdin. */
function coop(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [coopBin, ...args], {
      cwd: work,
      env: { ...baseEnv, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.stdin.end(options.input ?? "");
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({
        code,
        stdout,
        stderr,
        json() {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(
              `coop ${args.join(" ")} printed no JSON (exit ${code}):\n${stdout}\n${stderr}`,
            );
          }
        },
      }),
    );
  });
}

/** Runs `coop` and expects exit 0 and one JSON document on stdout. */
async function ok(args: string[], env?: NodeJS.ProcessEnv) {
  const r = await coop([...args, "--json"], { env });
  expect(r.code, `coop ${args.join(" ")}:\n${r.stderr}`).toBe(0);
  expect(r.stdout.trim().split("\n")).toHaveLength(1);
  return r.json();
}

const asBob = { COOP_PRIVATE_KEY: "" } as NodeJS.ProcessEnv;
const asCarol = { COOP_PRIVATE_KEY: "" } as NodeJS.ProcessEnv;

async function advance(seconds: number) {
  await rpc(chain.rpcUrl, "evm_increaseTime", [seconds]);
  await rpc(chain.rpcUrl, "evm_mine");
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

beforeAll(async () => {
  chain = await startLocalChain({ epochLength: 4, market: { acceptanceWindow: 100 } });
  work = mkdtempSync(join(tmpdir(), "coop-cli-"));
  const addresses = join(work, "addresses.json");
  writeFileSync(addresses, JSON.stringify(chain.addresses));
  aliceDir = join(work, "alice");
  alice = privateKeyToAccount(chain.keys[10]).address;
  bobKey = chain.keys[11];
  carolKey = chain.keys[12];
  asBob.COOP_PRIVATE_KEY = bobKey;
  asCarol.COOP_PRIVATE_KEY = carolKey;
  baseEnv = {
    ...process.env,
    COOP_RPC_URL: chain.rpcUrl,
    COOP_ADDRESSES: addresses,
    COOP_DATA_DIR: aliceDir,
    COOP_PASSWORD: PASSWORD,
    COOP_PRIVATE_KEY: "",
  };
  const setups = [];
  for (const k of [1, 2, 3, 4]) setups.push(await setupProvider(chain, k));
  // Started side by side; every one that started is stopped in afterAll, even if another failed.
  const started = await Promise.allSettled(setups.map((s) => startProvider(s)));
  for (const r of started) if (r.status === "fulfilled") nodes.push(r.value);
  const failed = started.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
});

afterAll(async () => {
  for (const n of nodes) await n?.stop();
  await chain?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("wallet", () => {
  it("imports a key from stdin into an encrypted keystore and prints its address", async () => {
    const r = await coop(["wallet", "import", "--kdf-n", "1024", "--json"], {
      input: `${chain.keys[10]}\n`,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toEqual({ address: alice, keystore: join(aliceDir, "keystore.json") });
    const stored = readFileSync(join(aliceDir, "keystore.json"), "utf8");
    expect(stored).not.toContain(chain.keys[10].slice(2));
    expect(JSON.parse(stored)).toMatchObject({ version: 3, crypto: { kdf: "scrypt" } });
    expect(await ok(["wallet", "address"])).toEqual({
      address: alice,
      source: "keystore",
      keystore: join(aliceDir, "keystore.json"),
    });
  });

  it("refuses to overwrite a wallet, and a wrong password, with exit code 5", async () => {
    const again = await coop(["wallet", "import", "--kdf-n", "1024"], { input: bobKey });
    expect(again.code).toBe(5);
    expect(again.stderr).toContain(`already holds wallet ${alice}`);
    const wrong = await coop(["member", "status"], { env: { COOP_PASSWORD: "not it" } });
    expect(wrong.code).toBe(5);
    expect(wrong.stderr).toContain("wrong password");
  });
});

describe("faucet and membership", () => {
  it("draws tokens, joins with a permit, and reports the membership", async () => {
    const f = await ok(["faucet"]);
    expect(f.amount).toBe("10000000000");
    expect(f.balance).toBe("10000000000");
    expect((await ok(["member", "status"])).isMember).toBe(false);
    const j = await ok(["member", "join"]);
    expect(j).toMatchObject({ address: alice, sharePaid: "100000000", method: "permit" });
    expect(await ok(["member", "status"])).toMatchObject({
      address: alice,
      isMember: true,
      sharePaid: "100000000",
      votingWeight: "1",
      balance: "9900000000",
      exitRequested: false,
    });
    const twice = await coop(["member", "join"]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain("already a member");
  });
});

describe("files", () => {
  const files: { path: string; bytes: Uint8Array; dealId?: string }[] = [];

  beforeAll(() => {
    for (const [name, size] of [
      ["small.txt", 1000],
      ["few-mib.bin", 3 * 2 ** 20 + 12345],
    ] as const) {
      const bytes = new Uint8Array(randomBytes(size));
      const path = join(work, name);
      writeFileSync(path, bytes);
      files.push({ path, bytes });
    }
  });

  it("puts a small and a few-MiB file and gets both back bit-exact", async () => {
    for (const f of files) {
      const put = await ok(["put", f.path, "-k", "2", "-n", "4", "--epochs", "2000"]);
      expect(put.name).toBe(f.path.split("/").pop());
      expect(put.size).toBe(f.bytes.length);
      expect(put.resumed).toBe(false);
      expect(put.dealId).toMatch(/^\d+$/);
      expect(put.manifestCid).toMatch(/^bafkrei/);
      expect(put.shards).toHaveLength(4);
      expect(new Set(put.shards.map((s: { provider: string }) => s.provider)).size).toBe(4);
      expect(BigInt(put.cost.total)).toBe(BigInt(put.cost.escrow) + BigInt(put.cost.fee));
      f.dealId = put.dealId;

      const out = join(work, `got-${put.dealId}`);
      const got = await ok(["get", put.dealId, "-o", out]);
      expect(got).toMatchObject({
        path: out,
        name: put.name,
        size: f.bytes.length,
        sha256: sha256(f.bytes),
        manifestCid: put.manifestCid,
        dealId: put.dealId,
      });
      expect(Buffer.compare(readFileSync(out), f.bytes)).toBe(0);
    }
    // The staged shards are gone once every shard is accepted.
    expect(readdirSync(join(aliceDir, "puts"))).toEqual([]);
    const again = await coop(["put", "--resume"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("no interrupted put");
  });

  it("lists the files from the chain with their names, sizes and healthy shards", async () => {
    const { files: listed } = await ok(["ls"]);
    expect(
      listed.map((x: Record<string, unknown>) => [x.dealId, x.name, x.size, x.healthyShards]),
    ).toEqual(
      [...files].reverse().map((f) => [f.dealId, f.path.split("/").pop(), f.bytes.length, 4]),
    );
    const status = await ok(["status", files[0]!.dealId!]);
    expect(status).toMatchObject({ dealId: files[0]!.dealId, owner: alice, k: 2, n: 4 });
    expect(status.shards).toHaveLength(4);
  });

  it("resumes a put interrupted after its deal was created, without a second deal", async () => {
    const bytes = new Uint8Array(randomBytes(24 * 2 ** 20));
    const path = join(work, "interrupted.bin");
    writeFileSync(path, bytes);
    const child = spawn(node, [coopBin, "put", path, "-k", "2", "-n", "4", "--epochs", "100"], {
      cwd: work,
      env: baseEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on("data", (b: Buffer) => {
        stderr += b.toString();
        // One Ctrl-C: a second one would end the process at once, by design.
        if (/Deal \d+ created/.test(stderr) && !child.killed) child.kill("SIGINT");
      });
      child.on("close", resolve);
    });
    expect(code, stderr).toBe(130);
    expect(stderr).toContain("coop put --resume");
    const dealId = /Deal (\d+) created/.exec(stderr)![1];
    expect(readdirSync(join(aliceDir, "puts"))).toHaveLength(1);

    const resumed = await ok(["put", path]);
    expect(resumed).toMatchObject({ resumed: true, dealId, size: bytes.length });
    expect(readdirSync(join(aliceDir, "puts"))).toEqual([]);
    const out = join(work, "interrupted-back");
    expect((await ok(["get", dealId, "-o", out])).sha256).toBe(sha256(bytes));
    expect(Buffer.compare(readFileSync(out), bytes)).toBe(0);
  });

  it("refuses another wallet's get with exit code 3 and a sentence naming the owner", async () => {
    const out = join(work, "not-mine");
    const r = await coop(["get", files[1]!.dealId!, "-o", out], { env: asBob });
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`belongs to ${alice}`);
    expect(r.stderr).toContain("share link");
    expect(existsSync(out)).toBe(false);
  });

  it("shares a file by link, which gets it without any wallet", async () => {
    const { link, dealId } = await ok(["share", files[1]!.dealId!]);
    expect(dealId).toBe(files[1]!.dealId);
    expect(link).toMatch(/^coop:\/\/bafkrei[a-z2-7]+#k=[A-Za-z0-9_-]{43}$/);
    const out = join(work, "from-link");
    const nobody = { COOP_DATA_DIR: join(work, "nobody"), COOP_PASSWORD: "" };
    expect((await coop(["wallet", "address"], { env: nobody })).code).toBe(5);
    const got = await ok(["get", link, "-o", out], nobody);
    expect(got.sha256).toBe(sha256(files[1]!.bytes));
    expect(Buffer.compare(readFileSync(out), files[1]!.bytes)).toBe(0);
  });

  it("extends a deal and cancels it, with the escrow refunded to the wallet", async () => {
    const dealId = files[0]!.dealId!;
    const before = await ok(["status", dealId]);
    const ext = await ok(["extend", dealId, "10"]);
    expect(ext).toMatchObject({ dealId, epochs: 10, endEpoch: before.endEpoch + 10 });
    expect(BigInt(ext.escrow)).toBeGreaterThan(0n);
    const balance = BigInt((await ok(["member", "status"])).balance);
    const cancel = await ok(["cancel", dealId]);
    expect(BigInt(cancel.refund)).toBeGreaterThan(0n);
    expect(cancel.withdrawn).toBe(cancel.refund);
    expect(BigInt((await ok(["member", "status"])).balance)).toBe(balance + BigInt(cancel.refund));
    expect(await ok(["status", dealId])).toMatchObject({
      cancelled: true,
      endEpoch: cancel.endEpoch,
    });
  });
});

describe("governance and patronage", () => {
  let priceProposal: string;

  it("changes the price: join, propose, vote, queue, execute", async () => {
    // One after another: two joins mined in one block need more gas than each was estimated
    // at (the total-votes checkpoint), which the client does not pad yet.
    for (const who of [asBob, asCarol]) {
      await ok(["faucet"], who);
      await ok(["member", "join"], who);
    }
    const p = await ok(["gov", "propose", "price", "0.00002"]);
    priceProposal = p.proposalId;
    expect(p.description).toContain("Set the storage price");
    expect(p.targets).toEqual([chain.addresses.StorageMarket]);

    const early = await coop(["gov", "vote", priceProposal, "for"]);
    expect(early.code).toBe(2);
    expect(early.stderr).toContain("has not opened yet");

    await advance(61);
    // A unique prefix of the id is enough.
    expect(await ok(["gov", "vote", priceProposal.slice(0, 8), "for"])).toMatchObject({
      proposalId: priceProposal,
      support: "for",
      weight: "1",
    });
    await ok(["gov", "vote", priceProposal, "for"], asBob);
    await ok(["gov", "vote", priceProposal, "against"], asCarol);
    const { proposals } = await ok(["gov", "ls"]);
    expect(proposals[0]).toMatchObject({
      id: priceProposal,
      state: "Active",
      votes: { for: "2", against: "1", abstain: "0" },
      hasVoted: true,
    });

    const tooSoon = await coop(["gov", "queue", priceProposal]);
    expect(tooSoon.code).toBe(2);
    expect(tooSoon.stderr).toContain("still being voted on");
    await advance(301);
    expect((await ok(["gov", "queue", priceProposal])).eta).toMatch(/^\d+$/);
    await advance(61);
    await ok(["gov", "execute", priceProposal], asCarol);
    expect((await ok(["gov", "ls"])).proposals[0].state).toBe("Executed");

    const pub = createPublicClient({ transport: http(chain.rpcUrl) });
    const params = await pub.readContract({
      address: chain.addresses.StorageMarket,
      abi: storageMarketAbi,
      functionName: "params",
    });
    // 0.00002 cUSD = 20 base units per GiB-epoch → 20·10^18 / 2^30 per byte-epoch, rounded.
    expect(params.pricePerByteEpoch).toBe((20n * 10n ** 18n + 2n ** 29n) / 2n ** 30n);
  });

  it("declares a dividend for the closed period by vote, and the member claims it", async () => {
    const before = await ok(["patronage", "status"]);
    const period0 = before.periods.find((p: { period: string }) => p.period === "0");
    expect(BigInt(period0.points)).toBeGreaterThan(0n);
    await advance(3600); // period 0 closes
    const free = BigInt((await ok(["patronage", "status"])).freeBalance);
    expect(free).toBeGreaterThanOrEqual(100n);

    const { proposalId: id } = await ok(["gov", "propose", "dividend", "0", "0.0001"], asBob);
    await advance(61);
    await ok(["gov", "vote", id, "for"]);
    await ok(["gov", "vote", id, "abstain"], asBob);
    await advance(301);
    await ok(["gov", "queue", id]);
    await advance(61);
    await ok(["gov", "execute", id]);

    const status = await ok(["patronage", "status"]);
    const declared = status.periods.find((p: { period: string }) => p.period === "0");
    expect(declared).toMatchObject({ declared: true, dividend: "100", claimed: false });
    const claimable = BigInt(declared.claimable);
    expect(claimable).toBeGreaterThan(0n);
    const balance = BigInt((await ok(["member", "status"])).balance);

    const claim = await ok(["patronage", "claim", "0"]);
    expect(claim).toMatchObject({ period: "0", amount: claimable.toString() });
    expect(BigInt((await ok(["member", "status"])).balance)).toBe(balance + claimable);
    const twice = await coop(["patronage", "claim", "0"]);
    expect(twice.code).toBe(2);
  });
});

describe("usage errors", () => {
  it("an unknown command or flag prints usage and exits 1", async () => {
    const cases = [
      ["frobnicate"],
      ["put", "--bogus"],
      ["get"],
      ["extend", "1", "many"],
      ["gov", "vote", "1234", "maybe"],
    ];
    const runs = await Promise.all(cases.map((args) => coop(args)));
    runs.forEach((r, i) => {
      expect(r.code, `coop ${cases[i]!.join(" ")}`).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr.length).toBeGreaterThan(10);
    });
    expect(runs[0]!.stderr).toContain("unknown command 'frobnicate'");
    expect(runs[0]!.stderr).toContain("coop --help");
    expect(runs[1]!.stderr).toContain("unknown option '--bogus'");
    expect(runs[3]!.stderr).toContain('"many" is not a whole number');
  });

  it("--version prints the sdk's version and exits 0", async () => {
    const r = await coop(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(
      JSON.parse(readFileSync(join(repoRoot, "sdk/package.json"), "utf8")).version,
    );
  });

  it("an unreachable chain exits 4 with a sentence that says what to do", async () => {
    const r = await coop(["member", "status", "--json"], {
      env: { COOP_RPC_URL: "http://127.0.0.1:9" },
    });
    expect(r.code).toBe(4);
    expect(r.stdout).toBe("");
    expect(JSON.parse(r.stderr).error).toMatchObject({ exitCode: 4 });
    expect(JSON.parse(r.stderr).error.message).toContain("http://127.0.0.1:9");
  });
});
