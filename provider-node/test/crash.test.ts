// A provider killed (SIGKILL) after it sent acceptShard but before the transaction was mined
// (a real chain: a block every few seconds; here automine is off until after the restart) must
// not drop the shard on restart: once the transaction is mined the shard is the provider's on
// chain, so the node must still hold and serve it. Found by the load bench's soak
// (test/system/load.bench.ts), whose chain mines every transaction at once and so never
// leaves one pending across a restart.
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { storageMarketAbi } from "@coop-cloud/sdk/contracts/generated/abis.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { rpc, startLocalChain, type LocalChain } from "./fixtures/chain.ts";
import { startRpcProxy, type RpcProxy } from "./fixtures/proxy.ts";
import { clients, createTestDeal, put, waitFor, type TestDeal } from "./fixtures/deals.ts";
import {
  setupProvider,
  startProvider,
  type ProviderSetup,
  type RunningProvider,
} from "./fixtures/provider.ts";

let chain: LocalChain;
let setup: ProviderSetup;
let node: RunningProvider;
let deal: TestDeal;
/** A second provider, whose RPC goes through a proxy that can lose an answer. */
let proxy: RpcProxy;
let lossy: { setup: ProviderSetup; node?: RunningProvider };

beforeAll(async () => {
  // Epochs of 10 s: the acceptance window (10 epochs) outlasts a restart on a loaded machine.
  chain = await startLocalChain({ epochLength: 10 });
  setup = await setupProvider(chain, 12);
  node = await startProvider(setup);
  deal = await createTestDeal(chain, [setup.address], { k: 1 });
});

afterAll(async () => {
  await rpc(chain?.rpcUrl, "evm_setAutomine", [true]).catch(() => undefined);
  await node?.stop("SIGKILL");
  await lossy?.node?.stop("SIGKILL");
  await proxy?.close();
  await chain?.stop();
});

const nonce = async (tag: "pending" | "latest") =>
  BigInt((await rpc(chain.rpcUrl, "eth_getTransactionCount", [setup.address, tag])) as string);

/** Shard 0 of a deal as the market has it. */
const shardOnChain = (dealId: bigint) =>
  clients(chain).pub.readContract({
    address: chain.addresses.StorageMarket,
    abi: storageMarketAbi,
    functionName: "getShard",
    args: [dealId, 0n],
  });

/** Waits until a shard record file says "accepted". */
const waitForAccepted = (record: string) =>
  waitFor(
    "the record accepted",
    async () => {
      try {
        return JSON.parse(readFileSync(record, "utf8")).state === "accepted" ? true : undefined;
      } catch {
        return undefined;
      }
    },
    60_000,
  );

describe("crash with acceptShard pending", () => {
  it("keeps the shard across the restart and serves it once the transaction is mined", async () => {
    await rpc(chain.rpcUrl, "evm_setAutomine", [false]);
    const record = join(setup.dataDir, "shards", `${deal.dealId}-0.json`);
    // The upload never answers: the node waits for a receipt that comes only after the kill.
    void put(`${node.url}/deals/${deal.dealId}/shards/0`, deal.shards[0]!).catch(() => undefined);
    await waitFor("the acceptShard transaction sent, not mined", async () =>
      (await nonce("pending")) > (await nonce("latest")) ? true : undefined,
    );
    expect(JSON.parse(readFileSync(record, "utf8")).state).toBe("imported");
    await node.stop("SIGKILL");
    node = await startProvider(setup);
    // The owner's put retries meanwhile: told to come back (409), not taken again (its own
    // acceptShard would fail against the pending one, and the failure would drop the bytes).
    const again = await put(`${node.url}/deals/${deal.dealId}/shards/0`, deal.shards[0]!);
    expect(again.status).toBe(409);
    expect(again.json.code).toBe("upload_in_progress");
    // The pending acceptShard is mined after the node came back.
    await rpc(chain.rpcUrl, "evm_setAutomine", [true]);
    await rpc(chain.rpcUrl, "evm_mine");
    const s = await shardOnChain(deal.dealId);
    expect(s.status, "the shard is active on-chain").toBe(1);
    expect(s.provider).toBe(setup.address);
    // …so the node must hold it: as accepted, and its bytes served.
    await waitForAccepted(record);
    const res = await fetch(`${node.url}/deals/${deal.dealId}/shards/0`);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(deal.shards[0]);
  });
});

describe("acceptShard sent, its answer lost", () => {
  it("keeps the shard (503 accept_pending), and holds it as accepted once the chain shows it", async () => {
    proxy = await startRpcProxy(chain.rpcUrl);
    lossy = { setup: await setupProvider(chain, 13, { rpcUrl: proxy.url }) };
    lossy.node = await startProvider(lossy.setup);
    const d = await createTestDeal(chain, [lossy.setup.address], { k: 1 });
    const record = join(lossy.setup.dataDir, "shards", `${d.dealId}-0.json`);
    // The transaction reaches the chain (automine: it is mined at once), the node hears a 502.
    proxy.loseNextAnswer("eth_sendRawTransaction");
    const first = await put(`${lossy.node.url}/deals/${d.dealId}/shards/0`, d.shards[0]!);
    expect(first.status, JSON.stringify(first.json)).toBe(503);
    expect(first.json.code).toBe("accept_pending");
    const s = await shardOnChain(d.dealId);
    expect(s.status, "the shard is active on-chain").toBe(1);
    expect(s.provider).toBe(lossy.setup.address);
    await waitForAccepted(record);
    // The owner's retry is told it is stored; the bytes are served.
    const again = await put(`${lossy.node.url}/deals/${d.dealId}/shards/0`, d.shards[0]!);
    expect(again.status).toBe(409);
    expect(again.json.code).toBe("already_stored");
    const res = await fetch(`${lossy.node.url}/deals/${d.dealId}/shards/0`);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(d.shards[0]);
  });
});
