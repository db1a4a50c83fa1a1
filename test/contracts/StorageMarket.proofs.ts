/**
 * StorageMarket: epoch seeds, batch proofs over per-provider proof sets, and payment.
 * Includes the proof attacks: wrong position, replay from an earlier epoch, proof before
 * the seed is fixed, double proof.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { network } from "hardhat";
import { getAddress, zeroHash } from "viem";

import { segmentProof } from "./helpers/merkle.js";
import {
  activeDeal,
  bookOf,
  buildEpochProof,
  createTestDeal,
  deployMarket,
  fixSeed,
  marketAs,
  nextEpoch,
  proveEpoch,
  send,
} from "./fixtures/market.js";

describe("StorageMarket proofs and payment", async function () {
  const { viem, networkHelpers, provider } = await network.create();
  const { loadFixture } = networkHelpers;
  async function marketFixture() {
    return deployMarket(viem, networkHelpers);
  }
  /** One active 3-shard deal of 64 KiB shards (128 leaves), providers 0..2, in its first paid epoch. */
  async function dealFixture() {
    const f = await deployMarket(viem, networkHelpers);
    const d = await activeDeal(f, { shardSize: 65_536n, duration: 6 });
    const epoch = await nextEpoch(f);
    return { f, d, epoch, book: bookOf(d) };
  }
  const assertions = viem.assertions;

  describe("fixSeed", function () {
    it("fixes the current epoch's seed once", async function () {
      const f = await loadFixture(marketFixture);
      const e = await f.market.read.currentEpoch();
      await assertions.emit(f.market.write.fixSeed(), f.market, "SeedFixed");
      const [seed, block] = await f.market.read.seedOf([e]);
      assert.notEqual(seed, zeroHash);
      assert.ok(block > 0n);
      const receipt = await send(f, f.market.write.fixSeed());
      assert.equal(receipt.logs.length, 0);
      assert.deepEqual(await f.market.read.seedOf([e]), [seed, block]);
      await nextEpoch(f);
      await send(f, f.market.write.fixSeed());
      assert.notEqual((await f.market.read.seedOf([e + 1n]))[0], seed);
    });
  });

  describe("submitProof", function () {
    it("accepts the batch proof for the epoch's challenges and emits EpochProven", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      const p = d.providers[0];
      await fixSeed(f);
      const proofs = await buildEpochProof(f, p.account.address, epoch, book);
      assert.equal(proofs.length, 5);
      await assertions.emitWithArgs(
        (await marketAs(f, p)).write.submitProof([epoch, proofs]),
        f.market,
        "EpochProven",
        [getAddress(p.account.address), epoch],
      );
      const v = await f.market.read.getProvider([p.account.address]);
      assert.equal(BigInt(v.lastProvenEpoch), epoch);
      assert.equal(v.provenEpochs, 1n);
      assert.equal(
        await f.market.read.provenEpochsBetween([p.account.address, epoch, epoch + 1n]),
        1n,
      );
    });

    it("challenges land across the whole proof set, and each entry hint is checked in O(1)", async function () {
      const f = await loadFixture(marketFixture);
      const p = f.providers[0];
      const deals = [];
      for (let i = 0; i < 6; i++) deals.push(await activeDeal(f, { n: 1, k: 1, providers: [p] }));
      const e = await nextEpoch(f);
      await fixSeed(f);
      const [leaves, entries] = await f.market.read.getEpochChallenges([p.account.address, e]);
      for (let i = 0; i < leaves.length; i++) assert.equal(entries[i], leaves[i] / 8n);
      const book = bookOf(...deals);
      const proofs = await buildEpochProof(f, p.account.address, e, book);
      // A wrong entry hint is rejected with the challenged leaf.
      const bad = proofs.map((x, i) => (i === 0 ? { ...x, entry: (x.entry + 1n) % 6n } : x));
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, p)).write.submitProof([e, bad]),
        f.market,
        "MarketWrongEntry",
        [0n, (proofs[0].entry + 1n) % 6n, leaves[0]],
      );
      const outOfRange = proofs.map((x, i) => (i === 0 ? { ...x, entry: 6n } : x));
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, p)).write.submitProof([e, outOfRange]),
        f.market,
        "MarketWrongEntry",
        [0n, 6n, leaves[0]],
      );
      await send(f, (await marketAs(f, p)).write.submitProof([e, proofs]));
    });

    it("attack: a valid segment at the wrong position is rejected", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      const p = d.providers[0];
      await fixSeed(f);
      const proofs = await buildEpochProof(f, p.account.address, epoch, book);
      const [leaves] = await f.market.read.getEpochChallenges([p.account.address, epoch]);
      const other = Number((leaves[2] + 1n) % 128n);
      const wrong = proofs.map((x, i) =>
        i === 2 ? { entry: x.entry, ...segmentProof(d.trees[0], other) } : x,
      );
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, p)).write.submitProof([epoch, wrong]),
        f.market,
        "MarketInvalidProof",
        [2n],
      );
      // The right segment with a path from elsewhere fails too.
      const mixed = proofs.map((x, i) =>
        i === 1
          ? { ...x, path: segmentProof(d.trees[0], Number((leaves[1] + 2n) % 128n)).path }
          : x,
      );
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, p)).write.submitProof([epoch, mixed]),
        f.market,
        "MarketInvalidProof",
        [1n],
      );
    });

    it("attack: a proof replayed from an earlier epoch is rejected", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      const p = d.providers[0];
      await fixSeed(f);
      const proofs = await buildEpochProof(f, p.account.address, epoch, book);
      await send(f, (await marketAs(f, p)).write.submitProof([epoch, proofs]));
      const next = await nextEpoch(f);
      await fixSeed(f);
      await assertions.revertWithCustomError(
        (await marketAs(f, p)).write.submitProof([next, proofs]),
        f.market,
        "MarketInvalidProof",
      );
      // And the old epoch itself cannot be proven twice.
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, p)).write.submitProof([epoch, proofs]),
        f.market,
        "MarketEpochAlreadyProven",
        [epoch, epoch],
      );
    });

    it("attack: a proof before the seed is fixed, or in the block that fixes it, is rejected", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      const p = d.providers[0];
      const m = await marketAs(f, p);
      const dummy = Array.from({ length: 5 }, () => ({
        entry: 0n,
        segment: "0x" as const,
        path: [],
      }));
      await assertions.revertWithCustomErrorWithArgs(
        m.write.submitProof([epoch, dummy]),
        f.market,
        "MarketSeedNotFixed",
        [epoch],
      );
      // Same block: fix the seed and prove in one block (the proof is computed by simulation).
      await provider.request({ method: "evm_setAutomine", params: [false] });
      try {
        const fixHash = await f.market.write.fixSeed({ gas: 200_000n });
        const proofHash = await m.write.submitProof([epoch, dummy], { gas: 2_000_000n });
        await networkHelpers.mine();
        const publicClient = await viem.getPublicClient();
        assert.equal(
          (await publicClient.getTransactionReceipt({ hash: fixHash })).status,
          "success",
        );
        assert.equal(
          (await publicClient.getTransactionReceipt({ hash: proofHash })).status,
          "reverted",
        );
      } finally {
        await provider.request({ method: "evm_setAutomine", params: [true] });
      }
      // From the next block on it is accepted.
      await send(
        f,
        m.write.submitProof([epoch, await buildEpochProof(f, p.account.address, epoch, book)]),
      );
    });

    it("accepts epoch e during e + 1, but not later, and never a future epoch", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      const p = d.providers[0];
      await fixSeed(f);
      await nextEpoch(f);
      const m = await marketAs(f, p);
      const proofs = await buildEpochProof(f, p.account.address, epoch, book);
      await assertions.revertWithCustomErrorWithArgs(
        m.write.submitProof([epoch + 2n, proofs]),
        f.market,
        "MarketProofWindowClosed",
        [epoch + 2n, epoch + 1n],
      );
      await send(f, m.write.submitProof([epoch, proofs]));
      // Provider 1 waits too long.
      await nextEpoch(f);
      const late = await buildEpochProof(f, d.providers[1].account.address, epoch, book);
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, d.providers[1])).write.submitProof([epoch, late]),
        f.market,
        "MarketProofWindowClosed",
        [epoch, epoch + 2n],
      );
    });

    it("proving a later epoch first forfeits the earlier one", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      const p = d.providers[0];
      await fixSeed(f);
      const older = await buildEpochProof(f, p.account.address, epoch, book);
      await nextEpoch(f);
      await proveEpoch(f, p, book);
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, p)).write.submitProof([epoch, older]),
        f.market,
        "MarketEpochAlreadyProven",
        [epoch, epoch + 1n],
      );
    });

    it("rejects the wrong number of proofs, unregistered provers and empty proof sets", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      await fixSeed(f);
      const p = d.providers[0];
      const proofs = await buildEpochProof(f, p.account.address, epoch, book);
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, p)).write.submitProof([epoch, proofs.slice(1)]),
        f.market,
        "MarketWrongProofCount",
        [4n, 5n],
      );
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, f.spare)).write.submitProof([epoch, proofs]),
        f.market,
        "MarketNotRegistered",
        [getAddress(f.spare.account.address)],
      );
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, f.providers[5])).write.submitProof([epoch, proofs]),
        f.market,
        "MarketNothingToProve",
        [getAddress(f.providers[5].account.address), epoch],
      );
    });

    it("does not re-roll challenges when shards are appended during the epoch", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      const p = d.providers[0];
      await fixSeed(f);
      const before = await f.market.read.getEpochChallenges([p.account.address, epoch]);
      const extra = await activeDeal(f, { n: 1, k: 1, providers: [p], shardSize: 65_536n });
      assert.deepEqual(await f.market.read.getEpochChallenges([p.account.address, epoch]), before);
      book.set(extra.dealId, extra.trees);
      await proveEpoch(f, p, book, epoch);
      // Next epoch the new entry is in range.
      const next = await nextEpoch(f);
      await fixSeed(f);
      const v = await f.market.read.getProvider([p.account.address]);
      assert.equal(v.totalLeaves, 256n);
      await proveEpoch(f, p, book, next);
      // Appends in the next epoch and the one after: within the proof window the view still
      // draws epoch `next` over the leaves appended before it; once the epoch is older than the
      // provider's last two append epochs its leaf count is unknown and the view is empty.
      const more = await activeDeal(f, { n: 1, k: 1, providers: [p], shardSize: 65_536n });
      book.set(more.dealId, more.trees);
      const after = await nextEpoch(f);
      await fixSeed(f);
      await activeDeal(f, { n: 1, k: 1, providers: [p], shardSize: 65_536n });
      const [window] = await f.market.read.getEpochChallenges([p.account.address, next]);
      assert.equal(window.length, 5);
      for (const leaf of window) assert.ok(leaf < 256n);
      const [current] = await f.market.read.getEpochChallenges([p.account.address, after]);
      for (const leaf of current) assert.ok(leaf < 384n);
      assert.deepEqual(await f.market.read.getEpochChallenges([p.account.address, epoch]), [
        [],
        [],
      ]);
    });

    it("treats a challenge that lands in a hole (shard no longer held) as answered", async function () {
      const f = await loadFixture(marketFixture);
      const p = f.providers[0];
      const d = await activeDeal(f, { n: 1, k: 1, providers: [p], duration: 1 });
      const live = await activeDeal(f, { n: 1, k: 1, providers: [p], duration: 8 });
      await nextEpoch(f, 2n); // the first deal is over: its entry is a hole
      await fixSeed(f);
      const e = await f.market.read.currentEpoch();
      const [leaves, entries] = await f.market.read.getEpochChallenges([p.account.address, e]);
      const book = bookOf(live);
      const proofs = leaves.map((leaf, i) =>
        entries[i] === 0n
          ? { entry: 0n, segment: "0x" as const, path: [] as `0x${string}`[] }
          : { entry: 1n, ...segmentProof(live.trees[0], Number(leaf - 8n)) },
      );
      void book;
      void d;
      await send(f, (await marketAs(f, p)).write.submitProof([e, proofs]));
    });
  });

  describe("settleShard", function () {
    it("pays each shard only for proven epochs and refunds the rest at the end", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      const deal = await f.market.read.getDeal([d.dealId]);
      const rate = deal.shardRate;
      // Provider 0 proves every epoch, provider 1 every other epoch, provider 2 never.
      for (let e = epoch; e < BigInt(deal.endEpoch); e++) {
        if (e > epoch) await nextEpoch(f);
        await proveEpoch(f, d.providers[0], book);
        if ((e - epoch) % 2n === 0n) await proveEpoch(f, d.providers[1], book);
      }
      const duration = BigInt(deal.endEpoch - deal.startEpoch);
      // Settling pays final epochs only: at epoch end, epoch end - 1 may still be proven.
      await nextEpoch(f);
      const m = f.market;
      await assertions.emitWithArgs(m.write.settleShard([d.dealId, 0n]), m, "ShardPaid", [
        d.dealId,
        0,
        getAddress(d.providers[0].account.address),
        duration - 1n,
        rate * (duration - 1n),
      ]);
      assert.equal((await m.read.getShard([d.dealId, 0n])).status, 1);
      await nextEpoch(f);
      const ownerBefore = await m.read.balanceOf([f.owner.account.address]);
      await assertions.emitWithArgs(m.write.settleShard([d.dealId, 1n]), m, "ShardSettled", [
        d.dealId,
        1,
        rate * (duration / 2n),
      ]);
      await assertions.emitWithArgs(m.write.settleShard([d.dealId, 2n]), m, "ShardSettled", [
        d.dealId,
        2,
        rate * duration,
      ]);
      await send(f, m.write.settleShard([d.dealId, 0n]));
      assert.equal(await m.read.balanceOf([d.providers[0].account.address]), rate * duration);
      assert.equal(
        await m.read.balanceOf([d.providers[1].account.address]),
        rate * (duration / 2n),
      );
      assert.equal(await m.read.balanceOf([d.providers[2].account.address]), 0n);
      assert.equal(
        await m.read.balanceOf([f.owner.account.address]),
        ownerBefore + rate * (duration / 2n) + rate * duration,
      );
      for (let i = 0; i < 3; i++)
        assert.equal((await m.read.getShard([d.dealId, BigInt(i)])).status, 3);
      const v = await m.read.getProvider([d.providers[0].account.address]);
      assert.equal(v.activeShards, 0);
      assert.equal(v.used, 0n);
      const [balances, escrow, stakes, pools] = await m.read.totals();
      assert.equal(escrow, 0n);
      assert.equal(balances + stakes + pools, await f.coop.token.read.balanceOf([m.address]));
      await assertions.revertWithCustomErrorWithArgs(
        m.write.settleShard([d.dealId, 0n]),
        m,
        "MarketWrongShardStatus",
        [d.dealId, 0n, 3],
      );
      // The provider's earnings count as patronage.
      const period = await f.coop.treasury.read.currentPeriod();
      const pat = await f.coop.treasury.read.getPatronage([period, d.providers[0].account.address]);
      assert.ok(pat.points >= rate * duration);
    });

    it("with hints: O(1) lookups, and wrong hints still pay exactly the proven epochs", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      for (let i = 0; i < 4; i++) {
        if (i > 0) await nextEpoch(f);
        await proveEpoch(f, d.providers[0], book);
        if (i % 2 === 0) await proveEpoch(f, d.providers[1], book);
      }
      await nextEpoch(f, 2n);
      const rate = (await f.market.read.getDeal([d.dealId])).shardRate;
      const stop = (await f.market.read.currentEpoch()) - 1n;
      const p0 = d.providers[0].account.address;
      const from = await f.market.read.provenIndex([p0, epoch]);
      const to = await f.market.read.provenIndex([p0, stop]);
      assert.deepEqual([from, to], [0n, 4n]);
      await send(f, f.market.write.settleShardWithHints([d.dealId, 0n, from, to]));
      assert.equal(await f.market.read.balanceOf([p0]), 4n * rate);
      await send(f, f.market.write.settleShardWithHints([d.dealId, 1n, 7n, 0n]));
      assert.equal(await f.market.read.balanceOf([d.providers[1].account.address]), 2n * rate);
    });

    it("refunds an unaccepted shard at the end, and waits until then", async function () {
      const f = await loadFixture(marketFixture);
      const d = await createTestDeal(f, { duration: 2 });
      await assertions.revertWithCustomError(
        f.market.write.settleShard([d.dealId, 0n]),
        f.market,
        "MarketDealEnded",
      );
      await nextEpoch(f, 4n);
      await assertions.emitWithArgs(
        f.market.write.settleShard([d.dealId, 0n]),
        f.market,
        "ShardSettled",
        [d.dealId, 0, 4096n * 2n],
      );
    });

    it("after cancellation pays the epochs before it and refunds nothing twice", async function () {
      const { f, d, book } = await loadFixture(dealFixture);
      await proveEpoch(f, d.providers[0], book);
      await send(f, (await marketAs(f, f.owner)).write.cancelDeal([d.dealId]));
      const deal = await f.market.read.getDeal([d.dealId]);
      assert.equal(deal.endEpoch - deal.startEpoch, 1); // the current epoch stays payable
      await nextEpoch(f);
      await proveEpoch(f, d.providers[0], book); // a hole now: the deal is over
      await nextEpoch(f, 2n);
      for (let i = 0; i < 3; i++) await send(f, f.market.write.settleShard([d.dealId, BigInt(i)]));
      assert.equal(await f.market.read.balanceOf([d.providers[0].account.address]), deal.shardRate);
      const [, escrow] = await f.market.read.totals();
      assert.equal(escrow, 0n);
    });
  });
});
