import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { network } from "hardhat";
import { COOP_DEFAULTS, deployFaucetToken, signPermit } from "./fixtures/coop.ts";

describe("FaucetToken", async function () {
  const { viem, networkHelpers } = await network.create();
  const publicClient = await viem.getPublicClient();
  const [, alice, bob] = await viem.getWalletClients();

  async function tokenFixture() {
    return deployFaucetToken(viem);
  }

  describe("constructor", function () {
    it("sets name, symbol, decimals and faucet parameters", async function () {
      const token = await networkHelpers.loadFixture(tokenFixture);
      assert.equal(await token.read.name(), COOP_DEFAULTS.tokenName);
      assert.equal(await token.read.symbol(), COOP_DEFAULTS.tokenSymbol);
      assert.equal(await token.read.decimals(), COOP_DEFAULTS.tokenDecimals);
      assert.equal(await token.read.faucetAmount(), COOP_DEFAULTS.faucetAmount);
      assert.equal(await token.read.faucetCooldown(), COOP_DEFAULTS.faucetCooldown);
      assert.equal(await token.read.totalSupply(), 0n);
    });
  });

  describe("faucet", function () {
    it("mints faucetAmount to the caller and says when it may drip again", async function () {
      const token = await networkHelpers.loadFixture(tokenFixture);
      const hash = await token.write.faucet({ account: alice.account });
      const block = await publicClient.getBlock({
        blockNumber: (await publicClient.waitForTransactionReceipt({ hash })).blockNumber,
      });
      const next = block.timestamp + COOP_DEFAULTS.faucetCooldown;
      await viem.assertions.emitWithArgs(Promise.resolve(hash), token, "FaucetDripped", [
        alice.account.address,
        COOP_DEFAULTS.faucetAmount,
        next,
      ]);
      assert.equal(await token.read.balanceOf([alice.account.address]), COOP_DEFAULTS.faucetAmount);
      assert.equal(await token.read.nextDripAt([alice.account.address]), next);
    });

    it("reverts with the next drip time during the cooldown, and drips again after it", async function () {
      const token = await networkHelpers.loadFixture(tokenFixture);
      await token.write.faucet({ account: alice.account });
      const next = await token.read.nextDripAt([alice.account.address]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        token.write.faucet({ account: alice.account }),
        token,
        "FaucetTokenCooldownActive",
        [alice.account.address, next],
      );
      // Another address is not affected by alice's cooldown.
      await token.write.faucet({ account: bob.account });
      await networkHelpers.time.increaseTo(next);
      await token.write.faucet({ account: alice.account });
      assert.equal(
        await token.read.balanceOf([alice.account.address]),
        2n * COOP_DEFAULTS.faucetAmount,
      );
    });
  });

  describe("nextDripAt", function () {
    it("is zero for an address that never dripped", async function () {
      const token = await networkHelpers.loadFixture(tokenFixture);
      assert.equal(await token.read.nextDripAt([bob.account.address]), 0n);
    });
  });

  describe("permit", function () {
    it("grants an allowance from an EIP-2612 signature", async function () {
      const token = await networkHelpers.loadFixture(tokenFixture);
      const deadline = BigInt(await networkHelpers.time.latest()) + 3_600n;
      const value = 123n;
      const { v, r, s } = await signPermit(
        viem,
        token,
        alice,
        bob.account.address,
        value,
        deadline,
      );
      await token.write.permit(
        [alice.account.address, bob.account.address, value, deadline, v, r, s],
        {
          account: bob.account,
        },
      );
      assert.equal(await token.read.allowance([alice.account.address, bob.account.address]), value);
      assert.equal(await token.read.nonces([alice.account.address]), 1n);
    });
  });
});
