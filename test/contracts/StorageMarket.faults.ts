/**
 * StorageMarket: missed epochs, provider failure, declared losses, targeted challenges,
 * repair, and reentrancy through a hostile token.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { network } from "hardhat";
import { encodeFunctionData, getAddress, maxUint256, zeroAddress } from "viem";

import { segmentProof } from "./helpers/merkle.js";
import {
  EPOCH_LENGTH,
  GIB,
  MANIFEST_CID,
  MARKET_DEFAULTS,
  UNIT,
  activeDeal,
  bookOf,
  createTestDeal,
  deployMarket,
  drawnProof,
  fixSeed,
  marketAs,
  mineDraw,
  minStake,
  nextEpoch,
  passEpochs,
  repairAs,
  paramsTuple,
  proveEpoch,
  send,
  type MarketFixture,
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
    // F = 3 consecutive reported misses fail provider 2.
    const reporter = await marketAs(f, f.spare);
    for (const e of [epoch, epoch + 1n, epoch + 2n]) {
      await send(f, reporter.write.reportMissedEpoch([d.providers[2].account.address, e]));
    }
    return { f, d, epoch, book };
  }

  /** The block a transaction sent now commits to: it is mined in the next block, so the one after. */
  async function nextSeedBlock(f: MarketFixture) {
    return (await (await f.viem.getPublicClient()).getBlockNumber()) + 2n;
  }

  const tokenBalance = (f: MarketFixture, a: `0x${string}`) => f.coop.token.read.balanceOf([a]);

  describe("reportMissedEpoch", function () {
    it("slashes, pays the reporter's bounty and sends the rest to the treasury", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      await proveEpoch(f, d.providers[0], book);
      await nextEpoch(f, 2n);
      const p2 = d.providers[2].account.address;
      const stakeBefore = (await f.market.read.getProvider([p2])).stake;
      const treasuryBefore = await tokenBalance(f, f.coop.treasury.address);
      const [, , , poolsBefore] = await f.market.read.totals();
      const m = await marketAs(f, f.spare);
      await assertions.emitWithArgs(
        m.write.reportMissedEpoch([p2, epoch]),
        f.market,
        "EpochMissed",
        [getAddress(p2), epoch, getAddress(f.spare.account.address), 5n * UNIT, 1n * UNIT],
      );
      assert.equal((await f.market.read.getProvider([p2])).stake, stakeBefore - 5n * UNIT);
      assert.equal(await f.market.read.balanceOf([f.spare.account.address]), 1n * UNIT);
      // The rest is the treasury's at once: nothing is kept for the owners of p2's shards.
      assert.equal(await tokenBalance(f, f.coop.treasury.address), treasuryBefore + 4n * UNIT);
      assert.equal((await f.market.read.totals())[3], poolsBefore);
      // At settlement the owner gets back the escrow of the unproven epochs, and only that.
      await nextEpoch(f, 12n);
      const ownerBefore = await f.market.read.balanceOf([f.owner.account.address]);
      await assertions.emitWithArgs(
        f.market.write.settleShard([d.dealId, 2n]),
        f.market,
        "ShardSettled",
        [d.dealId, 2, 65_536n * 12n],
      );
      assert.equal(
        await f.market.read.balanceOf([f.owner.account.address]),
        ownerBefore + 65_536n * 12n,
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

    it("an ended shard is owed until the epoch it is settled in, and nothing after", async function () {
      const f = await loadFixture(async function shortDeal() {
        return deployMarket(viem, networkHelpers);
      });
      const p = f.providers[0];
      const d = await activeDeal(f, { n: 1, k: 1, providers: [p], duration: 2 });
      const book = bookOf(d);
      const end = BigInt((await f.market.read.getDeal([d.dealId])).endEpoch);
      // The holder proves the two paid epochs, then stops.
      for (let e = end - 2n; e < end; e++) {
        await nextEpoch(f);
        await proveEpoch(f, p, book);
      }
      // Settlement is possible from end + 1 on; the shard leaves the set in that epoch.
      await passEpochs(f, 2n);
      await send(f, f.market.write.settleShard([d.dealId, 0n]));
      await passEpochs(f, 2n);
      const m = await marketAs(f, f.spare);
      // Epochs `end` and `end + 1` began with the shard live: owed, though no longer paid.
      for (const e of [end, end + 1n]) {
        await assertions.emitWithArgs(
          m.write.reportMissedEpoch([p.account.address, e]),
          f.market,
          "EpochMissed",
          [getAddress(p.account.address), e, getAddress(f.spare.account.address), 5n * UNIT, UNIT],
        );
      }
      await assertions.revertWithCustomErrorWithArgs(
        m.write.reportMissedEpoch([p.account.address, end + 2n]),
        f.market,
        "MarketNotMissed",
        [getAddress(p.account.address), end + 2n],
      );
      assert.equal((await f.market.read.getProvider([p.account.address])).failedEpoch, 0);
    });

    it("a holder that stops at its deal's end and leaves the shard unsettled fails after F epochs", async function () {
      const f = await loadFixture(async function shortDeal() {
        return deployMarket(viem, networkHelpers);
      });
      const p = f.providers[0];
      const d = await activeDeal(f, { n: 1, k: 1, providers: [p], duration: 2 });
      const book = bookOf(d);
      const end = BigInt((await f.market.read.getDeal([d.dealId])).endEpoch);
      for (let e = end - 2n; e < end; e++) {
        await nextEpoch(f);
        await proveEpoch(f, p, book);
      }
      // Nobody settles: epochs end .. end + 2 are owed and unproven (all reportable at end + 4).
      await passEpochs(f, 5n);
      const m = await marketAs(f, f.spare);
      await send(f, m.write.reportMissedEpoch([p.account.address, end]));
      await send(f, m.write.reportMissedEpoch([p.account.address, end + 1n]));
      await assertions.emit(
        m.write.reportMissedEpoch([p.account.address, end + 2n]),
        f.market,
        "ProviderFailed",
      );
      const v = await f.market.read.getProvider([p.account.address]);
      assert.ok(v.failedEpoch > 0);
      assert.equal(v.stake, 0n);
      // The failure pool (its stake) is forfeited to the treasury when the shard settles.
      const treasuryBefore = await tokenBalance(f, f.coop.treasury.address);
      await send(f, f.market.write.settleShard([d.dealId, 0n]));
      assert.equal(
        await tokenBalance(f, f.coop.treasury.address),
        treasuryBefore + minStake(MARKET_DEFAULTS, GIB) - 15n * UNIT,
      );
    });

    it("owed epochs are those that began with live leaves, in every past busy interval", async function () {
      const f = await loadFixture(async function twoIntervals() {
        return deployMarket(viem, networkHelpers);
      });
      const p = f.providers[0];
      const first = await activeDeal(f, { n: 1, k: 1, providers: [p], duration: 1 });
      const c = BigInt((await f.market.read.getDeal([first.dealId])).createdEpoch);
      // Live at the starts of c + 1 .. c + 3 (settled in c + 3); p proves only c + 2.
      await passEpochs(f, 2n);
      await proveEpoch(f, p, bookOf(first));
      await passEpochs(f, 1n);
      await send(f, f.market.write.settleShard([first.dealId, 0n]));
      // Idle through c + 4 and c + 5; a second deal joins during c + 5, live from c + 6.
      await passEpochs(f, 2n);
      await activeDeal(f, { n: 1, k: 1, providers: [p], duration: 10 });
      await passEpochs(f, 3n);
      assert.equal(await f.market.read.currentEpoch(), c + 8n);
      const m = await marketAs(f, f.spare);
      for (const e of [c + 1n, c + 3n, c + 6n]) {
        await assertions.emit(
          m.write.reportMissedEpoch([p.account.address, e]),
          f.market,
          "EpochMissed",
        );
      }
      for (const e of [c, c + 2n, c + 4n, c + 5n]) {
        await assertions.revertWithCustomErrorWithArgs(
          m.write.reportMissedEpoch([p.account.address, e]),
          f.market,
          "MarketNotMissed",
          [getAddress(p.account.address), e],
        );
      }
      // c + 4 .. c + 6 are three unproven epochs in a row, but the idle ones were not owed.
      assert.equal((await f.market.read.getProvider([p.account.address])).failedEpoch, 0);
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
      // It may not leave before its last owed epoch (this one) has been reportable for an epoch.
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
      await assertions.revertWithCustomErrorWithArgs(
        m.write.leave(),
        f.market,
        "MarketProviderBusy",
        [getAddress(p0.account.address), 0, 0n],
      );
      await nextEpoch(f);
      await send(f, m.write.leave());
      await assertions.revertWithCustomErrorWithArgs(
        m.write.declareLost([d.dealId, 0n]),
        f.market,
        "MarketWrongShardStatus",
        [d.dealId, 0n, 2],
      );
    });

    it("does not excuse the epoch it is declared in: that epoch's draw still covers the shard", async function () {
      const { f, d, epoch } = await loadFixture(dealFixture);
      const p1 = d.providers[1];
      await fixSeed(f);
      const drawn = await f.market.read.getEpochChallenges([p1.account.address, epoch]);
      assert.equal(drawn[0].length, 5);
      // p1 cannot prove the epoch (its data is gone) and declares the loss instead.
      await send(f, (await marketAs(f, p1)).write.declareLost([d.dealId, 1n]));
      assert.equal((await f.market.read.getProvider([p1.account.address])).activeLeaves, 0n);
      assert.deepEqual(await f.market.read.getEpochChallenges([p1.account.address, epoch]), drawn);
      await nextEpoch(f, 2n);
      const m = await marketAs(f, f.spare);
      await assertions.emit(
        m.write.reportMissedEpoch([p1.account.address, epoch]),
        f.market,
        "EpochMissed",
      );
      await assertions.revertWithCustomError(
        m.write.reportMissedEpoch([p1.account.address, epoch + 1n]),
        f.market,
        "MarketNotMissed",
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
    it("answered once the draw is known: the fee goes to the holder", async function () {
      const { f, d } = await loadFixture(dealFixture);
      const c = await marketAs(f, f.owner);
      const seedBlock = await nextSeedBlock(f);
      await assertions.emitWithArgs(
        c.write.challengeShard([d.dealId, 1n]),
        f.market,
        "ShardChallenged",
        [d.dealId, 1, getAddress(f.owner.account.address), seedBlock],
      );
      const s = await f.market.read.getShard([d.dealId, 1n]);
      assert.deepEqual(
        [s.challenger, s.challengeSeedBlock, s.challengeDeadline],
        [getAddress(f.owner.account.address), seedBlock, 0],
      );
      const p1 = await marketAs(f, d.providers[1]);
      // The segment is drawn from the hash of a block not mined yet: nobody knows it.
      await assertions.revertWithCustomErrorWithArgs(
        p1.write.answerChallenge([d.dealId, 1n, "0x", []]),
        f.market,
        "MarketSeedNotFixed",
        [seedBlock],
      );
      await assertions.revertWithCustomErrorWithArgs(
        f.market.read.drawnSegment([d.dealId, 1n, zeroAddress]),
        f.market,
        "MarketSeedNotFixed",
        [seedBlock],
      );
      await assertions.revertWithCustomErrorWithArgs(
        f.market.write.fixChallengeSeed([d.dealId, 1n]),
        f.market,
        "MarketSeedNotFixed",
        [seedBlock],
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
      await mineDraw(f);
      // Known now: the holder may answer at once, before anyone fixes the draw.
      const { segment, path } = await drawnProof(f, d, 1);
      const index = Number(await f.market.read.drawnSegment([d.dealId, 1n, zeroAddress]));
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
      await assertions.revertWithCustomErrorWithArgs(
        f.market.write.fixChallengeSeed([d.dealId, 1n]),
        f.market,
        "MarketNoChallenge",
        [d.dealId, 1n],
      );
    });

    it("fixChallengeSeed saves the draw and starts the deadline; the saved draw outlives 256 blocks", async function () {
      const { f, d } = await loadFixture(dealFixture);
      await send(f, (await marketAs(f, f.owner)).write.challengeShard([d.dealId, 1n]));
      await mineDraw(f);
      const index = await f.market.read.drawnSegment([d.dealId, 1n, zeroAddress]);
      const cur = await f.market.read.currentEpoch();
      const deadline = Number(cur) + MARKET_DEFAULTS.challengeWindow;
      // Anyone may fix it.
      await assertions.emitWithArgs(
        (await marketAs(f, f.spare)).write.fixChallengeSeed([d.dealId, 1n]),
        f.market,
        "ChallengeDrawn",
        [d.dealId, 1, index, deadline],
      );
      assert.equal((await f.market.read.getShard([d.dealId, 1n])).challengeDeadline, deadline);
      await assertions.revertWithCustomErrorWithArgs(
        f.market.write.fixChallengeSeed([d.dealId, 1n]),
        f.market,
        "MarketDeadline",
        [BigInt(deadline), cur],
      );
      await networkHelpers.mine(300);
      assert.equal(await f.market.read.drawnSegment([d.dealId, 1n, zeroAddress]), index);
      const { segment, path } = await drawnProof(f, d, 1);
      await assertions.emit(
        (await marketAs(f, d.providers[1])).write.answerChallenge([d.dealId, 1n, segment, path]),
        f.market,
        "ChallengeAnswered",
      );
    });

    it("a draw nobody saved within 256 blocks is committed anew to the next block", async function () {
      const { f, d } = await loadFixture(dealFixture);
      await send(f, (await marketAs(f, f.owner)).write.challengeShard([d.dealId, 1n]));
      const first = (await f.market.read.getShard([d.dealId, 1n])).challengeSeedBlock;
      await networkHelpers.mine(300);
      await assertions.revertWithCustomErrorWithArgs(
        f.market.read.drawnSegment([d.dealId, 1n, zeroAddress]),
        f.market,
        "MarketSeedNotFixed",
        [first],
      );
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, d.providers[1])).write.answerChallenge([d.dealId, 1n, "0x", []]),
        f.market,
        "MarketSeedNotFixed",
        [first],
      );
      // The challenge stands (same challenger and fee), drawn from a new block.
      const seedBlock = await nextSeedBlock(f);
      await assertions.emitWithArgs(
        (await marketAs(f, f.spare)).write.fixChallengeSeed([d.dealId, 1n]),
        f.market,
        "ShardChallenged",
        [d.dealId, 1, getAddress(f.owner.account.address), seedBlock],
      );
      const s = await f.market.read.getShard([d.dealId, 1n]);
      assert.deepEqual(
        [s.challenger, s.challengeSeedBlock, s.challengeDeadline],
        [getAddress(f.owner.account.address), seedBlock, 0],
      );
      await mineDraw(f);
      await assertions.emit(
        f.market.write.fixChallengeSeed([d.dealId, 1n]),
        f.market,
        "ChallengeDrawn",
      );
    });

    it("unanswered: fee back plus bounty to the challenger, holder slashed, shard lost", async function () {
      const { f, d } = await loadFixture(dealFixture);
      const c = await marketAs(f, f.owner);
      await send(f, c.write.challengeShard([d.dealId, 1n]));
      const seedBlock = (await f.market.read.getShard([d.dealId, 1n])).challengeSeedBlock;
      // No deadline runs before the draw is fixed, however long it takes.
      await nextEpoch(f, 3n);
      await assertions.revertWithCustomErrorWithArgs(
        f.market.write.finalizeChallenge([d.dealId, 1n]),
        f.market,
        "MarketSeedNotFixed",
        [seedBlock],
      );
      await send(f, f.market.write.fixChallengeSeed([d.dealId, 1n]));
      const deadline = (await f.market.read.currentEpoch()) + 2n;
      await nextEpoch(f, 2n);
      await assertions.revertWithCustomErrorWithArgs(
        f.market.write.finalizeChallenge([d.dealId, 1n]),
        f.market,
        "MarketDeadline",
        [deadline, deadline],
      );
      await nextEpoch(f);
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, d.providers[1])).write.answerChallenge([d.dealId, 1n, "0x", []]),
        f.market,
        "MarketDeadline",
        [deadline, deadline + 1n],
      );
      const before = await f.market.read.balanceOf([f.owner.account.address]);
      const tx = f.market.write.finalizeChallenge([d.dealId, 1n]);
      await assertions.emitWithArgs(tx, f.market, "ShardLost", [
        d.dealId,
        1,
        getAddress(d.providers[1].account.address),
        10n * UNIT,
        8n * UNIT,
      ]);
      await assertions.emitWithArgs(tx, f.market, "ChallengeFailed", [
        d.dealId,
        1,
        getAddress(f.owner.account.address),
        2n * UNIT,
      ]);
      const s = await f.market.read.getShard([d.dealId, 1n]);
      assert.equal(s.status, 2);
      assert.equal(s.repairReward, 8n * UNIT);
      assert.equal(s.challenger, zeroAddress);
      assert.equal(await f.market.read.balanceOf([f.owner.account.address]), before + 3n * UNIT);
    });

    it("keeps the fee, slash, bounty and window it was opened with", async function () {
      const { f, d } = await loadFixture(dealFixture);
      await send(f, (await marketAs(f, f.owner)).write.challengeShard([d.dealId, 1n]));
      // Governance changes every challenge parameter while the challenge is open.
      await send(
        f,
        (await marketAs(f, f.gov)).write.setParams([
          paramsTuple({
            ...MARKET_DEFAULTS,
            targetedChallengeFee: 3n * UNIT,
            targetedSlash: 40n * UNIT,
            bountyBps: 5_000,
            challengeWindow: 6,
          }),
        ]),
      );
      await mineDraw(f);
      await send(f, f.market.write.fixChallengeSeed([d.dealId, 1n]));
      const deadline = (await f.market.read.currentEpoch()) + 2n;
      assert.equal(
        BigInt((await f.market.read.getShard([d.dealId, 1n])).challengeDeadline),
        deadline,
      );
      await nextEpoch(f, 3n);
      const before = await f.market.read.balanceOf([f.owner.account.address]);
      await assertions.emitWithArgs(
        f.market.write.finalizeChallenge([d.dealId, 1n]),
        f.market,
        "ShardLost",
        [d.dealId, 1, getAddress(d.providers[1].account.address), 10n * UNIT, 8n * UNIT],
      );
      // The 1-token fee comes back, with 20% of the 10-token slash.
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
    it("repairs a failed provider's shard: open claims, first valid completion wins, then paid", async function () {
      const { f, d, book } = await loadFixture(failedFixture);
      const spare = f.spare;
      const m = await marketAs(f, spare);
      const rival = await marketAs(f, f.providers[5]);
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
      const seedBlock = await nextSeedBlock(f);
      await assertions.emitWithArgs(
        m.write.claimRepair([d.dealId, 2n, d.roots, d.providerAddrs]),
        f.market,
        "RepairClaimed",
        [d.dealId, 2, getAddress(spare.account.address), seedBlock],
      );
      // Its draw is not known before its block is mined.
      await assertions.revertWithCustomErrorWithArgs(
        f.market.read.drawnSegment([d.dealId, 2n, spare.account.address]),
        f.market,
        "MarketSeedNotFixed",
        [seedBlock],
      );
      await assertions.revertWithCustomErrorWithArgs(
        m.write.completeRepair([d.dealId, 2n, "0x", [], d.roots, d.providerAddrs]),
        f.market,
        "MarketNoRepairClaim",
        [d.dealId, 2n, getAddress(spare.account.address)],
      );
      // Claims are not exclusive and reserve nothing: another member claims too.
      await assertions.emit(
        rival.write.claimRepair([d.dealId, 2n, d.roots, d.providerAddrs]),
        f.market,
        "RepairClaimed",
      );
      assert.equal((await f.market.read.getProvider([spare.account.address])).used, 0n);
      assert.equal((await f.market.read.getProvider([f.providers[5].account.address])).used, 0n);
      await mineDraw(f);
      // Each claimant proves the segment drawn for it; one that never claimed cannot complete.
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, f.providers[6])).write.completeRepair([
          d.dealId,
          2n,
          "0x",
          [],
          d.roots,
          d.providerAddrs,
        ]),
        f.market,
        "MarketNoRepairClaim",
        [d.dealId, 2n, getAddress(f.providers[6].account.address)],
      );
      const mine = await drawnProof(f, d, 2, spare.account.address);
      const theirs = await drawnProof(f, d, 2, f.providers[5].account.address);
      await assertions.revertWithCustomError(
        m.write.completeRepair([
          d.dealId,
          2n,
          mine.segment,
          [...mine.path].reverse(),
          d.roots,
          d.providerAddrs,
        ]),
        f.market,
        "MarketInvalidProof",
      );
      await assertions.revertWithCustomErrorWithArgs(
        m.write.completeRepair([
          d.dealId,
          2n,
          mine.segment,
          mine.path,
          [...d.roots].reverse(),
          d.providerAddrs,
        ]),
        f.market,
        "MarketCommitmentMismatch",
        [d.dealId],
      );
      const period = await f.coop.treasury.read.currentPeriod();
      const pointsBefore = (
        await f.coop.treasury.read.getPatronage([period, spare.account.address])
      ).points;
      const pool = minStake(MARKET_DEFAULTS, GIB) - 15n * UNIT; // three missed-epoch slashes
      await assertions.emitWithArgs(
        m.write.completeRepair([d.dealId, 2n, mine.segment, mine.path, d.roots, d.providerAddrs]),
        f.market,
        "ShardRepaired",
        [d.dealId, 2, getAddress(spare.account.address), 0n, pool],
      );
      // The reward is slashed stake: it earns no patronage.
      assert.equal(
        (await f.coop.treasury.read.getPatronage([period, spare.account.address])).points,
        pointsBefore,
      );
      // The rival's valid completion comes too late.
      await assertions.revertWithCustomErrorWithArgs(
        rival.write.completeRepair([
          d.dealId,
          2n,
          theirs.segment,
          theirs.path,
          d.roots,
          d.providerAddrs,
        ]),
        f.market,
        "MarketWrongShardStatus",
        [d.dealId, 2n, 1],
      );
      const s = await f.market.read.getShard([d.dealId, 2n]);
      assert.equal(s.provider, getAddress(spare.account.address));
      assert.equal(s.lost, false);
      assert.equal(s.entry, 0);
      assert.equal((await f.market.read.getProvider([spare.account.address])).used, 65_536n);
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
      assert.equal(await f.market.read.balanceOf([spare.account.address]), 3n * UNIT + pool + rate);
      const [a, b, c, e] = await f.market.read.totals();
      assert.equal(a + b + c + e, await tokenBalance(f, f.market.address));
    });

    it("a claim lapses when its block hash leaves the 256-block window: claim again", async function () {
      const { f, d } = await loadFixture(dealFixture);
      await send(f, (await marketAs(f, d.providers[0])).write.declareLost([d.dealId, 0n]));
      const lazy = await marketAs(f, f.providers[5]);
      await send(f, lazy.write.claimRepair([d.dealId, 0n, d.roots, d.providerAddrs]));
      await mineDraw(f);
      const stale = await drawnProof(f, d, 0, f.providers[5].account.address);
      await networkHelpers.mine(256);
      await assertions.revertWithCustomErrorWithArgs(
        lazy.write.completeRepair([
          d.dealId,
          0n,
          stale.segment,
          stale.path,
          d.roots,
          d.providerAddrs,
        ]),
        f.market,
        "MarketNoRepairClaim",
        [d.dealId, 0n, getAddress(f.providers[5].account.address)],
      );
      // A fresh claim draws anew and completes.
      await assertions.emit(repairAs(f, d, 0, f.providers[5]), f.market, "ShardRepaired");
      assert.equal(
        (await f.market.read.getShard([d.dealId, 0n])).provider,
        getAddress(f.providers[5].account.address),
      );
      assert.equal(await f.market.read.balanceOf([f.providers[5].account.address]), 2n * UNIT);
    });

    it("a claim checks room but reserves none; the completion reserves it", async function () {
      const { f, d } = await loadFixture(dealFixture);
      await send(f, (await marketAs(f, d.providers[0])).write.declareLost([d.dealId, 0n]));
      const m = await marketAs(f, f.spare);
      await send(f, m.write.updateProvider(["http://spare", [], 65_535n]));
      await assertions.revertWithCustomErrorWithArgs(
        m.write.claimRepair([d.dealId, 0n, d.roots, d.providerAddrs]),
        f.market,
        "MarketInsufficientCapacity",
        [getAddress(f.spare.account.address), 65_536n, 65_535n],
      );
      await send(f, m.write.updateProvider(["http://spare", [], GIB]));
      await send(f, m.write.claimRepair([d.dealId, 0n, d.roots, d.providerAddrs]));
      assert.equal((await f.market.read.getProvider([f.spare.account.address])).used, 0n);
      // The room it had at the claim is not held for it.
      await send(f, m.write.updateProvider(["http://spare", [], 65_535n]));
      await mineDraw(f);
      const { segment, path } = await drawnProof(f, d, 0, f.spare.account.address);
      const complete = () =>
        m.write.completeRepair([d.dealId, 0n, segment, path, d.roots, d.providerAddrs]);
      await assertions.revertWithCustomErrorWithArgs(
        complete(),
        f.market,
        "MarketInsufficientCapacity",
        [getAddress(f.spare.account.address), 65_536n, 65_535n],
      );
      await send(f, m.write.updateProvider(["http://spare", [], GIB]));
      await assertions.emit(complete(), f.market, "ShardRepaired");
      assert.equal((await f.market.read.getProvider([f.spare.account.address])).used, 65_536n);
    });

    it("a claim cannot be completed once the deal has ended", async function () {
      const { f, d } = await loadFixture(dealFixture);
      await send(f, (await marketAs(f, d.providers[0])).write.declareLost([d.dealId, 0n]));
      const m = await marketAs(f, f.spare);
      await send(f, m.write.claimRepair([d.dealId, 0n, d.roots, d.providerAddrs]));
      await mineDraw(f);
      const { segment, path } = await drawnProof(f, d, 0, f.spare.account.address);
      await nextEpoch(f, 12n);
      await assertions.revertWithCustomError(
        m.write.completeRepair([d.dealId, 0n, segment, path, d.roots, d.providerAddrs]),
        f.market,
        "MarketDealEnded",
      );
    });

    it("rejects shards that are not lost and ended deals; an unused reward goes to the treasury", async function () {
      const { f, d } = await loadFixture(dealFixture);
      const m = await marketAs(f, f.spare);
      await assertions.revertWithCustomErrorWithArgs(
        m.write.claimRepair([d.dealId, 1n, d.roots, d.providerAddrs]),
        f.market,
        "MarketWrongShardStatus",
        [d.dealId, 1n, 1],
      );
      await assertions.revertWithCustomErrorWithArgs(
        m.write.completeRepair([d.dealId, 1n, "0x", [], d.roots, d.providerAddrs]),
        f.market,
        "MarketWrongShardStatus",
        [d.dealId, 1n, 1],
      );
      await send(f, (await marketAs(f, d.providers[0])).write.declareLost([d.dealId, 0n]));
      await assertions.revertWithCustomErrorWithArgs(
        m.write.completeRepair([d.dealId, 0n, "0x", [], d.roots, d.providerAddrs]),
        f.market,
        "MarketNoRepairClaim",
        [d.dealId, 0n, getAddress(f.spare.account.address)],
      );
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
      // At the end the owner gets the unearned escrow; the unused reward (p0's slash) is
      // the treasury's, never the owner's (who could be the slashed provider itself).
      const rate = (await f.market.read.getDeal([d.dealId])).shardRate;
      const treasuryBefore = await tokenBalance(f, f.coop.treasury.address);
      const ownerBefore = await f.market.read.balanceOf([f.owner.account.address]);
      await assertions.emitWithArgs(
        f.market.write.settleShard([d.dealId, 0n]),
        f.market,
        "ShardSettled",
        [d.dealId, 0, rate * 12n],
      );
      assert.equal(await tokenBalance(f, f.coop.treasury.address), treasuryBefore + 2n * UNIT);
      assert.equal(
        await f.market.read.balanceOf([f.owner.account.address]),
        ownerBefore + rate * 12n,
      );
      assert.equal((await f.market.read.totals())[3], 0n);
    });

    it("a repair closes a challenge left open on the failed holder, refunding the challenger", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      // Provider 2 is challenged, then fails before anyone fixes the draw.
      const challenger = await marketAs(f, f.owner);
      await send(f, challenger.write.challengeShard([d.dealId, 2n]));
      for (let i = 0; i < 3; i++) {
        if (i > 0) await nextEpoch(f);
        await proveEpoch(f, d.providers[0], book);
        await proveEpoch(f, d.providers[1], book);
      }
      await nextEpoch(f, 2n);
      const reporter = await marketAs(f, f.spare);
      for (const e of [epoch, epoch + 1n, epoch + 2n]) {
        await send(f, reporter.write.reportMissedEpoch([d.providers[2].account.address, e]));
      }
      const before = await f.market.read.balanceOf([f.owner.account.address]);
      await assertions.emitWithArgs(repairAs(f, d, 2), f.market, "ChallengeFailed", [
        d.dealId,
        2,
        getAddress(f.owner.account.address),
        0n,
      ]);
      const s = await f.market.read.getShard([d.dealId, 2n]);
      assert.equal(s.challenger, zeroAddress);
      assert.equal(s.provider, getAddress(f.spare.account.address));
      // The owner, as challenger, got the fee back and nothing else.
      assert.equal(
        await f.market.read.balanceOf([f.owner.account.address]),
        before + MARKET_DEFAULTS.targetedChallengeFee,
      );
      await assertions.revertWithCustomError(
        f.market.write.finalizeChallenge([d.dealId, 2n]),
        f.market,
        "MarketNoChallenge",
      );
    });

    it("shares a failed holder's stake among its live shards by leaves", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      // Provider 2 also holds a 3 × 64 KiB shard (384 leaves) of another deal before failing.
      const other = await activeDeal(f, {
        n: 1,
        k: 1,
        providers: [d.providers[2]],
        shardSize: 196_608n,
        duration: 12,
      });
      for (let i = 0; i < 3; i++) {
        if (i > 0) await nextEpoch(f);
        await proveEpoch(f, d.providers[0], book);
        await proveEpoch(f, d.providers[1], book);
      }
      await nextEpoch(f, 2n);
      const reporter = await marketAs(f, f.spare);
      for (const e of [epoch, epoch + 1n, epoch + 2n]) {
        await send(f, reporter.write.reportMissedEpoch([d.providers[2].account.address, e]));
      }
      const pool = minStake(MARKET_DEFAULTS, GIB) - 15n * UNIT; // three missed-epoch slashes
      // Shard 2 of the first deal has 128 of the 512 leaves: a quarter of the pool.
      await assertions.emitWithArgs(repairAs(f, d, 2), f.market, "ShardRepaired", [
        d.dealId,
        2,
        getAddress(f.spare.account.address),
        0n,
        pool / 4n,
      ]);
      // The rest, unclaimed by a repair, goes to the treasury when the other shard settles.
      await nextEpoch(f, 13n);
      const treasuryBefore = await tokenBalance(f, f.coop.treasury.address);
      await send(f, f.market.write.settleShard([other.dealId, 0n]));
      assert.equal(
        await tokenBalance(f, f.coop.treasury.address),
        treasuryBefore + pool - pool / 4n,
      );
      assert.equal((await f.market.read.totals())[3], 0n);
    });

    it("an unrepaired failed shard's pool share goes to the treasury at settlement", async function () {
      const { f, d } = await loadFixture(failedFixture);
      await nextEpoch(f, 12n);
      const rate = (await f.market.read.getDeal([d.dealId])).shardRate;
      const pool = minStake(MARKET_DEFAULTS, GIB) - 15n * UNIT; // three missed-epoch slashes
      const treasuryBefore = await tokenBalance(f, f.coop.treasury.address);
      const ownerBefore = await f.market.read.balanceOf([f.owner.account.address]);
      await assertions.emitWithArgs(
        f.market.write.settleShard([d.dealId, 2n]),
        f.market,
        "ShardSettled",
        [d.dealId, 2, rate * 12n],
      );
      assert.equal(await tokenBalance(f, f.coop.treasury.address), treasuryBefore + pool);
      assert.equal(
        await f.market.read.balanceOf([f.owner.account.address]),
        ownerBefore + rate * 12n,
      );
      // The failed provider may leave (with nothing) once the settlement epoch is reportable.
      const p2 = await marketAs(f, d.providers[2]);
      await assertions.revertWithCustomError(p2.write.leave(), f.market, "MarketProviderBusy");
      await nextEpoch(f, 3n);
      await assertions.emitWithArgs(p2.write.leave(), f.market, "ProviderLeft", [
        getAddress(d.providers[2].account.address),
        0n,
      ]);
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
