/**
 * StorageMarket: governance, providers, deals and views. Proofs and payment are in
 * StorageMarket.proofs.ts, faults and repair in StorageMarket.faults.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { anyValue } from "@nomicfoundation/hardhat-viem-assertions/predicates";
import { network } from "hardhat";
import { encodeAbiParameters, getAddress, keccak256, parseAbiParameters, zeroAddress } from "viem";

import { signPermit } from "./fixtures/coop.js";
import {
  EPOCH_LENGTH,
  GIB,
  MANIFEST_CID,
  MARKET_DEFAULTS,
  UNIT,
  acceptAll,
  activeDeal,
  createTestDeal,
  dealRequest,
  deployMarket,
  endpointOf,
  marketAs,
  minStake,
  nextEpoch,
  paramsTuple,
  send,
  tokenAs,
} from "./fixtures/market.js";

describe("StorageMarket", async function () {
  const { viem, networkHelpers } = await network.create();
  const { loadFixture } = networkHelpers;
  async function marketFixture() {
    return deployMarket(viem, networkHelpers);
  }
  const assertions = viem.assertions;

  describe("constructor", function () {
    it("starts at epoch 1 with the given owner, parameters and wiring", async function () {
      const f = await loadFixture(marketFixture);
      assert.equal((await f.market.read.currentEpoch()) >= 1n, true);
      assert.equal(await f.market.read.owner(), getAddress(f.gov.account.address));
      assert.deepEqual(await f.market.read.params(), paramsTuple(MARKET_DEFAULTS));
      assert.equal(await f.market.read.token(), getAddress(f.coop.token.address));
      assert.equal(await f.market.read.membership(), getAddress(f.coop.membership.address));
      assert.equal(await f.market.read.treasury(), getAddress(f.coop.treasury.address));
      const [, anchorEpoch, length] = await f.market.read.epochClock();
      assert.equal(anchorEpoch, 1);
      assert.equal(BigInt(length), EPOCH_LENGTH);
      assert.equal(await f.market.read.MAX_SHARDS(), 32n);
    });

    it("rejects a zero epoch length and invalid parameters", async function () {
      const f = await loadFixture(marketFixture);
      const ext = await f.market.read.extension();
      const base = [
        f.coop.token.address,
        f.coop.membership.address,
        f.coop.treasury.address,
        ext,
        f.gov.account.address,
      ] as const;
      const impl = await viem.deployContract("StorageMarketBase" as never).catch(() => undefined);
      assert.equal(impl, undefined); // abstract
      const probe = await viem.deployContract("StorageMarket", [
        ...base,
        60,
        paramsTuple(MARKET_DEFAULTS),
      ]);
      await assertions.revertWithCustomErrorWithArgs(
        viem.deployContract("StorageMarket", [...base, 0, paramsTuple(MARKET_DEFAULTS)]),
        probe,
        "MarketInvalidEpochLength",
        [0n],
      );
      await assertions.revertWithCustomError(
        viem.deployContract("StorageMarket", [
          ...base,
          60,
          paramsTuple({ ...MARKET_DEFAULTS, challengesPerEpoch: 0 }),
        ]),
        probe,
        "MarketInvalidParams",
      );
    });

    it("rejects an extension built for another treasury", async function () {
      const f = await loadFixture(marketFixture);
      const stranger = await viem.deployContract("StorageMarketExtension", [
        f.coop.token.address,
        f.coop.membership.address,
        f.spare.account.address,
      ]);
      await assertions.revertWithCustomErrorWithArgs(
        viem.deployContract("StorageMarket", [
          f.coop.token.address,
          f.coop.membership.address,
          f.coop.treasury.address,
          stranger.address,
          f.gov.account.address,
          60,
          paramsTuple(MARKET_DEFAULTS),
        ]),
        f.market,
        "MarketExtensionMismatch",
        [getAddress(stranger.address)],
      );
    });
  });

  describe("setParams", function () {
    it("lets the owner replace the parameters and emits ParamsUpdated", async function () {
      const f = await loadFixture(marketFixture);
      const next = paramsTuple({
        ...MARKET_DEFAULTS,
        pricePerByteEpoch: 2n * 10n ** 18n,
        feeBps: 100,
      });
      const m = await marketAs(f, f.gov);
      await assertions.emitWithArgs(m.write.setParams([next]), f.market, "ParamsUpdated", [next]);
      assert.deepEqual(await f.market.read.params(), next);
    });

    it("rejects anyone but the owner", async function () {
      const f = await loadFixture(marketFixture);
      const m = await marketAs(f, f.owner);
      await assertions.revertWithCustomErrorWithArgs(
        m.write.setParams([paramsTuple(MARKET_DEFAULTS)]),
        f.market,
        "OwnableUnauthorizedAccount",
        [getAddress(f.owner.account.address)],
      );
    });

    it("rejects out-of-range values", async function () {
      const f = await loadFixture(marketFixture);
      const m = await marketAs(f, f.gov);
      for (const bad of [
        { pricePerByteEpoch: 0n },
        { feeBps: 10_001 },
        { bountyBps: 5_001 },
        { challengesPerEpoch: 17 },
        { maxMissedEpochs: 0 },
        { acceptanceWindow: 0 },
        { challengeWindow: 0 },
      ]) {
        await assertions.revertWithCustomError(
          m.write.setParams([paramsTuple({ ...MARKET_DEFAULTS, ...bad })]),
          f.market,
          "MarketInvalidParams",
        );
      }
    });

    it("caps the reporter's bounty at half a slash (MAX_BOUNTY_BPS)", async function () {
      const f = await loadFixture(marketFixture);
      const m = await marketAs(f, f.gov);
      assert.equal(await f.market.read.MAX_BOUNTY_BPS(), 5_000n);
      // A provider that reports its own miss still loses at least half of the slash.
      const half = paramsTuple({ ...MARKET_DEFAULTS, bountyBps: 5_000 });
      await send(f, m.write.setParams([half]));
      assert.equal((await f.market.read.params()).bountyBps, 5_000);
      await assertions.revertWithCustomError(
        m.write.setParams([paramsTuple({ ...MARKET_DEFAULTS, bountyBps: 10_000 })]),
        f.market,
        "MarketInvalidParams",
      );
    });

    it("keeps the price locked in deals created before a change", async function () {
      const f = await loadFixture(marketFixture);
      const d = await createTestDeal(f);
      const before = (await f.market.read.getDeal([d.dealId])).shardRate;
      await send(
        f,
        (await marketAs(f, f.gov)).write.setParams([
          paramsTuple({ ...MARKET_DEFAULTS, pricePerByteEpoch: 3n * 10n ** 18n }),
        ]),
      );
      assert.equal((await f.market.read.getDeal([d.dealId])).shardRate, before);
      const [rate] = await f.market.read.quoteDeal([4096n, 3n, 10n]);
      assert.equal(rate, 3n * before);
    });

    it("keeps the acceptance window frozen in deals created before a change", async function () {
      const f = await loadFixture(marketFixture);
      const d = await createTestDeal(f); // acceptance window 2
      const created = BigInt((await f.market.read.getDeal([d.dealId])).createdEpoch);
      await send(
        f,
        (await marketAs(f, f.gov)).write.setParams([
          paramsTuple({ ...MARKET_DEFAULTS, acceptanceWindow: 10 }),
        ]),
      );
      const later = await createTestDeal(f, { providers: f.providers.slice(3, 6) });
      await nextEpoch(f, 3n);
      // The running deal's deadline stays created + 2: governance cannot reopen or extend it.
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, f.providers[0])).write.acceptShard([
          d.dealId,
          0n,
          d.roots,
          d.providerAddrs,
        ]),
        f.market,
        "MarketAcceptanceWindow",
        [d.dealId, 0n, created + 2n],
      );
      // Its owner may take the escrow back as the frozen window allows.
      await assertions.emit(
        (await marketAs(f, f.owner)).write.refundShard([d.dealId, 1n]),
        f.market,
        "ShardRefunded",
      );
      // A deal created after the change has the new window.
      await assertions.emit(
        (await marketAs(f, f.providers[3])).write.acceptShard([
          later.dealId,
          0n,
          later.roots,
          later.providerAddrs,
        ]),
        f.market,
        "ShardAccepted",
      );
      await assertions.revertWithCustomError(
        (await marketAs(f, f.owner)).write.refundShard([later.dealId, 1n]),
        f.market,
        "MarketAcceptanceWindow",
      );
    });
  });

  describe("renounceOwnership", function () {
    it("is disabled for the owner and refused to others", async function () {
      const f = await loadFixture(marketFixture);
      await assertions.revertWithCustomError(
        (await marketAs(f, f.gov)).read.renounceOwnership({ account: f.gov.account.address }),
        f.market,
        "MarketRenounceDisabled",
      );
      await assertions.revertWithCustomError(
        (await marketAs(f, f.owner)).read.renounceOwnership({ account: f.owner.account.address }),
        f.market,
        "OwnableUnauthorizedAccount",
      );
      assert.equal(await f.market.read.owner(), getAddress(f.gov.account.address));
    });
  });

  describe("setEpochLength", function () {
    it("takes effect at the next epoch boundary without renumbering epochs", async function () {
      const f = await loadFixture(marketFixture);
      const e = await nextEpoch(f);
      await networkHelpers.time.increase(100n);
      const m = await marketAs(f, f.gov);
      await assertions.emitWithArgs(m.write.setEpochLength([60]), f.market, "EpochLengthUpdated", [
        e + 1n,
        60n,
      ]);
      assert.equal(await f.market.read.currentEpoch(), e);
      // A second change in the same epoch only replaces the pending length.
      await send(f, m.write.setEpochLength([120]));
      assert.equal(await f.market.read.currentEpoch(), e);
      const [anchorTime, anchorEpoch, length] = await f.market.read.epochClock();
      assert.equal(BigInt(anchorEpoch), e + 1n);
      assert.equal(length, 120);
      await networkHelpers.time.increaseTo(anchorTime);
      assert.equal(await f.market.read.currentEpoch(), e + 1n);
      await networkHelpers.time.increaseTo(anchorTime + 120n);
      assert.equal(await f.market.read.currentEpoch(), e + 2n);
      await networkHelpers.time.increaseTo(anchorTime + 1200n);
      assert.equal(await f.market.read.currentEpoch(), e + 11n);
    });

    it("rejects zero and non-owners", async function () {
      const f = await loadFixture(marketFixture);
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, f.gov)).write.setEpochLength([0]),
        f.market,
        "MarketInvalidEpochLength",
        [0n],
      );
      await assertions.revertWithCustomError(
        (await marketAs(f, f.owner)).write.setEpochLength([60]),
        f.market,
        "OwnableUnauthorizedAccount",
      );
    });
  });

  describe("register", function () {
    it("registers a member with endpoint, addresses, capacity and stake", async function () {
      const f = await loadFixture(marketFixture);
      const m = await marketAs(f, f.spare);
      const stake = minStake(MARKET_DEFAULTS, 2n * GIB);
      const before = await f.coop.token.read.balanceOf([f.market.address]);
      await assertions.emitWithArgs(
        m.write.register(["http://spare", ["/ip4/10.0.0.1/tcp/1"], 2n * GIB, stake]),
        f.market,
        "ProviderRegistered",
        [
          getAddress(f.spare.account.address),
          "http://spare",
          ["/ip4/10.0.0.1/tcp/1"],
          2n * GIB,
          stake,
        ],
      );
      const p = await f.market.read.getProvider([f.spare.account.address]);
      assert.equal(p.registered, true);
      assert.equal(p.endpoint, "http://spare");
      assert.deepEqual(p.multiaddrs, ["/ip4/10.0.0.1/tcp/1"]);
      assert.equal(p.capacity, 2n * GIB);
      assert.equal(p.stake, stake);
      assert.equal(await f.coop.token.read.balanceOf([f.market.address]), before + stake);
    });

    it("rejects a non-member provider", async function () {
      const f = await loadFixture(marketFixture);
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, f.outsider)).write.register(["x", [], GIB, 100n * UNIT]),
        f.market,
        "MarketNotMember",
        [getAddress(f.outsider.account.address)],
      );
    });

    it("rejects a second registration", async function () {
      const f = await loadFixture(marketFixture);
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, f.providers[0])).write.register(["x", [], GIB, 100n * UNIT]),
        f.market,
        "MarketAlreadyRegistered",
        [getAddress(f.providers[0].account.address)],
      );
    });

    it("rejects a stake that does not fit the accounting width", async function () {
      const f = await loadFixture(marketFixture);
      // Raised in the extension: decoded with its ABI.
      const ext = await viem.getContractAt(
        "StorageMarketExtension",
        await f.market.read.extension(),
      );
      await assertions.revertWithCustomError(
        (await marketAs(f, f.spare)).write.register(["x", [], GIB, 1n << 128n]),
        ext,
        "SafeCastOverflowedUintDowncast",
      );
      await assertions.revertWithCustomError(
        (await marketAs(f, f.providers[0])).write.topUp([1n << 128n]),
        ext,
        "SafeCastOverflowedUintDowncast",
      );
    });

    it("requires the minimum stake for the capacity", async function () {
      const f = await loadFixture(marketFixture);
      const required = minStake(MARKET_DEFAULTS, 3n * GIB);
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, f.spare)).write.register(["x", [], 3n * GIB, required - 1n]),
        f.market,
        "MarketStakeTooLow",
        [required - 1n, required],
      );
    });
  });

  describe("updateProvider", function () {
    it("changes endpoint, addresses and capacity", async function () {
      const f = await loadFixture(marketFixture);
      const p = f.providers[0];
      await assertions.emitWithArgs(
        (await marketAs(f, p)).write.updateProvider(["http://new", ["/dns4/x/tcp/1"], GIB / 2n]),
        f.market,
        "ProviderUpdated",
        [getAddress(p.account.address), "http://new", ["/dns4/x/tcp/1"], GIB / 2n],
      );
      const v = await f.market.read.getProvider([p.account.address]);
      assert.equal(v.endpoint, "http://new");
      assert.equal(v.capacity, GIB / 2n);
    });

    it("rejects unregistered accounts, capacity below use and capacity beyond the stake", async function () {
      const f = await loadFixture(marketFixture);
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, f.spare)).write.updateProvider(["x", [], GIB]),
        f.market,
        "MarketNotRegistered",
        [getAddress(f.spare.account.address)],
      );
      await activeDeal(f);
      const m = await marketAs(f, f.providers[0]);
      await assertions.revertWithCustomErrorWithArgs(
        m.write.updateProvider(["x", [], 100n]),
        f.market,
        "MarketCapacityBelowUsed",
        [100n, 4096n],
      );
      await assertions.revertWithCustomErrorWithArgs(
        m.write.updateProvider(["x", [], 2n * GIB]),
        f.market,
        "MarketStakeTooLow",
        [minStake(MARKET_DEFAULTS, GIB), minStake(MARKET_DEFAULTS, 2n * GIB)],
      );
    });
  });

  describe("topUp", function () {
    it("adds to the stake", async function () {
      const f = await loadFixture(marketFixture);
      const p = f.providers[0];
      const before = (await f.market.read.getProvider([p.account.address])).stake;
      await assertions.emitWithArgs(
        (await marketAs(f, p)).write.topUp([7n]),
        f.market,
        "StakeAdded",
        [getAddress(p.account.address), 7n, before + 7n],
      );
    });

    it("rejects unregistered accounts", async function () {
      const f = await loadFixture(marketFixture);
      await assertions.revertWithCustomError(
        (await marketAs(f, f.spare)).write.topUp([7n]),
        f.market,
        "MarketNotRegistered",
      );
    });
  });

  describe("leave", function () {
    it("moves the stake to the withdrawable balance once nothing is held", async function () {
      const f = await loadFixture(marketFixture);
      const p = f.providers[6];
      const stake = (await f.market.read.getProvider([p.account.address])).stake;
      await assertions.emitWithArgs(
        (await marketAs(f, p)).write.leave(),
        f.market,
        "ProviderLeft",
        [getAddress(p.account.address), stake],
      );
      assert.equal(await f.market.read.balanceOf([p.account.address]), stake);
      assert.equal((await f.market.read.getProvider([p.account.address])).registered, false);
      // It may register again later.
      await send(f, (await marketAs(f, p)).write.register([endpointOf(p), [], GIB, stake]));
    });

    it("refuses while a shard is held", async function () {
      const f = await loadFixture(marketFixture);
      await activeDeal(f);
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, f.providers[0])).write.leave(),
        f.market,
        "MarketProviderBusy",
        [getAddress(f.providers[0].account.address), 1, 4096n],
      );
    });

    it("waits until the last epoch in which its set changed is reportable, then one more epoch", async function () {
      const f = await loadFixture(marketFixture);
      const p = f.providers[0];
      const d = await activeDeal(f, { n: 1, k: 1, providers: [p], duration: 1 });
      const end = BigInt((await f.market.read.getDeal([d.dealId])).endEpoch);
      await nextEpoch(f, end + 1n - (await f.market.read.currentEpoch()));
      // The shard leaves the set now, in epoch `end + 1`, which it still owes.
      await send(f, f.market.write.settleShard([d.dealId, 0n]));
      const left = end + 1n;
      const v = await f.market.read.getProvider([p.account.address]);
      assert.deepEqual([v.activeShards, v.activeLeaves, v.used], [0, 0n, 0n]);
      const m = await marketAs(f, p);
      // Holding nothing is not enough: epoch `left` becomes reportable at `left + 2`, and the
      // provider stays (with its stake) through that epoch.
      for (const cur of [left, left + 1n, left + 2n]) {
        assert.equal(await f.market.read.currentEpoch(), cur);
        await assertions.revertWithCustomErrorWithArgs(
          m.write.leave(),
          f.market,
          "MarketProviderBusy",
          [getAddress(p.account.address), 0, 0n],
        );
        await nextEpoch(f);
      }
      await assertions.emit(m.write.leave(), f.market, "ProviderLeft");
    });
  });

  describe("withdraw", function () {
    it("pays out the whole balance once (double withdraw reverts)", async function () {
      const f = await loadFixture(marketFixture);
      const p = f.providers[6];
      const m = await marketAs(f, p);
      await send(f, m.write.leave());
      const amount = await f.market.read.balanceOf([p.account.address]);
      const before = await f.coop.token.read.balanceOf([p.account.address]);
      await assertions.emitWithArgs(m.write.withdraw(), f.market, "Withdrawn", [
        getAddress(p.account.address),
        amount,
      ]);
      assert.equal(await f.coop.token.read.balanceOf([p.account.address]), before + amount);
      await assertions.revertWithCustomErrorWithArgs(
        m.write.withdraw(),
        f.market,
        "MarketNothingToWithdraw",
        [getAddress(p.account.address)],
      );
    });
  });

  describe("createDeal", function () {
    it("holds the escrow, sends the fee to the treasury, records patronage and reserves capacity", async function () {
      const f = await loadFixture(marketFixture);
      const [rate, escrow, fee] = await f.market.read.quoteDeal([4096n, 3n, 10n]);
      assert.equal(rate, 4096n);
      assert.equal(escrow, 4096n * 3n * 10n);
      assert.equal(fee, (escrow * 500n) / 10_000n);
      const treasuryBefore = await f.coop.token.read.balanceOf([f.coop.treasury.address]);
      const ownerBefore = await f.coop.token.read.balanceOf([f.owner.account.address]);
      const d = await createTestDeal(f);
      assert.equal(
        await f.coop.token.read.balanceOf([f.coop.treasury.address]),
        treasuryBefore + fee,
      );
      assert.equal(
        await f.coop.token.read.balanceOf([f.owner.account.address]),
        ownerBefore - escrow - fee,
      );
      const deal = await f.market.read.getDeal([d.dealId]);
      const cur = await f.market.read.currentEpoch();
      assert.equal(deal.owner, getAddress(f.owner.account.address));
      assert.equal(deal.n, 3);
      assert.equal(deal.k, 2);
      assert.equal(deal.leafCount, 8);
      assert.equal(BigInt(deal.startEpoch), cur + 1n);
      assert.equal(BigInt(deal.endEpoch), cur + 11n);
      assert.equal(deal.manifestCid, MANIFEST_CID);
      assert.equal(
        deal.shardsHash,
        keccak256(
          encodeAbiParameters(parseAbiParameters("bytes32[], address[]"), [
            d.roots,
            d.providerAddrs,
          ]),
        ),
      );
      const s = await f.market.read.getShard([d.dealId, 1n]);
      assert.equal(s.status, 0); // Assigned, to the committed provider: nothing stored per shard yet
      assert.equal(s.provider, zeroAddress);
      assert.equal(s.epoch, deal.createdEpoch);
      // Capacity is checked at creation and reserved at acceptance.
      assert.equal((await f.market.read.getProvider([f.providers[1].account.address])).used, 0n);
      const [, escrowTotal] = await f.market.read.totals();
      assert.equal(escrowTotal, escrow);
    });

    it("emits DealCreated with the request", async function () {
      const f = await loadFixture(marketFixture);
      const req = dealRequest({
        k: 1,
        shardSize: 512n,
        duration: 4,
        roots: [`0x${"11".repeat(32)}`],
        providers: [f.providers[0].account.address],
        manifestCid: MANIFEST_CID,
      });
      const cur = await f.market.read.currentEpoch();
      await assertions.emitWithArgs(
        (await marketAs(f, f.owner)).write.createDeal([req]),
        f.market,
        "DealCreated",
        [
          1n,
          getAddress(f.owner.account.address),
          anyValue,
          Number(cur + 1n),
          Number(cur + 5n),
          2048n,
          102n,
        ],
      );
    });

    it("rejects bad shapes, duplicate, unregistered, non-member and full providers", async function () {
      const f = await loadFixture(marketFixture);
      const m = await marketAs(f, f.owner);
      const P = f.providers.map((p) => p.account.address);
      const r = (n: number) =>
        Array.from({ length: n }, (_, i) => `0x${(i + 1).toString(16).padStart(64, "0")}` as const);
      const base = { k: 1, shardSize: 4096n, duration: 5, manifestCid: MANIFEST_CID };
      for (const bad of [
        { ...base, k: 0, roots: r(1), providers: P.slice(0, 1) },
        { ...base, k: 2, roots: r(1), providers: P.slice(0, 1) },
        { ...base, roots: r(2), providers: P.slice(0, 1) },
        { ...base, shardSize: 0n, roots: r(1), providers: P.slice(0, 1) },
        { ...base, duration: 0, roots: r(1), providers: P.slice(0, 1) },
        { ...base, roots: r(33), providers: Array(33).fill(P[0]) },
      ]) {
        await assertions.revertWithCustomError(
          m.write.createDeal([dealRequest(bad)]),
          f.market,
          "MarketInvalidDeal",
        );
      }
      for (const cid of [
        "0x",
        `0x01551220${"ab".repeat(31)}`,
        `0x01701320${"ab".repeat(32)}`,
        `0x01801220${"ab".repeat(32)}`,
      ] as const) {
        await assertions.revertWithCustomErrorWithArgs(
          m.write.createDeal([
            dealRequest({ ...base, manifestCid: cid, roots: r(1), providers: P.slice(0, 1) }),
          ]),
          f.market,
          "MarketInvalidManifestCid",
          [cid],
        );
      }
      await assertions.revertWithCustomErrorWithArgs(
        m.write.createDeal([dealRequest({ ...base, roots: r(2), providers: [P[0], P[0]] })]),
        f.market,
        "MarketDuplicateProvider",
        [getAddress(P[0]), 1n],
      );
      await assertions.revertWithCustomErrorWithArgs(
        m.write.createDeal([
          dealRequest({ ...base, roots: r(1), providers: [f.spare.account.address] }),
        ]),
        f.market,
        "MarketNotRegistered",
        [getAddress(f.spare.account.address)],
      );
      await assertions.revertWithCustomErrorWithArgs(
        m.write.createDeal([
          dealRequest({ ...base, shardSize: GIB + 1n, roots: r(1), providers: [P[0]] }),
        ]),
        f.market,
        "MarketInsufficientCapacity",
        [getAddress(P[0]), GIB + 1n, GIB],
      );
      // A provider whose membership ended cannot be chosen.
      const membership = await viem.getContractAt("CoopMembership", f.coop.membership.address, {
        client: { wallet: f.providers[0] },
      });
      await send(f, membership.write.requestExit());
      await networkHelpers.time.increase(f.coop.params.exitNotice + 1n);
      await send(f, membership.write.completeExit());
      await assertions.revertWithCustomErrorWithArgs(
        m.write.createDeal([dealRequest({ ...base, roots: r(1), providers: [P[0]] })]),
        f.market,
        "MarketNotMember",
        [getAddress(P[0])],
      );
    });

    it("rejects a deal whose shard rate does not fit the stored width (uint96)", async function () {
      const f = await loadFixture(marketFixture);
      // Governance may set any uint128 price; a rate beyond 2^96 - 1 cannot be stored.
      const price = 1n << 127n;
      await send(
        f,
        (await marketAs(f, f.gov)).write.setParams([
          paramsTuple({ ...MARKET_DEFAULTS, pricePerByteEpoch: price }),
        ]),
      );
      const [rate] = await f.market.read.quoteDeal([GIB, 1n, 1n]);
      assert.equal(rate, (GIB * price + 10n ** 18n - 1n) / 10n ** 18n);
      assert.ok(rate >= 1n << 96n);
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, f.owner)).write.createDeal([
          dealRequest({
            k: 1,
            shardSize: GIB,
            duration: 1,
            roots: [`0x${"11".repeat(32)}`],
            providers: [f.providers[0].account.address],
            manifestCid: MANIFEST_CID,
          }),
        ]),
        f.market,
        "SafeCastOverflowedUintDowncast",
        [96, rate],
      );
    });
  });

  describe("createDealWithPermit", function () {
    it("creates a deal with one signature and one transaction, no prior approval", async function () {
      const f = await loadFixture(marketFixture);
      const buyer = f.spare;
      await send(f, (await tokenAs(f, buyer)).write.approve([f.market.address, 0n]));
      const [, escrow, fee] = await f.market.read.quoteDeal([4096n, 2n, 3n]);
      const deadline = BigInt(await networkHelpers.time.latest()) + 3600n;
      const { v, r, s } = await signPermit(
        viem,
        f.coop.token,
        buyer,
        f.market.address,
        escrow + fee,
        deadline,
      );
      const req = dealRequest({
        k: 1,
        shardSize: 4096n,
        duration: 3,
        roots: [`0x${"22".repeat(32)}`, `0x${"33".repeat(32)}`],
        providers: [f.providers[0].account.address, f.providers[1].account.address],
        manifestCid: MANIFEST_CID,
      });
      const m = await marketAs(f, buyer);
      await assertions.emit(
        m.write.createDealWithPermit([req, escrow + fee, deadline, v, r, s]),
        f.market,
        "DealCreated",
      );
      assert.equal((await f.market.read.getDeal([1n])).owner, getAddress(buyer.account.address));
      // A replayed (used) permit is ignored; without allowance the transfer then fails.
      await assertions.revertWithCustomError(
        m.write.createDealWithPermit([req, escrow + fee, deadline, v, r, s]),
        f.coop.token,
        "ERC20InsufficientAllowance",
      );
    });
  });

  describe("acceptShard", function () {
    it("appends the shard to the provider's proof set and activates it from the next epoch", async function () {
      const f = await loadFixture(marketFixture);
      const d = await createTestDeal(f);
      const p = f.providers[1];
      const cur = await f.market.read.currentEpoch();
      await assertions.emitWithArgs(
        (await marketAs(f, p)).write.acceptShard([d.dealId, 1n, d.roots, d.providerAddrs]),
        f.market,
        "ShardAccepted",
        [d.dealId, 1, getAddress(p.account.address), 0n],
      );
      const s = await f.market.read.getShard([d.dealId, 1n]);
      assert.equal(s.status, 1);
      assert.equal(s.root, d.roots[1]);
      assert.equal(s.provider, getAddress(p.account.address));
      assert.equal((await f.market.read.getProvider([p.account.address])).used, 4096n);
      assert.equal(BigInt(s.epoch), cur + 1n);
      // In the set from the start of the next epoch: added now, not removed.
      const set = await f.market.read.getProofSet([p.account.address, 0n, 10n]);
      assert.deepEqual(set, [
        { dealId: d.dealId, shard: 1, leafCount: 8, addedEpoch: Number(cur), removedEpoch: 0 },
      ]);
      assert.equal(s.entry, 0);
      const v = await f.market.read.getProvider([p.account.address]);
      assert.equal(v.entryCount, 1);
      assert.equal(v.activeLeaves, 8n);
      assert.equal(v.activeShards, 1);
    });

    it("rejects a double accept, a wrong provider, wrong roots and a late accept", async function () {
      const f = await loadFixture(marketFixture);
      const d = await createTestDeal(f);
      const m1 = await marketAs(f, f.providers[1]);
      await assertions.revertWithCustomErrorWithArgs(
        m1.write.acceptShard([d.dealId, 0n, d.roots, d.providerAddrs]),
        f.market,
        "MarketShardNotAssigned",
        [d.dealId, 0n, getAddress(f.providers[1].account.address)],
      );
      await assertions.revertWithCustomErrorWithArgs(
        m1.write.acceptShard([d.dealId, 1n, [...d.roots].reverse(), d.providerAddrs]),
        f.market,
        "MarketCommitmentMismatch",
        [d.dealId],
      );
      await send(f, m1.write.acceptShard([d.dealId, 1n, d.roots, d.providerAddrs]));
      await assertions.revertWithCustomErrorWithArgs(
        m1.write.acceptShard([d.dealId, 1n, d.roots, d.providerAddrs]),
        f.market,
        "MarketWrongShardStatus",
        [d.dealId, 1n, 1],
      );
      const created = (await f.market.read.getDeal([d.dealId])).createdEpoch;
      await nextEpoch(f, 3n);
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, f.providers[2])).write.acceptShard([
          d.dealId,
          2n,
          d.roots,
          d.providerAddrs,
        ]),
        f.market,
        "MarketAcceptanceWindow",
        [d.dealId, 2n, BigInt(created) + 2n],
      );
      await assertions.revertWithCustomErrorWithArgs(
        m1.write.acceptShard([99n, 0n, d.roots, d.providerAddrs]),
        f.market,
        "MarketUnknownDeal",
        [99n],
      );
      await assertions.revertWithCustomErrorWithArgs(
        m1.write.acceptShard([d.dealId, 3n, d.roots, d.providerAddrs]),
        f.market,
        "MarketUnknownShard",
        [d.dealId, 3n],
      );
    });

    it("rejects accepting when no paid epoch is left", async function () {
      const f = await loadFixture(marketFixture);
      const d = await createTestDeal(f, { duration: 1 });
      await nextEpoch(f);
      await assertions.revertWithCustomError(
        (await marketAs(f, f.providers[0])).write.acceptShard([
          d.dealId,
          0n,
          d.roots,
          d.providerAddrs,
        ]),
        f.market,
        "MarketDealEnded",
      );
    });
  });

  describe("reassignShard", function () {
    it("hands an unaccepted shard to another provider after the window", async function () {
      const f = await loadFixture(marketFixture);
      const d = await createTestDeal(f);
      await nextEpoch(f, 3n);
      const m = await marketAs(f, f.owner);
      const to = f.providers[5];
      await assertions.emitWithArgs(
        m.write.reassignShard([d.dealId, 0n, to.account.address, d.roots, d.providerAddrs]),
        f.market,
        "ShardReassigned",
        [d.dealId, 0, getAddress(to.account.address)],
      );
      const s = await f.market.read.getShard([d.dealId, 0n]);
      assert.equal(s.provider, getAddress(to.account.address));
      assert.equal(BigInt(s.epoch), await f.market.read.currentEpoch());
      // The old provider can no longer accept; the new one gets a fresh window.
      await assertions.revertWithCustomError(
        (await marketAs(f, f.providers[0])).write.acceptShard([
          d.dealId,
          0n,
          d.roots,
          d.providerAddrs,
        ]),
        f.market,
        "MarketShardNotAssigned",
      );
      await send(
        f,
        (await marketAs(f, to)).write.acceptShard([d.dealId, 0n, d.roots, d.providerAddrs]),
      );
      assert.equal((await f.market.read.getProvider([to.account.address])).used, 4096n);
    });

    it("rejects non-owners, an open window, and a provider already in the deal", async function () {
      const f = await loadFixture(marketFixture);
      const d = await createTestDeal(f);
      const m = await marketAs(f, f.owner);
      await assertions.revertWithCustomErrorWithArgs(
        (await marketAs(f, f.providers[0])).write.reassignShard([
          d.dealId,
          0n,
          f.providers[5].account.address,
          d.roots,
          d.providerAddrs,
        ]),
        f.market,
        "MarketNotDealOwner",
        [d.dealId, getAddress(f.providers[0].account.address)],
      );
      await assertions.revertWithCustomError(
        m.write.reassignShard([
          d.dealId,
          0n,
          f.providers[5].account.address,
          d.roots,
          d.providerAddrs,
        ]),
        f.market,
        "MarketAcceptanceWindow",
      );
      await nextEpoch(f, 3n);
      await assertions.revertWithCustomErrorWithArgs(
        m.write.reassignShard([
          d.dealId,
          0n,
          f.providers[1].account.address,
          d.roots,
          d.providerAddrs,
        ]),
        f.market,
        "MarketRepairIneligible",
        [getAddress(f.providers[1].account.address), 1n],
      );
      await assertions.revertWithCustomErrorWithArgs(
        m.write.reassignShard([7n, 0n, f.providers[1].account.address, d.roots, d.providerAddrs]),
        f.market,
        "MarketUnknownDeal",
        [7n],
      );
    });

    it("rejects after the deal ended", async function () {
      const f = await loadFixture(marketFixture);
      const d = await createTestDeal(f, { duration: 2 });
      await nextEpoch(f, 4n);
      await assertions.revertWithCustomError(
        (await marketAs(f, f.owner)).write.reassignShard([
          d.dealId,
          0n,
          f.providers[5].account.address,
          d.roots,
          d.providerAddrs,
        ]),
        f.market,
        "MarketDealEnded",
      );
    });
  });

  describe("refundShard", function () {
    it("refunds an unaccepted shard's escrow and closes it", async function () {
      const f = await loadFixture(marketFixture);
      const d = await createTestDeal(f);
      await nextEpoch(f, 3n);
      const m = await marketAs(f, f.owner);
      await assertions.emitWithArgs(
        m.write.refundShard([d.dealId, 2n]),
        f.market,
        "ShardRefunded",
        [d.dealId, 2, 4096n * 10n],
      );
      assert.equal(await f.market.read.balanceOf([f.owner.account.address]), 4096n * 10n);
      assert.equal((await f.market.read.getShard([d.dealId, 2n])).status, 3);
      await assertions.revertWithCustomError(
        m.write.refundShard([d.dealId, 2n]),
        f.market,
        "MarketWrongShardStatus",
      );
    });
  });

  describe("extendDeal", function () {
    it("adds epochs for open shards, paying escrow and fee", async function () {
      const f = await loadFixture(marketFixture);
      const d = await activeDeal(f);
      const before = await f.market.read.getDeal([d.dealId]);
      const escrow = 4096n * 3n * 5n;
      await assertions.emitWithArgs(
        (await marketAs(f, f.owner)).write.extendDeal([d.dealId, 5]),
        f.market,
        "DealExtended",
        [d.dealId, before.endEpoch + 5, escrow, (escrow * 500n) / 10_000n],
      );
    });

    it("rejects zero, non-owners and ended deals", async function () {
      const f = await loadFixture(marketFixture);
      const d = await activeDeal(f, { duration: 1 });
      const m = await marketAs(f, f.owner);
      await assertions.revertWithCustomError(
        m.write.extendDeal([d.dealId, 0]),
        f.market,
        "MarketInvalidDeal",
      );
      await assertions.revertWithCustomError(
        (await marketAs(f, f.spare)).write.extendDeal([d.dealId, 1]),
        f.market,
        "MarketNotDealOwner",
      );
      await nextEpoch(f, 2n);
      await assertions.revertWithCustomError(
        m.write.extendDeal([d.dealId, 1]),
        f.market,
        "MarketDealEnded",
      );
    });
  });

  describe("cancelDeal", function () {
    it("ends the deal after the current epoch and refunds later epochs now", async function () {
      const f = await loadFixture(marketFixture);
      const d = await activeDeal(f);
      const e = await nextEpoch(f, 2n); // epochs start+0 and start+1 stay payable
      const deal = await f.market.read.getDeal([d.dealId]);
      const refund = 4096n * 3n * (BigInt(deal.endEpoch) - (e + 1n));
      const m = await marketAs(f, f.owner);
      await assertions.emitWithArgs(m.write.cancelDeal([d.dealId]), f.market, "DealCancelled", [
        d.dealId,
        Number(e + 1n),
        refund,
      ]);
      assert.equal(await f.market.read.balanceOf([f.owner.account.address]), refund);
      assert.equal((await f.market.read.getDeal([d.dealId])).cancelled, true);
      await assertions.revertWithCustomError(
        m.write.cancelDeal([d.dealId]),
        f.market,
        "MarketDealEnded",
      );
      await assertions.revertWithCustomError(
        m.write.extendDeal([d.dealId, 1]),
        f.market,
        "MarketDealEnded",
      );
    });

    it("before the deal starts, refunds everything", async function () {
      const f = await loadFixture(marketFixture);
      const d = await createTestDeal(f);
      await send(f, (await marketAs(f, f.owner)).write.cancelDeal([d.dealId]));
      assert.equal(await f.market.read.balanceOf([f.owner.account.address]), 4096n * 3n * 10n);
      await assertions.revertWithCustomError(
        (await marketAs(f, f.spare)).write.cancelDeal([d.dealId]),
        f.market,
        "MarketNotDealOwner",
      );
    });
  });

  describe("views", function () {
    it("getDeal and getShard reject unknown ids; getProofSet pages", async function () {
      const f = await loadFixture(marketFixture);
      await assertions.revertWithCustomErrorWithArgs(
        f.market.read.getDeal([5n]),
        f.market,
        "MarketUnknownDeal",
        [5n],
      );
      await assertions.revertWithCustomErrorWithArgs(
        f.market.read.getShard([5n, 0n]),
        f.market,
        "MarketUnknownDeal",
        [5n],
      );
      const p = f.providers[0];
      const deals = [];
      for (let i = 0; i < 3; i++) deals.push(await activeDeal(f, { n: 1, k: 1 }));
      const page = await f.market.read.getProofSet([p.account.address, 1n, 5n]);
      const cur = Number(await f.market.read.currentEpoch());
      assert.deepEqual(
        page.map((e) => [e.dealId, e.shard, e.leafCount, e.addedEpoch, e.removedEpoch]),
        [
          [deals[1].dealId, 0, 8, cur, 0],
          [deals[2].dealId, 0, 8, cur, 0],
        ],
      );
      assert.deepEqual(await f.market.read.getProofSet([p.account.address, 9n, 5n]), []);
      assert.deepEqual(await f.market.read.getEpochChallenges([p.account.address, 1n]), [[], []]);
      assert.deepEqual(await f.market.read.seedOf([1000n]), [`0x${"00".repeat(32)}`, 0n]);
      assert.equal(await f.market.read.provenEpochsBetween([p.account.address, 5n, 1n]), 0n);
      assert.equal(zeroAddress, (await f.market.read.getShard([deals[0].dealId, 0n])).challenger);
    });

    it("token conservation: totals equal the market's token balance", async function () {
      const f = await loadFixture(marketFixture);
      const d = await activeDeal(f);
      await acceptAll(f, await createTestDeal(f, { providers: f.providers.slice(3, 6) }));
      await nextEpoch(f);
      void d;
      const [a, b, c, e] = await f.market.read.totals();
      assert.equal(a + b + c + e, await f.coop.token.read.balanceOf([f.market.address]));
    });
  });
});
