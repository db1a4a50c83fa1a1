import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { network } from "hardhat";
import { encodeFunctionData, getAddress, type Hex, zeroAddress } from "viem";

import {
  COOP_DEFAULTS,
  deployCoop,
  impersonateTimelock,
  joinMembers,
  signPermit,
} from "./fixtures/coop.ts";

const SHARE = COOP_DEFAULTS.shareAmount;
const NOTICE = COOP_DEFAULTS.exitNotice;

describe("CoopMembership", async function () {
  const { viem, networkHelpers } = await network.create();
  const publicClient = await viem.getPublicClient();
  const { loadFixture, time } = networkHelpers;

  async function coopFixture() {
    return deployCoop(viem);
  }

  /** alice and bob are members; carol is funded and has approved the share; dave has nothing. */
  async function membersFixture() {
    const coop = await deployCoop(viem);
    const [alice, bob, carol, dave] = coop.accounts;
    await joinMembers(coop, [alice, bob]);
    await coop.token.write.faucet({ account: carol.account });
    await coop.token.write.approve([coop.membership.address, SHARE], { account: carol.account });
    const governance = await impersonateTimelock(coop, networkHelpers);
    return { ...coop, alice, bob, carol, dave, governance };
  }

  /** A membership whose payment token can refuse transfers to chosen addresses or call back. */
  async function hostileFixture() {
    const [, alice, bob, owner] = await viem.getWalletClients();
    const token = await viem.deployContract("CoopHostileToken");
    const membership = await viem.deployContract("CoopMembership", [
      token.address,
      SHARE,
      NOTICE,
      owner.account.address,
    ]);
    for (const w of [alice, bob]) {
      await token.write.mint([w.account.address, 10n * SHARE]);
      await token.write.approve([membership.address, SHARE], { account: w.account });
      await membership.write.join({ account: w.account });
    }
    return { token, membership, alice, bob, owner };
  }

  async function txTime(hash: Hex): Promise<bigint> {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    return (await publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp;
  }

  describe("constructor", function () {
    it("is owned by the timelock and starts with the given share and notice", async function () {
      const { membership, timelock, token } = await loadFixture(coopFixture);
      assert.equal(await membership.read.owner(), getAddress(timelock.address));
      assert.equal(await membership.read.paymentToken(), getAddress(token.address));
      assert.equal(await membership.read.shareAmount(), SHARE);
      assert.equal(await membership.read.exitNotice(), NOTICE);
      assert.equal(await membership.read.name(), "Co-op Cloud Membership");
      assert.equal(await membership.read.symbol(), "COOPM");
      assert.equal(await membership.read.memberCount(), 0n);
    });

    it("rejects a share above uint192 and a notice above MAX_EXIT_NOTICE", async function () {
      const { membership, token, timelock } = await loadFixture(coopFixture);
      const tooLarge = 2n ** 192n;
      await viem.assertions.revertWithCustomErrorWithArgs(
        viem.deployContract("CoopMembership", [token.address, tooLarge, NOTICE, timelock.address]),
        membership,
        "CoopMembershipShareTooLarge",
        [tooLarge],
      );
      const max = await membership.read.MAX_EXIT_NOTICE();
      await viem.assertions.revertWithCustomErrorWithArgs(
        viem.deployContract("CoopMembership", [token.address, SHARE, max + 1n, timelock.address]),
        membership,
        "CoopMembershipExitNoticeTooLong",
        [max + 1n, max],
      );
    });
  });

  describe("join", function () {
    it("takes the share, mints the token named by the address and gives one self-delegated vote", async function () {
      const { membership, token, carol } = await loadFixture(membersFixture);
      const carolAddr = getAddress(carol.account.address);
      const before = await token.read.balanceOf([carolAddr]);
      const tokenId = BigInt(carolAddr);
      const hash = await membership.write.join({ account: carol.account });
      await viem.assertions.emitWithArgs(hash, membership, "MemberJoined", [
        carolAddr,
        tokenId,
        SHARE,
      ]);
      await viem.assertions.emitWithArgs(hash, membership, "DelegateVotesChanged", [
        carolAddr,
        0n,
        1n,
      ]);
      await viem.assertions.emitWithArgs(hash, membership, "Transfer", [
        "0x0000000000000000000000000000000000000000",
        carolAddr,
        tokenId,
      ]);
      assert.equal(await token.read.balanceOf([carolAddr]), before - SHARE);
      assert.equal(await token.read.balanceOf([membership.address]), 3n * SHARE);
      assert.equal(await membership.read.ownerOf([tokenId]), carolAddr);
      assert.equal(await membership.read.isMember([carolAddr]), true);
      assert.equal(await membership.read.getVotes([carolAddr]), 1n);
      assert.equal(await membership.read.delegates([carolAddr]), carolAddr);
      assert.equal(await membership.read.memberCount(), 3n);
      assert.deepEqual(await membership.read.getMember([carolAddr]), [SHARE, 0n]);
    });

    it("reverts for an address that is already a member", async function () {
      const { membership, alice } = await loadFixture(membersFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.write.join({ account: alice.account }),
        membership,
        "CoopMembershipAlreadyMember",
        [getAddress(alice.account.address)],
      );
    });

    it("reverts without an allowance for the share", async function () {
      const { membership, token, dave } = await loadFixture(membersFixture);
      await token.write.faucet({ account: dave.account });
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.write.join({ account: dave.account }),
        token,
        "ERC20InsufficientAllowance",
        [getAddress(membership.address), 0n, SHARE],
      );
    });

    it("gives a returning member the same token id and still one vote", async function () {
      const coop = await loadFixture(membersFixture);
      const { membership, alice } = coop;
      await membership.write.requestExit({ account: alice.account });
      await time.increase(NOTICE);
      await membership.write.completeExit({ account: alice.account });
      await joinMembers(coop, [alice]);
      assert.equal(
        await membership.read.ownerOf([BigInt(alice.account.address)]),
        getAddress(alice.account.address),
      );
      assert.equal(await membership.read.getVotes([alice.account.address]), 1n);
      assert.equal(await membership.read.memberCount(), 2n);
    });

    it("is free when governance sets the share to zero, and refunds nothing", async function () {
      const { membership, token, governance, dave } = await loadFixture(membersFixture);
      await membership.write.setShareAmount([0n], { account: governance.account });
      await membership.write.join({ account: dave.account });
      assert.equal(await membership.read.isMember([dave.account.address]), true);
      await membership.write.requestExit({ account: dave.account });
      await time.increase(NOTICE);
      const hash = await membership.write.completeExit({ account: dave.account });
      await viem.assertions.emitWithArgs(hash, membership, "MemberExited", [
        getAddress(dave.account.address),
        0n,
      ]);
      assert.equal(await token.read.balanceOf([dave.account.address]), 0n);
    });

    it("costs a reasonable amount of gas", async function () {
      const { membership, carol } = await loadFixture(membersFixture);
      const receipt = await publicClient.waitForTransactionReceipt({
        hash: await membership.write.join({ account: carol.account }),
      });
      console.log(`      gas: join = ${receipt.gasUsed}`);
      assert.ok(receipt.gasUsed < 250_000n, `join used ${receipt.gasUsed} gas`);
    });
  });

  describe("joinWithPermit", function () {
    it("joins with a permit signature in one transaction", async function () {
      const { membership, token, dave } = await loadFixture(membersFixture);
      await token.write.faucet({ account: dave.account });
      const deadline = BigInt(await time.latest()) + 3_600n;
      const { v, r, s } = await signPermit(viem, token, dave, membership.address, SHARE, deadline);
      const hash = await membership.write.joinWithPermit([deadline, v, r, s], {
        account: dave.account,
      });
      await viem.assertions.emitWithArgs(hash, membership, "MemberJoined", [
        getAddress(dave.account.address),
        BigInt(dave.account.address),
        SHARE,
      ]);
      assert.equal(await token.read.allowance([dave.account.address, membership.address]), 0n);
      assert.equal(await membership.read.getVotes([dave.account.address]), 1n);
    });

    it("still joins when someone front-ran the permit", async function () {
      const { membership, token, dave, bob } = await loadFixture(membersFixture);
      await token.write.faucet({ account: dave.account });
      const deadline = BigInt(await time.latest()) + 3_600n;
      const { v, r, s } = await signPermit(viem, token, dave, membership.address, SHARE, deadline);
      // Someone submits dave's permit first: the permit inside joinWithPermit then fails.
      await token.write.permit(
        [dave.account.address, membership.address, SHARE, deadline, v, r, s],
        {
          account: bob.account,
        },
      );
      await membership.write.joinWithPermit([deadline, v, r, s], { account: dave.account });
      assert.equal(await membership.read.isMember([dave.account.address]), true);
    });

    it("reverts with the allowance and the share when the permit is invalid", async function () {
      const { membership, token, dave } = await loadFixture(membersFixture);
      await token.write.faucet({ account: dave.account });
      const deadline = BigInt(await time.latest()) + 3_600n;
      // Signed for a smaller value than the share: the permit's signature check fails.
      const { v, r, s } = await signPermit(
        viem,
        token,
        dave,
        membership.address,
        SHARE - 1n,
        deadline,
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.write.joinWithPermit([deadline, v, r, s], { account: dave.account }),
        membership,
        "CoopMembershipInsufficientAllowance",
        [getAddress(dave.account.address), 0n, SHARE],
      );
    });
  });

  describe("requestExit", function () {
    it("starts the notice; the member keeps membership and vote meanwhile", async function () {
      const { membership, alice } = await loadFixture(membersFixture);
      const hash = await membership.write.requestExit({ account: alice.account });
      const availableAt = (await txTime(hash)) + NOTICE;
      await viem.assertions.emitWithArgs(hash, membership, "ExitRequested", [
        getAddress(alice.account.address),
        availableAt,
      ]);
      assert.deepEqual(await membership.read.getMember([alice.account.address]), [
        SHARE,
        availableAt,
      ]);
      assert.equal(await membership.read.isMember([alice.account.address]), true);
      assert.equal(await membership.read.getVotes([alice.account.address]), 1n);
    });

    it("reverts for a non-member", async function () {
      const { membership, dave } = await loadFixture(membersFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.write.requestExit({ account: dave.account }),
        membership,
        "CoopMembershipNotMember",
        [getAddress(dave.account.address)],
      );
    });

    it("reverts when an exit is already pending", async function () {
      const { membership, alice } = await loadFixture(membersFixture);
      const availableAt =
        (await txTime(await membership.write.requestExit({ account: alice.account }))) + NOTICE;
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.write.requestExit({ account: alice.account }),
        membership,
        "CoopMembershipExitAlreadyRequested",
        [getAddress(alice.account.address), availableAt],
      );
    });

    it("keeps the notice fixed when governance changes it later", async function () {
      const { membership, alice, governance } = await loadFixture(membersFixture);
      const availableAt =
        (await txTime(await membership.write.requestExit({ account: alice.account }))) + NOTICE;
      await membership.write.setExitNotice([NOTICE * 4n], { account: governance.account });
      assert.deepEqual(await membership.read.getMember([alice.account.address]), [
        SHARE,
        availableAt,
      ]);
      await time.increaseTo(availableAt);
      await membership.write.completeExit({ account: alice.account });
      assert.equal(await membership.read.isMember([alice.account.address]), false);
    });
  });

  describe("cancelExit", function () {
    it("withdraws a pending exit", async function () {
      const { membership, alice } = await loadFixture(membersFixture);
      await membership.write.requestExit({ account: alice.account });
      const hash = await membership.write.cancelExit({ account: alice.account });
      await viem.assertions.emitWithArgs(hash, membership, "ExitCancelled", [
        getAddress(alice.account.address),
      ]);
      assert.deepEqual(await membership.read.getMember([alice.account.address]), [SHARE, 0n]);
      await time.increase(NOTICE);
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.write.completeExit({ account: alice.account }),
        membership,
        "CoopMembershipExitNotRequested",
        [getAddress(alice.account.address)],
      );
    });

    it("reverts when no exit is pending", async function () {
      const { membership, alice } = await loadFixture(membersFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.write.cancelExit({ account: alice.account }),
        membership,
        "CoopMembershipExitNotRequested",
        [getAddress(alice.account.address)],
      );
    });
  });

  describe("completeExit", function () {
    it("after the notice, burns the token, removes the vote and refunds what the member paid", async function () {
      const { membership, token, alice, governance } = await loadFixture(membersFixture);
      const aliceAddr = getAddress(alice.account.address);
      await membership.write.requestExit({ account: alice.account });
      // A later price change does not change alice's refund.
      await membership.write.setShareAmount([SHARE * 3n], { account: governance.account });
      await time.increase(NOTICE);
      const before = await token.read.balanceOf([aliceAddr]);
      const hash = await membership.write.completeExit({ account: alice.account });
      await viem.assertions.emitWithArgs(hash, membership, "MemberExited", [aliceAddr, SHARE]);
      await viem.assertions.emitWithArgs(hash, membership, "Transfer", [
        aliceAddr,
        "0x0000000000000000000000000000000000000000",
        BigInt(aliceAddr),
      ]);
      await viem.assertions.emitWithArgs(hash, membership, "DelegateVotesChanged", [
        aliceAddr,
        1n,
        0n,
      ]);
      assert.equal(await token.read.balanceOf([aliceAddr]), before + SHARE);
      assert.equal(await membership.read.isMember([aliceAddr]), false);
      assert.equal(await membership.read.getVotes([aliceAddr]), 0n);
      assert.equal(await membership.read.memberCount(), 1n);
      assert.deepEqual(await membership.read.getMember([aliceAddr]), [0n, 0n]);
    });

    it("reverts before the notice has passed", async function () {
      const { membership, alice } = await loadFixture(membersFixture);
      const availableAt =
        (await txTime(await membership.write.requestExit({ account: alice.account }))) + NOTICE;
      await time.increaseTo(availableAt - 2n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.write.completeExit({ account: alice.account }),
        membership,
        "CoopMembershipExitNotReady",
        [getAddress(alice.account.address), availableAt],
      );
    });

    it("reverts without a pending exit", async function () {
      const { membership, dave } = await loadFixture(membersFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.write.completeExit({ account: dave.account }),
        membership,
        "CoopMembershipExitNotRequested",
        [getAddress(dave.account.address)],
      );
    });

    it("defers the refund when the token refuses the transfer, instead of trapping the member", async function () {
      const { membership, token, alice } = await loadFixture(hostileFixture);
      await membership.write.requestExit({ account: alice.account });
      await time.increase(NOTICE);
      await token.write.setBlocked([alice.account.address, true]);
      const hash = await membership.write.completeExit({ account: alice.account });
      await viem.assertions.emitWithArgs(hash, membership, "RefundDeferred", [
        getAddress(alice.account.address),
        SHARE,
      ]);
      assert.equal(await membership.read.isMember([alice.account.address]), false);
      assert.equal(await membership.read.deferredRefund([alice.account.address]), SHARE);
    });

    it("cannot be re-entered through the payment token", async function () {
      const { membership, token, alice } = await loadFixture(hostileFixture);
      await membership.write.requestExit({ account: alice.account });
      await time.increase(NOTICE);
      // During the refund the token calls completeExit again; the guard stops it, the failed push
      // is deferred, and alice is owed exactly one share.
      await token.write.setHook([
        membership.address,
        encodeFunctionData({ abi: membership.abi, functionName: "completeExit" }),
      ]);
      await membership.write.completeExit({ account: alice.account });
      assert.equal(await membership.read.deferredRefund([alice.account.address]), SHARE);
      assert.equal(await token.read.balanceOf([membership.address]), 2n * SHARE);
    });
  });

  describe("expel", function () {
    it("lets governance remove a member at once with its share refunded", async function () {
      const { membership, token, bob, governance } = await loadFixture(membersFixture);
      const bobAddr = getAddress(bob.account.address);
      const before = await token.read.balanceOf([bobAddr]);
      const hash = await membership.write.expel([bobAddr], { account: governance.account });
      await viem.assertions.emitWithArgs(hash, membership, "MemberExpelled", [bobAddr, SHARE]);
      assert.equal(await token.read.balanceOf([bobAddr]), before + SHARE);
      assert.equal(await membership.read.isMember([bobAddr]), false);
      assert.equal(await membership.read.getVotes([bobAddr]), 0n);
    });

    it("works on a member with a pending exit", async function () {
      const { membership, bob, governance } = await loadFixture(membersFixture);
      await membership.write.requestExit({ account: bob.account });
      await membership.write.expel([bob.account.address], { account: governance.account });
      assert.deepEqual(await membership.read.getMember([bob.account.address]), [0n, 0n]);
    });

    it("reverts for anyone but the timelock", async function () {
      const { membership, alice, bob } = await loadFixture(membersFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.write.expel([bob.account.address], { account: alice.account }),
        membership,
        "OwnableUnauthorizedAccount",
        [getAddress(alice.account.address)],
      );
    });

    it("reverts for a non-member", async function () {
      const { membership, dave, governance } = await loadFixture(membersFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.write.expel([dave.account.address], { account: governance.account }),
        membership,
        "CoopMembershipNotMember",
        [getAddress(dave.account.address)],
      );
    });

    it("cannot be blocked by a member the token blacklists", async function () {
      const { membership, token, bob, owner } = await loadFixture(hostileFixture);
      await token.write.setBlocked([bob.account.address, true]);
      const hash = await membership.write.expel([bob.account.address], { account: owner.account });
      await viem.assertions.emitWithArgs(hash, membership, "RefundDeferred", [
        getAddress(bob.account.address),
        SHARE,
      ]);
      assert.equal(await membership.read.isMember([bob.account.address]), false);
    });
  });

  describe("withdrawRefund", function () {
    it("sends a deferred refund to an address of the former member's choice", async function () {
      const { membership, token, bob, owner, alice } = await loadFixture(hostileFixture);
      await token.write.setBlocked([bob.account.address, true]);
      await membership.write.expel([bob.account.address], { account: owner.account });
      const before = await token.read.balanceOf([alice.account.address]);
      const hash = await membership.write.withdrawRefund([alice.account.address], {
        account: bob.account,
      });
      await viem.assertions.emitWithArgs(hash, membership, "RefundWithdrawn", [
        getAddress(bob.account.address),
        getAddress(alice.account.address),
        SHARE,
      ]);
      assert.equal(await token.read.balanceOf([alice.account.address]), before + SHARE);
      assert.equal(await membership.read.deferredRefund([bob.account.address]), 0n);
    });

    it("reverts when nothing is owed", async function () {
      const { membership, bob } = await loadFixture(hostileFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.write.withdrawRefund([bob.account.address], { account: bob.account }),
        membership,
        "CoopMembershipNoRefund",
        [getAddress(bob.account.address)],
      );
    });
  });

  describe("setShareAmount", function () {
    it("lets governance change the share for new members", async function () {
      const { membership, token, governance, dave } = await loadFixture(membersFixture);
      const hash = await membership.write.setShareAmount([SHARE * 2n], {
        account: governance.account,
      });
      await viem.assertions.emitWithArgs(hash, membership, "ShareAmountUpdated", [
        SHARE,
        SHARE * 2n,
      ]);
      await token.write.faucet({ account: dave.account });
      await token.write.approve([membership.address, SHARE * 2n], { account: dave.account });
      await membership.write.join({ account: dave.account });
      assert.deepEqual(await membership.read.getMember([dave.account.address]), [SHARE * 2n, 0n]);
    });

    it("reverts for anyone but the timelock", async function () {
      const { membership, alice } = await loadFixture(membersFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.write.setShareAmount([1n], { account: alice.account }),
        membership,
        "OwnableUnauthorizedAccount",
        [getAddress(alice.account.address)],
      );
    });

    it("reverts above uint192", async function () {
      const { membership, governance } = await loadFixture(membersFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.write.setShareAmount([2n ** 192n], { account: governance.account }),
        membership,
        "CoopMembershipShareTooLarge",
        [2n ** 192n],
      );
    });
  });

  describe("setExitNotice", function () {
    it("lets governance change the notice", async function () {
      const { membership, governance } = await loadFixture(membersFixture);
      const hash = await membership.write.setExitNotice([3_600n], { account: governance.account });
      await viem.assertions.emitWithArgs(hash, membership, "ExitNoticeUpdated", [NOTICE, 3_600n]);
      assert.equal(await membership.read.exitNotice(), 3_600n);
    });

    it("reverts for anyone but the timelock, and above MAX_EXIT_NOTICE", async function () {
      const { membership, alice, governance } = await loadFixture(membersFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.write.setExitNotice([1n], { account: alice.account }),
        membership,
        "OwnableUnauthorizedAccount",
        [getAddress(alice.account.address)],
      );
      const max = await membership.read.MAX_EXIT_NOTICE();
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.write.setExitNotice([max + 1n], { account: governance.account }),
        membership,
        "CoopMembershipExitNoticeTooLong",
        [max + 1n, max],
      );
    });
  });

  describe("renounceOwnership", function () {
    it("is disabled, so governance can never lose the setters", async function () {
      const { membership, governance, alice } = await loadFixture(membersFixture);
      await viem.assertions.revertWithCustomError(
        membership.read.renounceOwnership({ account: governance.account.address }),
        membership,
        "CoopMembershipRenounceDisabled",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.read.renounceOwnership({ account: alice.account.address }),
        membership,
        "OwnableUnauthorizedAccount",
        [getAddress(alice.account.address)],
      );
    });
  });

  describe("transferFrom / safeTransferFrom", function () {
    it("always revert: membership is not transferable", async function () {
      const { membership, alice, dave } = await loadFixture(membersFixture);
      const from = getAddress(alice.account.address);
      const to = getAddress(dave.account.address);
      const id = BigInt(from);
      for (const call of [
        membership.write.transferFrom([from, to, id], { account: alice.account }),
        membership.write.safeTransferFrom([from, to, id], { account: alice.account }),
        membership.write.safeTransferFrom([from, to, id, "0x"], { account: alice.account }),
      ]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          call,
          membership,
          "CoopMembershipTransferDisabled",
          [from, to, id],
        );
      }
    });
  });

  describe("approve / setApprovalForAll", function () {
    it("always revert", async function () {
      const { membership, alice, dave } = await loadFixture(membersFixture);
      const to = getAddress(dave.account.address);
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.read.approve([to, BigInt(alice.account.address)], {
          account: alice.account.address,
        }),
        membership,
        "CoopMembershipApprovalDisabled",
        [to],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.read.setApprovalForAll([to, true], { account: alice.account.address }),
        membership,
        "CoopMembershipApprovalDisabled",
        [to],
      );
    });
  });

  describe("delegate / delegateBySig", function () {
    it("always revert: votes stay with the member", async function () {
      const { membership, alice, bob } = await loadFixture(membersFixture);
      const to = getAddress(bob.account.address);
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.read.delegate([to], { account: alice.account.address }),
        membership,
        "CoopMembershipDelegationDisabled",
        [to],
      );
      const zero32 = `0x${"00".repeat(32)}` as Hex;
      await viem.assertions.revertWithCustomErrorWithArgs(
        membership.read.delegateBySig([to, 0n, 0n, 27, zero32, zero32], {
          account: alice.account,
        }),
        membership,
        "CoopMembershipDelegationDisabled",
        [to],
      );
      assert.equal(await membership.read.getVotes([bob.account.address]), 1n);
    });
  });

  describe("clock / CLOCK_MODE", function () {
    it("use timestamps (ERC-6372)", async function () {
      const { membership } = await loadFixture(membersFixture);
      assert.equal(await membership.read.CLOCK_MODE(), "mode=timestamp");
      assert.equal(BigInt(await membership.read.clock()), BigInt(await time.latest()));
    });
  });

  describe("getPastVotes / getPastTotalSupply", function () {
    it("record one vote per member at each past timestamp", async function () {
      const { membership, alice, carol } = await loadFixture(membersFixture);
      const t0 = BigInt(await time.latest());
      await membership.write.join({ account: carol.account });
      await membership.write.requestExit({ account: alice.account });
      await time.increase(NOTICE);
      await membership.write.completeExit({ account: alice.account });
      await time.increase(1);
      assert.equal(await membership.read.getPastTotalSupply([t0]), 2n);
      assert.equal(await membership.read.getPastVotes([carol.account.address, t0]), 0n);
      const now = BigInt(await time.latest()) - 1n;
      assert.equal(await membership.read.getPastTotalSupply([now]), 2n);
      assert.equal(await membership.read.getPastVotes([alice.account.address, now]), 0n);
      assert.equal(await membership.read.getPastVotes([carol.account.address, now]), 1n);
    });
  });

  describe("isMember / tokenIdOf / supportsInterface", function () {
    it("answer for members and non-members", async function () {
      const { membership, alice, dave } = await loadFixture(membersFixture);
      assert.equal(await membership.read.isMember([alice.account.address]), true);
      assert.equal(await membership.read.isMember([dave.account.address]), false);
      assert.equal(await membership.read.isMember([zeroAddress]), false);
      assert.equal(
        await membership.read.tokenIdOf([dave.account.address]),
        BigInt(dave.account.address),
      );
      assert.equal(await membership.read.supportsInterface(["0x80ac58cd"]), true); // ERC-721
    });
  });
});
