// A provider restarted mid-epoch keeps proving with no missed epoch and no proof sent twice; the
// chain's RPC endpoint gone for two epochs (every provider talks through a proxy the test takes
// down, while the chain goes on making blocks) and back: nothing crashes, the providers prove
// every epoch still in its window, and the owner reads the file bit-exact. Epochs of 10 s so a
// restart fits in one on this loaded machine.
import { randomBytes } from "node:crypto";

import {
  type CoopContracts,
  type KeySession,
  createKeySession,
  faucet,
  putFile,
} from "@coop-cloud/sdk/client";
import type { Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type Cluster, eventsOf, readBack, rpc, sha256, startCluster, waitFor } from "./cluster.ts";

const EPOCH = 10;
let co: Cluster;
let owner: CoopContracts;
let keys: KeySession;
let deal: { dealId: bigint; sha: string };

beforeAll(async () => {
  co = await startCluster({
    epochLength: EPOCH,
    market: { acceptanceWindow: 30 },
    providerKeys: [1, 2, 3],
    proxy: true,
  });
  owner = await co.connect(10);
  await faucet(owner);
  keys = createKeySession(owner);
  const data = new Uint8Array(randomBytes(3 * 2 ** 20));
  const put = await putFile(owner, data, { name: "r.bin", k: 2, n: 3, durationEpochs: 300, keys });
  deal = { dealId: put.dealId, sha: sha256(data) };
});

afterAll(async () => {
  await co?.stop();
});

const epochNow = async () => Number(await owner.market.read.currentEpoch());

/** Epochs `provider` proved on-chain, in order. */
async function proven(provider: Address): Promise<number[]> {
  return (await eventsOf(co.chain, "EpochProven", { provider }))
    .map((e) => Number(e.args.epoch as bigint))
    .sort((a, b) => a - b);
}

/** Waits until `provider` has proved every epoch from `from` through `to`. */
async function expectProvenThrough(provider: Address, from: number, to: number) {
  let seen: number[] = [];
  await waitFor(
    () => `${provider} to prove epochs ${from}–${to}; proved ${seen.join(",")}`,
    async () => {
      seen = await proven(provider);
      for (let e = from; e <= to; e++) if (!seen.includes(e)) return undefined;
      return true;
    },
    (to - (await epochNow()) + 4) * EPOCH * 1000,
  );
}

describe("restart mid-epoch", () => {
  it("keeps proving: no missed epoch, no proof sent twice", async () => {
    const i = 0;
    const p = co.setups[i]!.address;
    // Wait for a proof, then restart in the middle of the next epoch.
    const first = await co.nodes[i]!.waitForLog((r) => r.msg === "epoch proven", EPOCH * 4000);
    const e0 = Number(first.epoch);
    await waitFor("mid-epoch", async () => ((await epochNow()) > e0 ? true : undefined));
    const before = co.nodes[i]!.logs;
    await co.nodes[i]!.stop();
    const restartedAt = await epochNow();
    const again = await co.restart(i);
    await expectProvenThrough(p, e0, restartedAt + 2);
    expect(await eventsOf(co.chain, "EpochMissed", { provider: p })).toEqual([]);
    // Each epoch proved by exactly one of the two processes, and none refused as a repeat.
    const byLogs = [...before, ...again.logs]
      .filter((r) => r.msg === "epoch proven")
      .map((r) => Number(r.epoch));
    expect(new Set(byLogs).size).toBe(byLogs.length);
    expect(again.logs.filter((r) => r.msg === "proof refused")).toEqual([]);
    expect(await readBack(owner, deal.dealId, keys)).toBe(deal.sha);
  });
});

describe("chain outage", () => {
  it("two epochs without the RPC endpoint, then back: nothing crashes, providers catch up", async () => {
    const proxy = co.proxy!;
    await proxy.down();
    const downAt = await epochNow();
    // The chain goes on without them (a block a second, as a real chain would).
    // Until two epochs have passed on the chain's clock too: the last block mined before the
    // wall-clock deadline can be up to a second short of it.
    const deadline = Date.now() + 2 * EPOCH * 1000;
    while (Date.now() < deadline || (await epochNow()) < downAt + 2) {
      await rpc(co.chain.rpcUrl, "evm_mine");
      await new Promise((r) => setTimeout(r, 1000));
    }
    const upAt = await epochNow();
    expect(upAt).toBeGreaterThanOrEqual(downAt + 2);
    await proxy.up();
    // Every provider proves again once the endpoint is back. An epoch whose seed nobody could
    // save while the endpoint was down is void (owed by nobody); one still in its window when
    // the endpoint returned is proved or void, never reported missed.
    for (const s of co.setups) await expectProvenThrough(s.address, upAt + 2, upAt + 3);
    const missed = (await eventsOf(co.chain, "EpochMissed")).filter(
      (e) => Number(e.args.epoch as bigint) >= upAt - 1,
    );
    expect(missed).toEqual([]);
    for (const n of co.nodes) {
      expect(n.proc.exitCode).toBe(null);
      expect(n.proc.signalCode).toBe(null);
      expect(n.logs.some((r) => r.msg === "chain reachable again")).toBe(true);
    }
    expect(await readBack(owner, deal.dealId, keys)).toBe(deal.sha);
  });
});
