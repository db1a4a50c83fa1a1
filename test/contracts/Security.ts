/**
 * Security review findings: one `describe` per finding, each a test that failed before its fix.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { network } from "hardhat";
import { getAddress, zeroAddress } from "viem";

import { impersonateTimelock } from "./fixtures/coop.js";
import {
  MARKET_DEFAULTS,
  createTestDeal,
  drawnProof,
  marketAs,
  mineDraw,
  nextEpoch,
  passEpochs,
  proveEpoch,
  send,
  activeDealWithSpare,
} from "./fixtures/market.js";

describe("Security review", async function () {
  const { viem, networkHelpers } = await network.create();
  const { loadFixture } = networkHelpers;
  const assertions = viem.assertions;

  const dealFixture = () => activeDealWithSpare(viem, networkHelpers, 4);

  describe("claimRepair: the holder that lost a shard cannot repair it and win its slash back", function () {
    it("rejects the previous holder of a declared-lost shard", async function () {
      const { f, d } = await loadFixture(dealFixture);
      const p0 = d.providers[0];
      const m = await marketAs(f, p0);
      await send(f, m.write.declareLost([d.dealId, 0n]));
      assert.equal(
        (await f.market.read.getShard([d.dealId, 0n])).repairReward,
        MARKET_DEFAULTS.declaredLostSlash,
      );
      // Before the fix the claim went through and completeRepair paid the slash back to p0.
      await assertions.revertWithCustomErrorWithArgs(
        m.write.claimRepair([d.dealId, 0n, d.roots, d.providerAddrs]),
        f.market,
        "MarketRepairIneligible",
        [getAddress(p0.account.address), 0n],
      );
      // Another member may still repair it.
      await send(
        f,
        (await marketAs(f, f.spare)).write.claimRepair([d.dealId, 0n, d.roots, d.providerAddrs]),
      );
    });
  });
  describe("finalizeChallenge after the deal's end: the lost shard leaves the holder's set when finalized", function () {
    it("makes the holder owe epochs only until the challenge is finalized", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      const end = BigInt((await f.market.read.getDeal([d.dealId])).endEpoch);
      const p0 = d.providers[0].account.address;
      // p0 proves every paid epoch; in the last one its shard is challenged and it cannot answer.
      for (let e = epoch; e < end; e++) {
        if (e > epoch) await nextEpoch(f);
        await proveEpoch(f, d.providers[0], book);
      }
      const challenger = await marketAs(f, f.spare);
      await send(f, challenger.write.challengeShard([d.dealId, 0n]));
      await mineDraw(f);
      await send(f, challenger.write.fixChallengeSeed([d.dealId, 0n]));
      const deadline = end - 1n + BigInt(MARKET_DEFAULTS.challengeWindow);
      // An open challenge holds the settlement that would take the shard out of p0's set.
      await passEpochs(f, 1n);
      await assertions.revertWithCustomError(
        challenger.write.settleShard([d.dealId, 0n]),
        f.market,
        "MarketChallengeOpen",
      );
      await passEpochs(f, deadline + 1n - end);
      const finalized = await f.market.read.currentEpoch();
      await send(f, challenger.write.finalizeChallenge([d.dealId, 0n]));
      assert.equal((await f.market.read.getProvider([p0])).activeShards, 0);
      await passEpochs(f, 3n); // seeds committed: a NotMissed below is the live-leaf rule
      // Owed epochs are those that began with live leaves (64e780e): the shard was live at the
      // start of `end` .. `finalized`, so those are owed though unpaid. (41b1af8 had stopped
      // liveness at the deal's end; the live-leaf rule no longer does.)
      await assertions.emit(challenger.write.reportMissedEpoch([p0, end]), f.market, "EpochMissed");
      // Nothing after the epoch it left the set in.
      await assertions.revertWithCustomErrorWithArgs(
        challenger.write.reportMissedEpoch([p0, finalized + 1n]),
        f.market,
        "MarketNotMissed",
        [getAddress(p0), finalized + 1n],
      );
    });
  });

  describe("settlement does not depend on the treasury's recorder", function () {
    it("pays and refunds after governance points the treasury's recorder elsewhere", async function () {
      const { f, d, book } = await loadFixture(dealFixture);
      await proveEpoch(f, d.providers[0], book);
      // Governance retires the market from patronage (documented as "stops all recording").
      const governance = await impersonateTimelock(f.coop, networkHelpers);
      const treasury = await viem.getContractAt("PatronageTreasury", f.coop.treasury.address, {
        client: { wallet: governance },
      });
      await send(f, treasury.write.setRecorder([zeroAddress]));
      await nextEpoch(f, 2n);
      const rate = (await f.market.read.getDeal([d.dealId])).shardRate;
      // Before the fix every settlement with pay reverted (PatronageTreasuryNotRecorder): escrow locked.
      await assertions.emitWithArgs(
        f.market.write.settleShard([d.dealId, 0n]),
        f.market,
        "ShardPaid",
        [d.dealId, 0, getAddress(d.providers[0].account.address), 1n, rate],
      );
      assert.equal(await f.market.read.balanceOf([d.providers[0].account.address]), rate);
    });
  });

  describe("completeRepair: one provider cannot take two shards of a deal", function () {
    it("re-checks at completion that the claimant holds no other shard of the deal", async function () {
      const { f, d } = await loadFixture(dealFixture);
      await send(f, (await marketAs(f, d.providers[0])).write.declareLost([d.dealId, 0n]));
      await send(f, (await marketAs(f, d.providers[1])).write.declareLost([d.dealId, 1n]));
      const spare = await marketAs(f, f.spare);
      // Claims hold nothing, so both are accepted...
      await send(f, spare.write.claimRepair([d.dealId, 0n, d.roots, d.providerAddrs]));
      await send(f, spare.write.claimRepair([d.dealId, 1n, d.roots, d.providerAddrs]));
      await mineDraw(f);
      const first = await drawnProof(f, d, 0, f.spare.account.address);
      const second = await drawnProof(f, d, 1, f.spare.account.address);
      await send(
        f,
        spare.write.completeRepair([
          d.dealId,
          0n,
          first.segment,
          first.path,
          d.roots,
          d.providerAddrs,
        ]),
      );
      // ...but completing both would leave the spare holding two shards of one deal (one
      // node's loss would then cost two of the n shards): the second completion is refused.
      await assertions.revertWithCustomErrorWithArgs(
        spare.write.completeRepair([
          d.dealId,
          1n,
          second.segment,
          second.path,
          d.roots,
          d.providerAddrs,
        ]),
        f.market,
        "MarketRepairIneligible",
        [getAddress(f.spare.account.address), 0n],
      );
      assert.equal((await f.market.read.getShard([d.dealId, 1n])).status, 2);
    });
  });

  describe("patronage: refunded escrow earns no points", function () {
    it("a deal created and cancelled at once earns only its fee as paid patronage", async function () {
      const { f } = await loadFixture(dealFixture);
      const owner = f.owner.account.address;
      const period = await f.coop.treasury.read.currentPeriod();
      const before = (await f.coop.treasury.read.getPatronage([period, owner])).points;
      const d = await createTestDeal(f, { shardSize: 1_048_576n, duration: 20 });
      const [, escrow, fee] = await f.market.read.quoteDeal([d.shardSize, 3n, 20n]);
      // Cancelled in the epoch of creation: the whole escrow comes back.
      await assertions.emitWithArgs(
        (await marketAs(f, f.owner)).write.cancelDeal([d.dealId]),
        f.market,
        "DealCancelled",
        [d.dealId, (await f.market.read.getDeal([d.dealId])).startEpoch, escrow],
      );
      // Before the fix the owner kept escrow + fee points (21 times the fee at 5%), enough
      // to take most of a period's dividend for the price of the fee, even with a flash loan.
      const after = (await f.coop.treasury.read.getPatronage([period, owner])).points;
      assert.equal(after - before, fee);
    });

    it("the owner's paid patronage grows as escrow is paid out to providers", async function () {
      const { f, d, book } = await loadFixture(dealFixture);
      await proveEpoch(f, d.providers[0], book);
      await nextEpoch(f, 2n);
      const owner = f.owner.account.address;
      const period = await f.coop.treasury.read.currentPeriod();
      const before = (await f.coop.treasury.read.getPatronage([period, owner])).points;
      await send(f, f.market.write.settleShard([d.dealId, 0n]));
      const rate = (await f.market.read.getDeal([d.dealId])).shardRate;
      const after = (await f.coop.treasury.read.getPatronage([period, owner])).points;
      assert.equal(after - before, rate);
    });
  });
});
