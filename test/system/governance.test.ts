// Governance with the whole co-op running: members (an owner and three providers) propose a new
// price, vote, and the timelock executes it; a new put is priced at the new price while the
// running deal keeps its rate. Then the patronage period closes, governance declares its
// dividend, every member with points claims, and the sums add up to the unit.
import { randomBytes } from "node:crypto";

import {
  type CoopContracts,
  type KeySession,
  type ProposalAction,
  castVote,
  chainTime,
  claimDividend,
  createKeySession,
  executeProposal,
  faucet,
  getProposal,
  joinCoop,
  patronageStatus,
  proposalActions,
  propose,
  putFile,
  queueProposal,
} from "@coop-cloud/sdk/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  type Cluster,
  expectTokenSumsExact,
  readBack,
  rpc,
  sha256,
  startCluster,
} from "./cluster.ts";

const MiB = 2 ** 20;
let co: Cluster;
let owner: CoopContracts;
let members: CoopContracts[];
let keys: KeySession;
let running: { dealId: bigint; sha: string; rate: bigint };

async function advance(seconds: bigint): Promise<void> {
  await rpc(co.chain.rpcUrl, "evm_increaseTime", [Math.max(0, Number(seconds))]);
  await rpc(co.chain.rpcUrl, "evm_mine");
}

async function pass(action: ProposalAction): Promise<void> {
  const { proposalId } = await propose(owner, action);
  await advance((await getProposal(owner, proposalId)).untilVoteStart);
  for (const m of members) await castVote(m, proposalId, "for");
  await advance((await getProposal(owner, proposalId)).untilVoteEnd);
  const { eta } = await queueProposal(owner, proposalId);
  await advance(eta - (await chainTime(owner)));
  await executeProposal(owner, proposalId);
}

const put = (data: Uint8Array, name: string) =>
  putFile(owner, data, { name, k: 2, n: 3, durationEpochs: 20_000, keys });

beforeAll(async () => {
  co = await startCluster({
    epochLength: 4,
    market: { acceptanceWindow: 30, pricePerByteEpoch: 10n ** 14n },
    providerKeys: [1, 2, 3],
  });
  owner = await co.connect(10);
  await faucet(owner);
  await joinCoop(owner);
  keys = createKeySession(owner);
  members = [owner, ...(await Promise.all([1, 2, 3].map((k) => co.connect(k))))];
  const data = new Uint8Array(randomBytes(MiB));
  const p = await put(data, "before.bin");
  running = {
    dealId: p.dealId,
    sha: sha256(data),
    rate: (await owner.market.read.getDeal([p.dealId])).shardRate,
  };
});

afterAll(async () => {
  await co?.stop();
});

describe("governance", () => {
  it("a price passed by the members prices new deals; the running deal keeps its rate", async () => {
    const before = await owner.market.read.params();
    const { shardSize } = await owner.market.read.getDeal([running.dealId]);
    const [oldQuote] = await owner.market.read.quoteDeal([shardSize, 3n, 20_000n]);
    expect(oldQuote).toBe(running.rate);
    // A gigabyte shard shows the factor exactly (small shards' rates round up to whole units).
    const [gbRate] = await owner.market.read.quoteDeal([10n ** 9n, 3n, 20_000n]);

    await pass(await proposalActions.setPrice(owner, before.pricePerByteEpoch * 3n));
    expect((await owner.market.read.params()).pricePerByteEpoch).toBe(
      before.pricePerByteEpoch * 3n,
    );
    expect((await owner.market.read.quoteDeal([10n ** 9n, 3n, 20_000n]))[0]).toBe(gbRate * 3n);
    const [newQuote] = await owner.market.read.quoteDeal([shardSize, 3n, 20_000n]);
    expect(newQuote).toBeGreaterThan(oldQuote);

    const data = new Uint8Array(randomBytes(MiB));
    const after = await put(data, "after.bin");
    expect((await owner.market.read.getDeal([after.dealId])).shardRate).toBe(newQuote);
    expect((await owner.market.read.getDeal([running.dealId])).shardRate).toBe(running.rate);
    expect(await readBack(owner, after.dealId, keys)).toBe(sha256(data));
    expect(await readBack(owner, running.dealId, keys)).toBe(running.sha);
  });

  it("a dividend declared for the closed period is claimed by every member with points, to the unit", async () => {
    const t = owner.treasury.read;
    await advance((await t.periodStart([1n])) - (await chainTime(owner)) + 1n);
    const dividend = await t.freeBalance();
    expect(dividend).toBeGreaterThan(0n);
    await pass(await proposalActions.declareDividend(owner, 0n, dividend));

    const treasuryBefore = await owner.token.read.balanceOf([owner.addresses.PatronageTreasury]);
    let points = 0n;
    let claimed = 0n;
    let totalPoints = 0n;
    for (const m of members) {
      const p0 = (await patronageStatus(m)).periods.find((p) => p.period === 0n);
      if (!p0 || p0.points === 0n) continue;
      expect(p0.dividend).toBe(dividend);
      totalPoints = p0.totalPoints;
      const wallet = await owner.token.read.balanceOf([m.account()]);
      const { amount } = await claimDividend(m, 0n);
      expect(amount).toBe((dividend * p0.points) / p0.totalPoints);
      expect(await owner.token.read.balanceOf([m.account()])).toBe(wallet + amount);
      points += p0.points;
      claimed += amount;
    }
    // Every point of the period belongs to these members: the owner and its providers.
    expect(points).toBe(totalPoints);
    expect(claimed).toBeLessThanOrEqual(dividend);
    expect(dividend - claimed).toBeLessThan(BigInt(members.length));
    expect(await owner.token.read.balanceOf([owner.addresses.PatronageTreasury])).toBe(
      treasuryBefore - claimed,
    );
    await expectTokenSumsExact(owner, (v, m) => expect(v, m));
    // The running deal survived the clock jumps of the votes and the period.
    expect(await readBack(owner, running.dealId, keys)).toBe(running.sha);
  });
});
