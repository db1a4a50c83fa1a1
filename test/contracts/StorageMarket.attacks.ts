/**
 * The attacks of the proofs-and-incentives review, each run against the market as an attacker
 * with money would: every test here failed on the contracts before the fix (see the issue's
 * figures in docs/threat-model.md) and asserts the rule that now holds against any strategy.
 * Challenges are recomputed here from the seed as docs/protocol.md specifies, never taken from
 * the contract's own view alone.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { network } from "hardhat";
import {
  type Address,
  type Hex,
  encodeAbiParameters,
  getAddress,
  keccak256,
  parseEventLogs,
  zeroHash,
} from "viem";

import { deployCoop, joinMembers } from "./fixtures/coop.ts";
import {
  GIB,
  MARKET_DEFAULTS,
  type MarketFixture,
  type TestDeal,
  type WalletClient,
  activeDeal,
  bookOf,
  createTestDeal,
  deployMarket,
  drawnProof,
  fixSeed,
  marketAs,
  minStake,
  nextEpoch,
  paramsTuple,
  proveEpoch,
  repairAs,
  send,
} from "./fixtures/market.ts";
import { segmentProof } from "./helpers/merkle.ts";

const C = MARKET_DEFAULTS.challengesPerEpoch;

/** seed_e = keccak256(abi.encode(blockhash(seedBlock), e, market)), read from the chain's blocks. */
async function recomputeSeed(f: MarketFixture, epoch: bigint): Promise<Hex> {
  const [, seedBlock] = await f.market.read.seedOf([epoch]);
  const publicClient = await f.viem.getPublicClient();
  const block = await publicClient.getBlock({ blockNumber: seedBlock });
  return keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "uint256" }, { type: "address" }],
      [block.hash, epoch, f.market.address],
    ),
  );
}

/** Live leaf drawn by challenge `i`: keccak256(abi.encode(seed, provider, i)) mod range. */
function drawLeaf(seed: Hex, provider: Address, i: number, range: bigint): bigint {
  const h = keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "address" }, { type: "uint256" }],
      [seed, provider, BigInt(i)],
    ),
  );
  return BigInt(h) % range;
}

/**
 * The challenges of `provider` in `epoch` from the protocol's definition: the entries live at the
 * start of the epoch, in set order, and the drawn leaves over their leaves. Checked against the
 * contract's view.
 */
async function recomputeChallenges(f: MarketFixture, provider: Address, epoch: bigint) {
  const seed = await recomputeSeed(f, epoch);
  const set = await f.market.read.getProofSet([provider, 0n, 1000n]);
  const live = set
    .map((e, entry) => ({ ...e, entry: BigInt(entry) }))
    .filter((e) => e.addedEpoch < epoch && (e.removedEpoch === 0 || e.removedEpoch >= epoch));
  const range = live.reduce((s, e) => s + BigInt(e.leafCount), 0n);
  const out: { entry: bigint; segment: bigint }[] = [];
  for (let i = 0; i < C; i++) {
    let x = drawLeaf(seed, provider, i, range);
    for (const e of live) {
      if (x < BigInt(e.leafCount)) {
        out.push({ entry: e.entry, segment: x });
        break;
      }
      x -= BigInt(e.leafCount);
    }
  }
  const [entries, segments] = await f.market.read.getEpochChallenges([provider, epoch]);
  assert.deepEqual(
    out,
    entries.map((entry, i) => ({ entry, segment: segments[i] })),
    "the contract draws what the protocol specifies",
  );
  return out;
}

/** Proof of `segment` of a shard whose holder kept only its first `kept` segments. */
function keptProof(d: TestDeal, shard: number, segment: bigint, kept: bigint) {
  if (segment < kept) return segmentProof(d.trees[shard], Number(segment));
  // A dropped segment: the best the holder can send is bytes it does not have.
  const { path } = segmentProof(d.trees[shard], Number(segment));
  return { segment: `0x${"00".repeat(512)}` as Hex, path };
}

describe("StorageMarket under attack", async function () {
  const { viem, networkHelpers } = await network.create();
  const { loadFixture } = networkHelpers;
  const assertions = viem.assertions;

  /** Provider 0 holds one 64 KiB shard (128 leaves) of a long one-shard deal, in its first paid epoch. */
  async function oneShardFixture() {
    const f = await deployMarket(viem, networkHelpers, { capacity: 4n * GIB });
    const d = await activeDeal(f, { n: 1, k: 1, shardSize: 65_536n, duration: 400 });
    await nextEpoch(f);
    return { f, d, p0: f.providers[0] };
  }

  describe("holes: a shard that left the set no longer hides a dropped one", function () {
    it("a huge self-deal accepted and cancelled in one epoch cannot stand in for a deleted shard", async function () {
      const { f, d, p0 } = await loadFixture(oneShardFixture);
      const p0Addr = p0.account.address;
      // The attacker: a one-shard deal with itself, 1024× the honest shard, cancelled at once.
      const self = await activeDeal(f, {
        owner: p0,
        providers: [p0],
        n: 1,
        k: 1,
        shardSize: 64n << 20n,
        duration: 20,
      });
      await send(f, (await marketAs(f, p0)).write.cancelDeal([self.dealId]));
      const end = BigInt((await f.market.read.getDeal([self.dealId])).endEpoch);
      // Its shard is proven while it is live (the attacker holds its own data)...
      let epoch = await nextEpoch(f);
      await proveEpoch(
        f,
        p0,
        new Map([
          [self.dealId, self.trees],
          [d.dealId, d.trees],
        ]),
      );
      // ...and once settled it leaves the set: from the epoch after, every challenge falls on
      // the honest shard, which the attacker deleted.
      epoch = await nextEpoch(f, end + 1n - epoch);
      await send(f, f.market.write.settleShard([self.dealId, 0n]));
      await proveEpoch(
        f,
        p0,
        new Map([
          [self.dealId, self.trees],
          [d.dealId, d.trees],
        ]),
      );
      let passes = 0;
      for (let k = 0; k < 12; k++) {
        epoch = await nextEpoch(f);
        await fixSeed(f);
        const challenges = await recomputeChallenges(f, p0Addr, epoch);
        assert.ok(
          challenges.every((c) => c.entry === 0n),
          "only the live honest shard is drawn",
        );
        // Naming the dead self-deal entry (the old "hole" answer) is refused...
        const hole = challenges.map(() => ({ entry: 1n, segment: "0x" as Hex, path: [] }));
        await assertions.revertWithCustomError(
          (await marketAs(f, p0)).write.submitProof([epoch, hole]),
          f.market,
          "MarketWrongEntry",
        );
        // ...and so is any answer without the data.
        const blind = challenges.map((c) => ({ entry: 0n, ...keptProof(d, 0, c.segment, 0n) }));
        try {
          await send(f, (await marketAs(f, p0)).write.submitProof([epoch, blind]));
          passes++;
        } catch {
          // expected: MarketInvalidProof
        }
      }
      assert.equal(passes, 0, "12 epochs without the data: none proven (12 of 12 before the fix)");
      // Anyone reports the misses once their windows close.
      await nextEpoch(f, 2n);
      await send(f, f.market.write.reportMissedEpoch([p0Addr, epoch - 2n]));
    });

    it("a shard settled in the epoch before cannot answer that epoch's challenges with the data its holder kept", async function () {
      const f = await deployMarket(viem, networkHelpers, { capacity: 4n * GIB });
      const p = f.providers[0];
      const pAddr = p.account.address;
      // Three one-shard deals with p, in set order: a (8 leaves), x (128 leaves, ends soon)
      // and y (128 leaves, the shard the attacker deletes).
      const a = await activeDeal(f, { n: 1, k: 1, providers: [p], duration: 20 });
      const x = await activeDeal(f, {
        n: 1,
        k: 1,
        providers: [p],
        shardSize: 65_536n,
        duration: 2,
      });
      const y = await activeDeal(f, {
        n: 1,
        k: 1,
        providers: [p],
        shardSize: 65_536n,
        duration: 20,
      });
      // x is settled in the epoch after its end: it leaves the set during that epoch, E − 1.
      const end = BigInt((await f.market.read.getDeal([x.dealId])).endEpoch);
      const before = await nextEpoch(f, end + 1n - (await f.market.read.currentEpoch()));
      await send(f, f.market.write.settleShard([x.dealId, 0n]));
      const set = await f.market.read.getProofSet([pAddr, 0n, 3n]);
      assert.deepEqual(
        set.map((e) => [e.dealId, e.leafCount, e.removedEpoch]),
        [
          [a.dealId, 8, 0],
          [x.dealId, 128, Number(before)],
          [y.dealId, 128, 0],
        ],
      );
      // E − 1 began with x live: its challenges there are still answered with x's data.
      await proveEpoch(f, p, bookOf(a, x, y));
      // Epoch E: only a and y are live, so a's 8 leaves and then y's 128 are drawn. Named for
      // a challenge on y, the dead x would start where y starts (leavesBefore(x, E) = 8) and
      // span y's 128 leaves: x's own segment at leaf − 8 is a proof that verifies against
      // x's root, from data the holder kept after x's deal ended.
      const epoch = await nextEpoch(f);
      await fixSeed(f);
      const challenges = await recomputeChallenges(f, pAddr, epoch);
      const onY = challenges.flatMap((c, i) => (c.entry === 2n ? [i] : []));
      assert.ok(onY.length > 0, "a challenge falls on y (chance (8/136)^5 that none does)");
      const harness = await viem.deployContract("SegmentMerkleHarness");
      const hole = [];
      for (const c of challenges) {
        if (c.entry === 0n) {
          hole.push({ entry: 0n, ...segmentProof(a.trees[0], Number(c.segment)) });
          continue;
        }
        // leaf = 8 + c.segment; x's position there is leaf − leavesBefore(x, E) = c.segment.
        const proof = segmentProof(x.trees[0], Number(c.segment));
        assert.ok(
          await harness.read.verify([x.roots[0], 128n, c.segment, proof.segment, proof.path]),
        );
        hole.push({ entry: 1n, ...proof });
      }
      // Refused: x left the set before E began, so it holds no live leaf of E.
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, p)).write.submitProof([epoch, hole]),
        f.market,
        "MarketWrongEntry",
        [BigInt(onY[0]), 1n, 8n + challenges[onY[0]].segment],
      );
      // The honest answer, naming y with y's data, proves E.
      const honest = challenges.map((c) =>
        c.entry === 0n
          ? { entry: 0n, ...segmentProof(a.trees[0], Number(c.segment)) }
          : { entry: 2n, ...segmentProof(y.trees[0], Number(c.segment)) },
      );
      await send(f, (await marketAs(f, p)).write.submitProof([epoch, honest]));
      assert.equal(BigInt((await f.market.read.getProvider([pAddr])).lastProvenEpoch), epoch);
    });

    it("a challenge on the first leaf after an entry's range cannot be answered by naming that entry", async function () {
      const f = await deployMarket(viem, networkHelpers);
      const p = f.providers[0];
      const pAddr = p.account.address;
      // Two one-shard deals with p, in set order: a, then b, each a single leaf (512 bytes).
      // a's range is leaf 0 only; b's first (and only) leaf is 1 = start(a) + a.leafCount, so
      // every challenge on b falls on the first leaf after a's range.
      const a = await activeDeal(f, { n: 1, k: 1, providers: [p], shardSize: 512n, duration: 20 });
      const b = await activeDeal(f, { n: 1, k: 1, providers: [p], shardSize: 512n, duration: 20 });
      const set = await f.market.read.getProofSet([pAddr, 0n, 2n]);
      assert.deepEqual(
        set.map((e) => [e.dealId, e.leafCount]),
        [
          [a.dealId, 1],
          [b.dealId, 1],
        ],
      );
      // Each challenge falls on b with chance 1/2: an epoch draws none on b with chance 2^-5.
      // Epochs without one are proven honestly; none in 6 has chance 2^-30 ≈ 1e-9.
      let epoch = 0n;
      let challenges: { entry: bigint; segment: bigint }[] = [];
      let onB: number[] = [];
      for (let tries = 0; tries < 6 && onB.length === 0; tries++) {
        if (tries > 0) await proveEpoch(f, p, bookOf(a, b));
        epoch = await nextEpoch(f);
        await fixSeed(f);
        challenges = await recomputeChallenges(f, pAddr, epoch);
        onB = challenges.flatMap((c, i) => (c.entry === 1n ? [i] : []));
      }
      assert.ok(onB.length > 0, "a challenge falls on b (chance 2^-30 that none does in 6 epochs)");
      // The first challenge on b names a, with a's own segment and path: leaf 1 lies past a's
      // range [0, 1), so the market refuses the entry before it looks at the proof.
      const wrong = challenges.map((c, i) =>
        i === onB[0] || c.entry === 0n
          ? { entry: 0n, ...segmentProof(a.trees[0], 0) }
          : { entry: 1n, ...segmentProof(b.trees[0], Number(c.segment)) },
      );
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, p)).write.submitProof([epoch, wrong]),
        f.market,
        "MarketWrongEntry",
        [BigInt(onB[0]), 0n, 1n],
      );
      // The honest answer, naming b with b's data, proves the epoch.
      await proveEpoch(f, p, bookOf(a, b), epoch);
      assert.equal(BigInt((await f.market.read.getProvider([pAddr])).lastProvenEpoch), epoch);
    });

    it("a provider that keeps a fraction f of its live leaves passes an epoch with probability ≈ f^c", async function () {
      const { f, d, p0 } = await loadFixture(oneShardFixture);
      const p0Addr = p0.account.address;
      const N = 300;
      const kept = [64n, 96n]; // f = 1/2 and 3/4 of the 128 leaves
      const passes = [0, 0];
      let epoch = await f.market.read.currentEpoch();
      for (let k = 0; k < N; k++) {
        await fixSeed(f);
        const challenges = await recomputeChallenges(f, p0Addr, epoch);
        kept.forEach((keep, j) => {
          if (challenges.every((c) => c.segment < keep)) passes[j]++;
        });
        if (k < 16) {
          // The contract accepts exactly the epochs where f = 1/2 of the data suffices.
          const proofs = challenges.map((c) => ({ entry: 0n, ...keptProof(d, 0, c.segment, 64n) }));
          const ok = challenges.every((c) => c.segment < 64n);
          const tx = (await marketAs(f, p0)).write.submitProof([epoch, proofs]);
          if (ok) await send(f, tx);
          else await assertions.revertWithCustomError(tx, f.market, "MarketInvalidProof");
        }
        epoch = await nextEpoch(f);
      }
      kept.forEach((keep, j) => {
        const p = (Number(keep) / 128) ** C;
        const sd = Math.sqrt(N * p * (1 - p));
        const msg = `f = ${Number(keep) / 128}: ${passes[j]} of ${N} passed, expected ${(N * p).toFixed(1)} ± ${sd.toFixed(1)}`;
        assert.ok(Math.abs(passes[j] - N * p) <= 4 * sd, msg);
      });
    });
  });

  describe("seed grinding: the transaction that fixes a seed cannot choose it", function () {
    it("a contract that calls fixSeed only in blocks it predicts to be favourable gains nothing over 1,000 blocks", async function () {
      const { f, p0 } = await loadFixture(oneShardFixture);
      const p0Addr = p0.account.address;
      const grinder = await viem.deployContract("SeedGrinder", [f.market.address]);
      let epoch = await f.market.read.currentEpoch();
      let favourable = 0;
      let passes = 0;
      const EPOCHS = 25;
      for (let k = 0; k < EPOCHS; k++) {
        // Up to 40 blocks per epoch: 1,000 blocks in all.
        let called = false;
        for (let b = 0; b < 40 && !called; b++) {
          const r = await send(f, grinder.write.grind([p0Addr, 64n, 128n, BigInt(C)]));
          called =
            parseEventLogs({ abi: f.market.abi, logs: r.logs, eventName: "SeedCommitted" }).length >
            0;
        }
        if (called) favourable++;
        await fixSeed(f);
        const challenges = await recomputeChallenges(f, p0Addr, epoch);
        if (challenges.every((c) => c.segment < 64n)) passes++;
        epoch = await nextEpoch(f);
      }
      // The grinder found a block whose caller-visible seed (the rule before the fix) was
      // favourable in most epochs; under that rule each of those epochs would have passed.
      assert.ok(favourable >= 10, `grinder found ${favourable} favourable blocks`);
      // The committed block's hash decides: the honest rate f^c = 1/32, ~0.8 of 25.
      assert.ok(passes <= 5, `${passes} of ${EPOCHS} epochs passed with half the data`);
    });

    it("an epoch's seed is fixed by its first fixSeed: later calls in other blocks do not move it", async function () {
      const { f } = await loadFixture(oneShardFixture);
      const epoch = await f.market.read.currentEpoch();
      const r = await send(f, f.market.write.fixSeed());
      const [committed] = parseEventLogs({
        abi: f.market.abi,
        logs: r.logs,
        eventName: "SeedCommitted",
      });
      assert.equal(committed.args.seedBlock, r.blockNumber + 1n, "committed to the next block");
      assert.equal((await f.market.read.seedOf([epoch]))[0], zeroHash, "unknown until mined");
      await networkHelpers.mine(20);
      const seed = (await f.market.read.seedOf([epoch]))[0];
      assert.equal(seed, await recomputeSeed(f, epoch));
      for (let i = 0; i < 5; i++) await send(f, f.market.write.fixSeed());
      assert.equal((await f.market.read.seedOf([epoch]))[0], seed);
    });

    it("a seed nobody saved within 256 blocks is gone: the epoch can be neither proven nor reported", async function () {
      const { f, p0 } = await loadFixture(oneShardFixture);
      const epoch = await f.market.read.currentEpoch();
      await send(f, f.market.write.fixSeed());
      await networkHelpers.mine(300);
      assert.equal((await f.market.read.seedOf([epoch]))[0], zeroHash);
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, p0)).write.submitProof([epoch, []]),
        f.market,
        "MarketSeedNotFixed",
        [epoch],
      );
      // Calling again does not re-roll it.
      await send(f, f.market.write.fixSeed());
      assert.equal((await f.market.read.seedOf([epoch]))[0], zeroHash);
      // Nobody could have proven it, so nobody is slashed for it: committing a seed and letting
      // it lapse cannot make every provider miss an epoch.
      await nextEpoch(f, 2n);
      await assertions.revertWithCustomErrorWithArgs(
        f.market.write.reportMissedEpoch([p0.account.address, epoch]),
        f.market,
        "MarketNotMissed",
        [getAddress(p0.account.address), epoch],
      );
    });
  });

  describe("patronage: money passed back and forth mints no points", function () {
    it("ten rounds of declareLost → claimRepair → completeRepair between two members earn nothing", async function () {
      const f = await deployMarket(viem, networkHelpers);
      const [a, b] = [f.providers[0], f.spare];
      await send(
        f,
        (await marketAs(f, b)).write.register(["http://b", [], GIB, minStake(f.params, GIB)]),
      );
      // A one-leaf shard of zeros held by a, k = 1 of n = 1 so any holder can rebuild it.
      const d = await activeDeal(f, {
        owner: a,
        providers: [a],
        n: 1,
        k: 1,
        shardSize: 512n,
        duration: 40,
      });
      const period = await f.coop.treasury.read.currentPeriod();
      const pointsOf = async (w: WalletClient) =>
        (await f.coop.treasury.read.getPatronage([period, w.account.address])).points;
      const before = [await pointsOf(a), await pointsOf(b)];
      let holder = a;
      let other = b;
      for (let round = 0; round < 10; round++) {
        await nextEpoch(f);
        await send(f, (await marketAs(f, holder)).write.declareLost([d.dealId, 0n]));
        await send(f, repairAs(f, d, 0, other));
        [holder, other] = [other, holder];
      }
      // Before the fix: 94% of the period's points from the passed-around slashes.
      assert.deepEqual([await pointsOf(a), await pointsOf(b)], before);
    });

    it("a provider storing its own deal earns no points for paying itself", async function () {
      const f = await deployMarket(viem, networkHelpers);
      const p0 = f.providers[0];
      const d = await activeDeal(f, {
        owner: p0,
        providers: [p0],
        n: 1,
        k: 1,
        shardSize: 4096n,
        duration: 2,
      });
      const period = await f.coop.treasury.read.currentPeriod();
      const afterFee = (await f.coop.treasury.read.getPatronage([period, p0.account.address]))
        .points;
      await nextEpoch(f);
      await proveEpoch(f, p0, new Map([[d.dealId, d.trees]]));
      await nextEpoch(f);
      await proveEpoch(f, p0, new Map([[d.dealId, d.trees]]));
      await nextEpoch(f, 2n);
      const r = await send(f, f.market.write.settleShard([d.dealId, 0n]));
      const [paid] = parseEventLogs({ abi: f.market.abi, logs: r.logs, eventName: "ShardPaid" });
      assert.equal(paid.args.epochs, 2n, "it was paid");
      assert.equal(
        (await f.coop.treasury.read.getPatronage([period, p0.account.address])).points,
        afterFee,
      );
    });
  });

  describe("slashes: a provider's slash never comes back to itself", function () {
    it("a missed epoch's slash goes to the reporter's bounty and the treasury, not to the provider's own big deal", async function () {
      const f = await deployMarket(viem, networkHelpers, { capacity: 4n * GIB });
      const p0 = f.providers[0];
      const p0Addr = p0.account.address;
      const honest = await activeDeal(f, { n: 1, k: 1, shardSize: 65_536n, duration: 6 });
      const self = await activeDeal(f, {
        owner: p0,
        providers: [p0],
        n: 1,
        k: 1,
        shardSize: 64n << 20n,
        duration: 6,
      });
      const epoch = await nextEpoch(f);
      await fixSeed(f); // the co-op's other nodes fix the seed; p0 does not prove
      await nextEpoch(f, 2n);
      const treasuryBefore = await f.coop.token.read.balanceOf([f.coop.treasury.address]);
      const r = await send(
        f,
        (await marketAs(f, f.spare)).write.reportMissedEpoch([p0Addr, epoch]),
      );
      const [missed] = parseEventLogs({
        abi: f.market.abi,
        logs: r.logs,
        eventName: "EpochMissed",
      });
      assert.equal(missed.args.slashed, MARKET_DEFAULTS.missedEpochSlash);
      assert.equal(
        (await f.coop.token.read.balanceOf([f.coop.treasury.address])) - treasuryBefore,
        missed.args.slashed - missed.args.bounty,
      );
      // At the end each owner gets exactly its unpaid escrow: no share of the slash.
      await nextEpoch(f, 6n);
      for (const d of [honest, self]) {
        const deal = await f.market.read.getDeal([d.dealId]);
        const r2 = await send(f, f.market.write.settleShard([d.dealId, 0n]));
        const [settled] = parseEventLogs({
          abi: f.market.abi,
          logs: r2.logs,
          eventName: "ShardSettled",
        });
        assert.equal(settled.args.refund, deal.shardRate * BigInt(deal.endEpoch - deal.startEpoch));
      }
    });

    it("bountyBps above half is refused, so reporting oneself always loses at least half the slash", async function () {
      const f = await deployMarket(viem, networkHelpers);
      const m = await marketAs(f, f.gov);
      await assertions.revertWithCustomError(
        m.write.setParams([paramsTuple({ ...MARKET_DEFAULTS, bountyBps: 5_001 })]),
        f.market,
        "MarketInvalidParams",
      );
      await send(f, m.write.setParams([paramsTuple({ ...MARKET_DEFAULTS, bountyBps: 5_000 })]));
    });
  });

  describe("repair claims: a claim cannot squat a lost shard", function () {
    it("a member that claims and never completes does not stop another from repairing at once", async function () {
      const f = await deployMarket(viem, networkHelpers);
      const [squatter, repairer] = [f.providers[3], f.providers[4]];
      const d = await activeDeal(f, { n: 3, k: 2, duration: 20 });
      await nextEpoch(f);
      await send(f, (await marketAs(f, d.providers[0])).write.declareLost([d.dealId, 0n]));
      await send(
        f,
        (await marketAs(f, squatter)).write.claimRepair([d.dealId, 0n, d.roots, d.providerAddrs]),
      );
      assert.equal(
        (await f.market.read.getProvider([squatter.account.address])).used,
        0n,
        "a claim reserves nothing",
      );
      await send(f, repairAs(f, d, 0, repairer));
      assert.equal(
        (await f.market.read.getShard([d.dealId, 0n])).provider,
        getAddress(repairer.account.address),
      );
      // The squatter's late completion finds the shard taken.
      const s = await marketAs(f, squatter);
      const late = await drawnProof(f, d, 0, squatter.account.address);
      await assertions.revertWithCustomError(
        s.write.completeRepair([d.dealId, 0n, late.segment, late.path, d.roots, d.providerAddrs]),
        f.market,
        "MarketWrongShardStatus",
      );
    });

    it("each claimant proves its own segment: a repair proof copied from the mempool fails", async function () {
      const f = await deployMarket(viem, networkHelpers);
      const [honest, copier] = [f.providers[3], f.providers[4]];
      // 2 MiB shards: 4,096 segments to draw from.
      const d = await activeDeal(f, { n: 3, k: 2, shardSize: 2n << 20n, duration: 20 });
      await nextEpoch(f);
      await send(f, (await marketAs(f, d.providers[0])).write.declareLost([d.dealId, 0n]));
      // Both claim in the same block: the same seed block.
      const testClient = await viem.getTestClient();
      await testClient.setAutomine(false);
      const claims = [honest, copier].map(async (w) =>
        (await marketAs(f, w)).write.claimRepair([d.dealId, 0n, d.roots, d.providerAddrs]),
      );
      const hashes = await Promise.all(claims);
      await networkHelpers.mine();
      await testClient.setAutomine(true);
      const pub = await viem.getPublicClient();
      const [r1, r2] = await Promise.all(
        hashes.map((hash) => pub.waitForTransactionReceipt({ hash })),
      );
      assert.equal(r1.blockNumber, r2.blockNumber);
      await networkHelpers.mine(2);
      // The draw binds the claimant: keccak256(abi.encode(blockhash(b), dealId, shard, claimant)).
      const b = r1.blockNumber + 1n;
      const h = (await pub.getBlock({ blockNumber: b })).hash;
      const draw = (who: Address) =>
        BigInt(
          keccak256(
            encodeAbiParameters(
              [{ type: "bytes32" }, { type: "uint256" }, { type: "uint256" }, { type: "address" }],
              [h, d.dealId, 0n, who],
            ),
          ),
        ) % 4096n;
      for (const w of [honest, copier]) {
        assert.equal(
          await f.market.read.drawnSegment([d.dealId, 0n, w.account.address]),
          draw(w.account.address),
        );
      }
      // The copier sends the honest repairer's proof as its own (front-running it).
      if (draw(honest.account.address) !== draw(copier.account.address)) {
        const stolen = await drawnProof(f, d, 0, honest.account.address);
        await assertions.revertWithCustomError(
          (await marketAs(f, copier)).write.completeRepair([
            d.dealId,
            0n,
            stolen.segment,
            stolen.path,
            d.roots,
            d.providerAddrs,
          ]),
          f.market,
          "MarketInvalidProof",
        );
      }
    });
  });

  describe("targeted challenges: the deadline runs from when the holder can know the segment", function () {
    it("an honest holder whose challenge draw nobody fixed for many epochs still answers and is paid the fee", async function () {
      const f = await deployMarket(viem, networkHelpers);
      const d = await activeDeal(f, { n: 3, k: 2, duration: 20 });
      await nextEpoch(f);
      await send(f, (await marketAs(f, f.spare)).write.challengeShard([d.dealId, 0n]));
      await networkHelpers.mine();
      await nextEpoch(f, BigInt(MARKET_DEFAULTS.challengeWindow) + 3n);
      // Before the fix the holder had lost its stake and its shard by now.
      await assertions.revertWithCustomError(
        f.market.write.finalizeChallenge([d.dealId, 0n]),
        f.market,
        "MarketSeedNotFixed",
      );
      const { segment, path } = await drawnProof(f, d, 0);
      const before = await f.market.read.balanceOf([d.providerAddrs[0]]);
      await send(
        f,
        (await marketAs(f, d.providers[0])).write.answerChallenge([d.dealId, 0n, segment, path]),
      );
      assert.equal(
        (await f.market.read.balanceOf([d.providerAddrs[0]])) - before,
        MARKET_DEFAULTS.targetedChallengeFee,
      );
    });

    it("once the draw is fixed the holder has the challenge's own window, whatever governance changes meanwhile", async function () {
      const f = await deployMarket(viem, networkHelpers);
      const d = await activeDeal(f, { n: 3, k: 2, duration: 20 });
      await nextEpoch(f);
      const challenger = await marketAs(f, f.spare);
      await send(f, challenger.write.challengeShard([d.dealId, 0n]));
      await networkHelpers.mine();
      const r = await send(f, challenger.write.fixChallengeSeed([d.dealId, 0n]));
      const [drawn] = parseEventLogs({
        abi: f.market.abi,
        logs: r.logs,
        eventName: "ChallengeDrawn",
      });
      const cur = await f.market.read.currentEpoch();
      assert.equal(BigInt(drawn.args.deadline), cur + BigInt(MARKET_DEFAULTS.challengeWindow));
      // Governance shrinks the window and raises the slash and bounty: the open challenge keeps its own.
      await send(
        f,
        (await marketAs(f, f.gov)).write.setParams([
          paramsTuple({
            ...MARKET_DEFAULTS,
            challengeWindow: 1,
            targetedSlash: 50n * MARKET_DEFAULTS.targetedSlash,
            bountyBps: 5_000,
          }),
        ]),
      );
      await nextEpoch(f, BigInt(MARKET_DEFAULTS.challengeWindow));
      await assertions.revertWithCustomError(
        f.market.write.finalizeChallenge([d.dealId, 0n]),
        f.market,
        "MarketDeadline",
      );
      await nextEpoch(f);
      const r2 = await send(f, f.market.write.finalizeChallenge([d.dealId, 0n]));
      const [lost] = parseEventLogs({ abi: f.market.abi, logs: r2.logs, eventName: "ShardLost" });
      assert.equal(
        lost.args.slashed,
        MARKET_DEFAULTS.targetedSlash,
        "the slash frozen at challenge time",
      );
      const [failed] = parseEventLogs({
        abi: f.market.abi,
        logs: r2.logs,
        eventName: "ChallengeFailed",
      });
      assert.equal(
        failed.args.bounty,
        (MARKET_DEFAULTS.targetedSlash * BigInt(MARKET_DEFAULTS.bountyBps)) / 10_000n,
      );
    });

    it("a running deal keeps the acceptance window it was created with", async function () {
      const f = await deployMarket(viem, networkHelpers);
      const d = await createTestDeal(f, { n: 3, k: 2, duration: 20 });
      await send(
        f,
        (await marketAs(f, f.gov)).write.setParams([
          paramsTuple({ ...MARKET_DEFAULTS, acceptanceWindow: 1 }),
        ]),
      );
      await nextEpoch(f, BigInt(MARKET_DEFAULTS.acceptanceWindow));
      // Still inside the window the deal was created with (2 epochs), though the new one is 1.
      await send(
        f,
        (await marketAs(f, d.providers[0])).write.acceptShard([
          d.dealId,
          0n,
          d.roots,
          d.providerAddrs,
        ]),
      );
    });
  });

  describe("governance: an exited member does not vote", function () {
    it("a member who completed exit after a proposal's snapshot casts no weight on it", async function () {
      const coop = await deployCoop(viem, { exitNotice: 10n });
      const [alice, bob, carol] = coop.accounts;
      await joinMembers(coop, [alice, bob, carol]);
      await networkHelpers.time.increase(1);
      const target = coop.membership.address;
      const data = "0x" as Hex;
      const tx = await coop.governor.write.propose([[target], [0n], [data], "noop"], {
        account: alice.account,
      });
      const pub = await viem.getPublicClient();
      const rc = await pub.waitForTransactionReceipt({ hash: tx });
      const [created] = parseEventLogs({
        abi: coop.governor.abi,
        logs: rc.logs,
        eventName: "ProposalCreated",
      });
      const id = created.args.proposalId;
      await send({ viem }, coop.membership.write.requestExit({ account: bob.account }));
      await networkHelpers.time.increase(coop.params.votingDelay + 11);
      await send({ viem }, coop.membership.write.completeExit({ account: bob.account }));
      assert.equal(await coop.membership.read.isMember([bob.account.address]), false);
      const vote = await send(
        { viem },
        coop.governor.write.castVote([id, 1], { account: bob.account }),
      );
      const [cast] = parseEventLogs({
        abi: coop.governor.abi,
        logs: vote.logs,
        eventName: "VoteCast",
      });
      assert.equal(cast.args.weight, 0n, "no weight after exit (1 before the fix)");
      const [, forVotes] = await coop.governor.read.proposalVotes([id]);
      assert.equal(forVotes, 0n);
    });
  });
});
