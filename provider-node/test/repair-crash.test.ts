// A repairing provider killed (SIGKILL) after it sent completeRepair but before the transaction
// was mined (automine is off until after the restart) must not drop the rebuilt shard on
// restart: the shard is still lost on-chain then, but once the transaction is mined the chain
// names this node its holder, so the node must still hold, prove and serve it.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { createReedSolomon } from "@coop-cloud/sdk";
import { storageMarketAbi } from "@coop-cloud/sdk/contracts/generated/abis.ts";
import { type Hex, decodeFunctionData } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { rpc, startLocalChain, type LocalChain } from "./fixtures/chain.ts";
import { clients, createTestDeal, put, waitFor, type TestDeal } from "./fixtures/deals.ts";
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
let deal: TestDeal;

beforeAll(async () => {
  chain = await startLocalChain({ epochLength: 10 });
  for (const k of [11, 12]) {
    const setup = await setupProvider(chain, k);
    holders.push({ setup, node: await startProvider(setup) });
  }
  repairer = await setupProvider(chain, 13);
  node = await startProvider(repairer);
  const data = new Uint8Array(randomBytes(256 * 1024));
  const [parity] = createReedSolomon({ dataShards: 1, totalShards: 2 }).encode([data]);
  deal = await createTestDeal(
    chain,
    holders.map((h) => h.setup.address),
    { k: 1, shardSize: data.length, shards: [data, parity!] },
  );
  for (const [i, h] of holders.entries())
    expect(
      (await put(`${h.node.url}/deals/${deal.dealId}/shards/${i}`, deal.shards[i]!)).status,
    ).toBe(201);
});

afterAll(async () => {
  await rpc(chain?.rpcUrl, "evm_setAutomine", [true]).catch(() => undefined);
  await node?.stop("SIGKILL");
  for (const h of holders) await h.node.stop("SIGKILL");
  await chain?.stop();
});

/** Waits until the repairer has sent `fn` and it is not mined (automine is off). */
const sentNotMined = (fn: "claimRepair" | "completeRepair") =>
  waitFor(
    () =>
      `the repairer's ${fn} sent, not mined; it said:\n${node.logs.map((l) => JSON.stringify(l)).join("\n")}`,
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

describe("crash with completeRepair pending", () => {
  it("keeps the rebuilt shard across the restart and serves it once the transaction is mined", async () => {
    await rpc(chain.rpcUrl, "evm_setAutomine", [false]);
    // Holder 0 declares its shard lost; the repairer rebuilds it from holder 1's and claims it.
    const { wallet } = clients(chain, 11);
    await wallet.writeContract({
      address: chain.addresses.StorageMarket,
      abi: storageMarketAbi,
      functionName: "declareLost",
      args: [deal.dealId, 0n],
      chain: null,
    });
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
    // …so the node must hold it: as accepted, and its bytes served.
    await waitFor("the record accepted", async () =>
      JSON.parse(readFileSync(record, "utf8")).state === "accepted" ? true : undefined,
    );
    const res = await fetch(`${node.url}/deals/${deal.dealId}/shards/0`);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(deal.shards[0]);
  });
});
