/**
 * Exact-boundary tests: each checks a rule one step either side of where it changes, where
 * mutation testing showed that a `<` turned `<=` (or a read at the wrong time) passed every
 * other test.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { network } from "hardhat";
import { keccak256, parseEventLogs, toHex } from "viem";

import { COOP_DEFAULTS, deployCoop, governanceCall, joinMembers } from "./fixtures/coop.ts";
import {
  activeDeal,
  deployMarket,
  marketAs,
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
