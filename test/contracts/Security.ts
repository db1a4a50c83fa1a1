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
  marketAs,
  nextEpoch,
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
  describe("finalizeChallenge after the deal's end: the lost shard's liveness stops at the end", function () {
    it("does not make the holder owe (and be slashed for) epochs after its only deal ended", async function () {
      const { f, d, epoch } = await loadFixture(dealFixture);
      const end = BigInt((await f.market.read.getDeal([d.dealId])).endEpoch);
      await nextEpoch(f, end - 1n - epoch);
      const p0 = d.providers[0].account.address;
      const challenger = await marketAs(f, f.spare);
      await send(f, challenger.write.challengeShard([d.dealId, 0n]));
      // Unanswered: finalized once the window after the seed epoch (= end) has closed.
      await nextEpoch(f, BigInt(MARKET_DEFAULTS.challengeWindow) + 2n);
      await send(f, challenger.write.finalizeChallenge([d.dealId, 0n]));
      assert.equal((await f.market.read.getProvider([p0])).activeShards, 0);
      // Epoch `end` is after the deal: p0 was never paid for it and never owed a proof.
      await assertions.revertWithCustomErrorWithArgs(
        challenger.write.reportMissedEpoch([p0, end]),
        f.market,
        "MarketNotMissed",
        [getAddress(p0), end],
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

  describe("claimRepair: one provider cannot claim two shards of a deal at once", function () {
    it("counts a live repair claim as holding a shard of the deal", async function () {
      const { f, d } = await loadFixture(dealFixture);
      await send(f, (await marketAs(f, d.providers[0])).write.declareLost([d.dealId, 0n]));
      await send(f, (await marketAs(f, d.providers[1])).write.declareLost([d.dealId, 1n]));
      const spare = await marketAs(f, f.spare);
      await send(f, spare.write.claimRepair([d.dealId, 0n, d.roots, d.providerAddrs]));
      // Before the fix the second claim went through, and completing both left the spare
      // holding two shards of one deal (one node's loss would then cost two of the n shards).
      await assertions.revertWithCustomErrorWithArgs(
        spare.write.claimRepair([d.dealId, 1n, d.roots, d.providerAddrs]),
        f.market,
        "MarketRepairIneligible",
        [getAddress(f.spare.account.address), 0n],
      );
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
