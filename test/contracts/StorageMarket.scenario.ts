/**
 * One long scenario through the whole co-op: members join, a provider registers, a deal is
 * created with a permit and accepted, proven over several epochs and paid; a missed epoch is
 * reported and slashed; a lost shard is repaired; a proposal passes and the timelock changes
 * the price; a dividend is declared and claimed; a member exits and gets its share back.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { network } from "hardhat";
import { getAddress } from "viem";

import { governanceCall, passProposal, signPermit } from "./fixtures/coop.js";
import {
  GIB,
  MANIFEST_CID,
  MARKET_DEFAULTS,
  bookOf,
  dealRequest,
  deployMarket,
  drawnProof,
  fixSeed,
  marketAs,
  minStake,
  nextEpoch,
  paramsTuple,
  proveEpoch,
  send,
  tokenAs,
  type TestDeal,
} from "./fixtures/market.js";
import { buildSegmentTree } from "./helpers/merkle.js";
import { randomBytes } from "node:crypto";

describe("Co-op scenario", async function () {
  const { viem, networkHelpers } = await network.create();

  it("runs a deal's whole life and the co-op's governance around it", async function () {
    // Members join and six providers register (the fixture); the market is owned by the timelock.
    const f = await deployMarket(viem, networkHelpers, { timelockOwner: true });
    assert.equal(await f.market.read.owner(), getAddress(f.coop.timelock.address));
    // The spare member registers as a provider too.
    await send(f, (await marketAs(f, f.spare)).write.register(["http://spare", ["/ip4/127.0.0.1/tcp/4100"], GIB, minStake(MARKET_DEFAULTS, GIB)]));

    // A deal is created with a permit: one signature, one transaction, no approval.
    const owner = f.owner;
    await send(f, (await tokenAs(f, owner)).write.approve([f.market.address, 0n]));
    const providers = f.providers.slice(0, 3);
    const trees = providers.map(() => buildSegmentTree(randomBytes(16_384)));
    const req = dealRequest({
      k: 2,
      shardSize: 16_384n,
      duration: 8,
      roots: trees.map((t) => t.root),
      providers: providers.map((p) => p.account.address),
      manifestCid: MANIFEST_CID,
    });
    const [, escrow, fee] = await f.market.read.quoteDeal([16_384n, 3n, 8n]);
    const deadline = BigInt(await networkHelpers.time.latest()) + 3_600n;
    const permit = await signPermit(viem, f.coop.token, owner, f.market.address, escrow + fee, deadline);
    const { result: dealId } = await f.market.simulate.createDealWithPermit(
      [req, escrow + fee, deadline, permit.v, permit.r, permit.s],
      { account: owner.account.address },
    );
    await send(f, (await marketAs(f, owner)).write.createDealWithPermit([req, escrow + fee, deadline, permit.v, permit.r, permit.s]));
    const d: TestDeal = { dealId, trees, roots: req.roots, providers, shardSize: 16_384n, providerAddrs: req.providers };

    // Each provider checks its shard against the root and accepts.
    for (let i = 0; i < 3; i++) {
      await send(f, (await marketAs(f, providers[i])).write.acceptShard([dealId, BigInt(i), d.roots, d.providerAddrs]));
    }

    // Three epochs proven by everyone; provider 2 then misses one and is reported.
    const book = bookOf(d);
    await nextEpoch(f);
    for (let e = 0; e < 3; e++) {
      if (e > 0) await nextEpoch(f);
      for (const p of providers) await proveEpoch(f, p, book);
    }
    const missed = await nextEpoch(f);
    await proveEpoch(f, providers[0], book);
    await proveEpoch(f, providers[1], book);
    await nextEpoch(f, 2n);
    const stakeBefore = (await f.market.read.getProvider([providers[2].account.address])).stake;
    await send(f, (await marketAs(f, f.spare)).write.reportMissedEpoch([providers[2].account.address, missed]));
    assert.equal((await f.market.read.getProvider([providers[2].account.address])).stake, stakeBefore - MARKET_DEFAULTS.missedEpochSlash);

    // Provider 1 pays for what it proved so far, then loses its disk and declares the shard lost.
    await send(f, f.market.write.settleShard([dealId, 1n]));
    assert.equal(await f.market.read.balanceOf([providers[1].account.address]), 4n * 16_384n);
    await send(f, (await marketAs(f, providers[1])).write.declareLost([dealId, 1n]));

    // The spare member rebuilds it from k others and repairs it.
    const repairer = await marketAs(f, f.spare);
    await send(f, repairer.write.claimRepair([dealId, 1n, d.roots, d.providerAddrs]));
    await nextEpoch(f);
    await fixSeed(f);
    const { segment, path } = await drawnProof(f, d, 1, f.spare.account.address);
    await send(f, repairer.write.completeRepair([dealId, 1n, segment, path]));
    const repairEpoch = await f.market.read.currentEpoch();
    const repairReward = await f.market.read.balanceOf([f.spare.account.address]);
    assert.ok(repairReward >= MARKET_DEFAULTS.declaredLostSlash);
    assert.equal((await f.market.read.getShard([dealId, 1n])).provider, getAddress(f.spare.account.address));

    // Governance: a proposal passes and the timelock doubles the price.
    const voters = [owner, ...f.providers, f.spare];
    const newParams = paramsTuple({ ...MARKET_DEFAULTS, pricePerByteEpoch: 2n * MARKET_DEFAULTS.pricePerByteEpoch });
    await passProposal(f.coop, networkHelpers, [governanceCall(f.market, "setParams", [newParams])], "Double the storage price", voters);
    assert.deepEqual(await f.market.read.params(), newParams);
    const [rate] = await f.market.read.quoteDeal([16_384n, 1n, 1n]);
    assert.equal(rate, 2n * 16_384n);
    assert.equal((await f.market.read.getDeal([dealId])).shardRate, 16_384n); // locked at creation

    // The rest of the deal: everyone proves until the end, then settlement pays and refunds.
    const end = BigInt((await f.market.read.getDeal([dealId])).endEpoch);
    let cur = await f.market.read.currentEpoch();
    while (cur < end) {
      for (const p of [providers[0], f.spare, providers[2]]) {
        // The repaired shard is challenged from the epoch after it joined the spare's set.
        if (p === f.spare && cur <= repairEpoch) continue;
        if (BigInt((await f.market.read.getProvider([p.account.address])).lastProvenEpoch) < cur) {
          await proveEpoch(f, p, book);
        }
      }
      cur = await nextEpoch(f);
    }
    await nextEpoch(f);
    for (let i = 0n; i < 3n; i++) await send(f, f.market.write.settleShard([dealId, i]));
    // The repairer was paid for the epochs it proved after taking over the slot.
    assert.ok((await f.market.read.balanceOf([f.spare.account.address])) > repairReward);
    const p0 = providers[0].account.address;
    const earned = await f.market.read.balanceOf([p0]);
    assert.ok(earned > 0n);
    const before = await f.coop.token.read.balanceOf([p0]);
    await send(f, (await marketAs(f, providers[0])).write.withdraw());
    assert.equal(await f.coop.token.read.balanceOf([p0]), before + earned);
    const [balances, escrowLeft, stakes, pools] = await f.market.read.totals();
    assert.equal(escrowLeft, 0n);
    assert.equal(balances + stakes + pools, await f.coop.token.read.balanceOf([f.market.address]));

    // A dividend for the closed patronage period is declared by governance and claimed.
    const period = await f.coop.treasury.read.currentPeriod();
    await networkHelpers.time.increase(f.coop.params.periodLength);
    const dividend = (await f.coop.treasury.read.freeBalance()) / 2n;
    await passProposal(
      f.coop,
      networkHelpers,
      [governanceCall(f.coop.treasury, "declareDividend", [period, dividend])],
      "Declare the storage dividend",
      voters,
    );
    const claimable = await f.coop.treasury.read.claimableDividend([period, owner.account.address]);
    assert.ok(claimable > 0n);
    const treasuryAsOwner = await viem.getContractAt("PatronageTreasury", f.coop.treasury.address, { client: { wallet: owner } });
    const ownerBefore = await f.coop.token.read.balanceOf([owner.account.address]);
    await send(f, treasuryAsOwner.write.claimDividend([period]));
    assert.equal(await f.coop.token.read.balanceOf([owner.account.address]), ownerBefore + claimable);

    // A member (a provider with nothing left) exits and gets its share back.
    const leaver = f.providers[6];
    await send(f, (await marketAs(f, leaver)).write.leave());
    const membership = await viem.getContractAt("CoopMembership", f.coop.membership.address, { client: { wallet: leaver } });
    await send(f, membership.write.requestExit());
    await networkHelpers.time.increase(f.coop.params.exitNotice + 1n);
    const tokenBefore = await f.coop.token.read.balanceOf([leaver.account.address]);
    await send(f, membership.write.completeExit());
    assert.equal(await f.coop.token.read.balanceOf([leaver.account.address]), tokenBefore + f.coop.params.shareAmount);
    assert.equal(await f.coop.membership.read.isMember([leaver.account.address]), false);
  });
});
