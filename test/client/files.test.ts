// The client's data path against a real chain and four real provider processes: put then get
// bit-exact (0 B to 64 MiB), share links without a wallet, a wrong wallet, a shard altered on a
// provider's disk, listing from a fresh key session, extend and cancel to the token unit, an
// interrupted put resumed, a provider that takes nothing replaced, and a get with n − k
// providers down. One chain and one set of providers; the steps run in order.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import {
  type CoopContracts,
  type GetProgress,
  type KeySession,
  type PutProgress,
  NotFileOwnerError,
  cancelFile,
  connectCoop,
  createKeySession,
  createMemoryStaging,
  createShareLink,
  extendFile,
  faucet,
  fileStatus,
  getFile,
  listFiles,
  putFile,
  resumePut,
} from "@coop-cloud/sdk/client";
import { createFolderStaging } from "@coop-cloud/sdk/node/staging.ts";
import { storageMarketAbi } from "@coop-cloud/sdk/contracts/generated/abis.ts";
import { base32upper } from "multiformats/bases/base32";
import { CID } from "multiformats/cid";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type LocalChain, rpc, startLocalChain } from "../../provider-node/test/fixtures/chain.ts";
import {
  type ProviderSetup,
  type RunningProvider,
  setupProvider,
  startProvider,
} from "../../provider-node/test/fixtures/provider.ts";

const MiB = 1024 * 1024;
/** Epochs a provider has to accept a shard (long: this machine is slow under load). */
const WINDOW = 20;
const EPOCH_SECONDS = 3;
let chain: LocalChain;
const setups: ProviderSetup[] = [];
const nodes: RunningProvider[] = [];
let owner: CoopContracts;
let keys: KeySession;
/** Files stored by the tests: deal id → plaintext. */
const stored = new Map<bigint, Uint8Array>();
let oneMiB: { dealId: bigint; data: Uint8Array; manifestCid: string };

const connect = (key: number, account = true) =>
  connectCoop({
    rpcUrl: chain.rpcUrl,
    chainId: 31337,
    account: account ? privateKeyToAccount(chain.keys[key]) : undefined,
    addresses: chain.addresses,
  });

async function readAll(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(new Uint8Array(p));
  return new Uint8Array(Buffer.concat(parts));
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** The running node of a provider address. */
function nodeOf(address: string): number {
  return setups.findIndex((s) => s.address.toLowerCase() === address.toLowerCase());
}

beforeAll(async () => {
  // Short acceptance windows (the replacement test waits one out); a stopped provider is
  // slashed a little for its missed epochs but never failed, so its shards stay readable.
  chain = await startLocalChain({
    epochLength: EPOCH_SECONDS,
    market: { acceptanceWindow: WINDOW, maxMissedEpochs: 200, missedEpochSlash: 1000n },
  });
  for (const k of [1, 2, 3, 4]) setups.push(await setupProvider(chain, k));
  // Scrubbing off: the altered-shard test wants the provider to keep serving what it holds.
  for (const s of setups)
    nodes.push(await startProvider(s, { COOP_PROVIDER_SCRUB_INTERVAL: "86400" }));
  owner = await connect(5);
  await faucet(owner);
  keys = createKeySession(owner);
});

afterAll(async () => {
  for (const n of nodes) await n?.stop();
  await chain?.stop();
});

describe("put then get", () => {
  for (const [label, size] of [
    ["0 B", 0],
    ["1 B", 1],
    ["1 MiB", MiB],
  ] as const)
    it(`stores and reads back ${label} bit-exact (k = 2, n = 4)`, async () => {
      const data = new Uint8Array(randomBytes(size));
      const events: PutProgress[] = [];
      const put = await putFile(owner, data, {
        name: `file-${size}.bin`,
        k: 2,
        n: 4,
        durationEpochs: 200,
        keys,
        onProgress: (p) => events.push(p),
      });
      stored.set(put.dealId, data);
      if (size === MiB) oneMiB = { dealId: put.dealId, data, manifestCid: put.manifestCid };
      // Every stage reported: encode, the deal's transaction, bytes per shard, four acceptances.
      const stages = new Set(events.map((e) => e.stage));
      for (const s of ["encode", "deal", "deal-created", "upload", "accepted", "manifest", "done"])
        expect(stages, s).toContain(s);
      expect(
        events
          .filter((e) => e.stage === "accepted")
          .map((e) => e.shard)
          .sort(),
      ).toEqual([0, 1, 2, 3]);
      // On-chain: four distinct providers hold the four shards.
      expect(new Set(put.shards.map((s) => s.provider.toLowerCase())).size).toBe(4);
      for (const s of put.shards) {
        const v = await owner.market.read.getShard([put.dealId, BigInt(s.index)]);
        expect(v.status).toBe(1);
        expect(v.root).toBe(s.root);
      }
      const got = await getFile(owner, { dealId: put.dealId }, { keys });
      expect(got.manifest.name).toBe(`file-${size}.bin`);
      expect(got.manifest.size).toBe(size);
      const back = await readAll(got);
      expect(back.length).toBe(size);
      expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
    });

  it("stores 64 MiB through a staging folder (deleted once accepted) and streams it back", async () => {
    const data = new Uint8Array(randomBytes(64 * MiB));
    const dir = join(mkdtempSync(join(tmpdir(), "coop-staging-")), "put");
    const uploaded = new Map<number, number>();
    const t0 = performance.now();
    const put = await putFile(owner, data, {
      name: "big.bin",
      k: 2,
      n: 4,
      durationEpochs: 200,
      keys,
      staging: createFolderStaging(dir),
      onProgress: (p) => {
        if (p.stage === "upload") uploaded.set(p.shard, p.bytes);
      },
    });
    const putSeconds = (performance.now() - t0) / 1000;
    stored.set(put.dealId, data);
    expect(existsSync(dir)).toBe(false);
    // Each shard's progress reached its full size (32 MiB and a little: k = 2).
    for (let i = 0; i < 4; i++) expect(uploaded.get(i)).toBeGreaterThan(32 * MiB);
    const t1 = performance.now();
    const got = await getFile(owner, { dealId: put.dealId }, { keys });
    const reader = got.stream().getReader();
    const hash = createHash("sha256");
    let length = 0;
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      hash.update(r.value);
      length += r.value.length;
    }
    const getSeconds = (performance.now() - t1) / 1000;
    console.log(`64 MiB: put ${putSeconds.toFixed(1)} s, get ${getSeconds.toFixed(1)} s`);
    expect(length).toBe(data.length);
    expect(hash.digest("hex")).toBe(sha(data));
  });
});

describe("sdk/README.md", () => {
  it("the put/get example stores, reads and shares a file on this cloud, then exits", async () => {
    const example = fileURLToPath(new URL("../../sdk/examples/put-get.ts", import.meta.url));
    const child = spawn(process.execPath, [example], {
      env: {
        ...process.env,
        COOP_RPC_URL: chain.rpcUrl,
        COOP_PRIVATE_KEY: chain.keys[7],
        COOP_ADDRESSES: JSON.stringify(chain.addresses),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (out += b.toString()));
    const [code] = (await once(child, "exit")) as [number | null];
    expect(out).toMatch(/stored as deal \d+/);
    expect(out).toContain("example.bin: read back bit-exact");
    expect(out).toContain("share link: read without a wallet");
    expect(code, out).toBe(0);
  });
});

describe("reading as someone else", () => {
  it("a share link reads the file with no wallet at all", async () => {
    const link = await createShareLink(owner, oneMiB.dealId, keys);
    expect(link).toMatch(/^coop:\/\/bafkrei[a-z2-7]+#k=[A-Za-z0-9_-]{43}$/);
    const anyone = await connect(0, false);
    expect(anyone.walletClient).toBeUndefined();
    const got = await getFile(anyone, { shareLink: link });
    expect(got.dealId).toBe(oneMiB.dealId);
    expect(sha(await readAll(got))).toBe(sha(oneMiB.data));
  });

  it("another wallet is refused with the owner and the wallet named", async () => {
    const mallory = await connect(6);
    const theirKeys = createKeySession(mallory);
    for (const source of [{ dealId: oneMiB.dealId }, { manifestCid: oneMiB.manifestCid }]) {
      const e = await getFile(mallory, source, { keys: theirKeys }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NotFileOwnerError);
      expect((e as Error).message).toContain(owner.account());
      expect((e as Error).message).toContain(mallory.account());
    }
    await expect(createShareLink(mallory, oneMiB.dealId, theirKeys)).rejects.toThrow(
      NotFileOwnerError,
    );
  });
});

describe("a shard altered on a provider's disk", () => {
  it("is detected as it streams, another shard is used, and the file comes back right", async () => {
    const got0 = await getFile(owner, { dealId: oneMiB.dealId }, { keys });
    const shard0 = got0.manifest.shards[0]!;
    const holder = (await owner.market.read.getShard([oneMiB.dealId, 0n])).provider;
    const setup = setups[nodeOf(holder)]!;
    // The shard is one raw block (under 1 MiB): its file in the node's blockstore.
    const mh = base32upper.encoder.encode(CID.parse(shard0.cid).multihash.bytes);
    const path = join(setup.dataDir, "blocks", mh.slice(-2), `${mh}.data`);
    const bytes = readFileSync(path);
    bytes[1234] ^= 0x01;
    writeFileSync(path, bytes);

    const events: GetProgress[] = [];
    const got = await getFile(
      owner,
      { dealId: oneMiB.dealId },
      { keys, onProgress: (p) => events.push(p) },
    );
    expect(sha(await readAll(got))).toBe(sha(oneMiB.data));
    const failed = events.filter((e) => e.stage === "shard-failed");
    expect(failed.map((e) => e.shard)).toEqual([0]);
    expect(failed[0]!.stage === "shard-failed" && failed[0]!.error).toMatch(/does not hash/);
  });
});

describe("files", () => {
  it("lists every file from a fresh key session of the same wallet", async () => {
    const again = await connect(5);
    const files = await listFiles(again, createKeySession(again));
    expect(files.map((f) => f.dealId).sort()).toEqual([...stored.keys()].sort());
    const one = files.find((f) => f.dealId === oneMiB.dealId)!;
    expect(one.name).toBe(`file-${MiB}.bin`);
    expect(one.size).toBe(MiB);
    expect(one.shards).toHaveLength(4);
    expect(one.shards.every((s) => s.status === "active")).toBe(true);
    expect(one.healthyShards).toBe(4);
    // The providers have been proving it every epoch since they accepted it.
    expect(Math.max(...one.shards.map((s) => s.provenEpochs))).toBeGreaterThan(0);
    expect(one.endEpoch - one.startEpoch).toBe(200);
    expect(one.cost.total).toBe(one.cost.escrow + one.cost.fee);
    expect(one.expiresAt).toBeGreaterThan(Date.now() / 1000);
  });

  it("scans events from the deployment block it is given, not from block 0", async () => {
    const first = await listFiles(owner, keys);
    const deployedAfter = await connectCoop({
      rpcUrl: chain.rpcUrl,
      chainId: 31337,
      account: privateKeyToAccount(chain.keys[5]),
      addresses: chain.addresses,
      fromBlock: (await owner.publicClient.getBlockNumber()) + 1n,
    });
    expect(deployedAfter.fromBlock).toBeGreaterThan(0n);
    expect(await listFiles(deployedAfter, keys)).toEqual([]);
    expect(owner.fromBlock).toBe(0n); // addresses given without a block: from the start
    expect(first.length).toBe(stored.size);
    expect(first.length).toBeGreaterThan(0);
  });

  it("extend and cancel move exactly the right token amounts", async () => {
    const dealId = [...stored.keys()][0]!; // the 0-byte file
    const before = await owner.market.read.getDeal([dealId]);
    const params = await owner.market.read.params();
    const balance0 = await owner.token.read.balanceOf([owner.account()]);
    const ext = await extendFile(owner, dealId, 10);
    const escrow = before.shardRate * 4n * 10n;
    const fee = (escrow * BigInt(params.feeBps)) / 10_000n;
    expect(ext.escrow).toBe(escrow);
    expect(ext.fee).toBe(fee);
    expect(ext.endEpoch).toBe(before.endEpoch + 10);
    const balance1 = await owner.token.read.balanceOf([owner.account()]);
    expect(balance0 - balance1).toBe(escrow + fee);

    expect(await owner.market.read.balanceOf([owner.account()])).toBe(0n);
    const cancel = await cancelFile(owner, dealId);
    // Every epoch after the new end comes back, for each of the four open shards.
    expect(cancel.refund).toBe(before.shardRate * 4n * BigInt(ext.endEpoch - cancel.endEpoch));
    expect(cancel.withdrawn).toBe(cancel.refund);
    const balance2 = await owner.token.read.balanceOf([owner.account()]);
    expect(balance2 - balance1).toBe(cancel.refund);
    const status = await fileStatus(owner, dealId, keys);
    expect(status.cancelled).toBe(true);
    expect(status.cost.refunded).toBe(cancel.refund);
    expect(status.endEpoch).toBe(cancel.endEpoch);
  });
});

describe("interruptions and refusals", () => {
  it("a put interrupted after its deal resumes from the journal without a new deal", async () => {
    const data = new Uint8Array(randomBytes(3 * MiB + 17));
    const staging = createMemoryStaging();
    const abort = new AbortController();
    const err = await putFile(owner, data, {
      name: "interrupted.bin",
      k: 2,
      n: 4,
      durationEpochs: 100,
      keys,
      staging,
      signal: abort.signal,
      onProgress: (p) => {
        if (p.stage === "deal-created") abort.abort(new Error("stopped by the test"));
      },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe("stopped by the test");
    const journal = (await staging.loadJournal())!;
    expect(journal.dealId).toBeDefined();
    expect(JSON.stringify(journal)).not.toMatch(/"key"/);
    const dealsBefore = await owner.publicClient.getContractEvents({
      address: chain.addresses.StorageMarket,
      abi: storageMarketAbi,
      eventName: "DealCreated",
      fromBlock: 0n,
    });
    const done = await resumePut(owner, journal, staging, keys);
    expect(done.dealId).toBe(BigInt(journal.dealId!));
    const dealsAfter = await owner.publicClient.getContractEvents({
      address: chain.addresses.StorageMarket,
      abi: storageMarketAbi,
      eventName: "DealCreated",
      fromBlock: 0n,
    });
    expect(dealsAfter.length).toBe(dealsBefore.length);
    expect(await staging.loadJournal()).toBeUndefined(); // cleared once all were accepted
    stored.set(done.dealId, data);
    const got = await getFile(owner, { dealId: done.dealId }, { keys });
    expect(sha(await readAll(got))).toBe(sha(data));
  });

  it("a put that died between sending its deal and recording it finds that deal again", async () => {
    const data = new Uint8Array(randomBytes(200_000));
    const inner = createMemoryStaging();
    // The journal as a crash would leave it: saved before the deal, never after it was sent.
    let crashed = false;
    const staging = {
      ...inner,
      saveJournal: async (j: Parameters<typeof inner.saveJournal>[0]) => {
        if (!crashed) await inner.saveJournal(j);
      },
    };
    const abort = new AbortController();
    await putFile(owner, data, {
      name: "crashed.bin",
      k: 2,
      n: 4,
      durationEpochs: 100,
      keys,
      staging,
      signal: abort.signal,
      onProgress: (p) => {
        if (p.stage === "deal" && p.status === "sent") crashed = true;
        if (p.stage === "deal-created") abort.abort(new Error("crash"));
      },
    }).catch(() => undefined);
    const journal = (await inner.loadJournal())!;
    expect(journal.dealId).toBeUndefined();
    const count = async () =>
      (
        await owner.publicClient.getContractEvents({
          address: chain.addresses.StorageMarket,
          abi: storageMarketAbi,
          eventName: "DealCreated",
          fromBlock: 0n,
        })
      ).length;
    const before = await count();
    const done = await resumePut(owner, journal, inner, keys);
    expect(await count()).toBe(before);
    stored.set(done.dealId, data);
    const got = await getFile(owner, { dealId: done.dealId }, { keys });
    expect(sha(await readAll(got))).toBe(sha(data));
  });

  it("a provider that takes nothing is replaced once its acceptance window closes", async () => {
    // Provider 0 is registered but down; the put names it for shard 0 of a 2-of-3 file.
    await nodes[0]!.stop();
    const data = new Uint8Array(randomBytes(MiB / 2));
    const events: PutProgress[] = [];
    const chosen = [setups[0]!.address, setups[1]!.address, setups[2]!.address];
    // Once the two live providers have accepted and shard 0 has failed to upload, the chain's
    // clock jumps past the acceptance window instead of the test waiting it out.
    let advanced: Promise<unknown> | undefined;
    const put = await putFile(owner, data, {
      name: "replaced.bin",
      k: 2,
      n: 3,
      durationEpochs: 100,
      keys,
      providers: chosen,
      onProgress: (p) => {
        events.push(p);
        const accepted = events.filter((e) => e.stage === "accepted").length;
        const retried = events.some((e) => e.stage === "retry" && e.shard === 0);
        if (!advanced && accepted === 2 && retried)
          advanced = (async () => {
            await rpc(chain.rpcUrl, "evm_increaseTime", [(WINDOW + 1) * EPOCH_SECONDS]);
            await rpc(chain.rpcUrl, "evm_mine");
          })();
      },
    });
    await advanced;
    nodes[0] = await startProvider(setups[0]!, { COOP_PROVIDER_SCRUB_INTERVAL: "86400" });
    const reassigned = events.filter((e) => e.stage === "reassign");
    expect(reassigned).toHaveLength(1);
    expect(reassigned[0]).toMatchObject({
      shard: 0,
      from: setups[0]!.address,
      to: setups[3]!.address,
    });
    expect(put.shards[0]!.provider).toBe(setups[3]!.address);
    stored.set(put.dealId, data);
    const got = await getFile(owner, { dealId: put.dealId }, { keys });
    expect(sha(await readAll(got))).toBe(sha(data));
  });

  it("falls back to bitswap for shards whose gateways fail, and reads the file bit-exact", async () => {
    const data = new Uint8Array(randomBytes(3 * MiB));
    const put = await putFile(owner, data, {
      name: "bitswap.bin",
      k: 2,
      n: 4,
      durationEpochs: 200,
      keys,
    });
    stored.set(put.dealId, data);
    // Three of four gateways answer 503 to every /ipfs/ request (the providers' libp2p nodes
    // are untouched): one gateway alone cannot give the two shards the file needs.
    const failing = put.shards.slice(0, 3).map((s) => nodes[nodeOf(s.provider)]!.url);
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.includes("/ipfs/") && failing.some((f) => url.startsWith(f)))
        return new Response(JSON.stringify({ code: "unavailable", message: "gateway down" }), {
          status: 503,
          headers: { "content-type": "application/json" },
        });
      return realFetch(input, init);
    }) as typeof fetch;
    const { createBitswapFallback } = await import("@coop-cloud/sdk/node/bitswap.ts");
    const fallback = createBitswapFallback();
    try {
      const without = await readAll(await getFile(owner, { dealId: put.dealId }, { keys })).catch(
        (e: Error) => e,
      );
      expect(without).toBeInstanceOf(Error);
      expect((without as Error).name).toBe("FileUnavailableError");

      const events: GetProgress[] = [];
      const got = await getFile(
        owner,
        { dealId: put.dealId },
        { keys, fallback, onProgress: (p) => events.push(p) },
      );
      expect(sha(await readAll(got))).toBe(sha(data));
      const viaBitswap = new Set(
        events.flatMap((e) => (e.stage === "shard" && e.endpoint === "bitswap" ? [e.shard] : [])),
      );
      expect(viaBitswap.size).toBeGreaterThanOrEqual(1);
      expect(events.some((e) => e.stage === "shard-failed")).toBe(true);
    } finally {
      globalThis.fetch = realFetch;
      await fallback.close();
    }
  });

  it("a get succeeds with n − k providers stopped", async () => {
    const holders = await Promise.all(
      [0n, 1n].map(async (i) => (await owner.market.read.getShard([oneMiB.dealId, i])).provider),
    );
    // Shard 0's holder serves altered bytes already; stop the holders of shards 0 and 1.
    for (const h of holders) await nodes[nodeOf(h)]!.stop();
    const got = await getFile(owner, { dealId: oneMiB.dealId }, { keys });
    expect(sha(await readAll(got))).toBe(sha(oneMiB.data));
  });
});
