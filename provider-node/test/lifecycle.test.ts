// A provider's way out and repair without HTTP, on a real chain with real provider processes:
// - `coop-provider leave`: a provider holding nothing (set up with the market's address alone)
//   deregisters and gets its stake back; one
//   still holding a shard is refused with a sentence saying so, and stays registered;
// - repair over bitswap: the holders' registered HTTP endpoints are unreachable (their nodes
//   run, libp2p up), so the repairing node asks them for the shards' CIDs over libp2p, fetches
//   the shards over bitswap, rebuilds the lost one and takes it over.
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { createReedSolomon } from "@coop-cloud/sdk";
import { faucetTokenAbi, storageMarketAbi } from "@coop-cloud/sdk/contracts/generated/abis.ts";
import { type Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startLocalChain, type LocalChain } from "./fixtures/chain.ts";
import {
  clients,
  createTestDeal,
  marketEvents,
  put,
  waitFor,
  type TestDeal,
} from "./fixtures/deals.ts";
import {
  cliRun,
  freePort,
  setupProvider,
  startProvider,
  type ProviderSetup,
  type RunningProvider,
} from "./fixtures/provider.ts";

let chain: LocalChain;
const holders: ProviderSetup[] = [];
const nodes: RunningProvider[] = [];
let repairer: ProviderSetup;
let deal: TestDeal;

async function providerOnChain(address: Address) {
  return clients(chain).pub.readContract({
    address: chain.addresses.StorageMarket,
    abi: storageMarketAbi,
    functionName: "getProvider",
    args: [address],
  });
}

async function tokenBalance(address: Address) {
  return clients(chain).pub.readContract({
    address: chain.addresses.FaucetToken,
    abi: faucetTokenAbi,
    functionName: "balanceOf",
    args: [address],
  });
}

beforeAll(async () => {
  chain = await startLocalChain({ epochLength: 4 });
  // Three holders whose registered endpoint is a closed port: their gateways are unreachable to
  // other nodes, though they run (the test uploads to their real port) and libp2p is up.
  const dead = `http://127.0.0.1:${await freePort()}`;
  for (const k of [11, 12, 13]) {
    const s = await setupProvider(chain, k, { register: false });
    await cliRun(["register", "--data-dir", s.dataDir, "--faucet", "--stake", "10000000"], {
      ...s.env,
      COOP_PROVIDER_PUBLIC_URL: dead,
    });
    holders.push(s);
  }
  repairer = await setupProvider(chain, 14);
  nodes.push(await startProvider(holders[0], { COOP_PROVIDER_SCRUB_INTERVAL: "2" }));
  nodes.push(await startProvider(holders[1]), await startProvider(holders[2]));
  nodes.push(
    await startProvider(repairer, {
      COOP_PROVIDER_LOG_LEVEL: process.env.COOP_TEST_REPAIR_LOG ?? "info",
    }),
  );
  const size = 2 ** 21 + 1024;
  const data = [new Uint8Array(randomBytes(size)), new Uint8Array(randomBytes(size))];
  const [parity] = createReedSolomon({ dataShards: 2, totalShards: 3 }).encode(data);
  deal = await createTestDeal(
    chain,
    holders.map((s) => s.address),
    { k: 2, shardSize: size, shards: [...data, parity] },
  );
  for (let i = 0; i < 3; i++)
    expect(
      (await put(`${nodes[i].url}/deals/${deal.dealId}/shards/${i}`, deal.shards[i])).status,
    ).toBe(201);
});

afterAll(async () => {
  for (const n of nodes) await n?.stop();
  await chain?.stop();
});

describe("coop-provider leave", () => {
  it("a provider with no shards deregisters and gets its stake back", async () => {
    // Set up with the market's address alone: token and membership come from the market.
    const s = await setupProvider(chain, 15, { stake: 7_000_000n, marketOnly: true });
    const config = JSON.parse(readFileSync(join(s.dataDir, "config.json"), "utf8")) as {
      chain: Record<string, unknown>;
    };
    expect(Object.keys(config.chain).sort()).toEqual(["chainId", "market", "rpcUrl"]);
    const before = await tokenBalance(s.address);
    const out = JSON.parse(await cliRun(["leave", "--data-dir", s.dataDir], s.env)) as Record<
      string,
      string
    >;
    expect(out.stake).toBe("7000000");
    expect(out.withdrawn).toBe("7000000");
    expect(await tokenBalance(s.address)).toBe(before + 7_000_000n);
    const p = await providerOnChain(s.address);
    expect([p.registered, p.stake]).toEqual([false, 0n]);
    expect(
      (await marketEvents(chain)).some(
        (e) =>
          e.eventName === "ProviderLeft" &&
          (e.args as { provider: Address }).provider === s.address,
      ),
    ).toBe(true);
  });

  it("a provider still holding a shard is refused with a sentence saying so, and stays registered", async () => {
    const s = holders[1];
    const failed = await cliRun(["leave", "--data-dir", s.dataDir], s.env).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr.trim()).toBe(
      `coop-provider: ${s.address} still holds 1 shard(s) (${deal.shards[1].length} bytes) on the market: it can leave once each has left its proof set (settled after its deal's end, repaired elsewhere or declared lost) and two more epochs have passed, so keep the node running until then.`,
    );
    const p = await providerOnChain(s.address);
    expect([p.registered, p.stake]).toEqual([true, 10_000_000n]);
  });
});

describe("repair over bitswap", () => {
  it("with every holder's HTTP endpoint down, a lost shard is rebuilt from shards fetched over bitswap", async () => {
    // Damage holder 0's copy: its scrubber declares the shard lost; the repairer takes it.
    const dir = join(holders[0].dataDir, "blocks");
    const biggest = readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile() && d.name.endsWith(".data"))
      .map((d) => join(d.parentPath, d.name))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0];
    const bytes = readFileSync(biggest);
    bytes[4242] ^= 0xff;
    writeFileSync(biggest, bytes);
    const said = () =>
      nodes[3].logs
        .filter((l) => /repair|ipfs/.test(String(l.ns)) || Number(l.level) >= 40)
        .map((l) => JSON.stringify(l))
        .join("\n");
    const repaired = await waitFor(
      () => `ShardRepaired; the repairing node said:\n${said()}`,
      async () =>
        (await marketEvents(chain)).find(
          (e) => e.eventName === "ShardRepaired" && e.args.dealId === deal.dealId,
        ),
      120_000,
    );
    expect((repaired.args as { provider: Address }).provider).toBe(repairer.address);
    // HTTP was tried and failed for both sources; the holders named the CIDs over libp2p and
    // bitswap brought the shards (a transient failure is retried: its reason is printed).
    const msgs = nodes[3].logs.map((l) => String(l.msg));
    expect(
      msgs.filter((m) => m === "HTTP fetch failed; trying bitswap").length,
    ).toBeGreaterThanOrEqual(2);
    const fetched = nodes[3].logs.filter((l) => l.msg === "fetching over bitswap");
    expect(new Set(fetched.map((l) => l.shard)).size).toBe(2);
    if (msgs.includes("bitswap fetch failed") || msgs.includes("repair failed"))
      console.log(said());
    // The repaired shard is held and served by the repairer: the original bytes.
    const shard = Number((repaired.args as { shard: number }).shard);
    const got = await fetch(`${nodes[3].url}/deals/${deal.dealId}/shards/${shard}`);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(Buffer.from(deal.shards[shard]))).toBe(true);
  });
});
