// Providers that die for good (kill -9, never restarted), end to end: the other nodes' watchers
// report the missed epochs, after F misses the chain fails the provider and turns its stake
// into the repair pool, its shards are lost, spare providers rebuild and claim them, and the
// owner's client reads the file back bit-exact before, during and after the repair.
// Seven providers: deal A (k = 2, n = 4) on providers 0–3, deal B (k = 2, n = 4) on 3–6.
// One death hits A (spare: 4, the only one with repair on that is eligible), then two at once
// hit B (spares: 1 and 2). Providers 5 and 6 repair nothing, so A's repairer is known.
import { randomBytes } from "node:crypto";

import { computeShardCommitment } from "@coop-cloud/sdk";
import {
  type CoopContracts,
  type KeySession,
  createKeySession,
  faucet,
  putFile,
} from "@coop-cloud/sdk/client";
import { type Address, bytesToHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  type Cluster,
  eventsOf,
  readBack,
  sha256,
  startCluster,
  tail,
  waitForEvent,
} from "./cluster.ts";

const MiB = 2 ** 20;
/** F: consecutive reported misses that fail a provider. */
const F = 2;
const STAKE = 10_000_000n; // setupProvider's default stake
let co: Cluster;
let owner: CoopContracts;
let keys: KeySession;
const deals: { dealId: bigint; sha: string; providers: Address[] }[] = [];

beforeAll(async () => {
  co = await startCluster({
    epochLength: 5,
    market: { maxMissedEpochs: F, acceptanceWindow: 20 },
    providerKeys: [1, 2, 3, 4, 5, 6, 7],
    providerEnv: (i) => (i >= 5 ? { COOP_PROVIDER_REPAIR: "false" } : {}),
  });
  owner = await co.connect(10);
  await faucet(owner);
  keys = createKeySession(owner);
  for (const on of [
    [0, 1, 2, 3],
    [3, 4, 5, 6],
  ]) {
    const data = new Uint8Array(randomBytes(4 * MiB + 321));
    const providers = on.map((i) => co.setups[i]!.address);
    const put = await putFile(owner, data, {
      name: `deal-on-${on.join("")}.bin`,
      k: 2,
      n: 4,
      durationEpochs: 400,
      keys,
      providers,
    });
    deals.push({ dealId: put.dealId, sha: sha256(data), providers });
  }
});

afterAll(async () => {
  await co?.stop();
});

/** The repair of one lost shard, checked end to end; returns the repairer. */
async function expectRepaired(dealId: bigint, shard: number, notBy: Address[]) {
  const repaired = await waitForEvent(co.chain, "ShardRepaired", { dealId, shard }, 240_000, () =>
    co.nodes.map((n) => tail(n, 5)).join("\n"),
  );
  const repairer = repaired.args.provider as Address;
  expect(notBy.map((a) => a.toLowerCase())).not.toContain(repairer.toLowerCase());
  const view = await owner.market.read.getShard([dealId, BigInt(shard)]);
  expect(view.status).toBe(1); // Active again
  expect(view.lost).toBe(false);
  expect(view.provider).toBe(repairer);
  // The new holder serves exactly the bytes the owner committed to.
  const res = await fetch(`${co.nodes[co.indexOf(repairer)]!.url}/deals/${dealId}/shards/${shard}`);
  expect(res.status).toBe(200);
  const bytes = new Uint8Array(await res.arrayBuffer());
  expect(bytesToHex((await computeShardCommitment([bytes])).root)).toBe(view.root);
  return { repairer, reward: repaired.args.reward as bigint };
}

/** ProviderFailed for `address`, and its pool equal to its stake less every slash it took. */
async function expectFailed(address: Address) {
  const failed = await waitForEvent(co.chain, "ProviderFailed", { provider: address }, 240_000);
  const misses = await eventsOf(co.chain, "EpochMissed", { provider: address });
  expect(misses.length).toBeGreaterThanOrEqual(F);
  // Reported by other nodes' watchers, never by itself.
  for (const m of misses)
    expect((m.args.reporter as string).toLowerCase()).not.toBe(address.toLowerCase());
  const slashed = misses.reduce((s, m) => s + (m.args.slashed as bigint), 0n);
  const pool = failed.args.repairPool as bigint;
  expect(pool + slashed).toBe(STAKE);
  expect((await owner.market.read.getProvider([address])).failedEpoch).toBeGreaterThan(0);
  return pool;
}

describe("a provider dies for good", () => {
  it("is reported and failed, its shard is repaired from its pool, and the file reads bit-exact throughout", async () => {
    const a = deals[0]!;
    expect(await readBack(owner, a.dealId, keys)).toBe(a.sha);
    await co.nodes[0]!.stop("SIGKILL");
    // Right after the death: the client reads around the dead provider.
    expect(await readBack(owner, a.dealId, keys)).toBe(a.sha);

    const pool = await expectFailed(a.providers[0]!);
    expect(pool).toBeGreaterThan(0n);
    // Failing makes every shard of the provider lost at once.
    expect((await owner.market.read.getShard([a.dealId, 0n])).lost).toBe(true);
    // During the repair (or as soon as the provider failed): still bit-exact.
    expect(await readBack(owner, a.dealId, keys)).toBe(a.sha);

    // What the repairer has been paid: its market balance plus what its node withdrew from it.
    const paid = async (p: Address) =>
      (await owner.market.read.balanceOf([p])) + (await owner.token.read.balanceOf([p]));
    const before = await paid(co.setups[4]!.address);
    const { repairer, reward } = await expectRepaired(a.dealId, 0, a.providers);
    expect(repairer).toBe(co.setups[4]!.address);
    // The dead provider held one shard only: its whole pool goes to that shard's repairer.
    expect(reward).toBe(pool);
    expect(await paid(repairer)).toBeGreaterThanOrEqual(before + reward);
    expect(await readBack(owner, a.dealId, keys)).toBe(a.sha);
  });
});

describe("n − k providers die at once", () => {
  it("the file still reads bit-exact, and both lost shards are repaired", async () => {
    const b = deals[1]!;
    // Shards 2 and 3 of deal B, on providers 5 and 6: only shards 0 and 1 (k = 2) are left.
    await Promise.all([co.nodes[5]!.stop("SIGKILL"), co.nodes[6]!.stop("SIGKILL")]);
    expect(await readBack(owner, b.dealId, keys)).toBe(b.sha);

    const pools = await Promise.all([expectFailed(b.providers[2]!), expectFailed(b.providers[3]!)]);
    const repairs = await Promise.all([
      expectRepaired(b.dealId, 2, b.providers),
      expectRepaired(b.dealId, 3, b.providers),
    ]);
    // Two different spares (a provider holds one shard of a deal at most): providers 1 and 2.
    expect(repairs.map((r) => r.repairer).sort()).toEqual(
      [co.setups[1]!.address, co.setups[2]!.address].sort(),
    );
    expect(repairs.map((r) => r.reward)).toEqual(pools);
    expect(await readBack(owner, b.dealId, keys)).toBe(b.sha);
    // Deal A, which the dead never held, is untouched.
    expect(await readBack(owner, deals[0]!.dealId, keys)).toBe(deals[0]!.sha);
  });
});
