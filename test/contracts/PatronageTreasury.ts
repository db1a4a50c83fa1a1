import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { network } from "hardhat";
import { encodeFunctionData, getAddress, type Hex, zeroAddress } from "viem";

import { COOP_DEFAULTS, deployCoop, impersonateTimelock, joinMembers } from "./fixtures/coop.ts";

const DAY = COOP_DEFAULTS.periodLength;
const WINDOW = COOP_DEFAULTS.claimWindow;
const UNIT = 10n ** 6n;

describe("PatronageTreasury", async function () {
  const { viem, networkHelpers } = await network.create();
  const publicClient = await viem.getPublicClient();
  const { loadFixture, time } = networkHelpers;

  /**
   * alice, bob, carol are members; dave is not; `market` (an EOA here) is the recorder; the
   * treasury holds 1 000 tokens of fees and belongs to the timelock (impersonated as `governance`).
   */
  async function treasuryFixture() {
    const wallets = await viem.getWalletClients();
    const market = wallets[10];
    const coop = await deployCoop(viem, { recorder: market.account.address });
    const [alice, bob, carol, dave] = coop.accounts;
    await joinMembers(coop, [alice, bob, carol]);
    await coop.token.write.faucet({ account: coop.deployer.account });
    await coop.token.write.transfer([coop.treasury.address, 1_000n * UNIT], {
      account: coop.deployer.account,
    });
    const governance = await impersonateTimelock(coop, networkHelpers);
    return { ...coop, alice, bob, carol, dave, market, governance };
  }

  /** Period 0 closed with alice 1 000 points (paid), bob 2 000 (earned), carol 0; 300 tokens declared. */
  async function declaredFixture() {
    const f = await treasuryFixture();
    const { treasury, market, alice, bob, governance } = f;
    await treasury.write.recordPatronage([alice.account.address, 1_000n, 0n], {
      account: market.account,
    });
    await treasury.write.recordPatronage([bob.account.address, 0n, 2_000n], {
      account: market.account,
    });
    await time.increase(DAY);
    const hash = await treasury.write.declareDividend([0n, 300n * UNIT], {
      account: governance.account,
    });
    const block = await publicClient.getBlock({
      blockNumber: (await publicClient.waitForTransactionReceipt({ hash })).blockNumber,
    });
    return { ...f, deadline: block.timestamp + WINDOW };
  }

  async function balanceOf(
    f: { token: { read: { balanceOf(a: readonly [Hex]): Promise<bigint> } } },
    a: Hex,
  ) {
    return f.token.read.balanceOf([a]);
  }

  describe("constructor", function () {
    it("stores its parameters, starts period 0 now and is owned by the timelock", async function () {
      const { treasury, token, membership, timelock, market } = await loadFixture(treasuryFixture);
      assert.equal(await treasury.read.token(), getAddress(token.address));
      assert.equal(await treasury.read.membership(), getAddress(membership.address));
      assert.equal(await treasury.read.periodLength(), DAY);
      assert.equal(await treasury.read.claimWindow(), WINDOW);
      assert.equal(await treasury.read.paidWeight(), 1n);
      assert.equal(await treasury.read.earnedWeight(), 1n);
      assert.equal(await treasury.read.recorder(), getAddress(market.account.address));
      assert.equal(await treasury.read.owner(), getAddress(timelock.address));
      assert.equal(await treasury.read.currentPeriod(), 0n);
      assert.equal(await treasury.read.periodStart([1n]), (await treasury.read.genesis()) + DAY);
    });

    it("rejects a zero period length, a zero claim window and a weight above MAX_WEIGHT", async function () {
      const { treasury, token, membership, deployer } = await loadFixture(treasuryFixture);
      const owner = deployer.account.address;
      const max = await treasury.read.MAX_WEIGHT();
      await viem.assertions.revertWithCustomError(
        viem.deployContract("PatronageTreasury", [
          token.address,
          membership.address,
          0n,
          WINDOW,
          1n,
          1n,
          owner,
        ]),
        treasury,
        "PatronageTreasuryZeroPeriodLength",
      );
      await viem.assertions.revertWithCustomError(
        viem.deployContract("PatronageTreasury", [
          token.address,
          membership.address,
          DAY,
          0n,
          1n,
          1n,
          owner,
        ]),
        treasury,
        "PatronageTreasuryZeroClaimWindow",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        viem.deployContract("PatronageTreasury", [
          token.address,
          membership.address,
          DAY,
          WINDOW,
          max + 1n,
          1n,
          owner,
        ]),
        treasury,
        "PatronageTreasuryWeightTooLarge",
        [max + 1n, max],
      );
    });
  });

  describe("recordPatronage", function () {
    it("credits a member paid·paidWeight + earned·earnedWeight points in the current period", async function () {
      const { treasury, market, alice, governance } = await loadFixture(treasuryFixture);
      await treasury.write.setWeights([3n, 2n], { account: governance.account });
      const hash = await treasury.write.recordPatronage([alice.account.address, 10n, 7n], {
        account: market.account,
      });
      await viem.assertions.emitWithArgs(hash, treasury, "PatronageRecorded", [
        0n,
        getAddress(alice.account.address),
        10n,
        7n,
        44n,
      ]);
      await treasury.write.recordPatronage([alice.account.address, 1n, 0n], {
        account: market.account,
      });
      assert.deepEqual(await treasury.read.getPatronage([0n, alice.account.address]), {
        points: 47n,
        claimed: false,
      });
      assert.equal((await treasury.read.getPeriod([0n])).totalPoints, 47n);
    });

    it("records into the period that is running", async function () {
      const { treasury, market, alice } = await loadFixture(treasuryFixture);
      await time.increase(2n * DAY);
      const hash = await treasury.write.recordPatronage([alice.account.address, 5n, 0n], {
        account: market.account,
      });
      await viem.assertions.emitWithArgs(hash, treasury, "PatronageRecorded", [
        2n,
        getAddress(alice.account.address),
        5n,
        0n,
        5n,
      ]);
      assert.equal((await treasury.read.getPatronage([2n, alice.account.address])).points, 5n);
      assert.equal((await treasury.read.getPeriod([0n])).totalPoints, 0n);
    });

    it("succeeds and records nothing for a non-member or for zero points", async function () {
      const { treasury, market, dave, alice } = await loadFixture(treasuryFixture);
      const hash = await treasury.write.recordPatronage([dave.account.address, 100n, 100n], {
        account: market.account,
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      assert.equal(receipt.logs.length, 0);
      await treasury.write.recordPatronage([alice.account.address, 0n, 0n], {
        account: market.account,
      });
      await treasury.write.recordPatronage([zeroAddress, 1n, 1n], { account: market.account });
      assert.equal((await treasury.read.getPeriod([0n])).totalPoints, 0n);
    });

    it("reverts for anyone but the recorder", async function () {
      const { treasury, alice } = await loadFixture(treasuryFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.recordPatronage([alice.account.address, 1n, 1n], { account: alice.account }),
        treasury,
        "PatronageTreasuryNotRecorder",
        [getAddress(alice.account.address)],
      );
    });
  });

  describe("declareDividend", function () {
    it("reserves the amount for a closed period and opens the claim window", async function () {
      const { treasury, deadline } = await loadFixture(declaredFixture);
      assert.deepEqual(await treasury.read.getPeriod([0n]), {
        totalPoints: 3_000n,
        claimDeadline: deadline,
        dividend: 300n * UNIT,
        unclaimed: 300n * UNIT,
      });
      assert.equal(await treasury.read.totalReserved(), 300n * UNIT);
      assert.equal(await treasury.read.freeBalance(), 700n * UNIT);
    });

    it("emits DividendDeclared", async function () {
      const { treasury, market, alice, governance } = await loadFixture(treasuryFixture);
      await treasury.write.recordPatronage([alice.account.address, 10n, 0n], {
        account: market.account,
      });
      await time.increase(DAY);
      const hash = await treasury.write.declareDividend([0n, 5n], { account: governance.account });
      const block = await publicClient.getBlock({
        blockNumber: (await publicClient.waitForTransactionReceipt({ hash })).blockNumber,
      });
      await viem.assertions.emitWithArgs(hash, treasury, "DividendDeclared", [
        0n,
        5n,
        10n,
        block.timestamp + WINDOW,
      ]);
    });

    it("reverts for a period that has not ended", async function () {
      const { treasury, market, alice, governance } = await loadFixture(treasuryFixture);
      await treasury.write.recordPatronage([alice.account.address, 10n, 0n], {
        account: market.account,
      });
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.declareDividend([0n, 1n], { account: governance.account }),
        treasury,
        "PatronageTreasuryPeriodNotClosed",
        [0n, 0n],
      );
    });

    it("reverts for a period without points, a zero amount, or more than the free balance", async function () {
      const { treasury, market, alice, governance } = await loadFixture(treasuryFixture);
      await time.increase(DAY);
      await treasury.write.recordPatronage([alice.account.address, 10n, 0n], {
        account: market.account,
      });
      await time.increase(DAY);
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.declareDividend([0n, 1n], { account: governance.account }),
        treasury,
        "PatronageTreasuryNoPatronage",
        [0n],
      );
      await viem.assertions.revertWithCustomError(
        treasury.write.declareDividend([1n, 0n], { account: governance.account }),
        treasury,
        "PatronageTreasuryZeroAmount",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.declareDividend([1n, 1_000n * UNIT + 1n], { account: governance.account }),
        treasury,
        "PatronageTreasuryInsufficientFreeBalance",
        [1_000n * UNIT + 1n, 1_000n * UNIT],
      );
    });

    it("cannot draw on funds reserved for another period, nor declare twice", async function () {
      const { treasury, market, alice, governance } = await loadFixture(declaredFixture);
      await treasury.write.recordPatronage([alice.account.address, 10n, 0n], {
        account: market.account,
      });
      await time.increase(DAY);
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.declareDividend([1n, 700n * UNIT + 1n], { account: governance.account }),
        treasury,
        "PatronageTreasuryInsufficientFreeBalance",
        [700n * UNIT + 1n, 700n * UNIT],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.declareDividend([0n, 1n], { account: governance.account }),
        treasury,
        "PatronageTreasuryDividendAlreadyDeclared",
        [0n],
      );
    });

    it("reverts for anyone but the timelock", async function () {
      const { treasury, alice } = await loadFixture(declaredFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.declareDividend([1n, 1n], { account: alice.account }),
        treasury,
        "OwnableUnauthorizedAccount",
        [getAddress(alice.account.address)],
      );
    });
  });

  describe("claimDividend", function () {
    it("pays each member dividend·points/totalPoints, once", async function () {
      const f = await loadFixture(declaredFixture);
      const { treasury, alice, bob } = f;
      const aliceBefore = await balanceOf(f, alice.account.address);
      const hash = await treasury.write.claimDividend([0n], { account: alice.account });
      await viem.assertions.emitWithArgs(hash, treasury, "DividendClaimed", [
        0n,
        getAddress(alice.account.address),
        100n * UNIT,
      ]);
      assert.equal(await balanceOf(f, alice.account.address), aliceBefore + 100n * UNIT);
      assert.equal(await treasury.read.claimableDividend([0n, bob.account.address]), 200n * UNIT);
      await treasury.write.claimDividend([0n], { account: bob.account });
      assert.equal((await treasury.read.getPeriod([0n])).unclaimed, 0n);
      assert.equal(await treasury.read.totalReserved(), 0n);
      assert.equal(
        await treasury.read.getPatronage([0n, alice.account.address]).then((p) => p.claimed),
        true,
      );
      assert.equal(await treasury.read.claimableDividend([0n, alice.account.address]), 0n);
    });

    it("reverts on a second claim", async function () {
      const { treasury, alice } = await loadFixture(declaredFixture);
      await treasury.write.claimDividend([0n], { account: alice.account });
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.claimDividend([0n], { account: alice.account }),
        treasury,
        "PatronageTreasuryAlreadyClaimed",
        [0n, getAddress(alice.account.address)],
      );
    });

    it("reverts for a member without points and for an undeclared period", async function () {
      const { treasury, carol, alice } = await loadFixture(declaredFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.claimDividend([0n], { account: carol.account }),
        treasury,
        "PatronageTreasuryNoPoints",
        [0n, getAddress(carol.account.address)],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.claimDividend([1n], { account: alice.account }),
        treasury,
        "PatronageTreasuryDividendNotDeclared",
        [1n],
      );
    });

    it("accepts a claim in the last second of the window", async function () {
      const { treasury, alice, deadline } = await loadFixture(declaredFixture);
      await time.setNextBlockTimestamp(deadline);
      await treasury.write.claimDividend([0n], { account: alice.account });
      assert.equal((await treasury.read.getPatronage([0n, alice.account.address])).claimed, true);
    });

    it("reverts after the claim window", async function () {
      const { treasury, alice, deadline } = await loadFixture(declaredFixture);
      await time.increaseTo(deadline + 1n);
      assert.equal(await treasury.read.claimableDividend([0n, alice.account.address]), 0n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.claimDividend([0n], { account: alice.account }),
        treasury,
        "PatronageTreasuryClaimWindowClosed",
        [0n, deadline],
      );
    });

    it("still pays a member who has left since earning the points", async function () {
      const f = await loadFixture(declaredFixture);
      const { treasury, membership, alice } = f;
      await membership.write.requestExit({ account: alice.account });
      await time.increase(COOP_DEFAULTS.exitNotice);
      await membership.write.completeExit({ account: alice.account });
      await treasury.write.claimDividend([0n], { account: alice.account });
      assert.equal((await treasury.read.getPeriod([0n])).unclaimed, 200n * UNIT);
    });

    it("rounds down, so the claims never add up to more than the dividend", async function () {
      const { treasury, market, alice, bob, carol, governance } =
        await loadFixture(treasuryFixture);
      for (const m of [alice, bob, carol]) {
        await treasury.write.recordPatronage([m.account.address, 1n, 0n], {
          account: market.account,
        });
      }
      await time.increase(DAY);
      await treasury.write.declareDividend([0n, 100n], { account: governance.account });
      let paid = 0n;
      for (const m of [alice, bob, carol]) {
        const before = await treasury.read.totalReserved();
        await treasury.write.claimDividend([0n], { account: m.account });
        paid += before - (await treasury.read.totalReserved());
      }
      assert.equal(paid, 99n); // 3 × floor(100/3)
      assert.equal((await treasury.read.getPeriod([0n])).unclaimed, 1n);
    });

    it("cannot be re-entered through the payment token", async function () {
      const wallets = await viem.getWalletClients();
      const [, alice, , , market] = wallets;
      const token = await viem.deployContract("CoopHostileToken");
      const membership = await viem.deployContract("CoopMembership", [
        token.address,
        0n,
        0n,
        wallets[0].account.address,
      ]);
      await membership.write.join({ account: alice.account });
      const treasury = await viem.deployContract("PatronageTreasury", [
        token.address,
        membership.address,
        DAY,
        WINDOW,
        1n,
        1n,
        wallets[0].account.address,
      ]);
      await treasury.write.setRecorder([market.account.address]);
      await token.write.mint([treasury.address, 1_000n]);
      await treasury.write.recordPatronage([alice.account.address, 1n, 0n], {
        account: market.account,
      });
      await time.increase(DAY);
      await treasury.write.declareDividend([0n, 1_000n]);
      await token.write.setHook([
        treasury.address,
        encodeFunctionData({ abi: treasury.abi, functionName: "claimDividend", args: [0n] }),
      ]);
      await viem.assertions.revertWithCustomError(
        treasury.write.claimDividend([0n], { account: alice.account }),
        treasury,
        "ReentrancyGuardReentrantCall",
      );
    });

    it("stays within the 80k gas budget", async function () {
      const { treasury, alice } = await loadFixture(declaredFixture);
      const receipt = await publicClient.waitForTransactionReceipt({
        hash: await treasury.write.claimDividend([0n], { account: alice.account }),
      });
      console.log(`      gas: claimDividend = ${receipt.gasUsed}`);
      assert.ok(receipt.gasUsed <= 80_000n, `claimDividend used ${receipt.gasUsed} gas`);
    });
  });

  describe("sweepExpired", function () {
    it("returns the unclaimed remainder to the free balance after the window (anyone may call)", async function () {
      const { treasury, alice, dave, deadline } = await loadFixture(declaredFixture);
      await treasury.write.claimDividend([0n], { account: alice.account });
      await time.increaseTo(deadline + 1n);
      const hash = await treasury.write.sweepExpired([0n], { account: dave.account });
      await viem.assertions.emitWithArgs(hash, treasury, "DividendSwept", [0n, 200n * UNIT]);
      assert.equal(await treasury.read.totalReserved(), 0n);
      assert.equal(await treasury.read.freeBalance(), 900n * UNIT);
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.sweepExpired([0n], { account: dave.account }),
        treasury,
        "PatronageTreasuryNothingToSweep",
        [0n],
      );
    });

    it("reverts while the window is open and for an undeclared period", async function () {
      const { treasury, dave, deadline } = await loadFixture(declaredFixture);
      // The sweep lands exactly on the last second of the window.
      await time.setNextBlockTimestamp(deadline);
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.sweepExpired([0n], { account: dave.account }),
        treasury,
        "PatronageTreasuryClaimWindowOpen",
        [0n, deadline],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.sweepExpired([5n], { account: dave.account }),
        treasury,
        "PatronageTreasuryDividendNotDeclared",
        [5n],
      );
    });
  });

  describe("spend", function () {
    it("sends from the free balance only", async function () {
      const f = await loadFixture(declaredFixture);
      const { treasury, governance, dave } = f;
      const hash = await treasury.write.spend([dave.account.address, 700n * UNIT], {
        account: governance.account,
      });
      await viem.assertions.emitWithArgs(hash, treasury, "FundsSpent", [
        getAddress(dave.account.address),
        700n * UNIT,
      ]);
      assert.equal(await balanceOf(f, dave.account.address), 700n * UNIT);
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.spend([dave.account.address, 1n], { account: governance.account }),
        treasury,
        "PatronageTreasuryInsufficientFreeBalance",
        [1n, 0n],
      );
      await viem.assertions.revertWithCustomError(
        treasury.write.spend([dave.account.address, 0n], { account: governance.account }),
        treasury,
        "PatronageTreasuryZeroAmount",
      );
    });

    it("reverts for anyone but the timelock", async function () {
      const { treasury, alice } = await loadFixture(treasuryFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.spend([alice.account.address, 1n], { account: alice.account }),
        treasury,
        "OwnableUnauthorizedAccount",
        [getAddress(alice.account.address)],
      );
    });
  });

  describe("setRecorder", function () {
    it("lets governance move recording to a new market", async function () {
      const { treasury, governance, market, alice, bob } = await loadFixture(treasuryFixture);
      const hash = await treasury.write.setRecorder([bob.account.address], {
        account: governance.account,
      });
      await viem.assertions.emitWithArgs(hash, treasury, "RecorderUpdated", [
        getAddress(market.account.address),
        getAddress(bob.account.address),
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.recordPatronage([alice.account.address, 1n, 0n], {
          account: market.account,
        }),
        treasury,
        "PatronageTreasuryNotRecorder",
        [getAddress(market.account.address)],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.setRecorder([alice.account.address], { account: alice.account }),
        treasury,
        "OwnableUnauthorizedAccount",
        [getAddress(alice.account.address)],
      );
    });
  });

  describe("setWeights", function () {
    it("lets governance change the weights, up to MAX_WEIGHT", async function () {
      const { treasury, governance, alice } = await loadFixture(treasuryFixture);
      const hash = await treasury.write.setWeights([2n, 5n], { account: governance.account });
      await viem.assertions.emitWithArgs(hash, treasury, "WeightsUpdated", [2n, 5n]);
      assert.equal(await treasury.read.paidWeight(), 2n);
      assert.equal(await treasury.read.earnedWeight(), 5n);
      const max = await treasury.read.MAX_WEIGHT();
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.setWeights([1n, max + 1n], { account: governance.account }),
        treasury,
        "PatronageTreasuryWeightTooLarge",
        [max + 1n, max],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.setWeights([1n, 1n], { account: alice.account }),
        treasury,
        "OwnableUnauthorizedAccount",
        [getAddress(alice.account.address)],
      );
    });
  });

  describe("setClaimWindow", function () {
    it("applies to dividends declared afterwards; zero is rejected", async function () {
      const { treasury, governance, alice, deadline } = await loadFixture(declaredFixture);
      const hash = await treasury.write.setClaimWindow([DAY], { account: governance.account });
      await viem.assertions.emitWithArgs(hash, treasury, "ClaimWindowUpdated", [WINDOW, DAY]);
      assert.equal((await treasury.read.getPeriod([0n])).claimDeadline, deadline);
      await viem.assertions.revertWithCustomError(
        treasury.write.setClaimWindow([0n], { account: governance.account }),
        treasury,
        "PatronageTreasuryZeroClaimWindow",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        treasury.write.setClaimWindow([DAY], { account: alice.account }),
        treasury,
        "OwnableUnauthorizedAccount",
        [getAddress(alice.account.address)],
      );
    });
  });

  describe("renounceOwnership", function () {
    it("is disabled, so the funds can never be stranded", async function () {
      const { treasury, governance } = await loadFixture(treasuryFixture);
      await viem.assertions.revertWithCustomError(
        treasury.read.renounceOwnership({ account: governance.account }),
        treasury,
        "PatronageTreasuryRenounceDisabled",
      );
    });
  });

  describe("freeBalance", function () {
    it("grows with fees that arrive as plain transfers", async function () {
      const f = await loadFixture(declaredFixture);
      await f.token.write.transfer([f.treasury.address, 5n * UNIT], {
        account: f.deployer.account,
      });
      assert.equal(await f.treasury.read.freeBalance(), 705n * UNIT);
    });
  });
});
