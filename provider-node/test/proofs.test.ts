// The chain loop against a real chain: shards accepted, proven every epoch, settled at the
// deal's end and withdrawn, with the token sums checked; a restart mid-epoch that neither
// double-submits nor loses data; an RPC outage of two epochs.
import { faucetTokenAbi, storageMarketAbi } from "@coop-cloud/sdk/contracts/generated/abis.ts";
import { type Address, decodeFunctionData, parseEventLogs } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startLocalChain, type LocalChain } from "./fixtures/chain.ts";
import { clients, createTestDeal, put, type TestDeal } from "./fixtures/deals.ts";
import {
  setupProvider,
  startProvider,
  type ProviderSetup,
  type RunningProvider,
} from "./fixtures/provider.ts";
import { startRpcProxy, type RpcProxy } from "./fixtures/proxy.ts";

const EPOCH = 4;
let chain: LocalChain;
let proxy: RpcProxy;
const setups: ProviderSetup[] = [];
const nodes: RunningProvider[] = [];
const tokensBefore = new Map<Address, bigint>();
/** Short deal: settled and withdrawn during the test. */
let deal: TestDeal;
/** Long deal: still running through the restart and the outage. */
let longDeal: TestDeal;
let endEpoch: number;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function marketRead<T>(functionName: string, args: unknown[] = []): Promise<T> {
  const { pub } = clients(chain);
  return (await pub.readContract({
    address: chain.addresses.StorageMarket,
    abi: storageMarketAbi,
    functionName: functionName as "currentEpoch",
    args: args as [],
    blockTag: "pending",
  })) as T;
}

async function marketLogs(toBlock?: bigint) {
  const { pub } = clients(chain);
  const logs = await pub.getLogs({
    address: chain.addresses.StorageMarket,
    fromBlock: 0n,
    toBlock: toBlock ?? "latest",
  });
  return parseEventLogs({ abi: storageMarketAbi, logs });
}

async function waitUntil(
  what: string | (() => string),
  cond: () => Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    await sleep(500);
  }
}

const provenEpochs = async (p: Address, toBlock?: bigint) =>
  (await marketLogs(toBlock))
    .filter((l) => l.eventName === "EpochProven" && l.args.provider === p)
    .map((l) => Number((l.args as { epoch: bigint }).epoch));

beforeAll(async () => {
  chain = await startLocalChain({ epochLength: EPOCH });
  proxy = await startRpcProxy(chain.rpcUrl);
  for (const k of [4, 5, 6])
    setups.push(await setupProvider(chain, k, k === 6 ? { rpcUrl: proxy.url } : {}));
  const { pub } = clients(chain);
  for (const s of setups)
    tokensBefore.set(
      s.address,
      await pub.readContract({
        address: chain.addresses.FaucetToken,
        abi: faucetTokenAbi,
        functionName: "balanceOf",
        args: [s.address],
      }),
    );
  for (const s of setups) nodes.push(await startProvider(s));
  longDeal = await createTestDeal(
    chain,
    setups.map((s) => s.address),
    { durationEpochs: 1000, shardSize: 2 ** 19 },
  );
  deal = await createTestDeal(
    chain,
    setups.map((s) => s.address),
    { durationEpochs: 10, shardSize: 2 ** 20 + 512 * 7 },
  );
  for (const d of [longDeal, deal])
    for (let i = 0; i < 3; i++)
      expect((await put(`${nodes[i].url}/deals/${d.dealId}/shards/${i}`, d.shards[i])).status).toBe(
        201,
      );
  endEpoch = Number((await marketRead<{ endEpoch: number }>("getDeal", [deal.dealId])).endEpoch);
});

afterAll(async () => {
  for (const n of nodes) await n?.stop();
  await proxy?.close();
  await chain?.stop();
});

describe("chain loop", () => {
  it("proves every epoch once its shards are accepted", async () => {
    await waitUntil("two proven epochs from every provider", async () => {
      for (const s of setups) if ((await provenEpochs(s.address)).length < 2) return false;
      return true;
    });
  });

  it("a restart mid-epoch keeps proving, with no double submission and no lost data", async () => {
    const s = setups[1];
    const before = (await provenEpochs(s.address)).length;
    await sleep(EPOCH * 500); // into the middle of an epoch
    await nodes[1].stop("SIGTERM");
    nodes[1] = await startProvider(s);
    await waitUntil(
      "two more proofs after the restart",
      async () => (await provenEpochs(s.address)).length >= before + 2,
    );
    const raw = await fetch(`${nodes[1].url}/ipfs/${longDeal.cids[1]}`);
    expect(Buffer.from(await raw.arrayBuffer()).equals(Buffer.from(longDeal.shards[1]))).toBe(true);
  });

  it("an RPC outage of two epochs: the node keeps going and proves again once the chain is back", async () => {
    const s = setups[2];
    await proxy.down();
    const downAt = await marketRead<bigint>("currentEpoch");
    await sleep(2 * EPOCH * 1000);
    await proxy.up();
    await waitUntil(
      `a proof after the outage (epoch ${downAt}); logs:\n${nodes[2].logs
        .slice(-30)
        .map((l) => JSON.stringify(l))
        .join("\n")}`,
      async () => (await provenEpochs(s.address)).some((e) => e > Number(downAt) + 1),
    );
    expect(nodes[2].proc.exitCode).toBe(null);
  });

  it("settles at the deal's end and withdraws: every token accounted for", async () => {
    await waitUntil(
      "every shard settled and withdrawn",
      async () => {
        const logs = await marketLogs();
        const settled = logs.filter(
          (l) => l.eventName === "ShardSettled" && l.args.dealId === deal.dealId,
        ).length;
        if (settled < 3) return false;
        for (const s of setups)
          if ((await marketRead<bigint>("balanceOf", [s.address])) !== 0n) return false;
        return true;
      },
      (endEpoch + 6) * EPOCH * 1000,
    );
    const logs = await marketLogs();
    const { pub } = clients(chain);
    const [rate] = await marketRead<[bigint, bigint, bigint]>("quoteDeal", [
      BigInt(deal.shards[0].length),
      1n,
      1n,
    ]);
    let paidTotal = 0n;
    for (const s of setups) {
      const paid = logs.filter((l) => l.eventName === "ShardPaid" && l.args.provider === s.address);
      const sum = paid.reduce((n, l) => n + (l.args as { amount: bigint }).amount, 0n);
      const epochs = paid.reduce((n, l) => n + (l.args as { epochs: bigint }).epochs, 0n);
      expect(sum).toBe(rate * epochs);
      const withdrawn = logs
        .filter((l) => l.eventName === "Withdrawn" && l.args.account === s.address)
        .reduce((n, l) => n + (l.args as { amount: bigint }).amount, 0n);
      // Watchers report the epochs provider 2 missed during its RPC outage: their bounties are
      // withdrawn with their earnings.
      const bounties = logs
        .filter((l) => l.eventName === "EpochMissed" && l.args.reporter === s.address)
        .reduce((n, l) => n + (l.args as { bounty: bigint }).bounty, 0n);
      expect(withdrawn).toBe(sum + bounties);
      const now = await pub.readContract({
        address: chain.addresses.FaucetToken,
        abi: faucetTokenAbi,
        functionName: "balanceOf",
        args: [s.address],
      });
      expect(now - tokensBefore.get(s.address)!).toBe(withdrawn);
      // Every epoch of the deal the provider proved was paid.
      const accepted = logs.find(
        (l) =>
          l.eventName === "ShardAccepted" &&
          l.args.dealId === deal.dealId &&
          l.args.provider === s.address,
      )!;
      const block = await pub.getBlock({ blockNumber: accepted.blockNumber });
      const [anchorTime, anchorEpoch, length] =
        await marketRead<[bigint, number, number]>("epochClock");
      const acceptedEpoch = anchorEpoch + Number((block.timestamp - anchorTime) / BigInt(length));
      // Paid from the epoch after acceptance to the deal's end, for each proven epoch.
      const proven = (await provenEpochs(s.address)).filter(
        (e) => e > acceptedEpoch && e < endEpoch,
      );
      expect(Number(epochs)).toBe(proven.length);
      paidTotal += sum;
    }
    const refunds = logs
      .filter((l) => l.eventName === "ShardSettled" && l.args.dealId === deal.dealId)
      .reduce((n, l) => n + (l.args as { refund: bigint }).refund, 0n);
    const created = logs.find(
      (l) => l.eventName === "DealCreated" && l.args.dealId === deal.dealId,
    )!;
    expect(paidTotal + refunds).toBe((created.args as { escrow: bigint }).escrow);
  });

  it("never sent a proof twice: one submitProof per proven epoch", async () => {
    const { pub } = clients(chain);
    const head = await pub.getBlockNumber();
    const sent = new Map<string, number[]>();
    for (let b = 0n; b <= head; b++) {
      const block = await pub.getBlock({ blockNumber: b, includeTransactions: true });
      for (const tx of block.transactions) {
        if (tx.to?.toLowerCase() !== chain.addresses.StorageMarket.toLowerCase()) continue;
        const { functionName, args } = decodeFunctionData({
          abi: storageMarketAbi,
          data: tx.input,
        });
        if (functionName !== "submitProof") continue;
        const list = sent.get(tx.from) ?? [];
        list.push(Number(args[0]));
        sent.set(tx.from, list);
      }
    }
    for (const s of setups) {
      const proven = await provenEpochs(s.address, head);
      const epochs = sent.get(s.address.toLowerCase()) ?? sent.get(s.address) ?? [];
      expect(epochs.length).toBeGreaterThan(0);
      expect(new Set(epochs).size).toBe(epochs.length);
      // A proof that reverted (its window closed while it was in flight) proves nothing; every
      // proven epoch was sent exactly once.
      expect(epochs.filter((e) => proven.includes(e)).sort((a, b) => a - b)).toEqual(
        [...proven].sort((a, b) => a - b),
      );
    }
  });
});
