/**
 * StorageMarket: missed epochs, provider failure, declared losses, targeted challenges,
 * repair, and reentrancy through a hostile token.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { network } from "hardhat";
import { encodeFunctionData, getAddress, maxUint256 } from "viem";

import { segmentProof } from "./helpers/merkle.js";
import {
  EPOCH_LENGTH,
  GIB,
  MANIFEST_CID,
  MARKET_DEFAULTS,
  UNIT,
  activeDeal,
  createTestDeal,
  deployMarket,
  drawnProof,
  fixSeed,
  marketAs,
  minStake,
  nextEpoch,
  paramsTuple,
  proveEpoch,
  send,
  type MarketFixture,
  type TestDeal,
  activeDealWithSpare,
} from "./fixtures/market.js";

describe("StorageMarket faults and repair", async function () {
  const { viem, networkHelpers } = await network.create();
  const { loadFixture } = networkHelpers;
  const assertions = viem.assertions;

  const dealFixture = () => activeDealWithSpare(viem, networkHelpers, 12);

  /** Provider 2 misses three epochs in a row and is reported: it fails. */
  async function failedFixture() {
    const { f, d, epoch, book } = await dealFixture();
    for (let i = 0; i < 3; i++) {
      if (i > 0) await nextEpoch(f);
      await proveEpoch(f, d.providers[0], book);
      await proveEpoch(f, d.providers[1], book);
    }
    await nextEpoch(f, 2n);
    await send(
      f,
      (await marketAs(f, f.spare)).write.reportMissedEpoch([
        d.providers[2].account.address,
        epoch + 2n,
      ]),
    );
    return { f, d, epoch, book };
  }

  async function repairAs(f: MarketFixture, d: TestDeal, shard: number, who = f.spare) {
    const m = await marketAs(f, who);
    await send(f, m.write.claimRepair([d.dealId, BigInt(shard), d.roots, d.providerAddrs]));
    await nextEpoch(f);
    await fixSeed(f);
    const { segment, path } = await drawnProof(f, d, shard, who.account.address);
    return m.write.completeRepair([d.dealId, BigInt(shard), segment, path]);
  }

  describe("reportMissedEpoch", function () {
    it("slashes, pays the reporter's bounty and credits the owner per leaf", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      await proveEpoch(f, d.providers[0], book);
      await nextEpoch(f, 2n);
      const p2 = d.providers[2].account.address;
      const stakeBefore = (await f.market.read.getProvider([p2])).stake;
      const m = await marketAs(f, f.spare);
      await assertions.emitWithArgs(
        m.write.reportMissedEpoch([p2, epoch]),
        f.market,
        "EpochMissed",
        [getAddress(p2), epoch, getAddress(f.spare.account.address), 5n * UNIT, 1n * UNIT],
      );
      assert.equal((await f.market.read.getProvider([p2])).stake, stakeBefore - 5n * UNIT);
      assert.equal(await f.market.read.balanceOf([f.spare.account.address]), 1n * UNIT);
      // The owner's credit (4 tokens over the provider's 128 live leaves) arrives at settlement.
      await nextEpoch(f, 12n);
      await assertions.emitWithArgs(
        f.market.write.settleShard([d.dealId, 2n]),
        f.market,
        "ShardSettled",
        [d.dealId, 2, 65_536n * 12n + 4n * UNIT],
      );
    });

    it("rejects open windows, proven, idle, unregistered and already-reported epochs", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      await proveEpoch(f, d.providers[0], book);
      const m = await marketAs(f, f.spare);
      const p2 = d.providers[2].account.address;
      await nextEpoch(f);
      await assertions.revertWithCustomErrorWithArgs(
        m.write.reportMissedEpoch([p2, epoch]),
        f.market,
        "MarketNotMissed",
        [getAddress(p2), epoch],
      );
      await nextEpoch(f);
      await assertions.revertWithCustomError(
        m.write.reportMissedEpoch([d.providers[0].account.address, epoch]),
        f.market,
        "MarketNotMissed",
      );
      await assertions.revertWithCustomError(
        m.write.reportMissedEpoch([f.providers[5].account.address, epoch]),
        f.market,
        "MarketNotMissed",
      );
      // The acceptance epoch itself was not owed.
      await assertions.revertWithCustomError(
        m.write.reportMissedEpoch([p2, epoch - 1n]),
        f.market,
        "MarketNotMissed",
      );
      await assertions.revertWithCustomErrorWithArgs(
        m.write.reportMissedEpoch([f.outsider.account.address, epoch]),
        f.market,
        "MarketNotRegistered",
        [getAddress(f.outsider.account.address)],
      );
      await send(f, m.write.reportMissedEpoch([p2, epoch]));
      await assertions.revertWithCustomError(
        m.write.reportMissedEpoch([p2, epoch]),
        f.market,
        "MarketNotMissed",
      );
    });

    it("epochs after the last shard's end are not owed, however late it is settled", async function () {
      const f = await loadFixture(async function shortDeal() {
        return deployMarket(viem, networkHelpers);
      });
      const p = f.providers[0];
      const d = await activeDeal(f, { n: 1, k: 1, providers: [p], duration: 2 });
      const end = BigInt((await f.market.read.getDeal([d.dealId])).endEpoch);
      await nextEpoch(f, 6n);
      await send(f, f.market.write.settleShard([d.dealId, 0n]));
      const m = await marketAs(f, f.spare);
      await assertions.revertWithCustomError(
        m.write.reportMissedEpoch([p.account.address, end]),
        f.market,
        "MarketNotMissed",
      );
      await assertions.emit(
        m.write.reportMissedEpoch([p.account.address, end - 1n]),
        f.market,
        "EpochMissed",
      );
    });

    it("epochs from the deal's end on are not owed even before settlement; an extension moves the end", async function () {
      const f = await loadFixture(async function twoDeals() {
        return deployMarket(viem, networkHelpers);
      });
      const p = f.providers[0];
      const short = await activeDeal(f, { n: 1, k: 1, providers: [p], duration: 2 });
      const end = BigInt((await f.market.read.getDeal([short.dealId])).endEpoch);
      const extended = await activeDeal(f, {
        n: 1,
        k: 1,
        providers: [f.providers[1]],
        duration: 2,
      });
      await send(f, (await marketAs(f, f.owner)).write.extendDeal([extended.dealId, 3]));
      await nextEpoch(f, 5n);
      const m = await marketAs(f, f.spare);
      await assertions.revertWithCustomError(
        m.write.reportMissedEpoch([p.account.address, end]),
        f.market,
        "MarketNotMissed",
      );
      await assertions.emit(
        m.write.reportMissedEpoch([f.providers[1].account.address, end]),
        f.market,
        "EpochMissed",
      );
    });

    it("after F consecutive misses the provider fails and all its shards are lost", async function () {
      const { f, d } = await loadFixture(failedFixture);
      const p2 = d.providers[2].account.address;
      const v = await f.market.read.getProvider([p2]);
      assert.ok(v.failedEpoch > 0);
      assert.equal(v.stake, 0n);
      const s = await f.market.read.getShard([d.dealId, 2n]);
      assert.equal(s.status, 1);
      assert.equal(s.lost, true);
      const m = await marketAs(f, f.spare);
      await assertions.revertWithCustomErrorWithArgs(
        m.write.reportMissedEpoch([p2, 1n]),
        f.market,
        "MarketProviderFailed",
        [getAddress(p2), v.failedEpoch],
      );
      await assertions.revertWithCustomError(
        (await marketAs(f, d.providers[2])).write.submitProof([1n, []]),
        f.market,
        "MarketProviderFailed",
      );
      await assertions.revertWithCustomError(
        (await marketAs(f, d.providers[2])).write.declareLost([d.dealId, 2n]),
        f.market,
        "MarketProviderFailed",
      );
      await assertions.revertWithCustomError(
        (await marketAs(f, f.owner)).write.createDeal([
          {
            k: 1,
            shardSize: 512n,
            durationEpochs: 2,
            roots: [`0x${"11".repeat(32)}`],
            providers: [p2],
            manifestCid: MANIFEST_CID,
          },
        ]),
        f.market,
        "MarketProviderFailed",
      );
      await assertions.revertWithCustomError(
        m.write.challengeShard([d.dealId, 2n]),
        f.market,
        "MarketWrongShardStatus",
      );
    });

    it("emits ProviderFailed with the stake left as the repair pool", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      for (let i = 0; i < 3; i++) {
        if (i > 0) await nextEpoch(f);
        await proveEpoch(f, d.providers[0], book);
      }
      await nextEpoch(f, 2n);
      const m = await marketAs(f, f.spare);
      const p1 = d.providers[1].account.address;
      await send(f, m.write.reportMissedEpoch([p1, epoch]));
      await send(f, m.write.reportMissedEpoch([p1, epoch + 1n]));
      const cur = await f.market.read.currentEpoch();
      await assertions.emitWithArgs(
        m.write.reportMissedEpoch([p1, epoch + 2n]),
        f.market,
        "ProviderFailed",
        [getAddress(p1), cur, minStake(MARKET_DEFAULTS, GIB) - 15n * UNIT],
      );
    });
  });

  describe("declareLost", function () {
    it("pays the holder every epoch before the loss that it has already proven", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      const p0 = d.providers[0];
      await proveEpoch(f, p0, book);
      await nextEpoch(f);
      await proveEpoch(f, p0, book); // epoch + 1: proven, but the loss happens during it
      const rate = (await f.market.read.getDeal([d.dealId])).shardRate;
      await assertions.emitWithArgs(
        (await marketAs(f, p0)).write.declareLost([d.dealId, 0n]),
        f.market,
        "ShardPaid",
        [d.dealId, 0, getAddress(p0.account.address), 1n, rate],
      );
      assert.equal(
        await f.market.read.provenEpochsBetween([p0.account.address, epoch, epoch + 2n]),
        2n,
      );
    });

    it("slashes the smaller penalty into the shard's repair reward", async function () {
      const { f, d, book } = await loadFixture(dealFixture);
      await proveEpoch(f, d.providers[0], book);
      const p0 = d.providers[0];
      const m = await marketAs(f, p0);
      await assertions.emitWithArgs(m.write.declareLost([d.dealId, 0n]), f.market, "ShardLost", [
        d.dealId,
        0,
        getAddress(p0.account.address),
        2n * UNIT,
        2n * UNIT,
      ]);
      const s = await f.market.read.getShard([d.dealId, 0n]);
      assert.equal(s.status, 2);
      assert.equal(s.repairReward, 2n * UNIT);
      const v = await f.market.read.getProvider([p0.account.address]);
      assert.equal(v.activeShards, 0);
      assert.equal(v.used, 0n);
      // It may not leave before its last owed epoch (this one) is reportable.
      await assertions.revertWithCustomErrorWithArgs(
        m.write.leave(),
        f.market,
        "MarketProviderBusy",
        [getAddress(p0.account.address), 0, 0n],
      );
      const e = await f.market.read.currentEpoch();
      await nextEpoch(f, 2n);
      await assertions.revertWithCustomError(
        (await marketAs(f, f.spare)).write.reportMissedEpoch([p0.account.address, e]),
        f.market,
        "MarketNotMissed",
      );
      await send(f, m.write.leave());
      await assertions.revertWithCustomErrorWithArgs(
        m.write.declareLost([d.dealId, 0n]),
        f.market,
        "MarketWrongShardStatus",
        [d.dealId, 0n, 2],
      );
    });

    it("rejects other callers and ended deals", async function () {
      const { f, d } = await loadFixture(dealFixture);
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, d.providers[1])).write.declareLost([d.dealId, 0n]),
        f.market,
        "MarketShardNotAssigned",
        [d.dealId, 0n, getAddress(d.providers[1].account.address)],
      );
      await nextEpoch(f, 12n);
      await assertions.revertWithCustomError(
        (await marketAs(f, d.providers[0])).write.declareLost([d.dealId, 0n]),
        f.market,
        "MarketDealEnded",
      );
    });
  });

  describe("challengeShard / answerChallenge / finalizeChallenge", function () {
    it("answered in time: the fee goes to the holder", async function () {
      const { f, d } = await loadFixture(dealFixture);
      const c = await marketAs(f, f.owner);
      const cur = await f.market.read.currentEpoch();
      await assertions.emitWithArgs(
        c.write.challengeShard([d.dealId, 1n]),
        f.market,
        "ShardChallenged",
        [d.dealId, 1, getAddress(f.owner.account.address), Number(cur + 1n)],
      );
      await assertions.revertWithCustomErrorWithArgs(
        c.write.challengeShard([d.dealId, 1n]),
        f.market,
        "MarketChallengeOpen",
        [d.dealId, 1n],
      );
      await assertions.revertWithCustomError(
        (await marketAs(f, d.providers[1])).write.declareLost([d.dealId, 1n]),
        f.market,
        "MarketChallengeOpen",
      );
      await assertions.revertWithCustomError(
        f.market.write.settleShard([d.dealId, 1n]),
        f.market,
        "MarketChallengeOpen",
      );
      const p1 = await marketAs(f, d.providers[1]);
      // The seed is that of the next epoch: unknown when the challenge was made.
      await assertions.revertWithCustomErrorWithArgs(
        p1.write.answerChallenge([d.dealId, 1n, "0x", []]),
        f.market,
        "MarketSeedNotFixed",
        [cur + 1n],
      );
      await nextEpoch(f);
      await fixSeed(f);
      const { segment, path } = await drawnProof(f, d, 1);
      const index = Number(
        await f.market.read.drawnSegment([
          d.dealId,
          1n,
          "0x0000000000000000000000000000000000000000",
        ]),
      );
      const wrong = segmentProof(d.trees[1], (index + 1) % 128);
      await assertions.revertWithCustomErrorWithArgs(
        p1.write.answerChallenge([d.dealId, 1n, wrong.segment, wrong.path]),
        f.market,
        "MarketInvalidProof",
        [0n],
      );
      await assertions.emitWithArgs(
        p1.write.answerChallenge([d.dealId, 1n, segment, path]),
        f.market,
        "ChallengeAnswered",
        [d.dealId, 1, getAddress(d.providers[1].account.address)],
      );
      assert.equal(await f.market.read.balanceOf([d.providers[1].account.address]), 1n * UNIT);
      await assertions.revertWithCustomErrorWithArgs(
        p1.write.answerChallenge([d.dealId, 1n, segment, path]),
        f.market,
        "MarketNoChallenge",
        [d.dealId, 1n],
      );
      await assertions.revertWithCustomError(
        f.market.write.finalizeChallenge([d.dealId, 1n]),
        f.market,
        "MarketNoChallenge",
      );
    });

    it("unanswered: fee back plus bounty to the challenger, holder slashed, shard lost", async function () {
      const { f, d } = await loadFixture(dealFixture);
      const c = await marketAs(f, f.owner);
      await send(f, c.write.challengeShard([d.dealId, 1n]));
      const seedEpoch = BigInt((await f.market.read.getShard([d.dealId, 1n])).challengeEpoch);
      const deadline = seedEpoch + 2n;
      await nextEpoch(f, 3n);
      await assertions.revertWithCustomErrorWithArgs(
        f.market.write.finalizeChallenge([d.dealId, 1n]),
        f.market,
        "MarketDeadline",
        [deadline, deadline],
      );
      await nextEpoch(f);
      await assertions.revertWithCustomError(
        (await marketAs(f, d.providers[1])).write.answerChallenge([d.dealId, 1n, "0x", []]),
        f.market,
        "MarketDeadline",
      );
      const before = await f.market.read.balanceOf([f.owner.account.address]);
      const tx = f.market.write.finalizeChallenge([d.dealId, 1n]);
      await assertions.emitWithArgs(tx, f.market, "ChallengeFailed", [
        d.dealId,
        1,
        getAddress(f.owner.account.address),
        2n * UNIT,
      ]);
      const s = await f.market.read.getShard([d.dealId, 1n]);
      assert.equal(s.status, 2);
      assert.equal(s.repairReward, 8n * UNIT);
      assert.equal(await f.market.read.balanceOf([f.owner.account.address]), before + 3n * UNIT);
    });

    it("rejects shards that are not active and ended deals", async function () {
      const f = await loadFixture(async function unaccepted() {
        return deployMarket(viem, networkHelpers);
      });
      const d = await createTestDeal(f, { duration: 1 });
      const c = await marketAs(f, f.owner);
      await assertions.revertWithCustomErrorWithArgs(
        c.write.challengeShard([d.dealId, 0n]),
        f.market,
        "MarketWrongShardStatus",
        [d.dealId, 0n, 0],
      );
      const live = await activeDeal(f, { duration: 1 });
      await nextEpoch(f, 2n);
      await assertions.revertWithCustomError(
        c.write.challengeShard([live.dealId, 0n]),
        f.market,
        "MarketDealEnded",
      );
    });
  });

  describe("claimRepair / completeRepair", function () {
    it("repairs a failed provider's shard: reward from its stake, slot taken over, then paid", async function () {
      const { f, d, book } = await loadFixture(failedFixture);
      const spare = f.spare;
      const m = await marketAs(f, spare);
      // A provider holding another shard of the deal is not eligible.
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, d.providers[0])).write.claimRepair([
          d.dealId,
          2n,
          d.roots,
          d.providerAddrs,
        ]),
        f.market,
        "MarketRepairIneligible",
        [getAddress(d.providers[0].account.address), 0n],
      );
      const cur = await f.market.read.currentEpoch();
      await assertions.emitWithArgs(
        m.write.claimRepair([d.dealId, 2n, d.roots, d.providerAddrs]),
        f.market,
        "RepairClaimed",
        [d.dealId, 2, getAddress(spare.account.address), Number(cur + 1n)],
      );
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, f.providers[5])).write.claimRepair([
          d.dealId,
          2n,
          d.roots,
          d.providerAddrs,
        ]),
        f.market,
        "MarketRepairClaimed",
        [getAddress(spare.account.address), getAddress(f.providers[5].account.address)],
      );
      await assertions.revertWithCustomErrorWithArgs(
        m.write.completeRepair([d.dealId, 2n, "0x", []]),
        f.market,
        "MarketSeedNotFixed",
        [cur + 1n],
      );
      await nextEpoch(f);
      await fixSeed(f);
      const { segment, path } = await drawnProof(f, d, 2, spare.account.address);
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, f.providers[5])).write.completeRepair([d.dealId, 2n, segment, path]),
        f.market,
        "MarketRepairClaimed",
        [getAddress(spare.account.address), getAddress(f.providers[5].account.address)],
      );
      await assertions.revertWithCustomError(
        m.write.completeRepair([d.dealId, 2n, segment, [...path].reverse()]),
        f.market,
        "MarketInvalidProof",
      );
      const pool = minStake(MARKET_DEFAULTS, GIB) - 5n * UNIT;
      await assertions.emitWithArgs(
        m.write.completeRepair([d.dealId, 2n, segment, path]),
        f.market,
        "ShardRepaired",
        [d.dealId, 2, getAddress(spare.account.address), 0n, pool],
      );
      const s = await f.market.read.getShard([d.dealId, 2n]);
      assert.equal(s.provider, getAddress(spare.account.address));
      assert.equal(s.lost, false);
      assert.equal(
        (await f.market.read.getProvider([d.providers[2].account.address])).activeShards,
        0,
      );
      // The repairer proves from the next epoch and is paid for it.
      await nextEpoch(f);
      await proveEpoch(f, spare, book);
      await nextEpoch(f, 2n);
      await send(f, f.market.write.settleShard([d.dealId, 2n]));
      const rate = (await f.market.read.getDeal([d.dealId])).shardRate;
      assert.equal(await f.market.read.balanceOf([spare.account.address]), 1n * UNIT + pool + rate);
      const [a, b, c, e] = await f.market.read.totals();
      assert.equal(a + b + c + e, await f.coop.token.read.balanceOf([f.market.address]));
    });

    it("repairs a declared-lost shard; a lapsed claim can be taken over", async function () {
      const { f, d } = await loadFixture(dealFixture);
      await send(f, (await marketAs(f, d.providers[0])).write.declareLost([d.dealId, 0n]));
      const lazy = await marketAs(f, f.providers[5]);
      await send(f, lazy.write.claimRepair([d.dealId, 0n, d.roots, d.providerAddrs]));
      const seedEpoch = BigInt((await f.market.read.getShard([d.dealId, 0n])).repairClaimEpoch);
      await nextEpoch(f, 5n);
      await assertions.revertWithCustomErrorWithArgs(
        lazy.write.completeRepair([d.dealId, 0n, "0x", []]),
        f.market,
        "MarketDeadline",
        [seedEpoch + 3n, seedEpoch + 4n],
      );
      await assertions.emit(repairAs(f, d, 0), f.market, "ShardRepaired");
      assert.equal((await f.market.read.getProvider([f.providers[5].account.address])).used, 0n);
      assert.equal(await f.market.read.balanceOf([f.spare.account.address]), 2n * UNIT);
    });

    it("a claim cannot be completed once the deal has ended", async function () {
      const { f, d } = await loadFixture(dealFixture);
      await send(f, (await marketAs(f, d.providers[0])).write.declareLost([d.dealId, 0n]));
      const m = await marketAs(f, f.spare);
      await send(f, m.write.claimRepair([d.dealId, 0n, d.roots, d.providerAddrs]));
      await assertions.revertWithCustomError(
        f.market.read.drawnSegment([d.dealId, 0n, f.spare.account.address]),
        f.market,
        "MarketSeedNotFixed",
      );
      await nextEpoch(f, 12n);
      await assertions.revertWithCustomError(
        m.write.completeRepair([d.dealId, 0n, "0x", []]),
        f.market,
        "MarketDealEnded",
      );
      // Settlement releases the claimant's reserved capacity.
      await nextEpoch(f);
      await send(f, f.market.write.settleShard([d.dealId, 0n]));
      assert.equal((await f.market.read.getProvider([f.spare.account.address])).used, 0n);
    });

    it("rejects shards that are not lost and ended deals", async function () {
      const { f, d } = await loadFixture(dealFixture);
      const m = await marketAs(f, f.spare);
      await assertions.revertWithCustomErrorWithArgs(
        m.write.claimRepair([d.dealId, 1n, d.roots, d.providerAddrs]),
        f.market,
        "MarketWrongShardStatus",
        [d.dealId, 1n, 1],
      );
      await assertions.revertWithCustomError(
        m.write.completeRepair([d.dealId, 1n, "0x", []]),
        f.market,
        "MarketRepairClaimed",
      );
      await send(f, (await marketAs(f, d.providers[0])).write.declareLost([d.dealId, 0n]));
      await nextEpoch(f, 12n);
      await assertions.revertWithCustomError(
        m.write.claimRepair([d.dealId, 0n, d.roots, d.providerAddrs]),
        f.market,
        "MarketDealEnded",
      );
      await assertions.revertWithCustomError(
        f.market.write.settleShard([d.dealId, 0n]),
        f.market,
        "MarketDealEnded",
      );
      await nextEpoch(f);
      // At the end the unused repair reward goes to the owner.
      const rate = (await f.market.read.getDeal([d.dealId])).shardRate;
      await assertions.emitWithArgs(
        f.market.write.settleShard([d.dealId, 0n]),
        f.market,
        "ShardSettled",
        [d.dealId, 0, rate * 12n + 2n * UNIT],
      );
    });

    it("a repair closes a challenge left open on the failed holder, refunding the challenger", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      // Provider 2 is challenged, then fails before the deadline.
      const challenger = await marketAs(f, f.owner);
      await send(f, challenger.write.challengeShard([d.dealId, 2n]));
      for (let i = 0; i < 3; i++) {
        if (i > 0) await nextEpoch(f);
        await proveEpoch(f, d.providers[0], book);
        await proveEpoch(f, d.providers[1], book);
      }
      await nextEpoch(f, 2n);
      await send(
        f,
        (await marketAs(f, f.spare)).write.reportMissedEpoch([
          d.providers[2].account.address,
          epoch + 2n,
        ]),
      );
      const before = await f.market.read.balanceOf([f.owner.account.address]);
      await assertions.emitWithArgs(repairAs(f, d, 2), f.market, "ChallengeFailed", [
        d.dealId,
        2,
        getAddress(f.owner.account.address),
        0n,
      ]);
      const s = await f.market.read.getShard([d.dealId, 2n]);
      assert.equal(s.challenger, "0x0000000000000000000000000000000000000000");
      assert.equal(s.provider, getAddress(f.spare.account.address));
      // The owner got the fee back (and the failed holder's missed-epoch credit).
      assert.ok(
        (await f.market.read.balanceOf([f.owner.account.address])) >=
          before + MARKET_DEFAULTS.targetedChallengeFee,
      );
      await assertions.revertWithCustomError(
        f.market.write.finalizeChallenge([d.dealId, 2n]),
        f.market,
        "MarketNoChallenge",
      );
    });

    it("settling a failed holder's shard at the end releases a pending repair claim", async function () {
      const { f, d } = await loadFixture(failedFixture);
      await send(
        f,
        (await marketAs(f, f.spare)).write.claimRepair([d.dealId, 2n, d.roots, d.providerAddrs]),
      );
      assert.equal((await f.market.read.getProvider([f.spare.account.address])).used, 65_536n);
      await nextEpoch(f, 12n);
      await send(f, f.market.write.settleShard([d.dealId, 2n]));
      assert.equal(
        (await f.market.read.getShard([d.dealId, 2n])).repairClaimant,
        "0x0000000000000000000000000000000000000000",
      );
      assert.equal((await f.market.read.getProvider([f.spare.account.address])).used, 0n);
    });

    it("an unrepaired failed shard's pool share goes to the owner at settlement", async function () {
      const { f, d } = await loadFixture(failedFixture);
      await nextEpoch(f, 12n);
      const rate = (await f.market.read.getDeal([d.dealId])).shardRate;
      const pool = minStake(MARKET_DEFAULTS, GIB) - 5n * UNIT;
      await assertions.emitWithArgs(
        f.market.write.settleShard([d.dealId, 2n]),
        f.market,
        "ShardSettled",
        [d.dealId, 2, rate * 12n + 4n * UNIT + pool],
      );
      const p2 = await marketAs(f, d.providers[2]);
      await send(f, p2.write.leave());
      assert.equal(
        (await f.market.read.getProvider([d.providers[2].account.address])).registered,
        false,
      );
    });
  });

  describe("StorageMarketExtension", function () {
    it("refuses direct calls", async function () {
      const f = await loadFixture(async function plain() {
        return deployMarket(viem, networkHelpers, { providerCount: 1 });
      });
      const ext = await viem.getContractAt(
        "StorageMarketExtension",
        await f.market.read.extension(),
      );
      await assertions.revertWithCustomError(ext.write.cancelDeal([1n]), ext, "MarketDirectCall");
    });
  });

  describe("reentrancy", function () {
    it("a hostile token cannot re-enter withdraw or createDeal", async function () {
      const [deployer, gov, provider] = await viem.getWalletClients();
      const hostile = await viem.deployContract("ReentrantToken");
      const membership = await viem.deployContract("CoopMembership", [
        hostile.address,
        10n,
        60n,
        gov.account.address,
      ]);
      const treasury = await viem.deployContract("PatronageTreasury", [
        hostile.address,
        membership.address,
        86_400n,
        86_400n,
        1n,
        1n,
        deployer.account.address,
      ]);
      const ext = await viem.deployContract("StorageMarketExtension", [
        hostile.address,
        membership.address,
        treasury.address,
      ]);
      const market = await viem.deployContract("StorageMarket", [
        hostile.address,
        membership.address,
        treasury.address,
        ext.address,
        gov.account.address,
        Number(EPOCH_LENGTH),
        paramsTuple(MARKET_DEFAULTS),
      ]);
      const f = { viem };
      await send(f, treasury.write.setRecorder([market.address]));
      await send(f, hostile.write.mint([provider.account.address, 10n ** 12n]));
      const tokenP = await viem.getContractAt("ReentrantToken", hostile.address, {
        client: { wallet: provider },
      });
      await send(f, tokenP.write.approve([membership.address, maxUint256]));
      await send(f, tokenP.write.approve([market.address, maxUint256]));
      await send(
        f,
        (
          await viem.getContractAt("CoopMembership", membership.address, {
            client: { wallet: provider },
          })
        ).write.join(),
      );
      const m = await viem.getContractAt("StorageMarket", market.address, {
        client: { wallet: provider },
      });
      const stake = minStake(MARKET_DEFAULTS, GIB);
      await send(f, m.write.register(["x", [], GIB, stake]));
      const withdrawData = encodeFunctionData({ abi: market.abi, functionName: "withdraw" });
      // Re-entering from inside createDeal's payment pull.
      await send(f, hostile.write.arm([market.address, withdrawData]));
      await assertions.revertWithCustomError(
        m.write.createDeal([
          {
            k: 1,
            shardSize: 512n,
            durationEpochs: 1,
            roots: [`0x${"11".repeat(32)}`],
            providers: [provider.account.address],
            manifestCid: MANIFEST_CID,
          },
        ]),
        market,
        "ReentrancyGuardReentrantCall",
      );
      // Re-entering withdraw from inside withdraw's transfer.
      await send(f, hostile.write.arm(["0x0000000000000000000000000000000000000000", "0x"]));
      await send(f, m.write.leave());
      await send(f, hostile.write.arm([market.address, withdrawData]));
      await assertions.revertWithCustomError(
        m.write.withdraw(),
        market,
        "ReentrancyGuardReentrantCall",
      );
      // Disarmed, the single withdrawal pays exactly the stake.
      await send(f, hostile.write.arm(["0x0000000000000000000000000000000000000000", "0x"]));
      const before = await hostile.read.balanceOf([provider.account.address]);
      await send(f, m.write.withdraw());
      assert.equal(await hostile.read.balanceOf([provider.account.address]), before + stake);
      assert.equal(await hostile.read.balanceOf([market.address]), 0n);
    });
  });
});
