// Repair on a real chain with real provider processes, where blocks come only from transactions:
// - on a chain with nothing else sent, a repair still completes: the repairer sends the blocks
//   its draw needs (the seed block, and one on top to read its hash);
// - a repairing provider killed (SIGKILL) after it sent completeRepair but before the
//   transaction was mined (automine off until after the restart) keeps the rebuilt shard: the
//   shard is still lost on-chain at restart, but once the transaction is mined the chain names
//   this node its holder, so the node must still hold, prove and serve it.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { createReedSolomon } from "@coop-cloud/sdk";
import { storageMarketAbi } from "@coop-cloud/sdk/contracts/generated/abis.ts";
import { type Hex, decodeFunctionData } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { rpc, startLocalChain, type LocalChain } from "./fixtures/chain.ts";
import {
  clients,
  createTestDeal,
  marketEvents,
  put,
  waitFor,
  type TestDeal,
} from "./fixtures/deals.ts";
import {
  setupProvider,
  startProvider,
  type ProviderSetup,
  type RunningProvider,
} from "./fixtures/provider.ts";

let chain: LocalChain;
const holders: { setup: ProviderSetup; node: RunningProvider }[] = [];
let repairer: ProviderSetup;
let node: RunningProvider;

beforeAll(async () => {
  // Epochs of 10 minutes: no epoch's proofs mine a block while a test runs.
  chain = await startLocalChain({ epochLength: 600 });
  for (const k of [11, 12]) {
    const setup = await setupProvider(chain, k);
    holders.push({ setup, node: await startProvider(setup) });
  }
  repairer = await setupProvider(chain, 13);
  node = await startProvider(repairer);
});

afterAll(async () => {
  await rpc(chain?.rpcUrl, "evm_setAutomine", [true]).catch(() => undefined);
  await node?.stop("SIGKILL");
  for (const h of holders) await h.node.stop("SIGKILL");
  await chain?.stop();
});

/** A deal of one data and one parity shard, stored by the two holders. */
async function storedDeal(): Promise<TestDeal> {
  const data = new Uint8Array(randomBytes(256 * 1024));
  const [parity] = createReedSolomon({ dataShards: 1, totalShards: 2 }).encode([data]);
  const deal = await createTestDeal(
    chain,
    holders.map((h) => h.setup.address),
    { k: 1, shardSize: data.length, shards: [data, parity!] },
  );
  for (const [i, h] of holders.entries())
    expect(
      (await put(`${h.node.url}/deals/${deal.dealId}/shards/${i}`, deal.shards[i]!)).status,
    ).toBe(201);
  return deal;
}

/** Holder 0 declares its shard 0 of `deal` lost (sent only: mined when the chain mines). */
const declareLost = (deal: TestDeal) =>
  clients(chain, 11).wallet.writeContract({
    address: chain.addresses.StorageMarket,
    abi: storageMarketAbi,
    functionName: "declareLost",
    args: [deal.dealId, 0n],
    chain: null,
  });

const said = () => node.logs.map((l) => JSON.stringify(l)).join("\n");

/** Waits until the repairer has sent `fn` and it is not mined (automine is off). */
const sentNotMined = (fn: "claimRepair" | "completeRepair") =>
  waitFor(
    () => `the repairer's ${fn} sent, not mined; it said:\n${said()}`,
    async () => {
      const pending = (await rpc(chain.rpcUrl, "eth_getBlockByNumber", ["pending", true])) as {
        transactions: { from: string; input: Hex }[];
      };
      return pending.transactions.some(
        (tx) =>
          tx.from.toLowerCase() === repairer.address.toLowerCase() &&
          decodeFunctionData({ abi: storageMarketAbi, data: tx.input }).functionName === fn,
      )
        ? true
        : undefined;
    },
  );

describe("repair on a quiet chain", () => {
  it("completes with no other transaction sent: the repairer mines the blocks its draw needs", async () => {
    const deal = await storedDeal();
    await declareLost(deal);
    // One attempt waits 30 s for its draw before it fails and is retried.
    const repaired = await waitFor(
      () => `ShardRepaired within one attempt; the repairer said:\n${said()}`,
      async () =>
        (await marketEvents(chain)).find(
          (e) => e.eventName === "ShardRepaired" && e.args.dealId === deal.dealId,
        ),
      25_000,
    );
    expect(repaired.args).toMatchObject({ shard: 0, provider: repairer.address });
  });
});

describe("crash with completeRepair pending", () => {
  it("keeps the rebuilt shard across the restart and serves it once the transaction is mined", async () => {
    const deal = await storedDeal();
    await rpc(chain.rpcUrl, "evm_setAutomine", [false]);
    await declareLost(deal);
    await rpc(chain.rpcUrl, "evm_mine");
    await sentNotMined("claimRepair");
    // The claim, the block whose hash draws the segment, one more to read that hash: the
    // repairer proves the drawn segment and sends completeRepair.
    for (let i = 0; i < 3; i++) await rpc(chain.rpcUrl, "evm_mine");
    await sentNotMined("completeRepair");
    const record = join(repairer.dataDir, "shards", `${deal.dealId}-0.json`);
    expect(JSON.parse(readFileSync(record, "utf8")).state).toBe("imported");
    await node.stop("SIGKILL");
    node = await startProvider(repairer);
    // The pending completeRepair is mined after the node came back…
    await rpc(chain.rpcUrl, "evm_setAutomine", [true]);
    await rpc(chain.rpcUrl, "evm_mine");
    const s = await clients(chain).pub.readContract({
      address: chain.addresses.StorageMarket,
      abi: storageMarketAbi,
      functionName: "getShard",
      args: [deal.dealId, 0n],
    });
    expect(s.lost, "the shard is repaired on-chain").toBe(false);
    expect(s.provider).toBe(repairer.address);
    // …so the node must hold it (a dropped record fails here with ENOENT): as accepted, and
    // its bytes served.
    await waitFor("the record accepted", async () =>
      JSON.parse(readFileSync(record, "utf8")).state === "accepted" ? true : undefined,
    );
    const res = await fetch(`${node.url}/deals/${deal.dealId}/shards/0`);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(deal.shards[0]);
  });
});
