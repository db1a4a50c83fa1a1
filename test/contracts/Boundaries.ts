/**
 * Exact-boundary tests: each checks a rule one step either side of where it changes, where
 * mutation testing showed that a `<` turned `<=` (or a read at the wrong time) passed every
 * other test.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { network } from "hardhat";
import { getAddress, keccak256, parseEventLogs, toHex } from "viem";

import { COOP_DEFAULTS, deployCoop, governanceCall, joinMembers } from "./fixtures/coop.ts";
import {
  activeDeal,
  buildEpochProof,
  deployMarket,
  fixSeed,
  marketAs,
  passEpochs,
  nextEpoch,
  proveEpoch,
  send,
} from "./fixtures/market.ts";

describe("Boundaries", async function () {
  const { viem, networkHelpers } = await network.create();
  const { loadFixture } = networkHelpers;
  const assertions = viem.assertions;

  /** Provider 0 holds shard 0 of a 6-epoch deal and has proven its first four epochs. */
  async function provenFixture() {
    const f = await deployMarket(viem, networkHelpers);
    const d = await activeDeal(f, { n: 1, k: 1, shardSize: 4096n, duration: 6 });
    const start = await nextEpoch(f);
    const book = new Map([[d.dealId, d.trees]]);
    for (let e = start; e < start + 4n; e++) {
      if (e > start) await nextEpoch(f);
      await proveEpoch(f, f.providers[0], book);
    }
    return { f, d, start, p0: f.providers[0].account.address };
  }

  describe("settleShardWithHints: a hint one off a proven boundary epoch is never trusted", function () {
    for (const delta of [-1n, 1n]) {
      it(`pays exactly the closed proven epochs with toHint ${delta > 0 ? "one past" : "one before"} the stop`, async function () {
        const { f, d, start, p0 } = await loadFixture(provenFixture);
        // Now in epoch start + 3: the stop is start + 2, itself a proven epoch (index 2).
        const stop = start + 2n;
        const right = await f.market.read.provenIndex([p0, stop]);
        assert.equal(right, 2n);
        const fromRight = await f.market.read.provenIndex([p0, start]);
        const r = await send(
          f,
          f.market.write.settleShardWithHints([d.dealId, 0n, fromRight, right + delta]),
        );
        const [paid] = parseEventLogs({ abi: f.market.abi, logs: r.logs, eventName: "ShardPaid" });
        assert.equal(paid.args.epochs, 2n, "start and start + 1 only");
      });

      it(`pays from the first unpaid epoch with fromHint ${delta > 0 ? "one past" : "one before"} it`, async function () {
        const { f, d, start, p0 } = await loadFixture(provenFixture);
        await send(f, f.market.write.settleShard([d.dealId, 0n])); // pays start, start + 1
        await nextEpoch(f);
        // From start + 2 (proven, index 2) to the stop start + 3 (proven, index 3).
        const from = await f.market.read.provenIndex([p0, start + 2n]);
        const to = await f.market.read.provenIndex([p0, start + 3n]);
        const r = await send(
          f,
          f.market.write.settleShardWithHints([d.dealId, 0n, from + delta, to]),
        );
        const [paid] = parseEventLogs({ abi: f.market.abi, logs: r.logs, eventName: "ShardPaid" });
        assert.equal(paid.args.epochs, 1n, "start + 2 only");
      });
    }
  });

  describe("settleShard: the deal closes one epoch after its end, not at it", function () {
    it("at the end epoch it only pays; one epoch later it closes and refunds", async function () {
      const { f, d, start } = await loadFixture(provenFixture);
      const end = start + 6n;
      await nextEpoch(f, end - (await f.market.read.currentEpoch()));
      let r = await send(f, f.market.write.settleShard([d.dealId, 0n]));
      assert.equal(
        parseEventLogs({ abi: f.market.abi, logs: r.logs, eventName: "ShardSettled" }).length,
        0,
      );
      assert.equal((await f.market.read.getShard([d.dealId, 0n])).status, 1, "still Active");
      await nextEpoch(f);
      r = await send(f, f.market.write.settleShard([d.dealId, 0n]));
      const [settled] = parseEventLogs({
        abi: f.market.abi,
        logs: r.logs,
        eventName: "ShardSettled",
      });
      const deal = await f.market.read.getDeal([d.dealId]);
      assert.equal(settled.args.refund, deal.shardRate * 2n, "the two unproven epochs");
      assert.equal((await f.market.read.getShard([d.dealId, 0n])).status, 3, "Closed");
    });
  });

  describe("submitProof: a path one level short is refused", function () {
    it("fails with MarketInvalidProof, and the full path passes", async function () {
      const f = await deployMarket(viem, networkHelpers);
      const d = await activeDeal(f, { n: 1, k: 1, shardSize: 65_536n, duration: 4 });
      await nextEpoch(f);
      await fixSeed(f);
      const epoch = await f.market.read.currentEpoch();
      const proofs = await buildEpochProof(
        f,
        d.providerAddrs[0],
        epoch,
        new Map([[d.dealId, d.trees]]),
      );
      const short = proofs.map((p, i) => (i === 2 ? { ...p, path: p.path.slice(0, -1) } : p));
      const m = await marketAs(f, d.providers[0]);
      await assertions.revertWithCustomErrorWithArgs(
        m.write.submitProof([epoch, short]),
        f.market,
        "MarketInvalidProof",
        [2n],
      );
      await send(f, m.write.submitProof([epoch, proofs]));
    });
  });

  describe("claimRepair: a holder that failed a targeted challenge cannot repair its shard", function () {
    it("refuses the old holder and accepts another member", async function () {
      const f = await deployMarket(viem, networkHelpers);
      const d = await activeDeal(f, { n: 3, k: 2, duration: 20 });
      await nextEpoch(f);
      const challenger = await marketAs(f, f.providers[5]);
      await send(f, challenger.write.challengeShard([d.dealId, 1n]));
      await networkHelpers.mine();
      await send(f, challenger.write.fixChallengeSeed([d.dealId, 1n]));
      await nextEpoch(f, BigInt(f.params.challengeWindow) + 1n);
      await send(f, f.market.write.finalizeChallenge([d.dealId, 1n]));
      const holder = d.providers[1];
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, holder)).write.claimRepair([d.dealId, 1n, d.roots, d.providerAddrs]),
        f.market,
        "MarketRepairIneligible",
        [getAddress(holder.account.address), 1n],
      );
      await send(
        f,
        (await marketAs(f, f.providers[6])).write.claimRepair([
          d.dealId,
          1n,
          d.roots,
          d.providerAddrs,
        ]),
      );
    });
  });

  describe("reportMissedEpoch: F consecutive reported misses fail a provider, in any order", function () {
    it("F − 1 do not; the F-th fails it even when it fills the middle of the run", async function () {
      const f = await deployMarket(viem, networkHelpers);
      const d = await activeDeal(f, { n: 1, k: 1, shardSize: 4096n, duration: 10 });
      const first = await passEpochs(f, 1n);
      await passEpochs(f, 4n);
      const m = await marketAs(f, f.spare);
      const p0 = d.providerAddrs[0];
      // F = 3: report first + 2, then first, then first + 1.
      await send(f, m.write.reportMissedEpoch([p0, first + 2n]));
      await send(f, m.write.reportMissedEpoch([p0, first]));
      assert.equal(
        (await f.market.read.getProvider([p0])).failedEpoch,
        0,
        "two misses, not a run of 3",
      );
      await assertions.emit(
        m.write.reportMissedEpoch([p0, first + 1n]),
        f.market,
        "ProviderFailed",
      );
    });
  });

  describe("leave: not before the last owed epoch is reportable", function () {
    it("refuses two epochs after the last shard left and allows three", async function () {
      const f = await deployMarket(viem, networkHelpers);
      const d = await activeDeal(f, { n: 1, k: 1, shardSize: 4096n, duration: 1 });
      const end = BigInt((await f.market.read.getDeal([d.dealId])).endEpoch);
      const left = await nextEpoch(f, end + 1n - (await f.market.read.currentEpoch()));
      await send(f, f.market.write.settleShard([d.dealId, 0n])); // leaves the set in `left`
      const m = await marketAs(f, f.providers[0]);
      await nextEpoch(f, 2n);
      await assertions.revertWithCustomError(m.write.leave(), f.market, "MarketProviderBusy");
      assert.equal(await f.market.read.currentEpoch(), left + 2n);
      await nextEpoch(f);
      await send(f, m.write.leave());
    });
  });

  describe("CoopGovernor: quorum and outcome are fixed at the snapshot", function () {
    it("members joining during the vote change neither quorum(snapshot) nor the result", async function () {
      const coop = await deployCoop(viem);
      const [alice, bob, carol, dave, ...later] = coop.accounts;
      await joinMembers(coop, [alice, bob, carol, dave]);
      await networkHelpers.time.increase(1);
      const call = governanceCall(coop.membership, "setShareAmount", [
        2n * COOP_DEFAULTS.shareAmount,
      ]);
      const description = "Double the share";
      await coop.governor.write.propose([[call.target], [0n], [call.data], description], {
        account: alice.account,
      });
      const id = await coop.governor.read.hashProposal([
        [call.target],
        [0n],
        [call.data],
        keccak256(toHex(description)),
      ]);
      await networkHelpers.time.increase(COOP_DEFAULTS.votingDelay + 1);
      const snapshot = await coop.governor.read.proposalSnapshot([id]);
      assert.equal(await coop.governor.read.quorum([snapshot]), 2n, "50% of 4 members");
      for (const voter of [alice, bob]) {
        await coop.governor.write.castVote([id, 1], { account: voter.account });
      }
      // Four more members join mid-vote: 8 members now, a quorum of 4 if read at the wrong time.
      await joinMembers(coop, later.slice(0, 4));
      assert.equal(await coop.governor.read.quorum([snapshot]), 2n);
      await networkHelpers.time.increase(COOP_DEFAULTS.votingPeriod + 1);
      assert.equal(await coop.governor.read.state([id]), 4, "Succeeded");
    });
  });
});
