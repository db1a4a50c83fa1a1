/**
 * StorageMarket: epoch seeds, batch proofs over per-provider proof sets, and payment.
 * Includes the proof attacks: wrong position, replay from an earlier epoch, proof before
 * the seed is fixed, double proof.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { network } from "hardhat";
import { encodeAbiParameters, getAddress, keccak256, parseAbiParameters, zeroHash } from "viem";

import { segmentProof } from "./helpers/merkle.js";
import {
  activeDeal,
  bookOf,
  buildEpochProof,
  createTestDeal,
  deployMarket,
  fixSeed,
  marketAs,
  modelChallenges,
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
    it("commits the epoch's seed to the next block's hash, then saves it once that block is mined", async function () {
      const f = await loadFixture(marketFixture);
      const e = await f.market.read.currentEpoch();
      const publicClient = await viem.getPublicClient();
      // The first call commits: nobody, the caller included, knows the seed block's hash yet.
      const commit = await send(f, f.market.write.fixSeed());
      const seedBlock = commit.blockNumber + 1n;
      await assertions.emitWithArgs(
        Promise.resolve(commit.transactionHash),
        f.market,
        "SeedCommitted",
        [e, seedBlock],
      );
      assert.deepEqual(await f.market.read.seedOf([e]), [zeroHash, seedBlock]);
      // A call inside the seed block itself cannot read its hash: nothing is saved.
      const inSeedBlock = await send(f, f.market.write.fixSeed());
      assert.equal(inSeedBlock.blockNumber, seedBlock);
      assert.equal(inSeedBlock.logs.length, 0);
      // Any later call saves seed = keccak256(abi.encode(blockhash(seedBlock), epoch, market)).
      const hash = (await publicClient.getBlock({ blockNumber: seedBlock })).hash;
      const expected = keccak256(
        encodeAbiParameters(parseAbiParameters("bytes32, uint256, address"), [
          hash,
          e,
          f.market.address,
        ]),
      );
      await assertions.emitWithArgs(f.market.write.fixSeed(), f.market, "SeedFixed", [e, expected]);
      assert.deepEqual(await f.market.read.seedOf([e]), [expected, seedBlock]);
      // Once saved it never changes, and is never committed again.
      const receipt = await send(f, f.market.write.fixSeed());
      assert.equal(receipt.logs.length, 0);
      assert.deepEqual(await f.market.read.seedOf([e]), [expected, seedBlock]);
      // The next epoch commits a seed of its own.
      await nextEpoch(f);
      await assertions.emit(f.market.write.fixSeed(), f.market, "SeedCommitted");
      await fixSeed(f);
      const [next] = await f.market.read.seedOf([e + 1n]);
      assert.notEqual(next, zeroHash);
      assert.notEqual(next, expected);
    });

    it("saves the previous epoch's seed if it is still unsaved", async function () {
      const f = await loadFixture(marketFixture);
      const e = await f.market.read.currentEpoch();
      await send(f, f.market.write.fixSeed());
      await nextEpoch(f); // mines the seed block of epoch e
      await networkHelpers.mine();
      const [seed, seedBlock] = await f.market.read.seedOf([e]);
      assert.notEqual(seed, zeroHash);
      // The first call of epoch e + 1 saves e's seed and commits e + 1's.
      const tx = f.market.write.fixSeed();
      await assertions.emitWithArgs(tx, f.market, "SeedFixed", [e, seed]);
      assert.deepEqual(await f.market.read.seedOf([e]), [seed, seedBlock]);
      assert.equal((await f.market.read.seedOf([e + 1n]))[0], zeroHash);
    });

    it("loses a seed whose block hash left the 256-block window unsaved", async function () {
      const f = await loadFixture(marketFixture);
      const e = await f.market.read.currentEpoch();
      await send(f, f.market.write.fixSeed());
      await networkHelpers.mine(2);
      const [seed, seedBlock] = await f.market.read.seedOf([e]);
      assert.notEqual(seed, zeroHash);
      await networkHelpers.mine(256);
      // Nobody saved it: the epoch's seed is unknowable for good, and not committed anew.
      assert.deepEqual(await f.market.read.seedOf([e]), [zeroHash, seedBlock]);
      const receipt = await send(f, f.market.write.fixSeed());
      assert.equal(receipt.logs.length, 0);
      assert.deepEqual(await f.market.read.seedOf([e]), [zeroHash, seedBlock]);
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

    it("draws each challenge over the live leaves as the rules say, and checks the named entry", async function () {
      const f = await loadFixture(marketFixture);
      const p = f.providers[0];
      const deals = [];
      for (let i = 0; i < 6; i++) deals.push(await activeDeal(f, { n: 1, k: 1, providers: [p] }));
      const e = await nextEpoch(f);
      await fixSeed(f);
      // The view agrees with x_i = keccak256(seed, provider, i) mod T_e over the six entries.
      const model = await modelChallenges(f, p.account.address, e);
      assert.equal(model.length, 5);
      const [entries, segments] = await f.market.read.getEpochChallenges([p.account.address, e]);
      assert.deepEqual(
        [entries, segments],
        [model.map((c) => c.entry), model.map((c) => c.segment)],
      );
      for (const c of model) assert.equal(c.entry, c.leaf / 8n);
      const book = bookOf(...deals);
      const proofs = await buildEpochProof(f, p.account.address, e, book);
      // Naming another entry is rejected with the challenged live leaf.
      const wrongEntry = (proofs[0].entry + 1n) % 6n;
      const bad = proofs.map((x, i) => (i === 0 ? { ...x, entry: wrongEntry } : x));
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, p)).write.submitProof([e, bad]),
        f.market,
        "MarketWrongEntry",
        [0n, wrongEntry, model[0].leaf],
      );
      const outOfRange = proofs.map((x, i) => (i === 0 ? { ...x, entry: 6n } : x));
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, p)).write.submitProof([e, outOfRange]),
        f.market,
        "MarketWrongEntry",
        [0n, 6n, model[0].leaf],
      );
      await send(f, (await marketAs(f, p)).write.submitProof([e, proofs]));
    });

    it("never challenges a leaf that was dead when the epoch began", async function () {
      const f = await loadFixture(marketFixture);
      const p = f.providers[0];
      // Four one-shard deals; entry 1 is declared lost and entry 2 settled at its end, so
      // only entries 0 and 3 are live when epoch `e` begins.
      const a = await activeDeal(f, { n: 1, k: 1, providers: [p], duration: 8 });
      const lost = await activeDeal(f, { n: 1, k: 1, providers: [p], duration: 8 });
      const ended = await activeDeal(f, { n: 1, k: 1, providers: [p], duration: 1 });
      const b = await activeDeal(f, { n: 1, k: 1, providers: [p], duration: 8, shardSize: 8192n });
      await send(f, (await marketAs(f, p)).write.declareLost([lost.dealId, 0n]));
      await nextEpoch(f, 3n); // after the short deal's end
      await send(f, f.market.write.settleShard([ended.dealId, 0n]));
      const e = await nextEpoch(f);
      await fixSeed(f);
      const set = await f.market.read.getProofSet([p.account.address, 0n, 4n]);
      assert.deepEqual(
        set.map((x) => x.removedEpoch),
        [0, Number(e - 4n), Number(e - 1n), 0],
      );
      const v = await f.market.read.getProvider([p.account.address]);
      assert.deepEqual([v.activeShards, v.activeLeaves], [2, 8n + 16n]);
      // T_e = 24 live leaves: 8 of entry 0, then 16 of entry 3; entries 1 and 2 are skipped.
      const model = await modelChallenges(f, p.account.address, e);
      const [entries, segments] = await f.market.read.getEpochChallenges([p.account.address, e]);
      assert.deepEqual(
        entries,
        model.map((c) => c.entry),
      );
      assert.deepEqual(
        segments,
        model.map((c) => c.segment),
      );
      for (const c of model) {
        assert.ok(c.leaf < 24n);
        assert.equal(c.entry, c.leaf < 8n ? 0n : 3n);
      }
      // Naming a dead entry, as an answer for a challenge, is refused: there are no holes.
      const proofs = await buildEpochProof(f, p.account.address, e, bookOf(a, b));
      for (const dead of [1n, 2n]) {
        const hole = proofs.map((x, i) =>
          i === 0 ? { entry: dead, segment: "0x" as const, path: [] as `0x${string}`[] } : x,
        );
        await assertions.revertWithCustomErrorWithArgs(
          (await marketAs(f, p)).write.submitProof([e, hole]),
          f.market,
          "MarketWrongEntry",
          [0n, dead, model[0].leaf],
        );
      }
      await send(f, (await marketAs(f, p)).write.submitProof([e, proofs]));
    });

    it("attack: a valid segment at the wrong position is rejected", async function () {
      const { f, d, epoch, book } = await loadFixture(dealFixture);
      const p = d.providers[0];
      await fixSeed(f);
      const proofs = await buildEpochProof(f, p.account.address, epoch, book);
      const [, segments] = await f.market.read.getEpochChallenges([p.account.address, epoch]);
      const other = Number((segments[2] + 1n) % 128n);
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
          ? { ...x, path: segmentProof(d.trees[0], Number((segments[1] + 2n) % 128n)).path }
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

    it("attack: a proof before the seed block is mined is rejected; any later block will do", async function () {
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
      const commit = await send(f, f.market.write.fixSeed());
      const seedBlock = commit.blockNumber + 1n;
      // In the seed block itself the seed is still unknowable (the prover cannot see it either).
      await provider.request({ method: "evm_setAutomine", params: [false] });
      try {
        const proofHash = await m.write.submitProof([epoch, dummy], { gas: 2_000_000n });
        await networkHelpers.mine();
        const receipt = await (
          await viem.getPublicClient()
        ).getTransactionReceipt({
          hash: proofHash,
        });
        assert.equal(receipt.blockNumber, seedBlock);
        assert.equal(receipt.status, "reverted");
      } finally {
        await provider.request({ method: "evm_setAutomine", params: [true] });
      }
      // In the very next block a proof is accepted, with nobody having saved the seed: the
      // proof saves it. (Built from the seed block's hash: no view can read it yet.)
      const hash = (await (await viem.getPublicClient()).getBlock({ blockNumber: seedBlock })).hash;
      const seed = keccak256(
        encodeAbiParameters(parseAbiParameters("bytes32, uint256, address"), [
          hash,
          epoch,
          f.market.address,
        ]),
      );
      assert.equal((await f.market.read.seedOf([epoch]))[0], zeroHash);
      const challenges = await modelChallenges(f, p.account.address, epoch, seed);
      const proofs = challenges.map((c) => ({
        entry: c.entry,
        ...segmentProof(d.trees[0], Number(c.segment)),
      }));
      const tx = m.write.submitProof([epoch, proofs]);
      await assertions.emitWithArgs(tx, f.market, "SeedFixed", [epoch, seed]);
      assert.equal((await f.market.read.seedOf([epoch]))[0], seed);
      assert.equal(
        BigInt((await f.market.read.getProvider([p.account.address])).lastProvenEpoch),
        epoch,
      );
      // Later blocks too: the second provider proves after a few more.
      await networkHelpers.mine(5);
      await proveEpoch(f, d.providers[1], book);
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

    it("does not re-roll an epoch's challenges when shards join or leave during it", async function () {
      const f = await loadFixture(marketFixture);
      const p = f.providers[0];
      const big = { n: 1, k: 1, providers: [p], shardSize: 65_536n };
      const a = await activeDeal(f, { ...big, duration: 6 });
      const b = await activeDeal(f, { ...big, duration: 6 });
      const book = bookOf(a, b);
      const epoch = await nextEpoch(f);
      await fixSeed(f);
      const before = await f.market.read.getEpochChallenges([p.account.address, epoch]);
      // During the epoch: a shard joins and another leaves (declared lost).
      const extra = await activeDeal(f, { ...big, duration: 6 });
      book.set(extra.dealId, extra.trees);
      await send(f, (await marketAs(f, p)).write.declareLost([a.dealId, 0n]));
      assert.deepEqual(await f.market.read.getEpochChallenges([p.account.address, epoch]), before);
      assert.equal((await f.market.read.getProvider([p.account.address])).activeLeaves, 256n);
      // The lost shard is still challenged in this epoch: its holder proves it (from its copy).
      await proveEpoch(f, p, book, epoch);
      // Next epoch the draw is over b and extra (256 leaves), never over a's entry.
      const next = await nextEpoch(f);
      await fixSeed(f);
      const model = await modelChallenges(f, p.account.address, next);
      const [entries, segments] = await f.market.read.getEpochChallenges([p.account.address, next]);
      assert.deepEqual(
        entries,
        model.map((c) => c.entry),
      );
      assert.deepEqual(
        segments,
        model.map((c) => c.segment),
      );
      for (const c of model) {
        assert.ok(c.leaf < 256n);
        assert.notEqual(c.entry, 0n);
      }
      // Both still in the proof window: a join during `next` changes neither epoch's draw.
      const previous = await f.market.read.getEpochChallenges([p.account.address, epoch]);
      await activeDeal(f, { ...big, duration: 6 });
      assert.deepEqual(
        await f.market.read.getEpochChallenges([p.account.address, epoch]),
        previous,
      );
      assert.deepEqual(await f.market.read.getEpochChallenges([p.account.address, next]), [
        entries,
        segments,
      ]);
      await proveEpoch(f, p, book, next);
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

    it("takes a settled shard out of its holder's set: challenged in the epoch of settlement, not after", async function () {
      const { f, d, book } = await loadFixture(dealFixture);
      const p = d.providers[0];
      const end = BigInt((await f.market.read.getDeal([d.dealId])).endEpoch);
      // After the end, before settlement, the shard is still live: epoch `end` draws on it.
      await nextEpoch(f, end - (await f.market.read.currentEpoch()));
      await fixSeed(f);
      const [entries] = await f.market.read.getEpochChallenges([p.account.address, end]);
      assert.equal(entries.length, 5);
      await proveEpoch(f, p, book);
      const settledAt = await nextEpoch(f);
      await fixSeed(f);
      const drawn = await f.market.read.getEpochChallenges([p.account.address, settledAt]);
      await assertions.emit(f.market.write.settleShard([d.dealId, 0n]), f.market, "ShardSettled");
      const [entry] = await f.market.read.getProofSet([p.account.address, 0n, 1n]);
      assert.equal(BigInt(entry.removedEpoch), settledAt);
      assert.equal((await f.market.read.getProvider([p.account.address])).activeLeaves, 0n);
      // Its epoch's draw stands and is proven; from the next epoch on nothing is owed.
      assert.deepEqual(
        await f.market.read.getEpochChallenges([p.account.address, settledAt]),
        drawn,
      );
      await proveEpoch(f, p, book);
      const after = await nextEpoch(f);
      await fixSeed(f);
      assert.deepEqual(await f.market.read.getEpochChallenges([p.account.address, after]), [
        [],
        [],
      ]);
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, p)).write.submitProof([after, []]),
        f.market,
        "MarketNothingToProve",
        [getAddress(p.account.address), after],
      );
    });

    it("records no patronage when the deal's owner pays itself as the holder", async function () {
      const f = await loadFixture(marketFixture);
      const self = f.providers[0];
      const other = f.providers[1];
      const d = await activeDeal(f, { owner: self, n: 2, k: 1, providers: [self, other] });
      const book = bookOf(d);
      await nextEpoch(f);
      await proveEpoch(f, self, book);
      await proveEpoch(f, other, book);
      await nextEpoch(f, 2n);
      const period = await f.coop.treasury.read.currentPeriod();
      const points = async (w: typeof self) =>
        (await f.coop.treasury.read.getPatronage([period, w.account.address])).points;
      const [selfBefore, otherBefore] = [await points(self), await points(other)];
      const rate = (await f.market.read.getDeal([d.dealId])).shardRate;
      // A round trip of one's own escrow is paid out, but earns and pays no points.
      await assertions.emitWithArgs(
        f.market.write.settleShard([d.dealId, 0n]),
        f.market,
        "ShardPaid",
        [d.dealId, 0, getAddress(self.account.address), 1n, rate],
      );
      assert.equal(await points(self), selfBefore);
      // Paying another member counts: paid for the owner, earned for the holder.
      await send(f, f.market.write.settleShard([d.dealId, 1n]));
      const weights = [
        await f.coop.treasury.read.paidWeight(),
        await f.coop.treasury.read.earnedWeight(),
      ];
      assert.equal(await points(self), selfBefore + rate * weights[0]);
      assert.equal(await points(other), otherBefore + rate * weights[1]);
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
      // The deal is over but the shard stays in the set (and is challenged) until it is settled.
      await proveEpoch(f, d.providers[0], book);
      await nextEpoch(f, 2n);
      for (let i = 0; i < 3; i++) await send(f, f.market.write.settleShard([d.dealId, BigInt(i)]));
      assert.equal(await f.market.read.balanceOf([d.providers[0].account.address]), deal.shardRate);
      const [, escrow] = await f.market.read.totals();
      assert.equal(escrow, 0n);
    });
  });
});
