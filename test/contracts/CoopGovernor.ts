import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { network } from "hardhat";
import { getAddress, keccak256, toHex, zeroAddress } from "viem";

import {
  COOP_DEFAULTS,
  TIMELOCK_ROLES,
  deployCoop,
  governanceCall,
  impersonateTimelock,
  joinMembers,
  passProposal,
} from "./fixtures/coop.ts";

const State = {
  Pending: 0,
  Active: 1,
  Canceled: 2,
  Defeated: 3,
  Succeeded: 4,
  Queued: 5,
  Expired: 6,
  Executed: 7,
};
const For = 1;
const Against = 0;

describe("CoopGovernor", async function () {
  const { viem, networkHelpers, provider } = await network.create();
  const publicClient = await viem.getPublicClient();
  const { loadFixture, time } = networkHelpers;

  /** Four members (alice, bob, carol, dave); erin is not a member. */
  async function governorFixture() {
    const coop = await deployCoop(viem);
    const [alice, bob, carol, dave, erin] = coop.accounts;
    await joinMembers(coop, [alice, bob, carol, dave]);
    await time.increase(1);
    return { ...coop, alice, bob, carol, dave, erin };
  }

  /** A proposal (by alice) to double the member share, in its voting period. */
  async function activeProposalFixture() {
    const f = await governorFixture();
    const call = governanceCall(f.membership, "setShareAmount", [2n * COOP_DEFAULTS.shareAmount]);
    const description = "Double the member share";
    const args = [[call.target], [0n], [call.data], description] as const;
    const proposalId = await f.governor.read.hashProposal([
      [call.target],
      [0n],
      [call.data],
      keccak256(toHex(description)),
    ]);
    const hash = await f.governor.write.propose(args, { account: f.alice.account });
    await time.increase(COOP_DEFAULTS.votingDelay + 1);
    return { ...f, call, description, proposalId, proposeHash: hash };
  }

  describe("constructor", function () {
    it("sets name, settings, quorum, clock and timelock", async function () {
      const { governor, membership, timelock } = await loadFixture(governorFixture);
      assert.equal(await governor.read.name(), "Co-op Cloud Governor");
      assert.equal(await governor.read.votingDelay(), BigInt(COOP_DEFAULTS.votingDelay));
      assert.equal(await governor.read.votingPeriod(), BigInt(COOP_DEFAULTS.votingPeriod));
      assert.equal(await governor.read.proposalThreshold(), 1n);
      assert.equal(await governor.read.quorumNumerator(), COOP_DEFAULTS.quorumPercent);
      assert.equal(await governor.read.CLOCK_MODE(), "mode=timestamp");
      assert.equal(BigInt(await governor.read.clock()), BigInt(await time.latest()));
      assert.equal(await governor.read.token(), getAddress(membership.address));
      assert.equal(await governor.read.timelock(), getAddress(timelock.address));
      assert.equal(await governor.read.COUNTING_MODE(), "support=bravo&quorum=for,abstain");
    });
  });

  describe("deployment wiring", function () {
    it("leaves the governor as sole proposer and canceller, anyone as executor, and the deployer with nothing", async function () {
      const { governor, timelock, deployer, membership, treasury } =
        await loadFixture(governorFixture);
      const me = deployer.account.address;
      assert.equal(await timelock.read.hasRole([TIMELOCK_ROLES.proposer, governor.address]), true);
      assert.equal(await timelock.read.hasRole([TIMELOCK_ROLES.canceller, governor.address]), true);
      assert.equal(await timelock.read.hasRole([TIMELOCK_ROLES.executor, zeroAddress]), true);
      for (const role of Object.values(TIMELOCK_ROLES)) {
        assert.equal(await timelock.read.hasRole([role, me]), false);
      }
      assert.equal(await timelock.read.hasRole([TIMELOCK_ROLES.admin, timelock.address]), true);
      assert.equal(await timelock.read.getMinDelay(), COOP_DEFAULTS.timelockDelay);
      assert.equal(await membership.read.owner(), getAddress(timelock.address));
      assert.equal(await treasury.read.owner(), getAddress(timelock.address));
    });
  });

  describe("propose", function () {
    it("lets a member propose, with the snapshot after the voting delay", async function () {
      const { governor, proposalId, proposeHash, alice } = await loadFixture(activeProposalFixture);
      await viem.assertions.emit(proposeHash, governor, "ProposalCreated");
      assert.equal(await governor.read.state([proposalId]), State.Active);
      assert.equal(
        await governor.read.proposalProposer([proposalId]),
        getAddress(alice.account.address),
      );
      const snapshot = await governor.read.proposalSnapshot([proposalId]);
      const deadline = await governor.read.proposalDeadline([proposalId]);
      assert.equal(deadline - snapshot, BigInt(COOP_DEFAULTS.votingPeriod));
    });

    it("refuses a non-member (threshold: one vote)", async function () {
      const { governor, membership, erin } = await loadFixture(governorFixture);
      const call = governanceCall(membership, "setShareAmount", [1n]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        governor.write.propose([[call.target], [0n], [call.data], "x"], { account: erin.account }),
        governor,
        "GovernorInsufficientProposerVotes",
        [getAddress(erin.account.address), 0n, 1n],
      );
    });

    it("refuses a member expelled in the same block, whose last checkpoint still shows a vote", async function () {
      const f = await loadFixture(governorFixture);
      const governance = await impersonateTimelock(f, networkHelpers);
      const call = governanceCall(f.membership, "setShareAmount", [1n]);
      // The threshold is read at the previous second, when bob was still a member: only the
      // membership check of the moment stops him.
      await provider.request({ method: "evm_setAutomine", params: [false] });
      let proposeHash: `0x${string}`;
      try {
        await f.membership.write.expel([f.bob.account.address], {
          account: governance.account,
          gas: 300_000n,
        });
        proposeHash = await f.governor.write.propose([[call.target], [0n], [call.data], "x"], {
          account: f.bob.account,
          gas: 1_000_000n,
        });
        await networkHelpers.mine();
      } finally {
        await provider.request({ method: "evm_setAutomine", params: [true] });
      }
      const receipt = await publicClient.getTransactionReceipt({ hash: proposeHash });
      const t = (await publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp;
      assert.equal(await f.membership.read.isMember([f.bob.account.address]), false);
      assert.equal(await f.membership.read.getPastVotes([f.bob.account.address, t - 1n]), 1n);
      assert.equal(receipt.status, "reverted");
      await viem.assertions.revertWithCustomErrorWithArgs(
        f.governor.write.propose([[call.target], [0n], [call.data], "x"], {
          account: f.bob.account,
        }),
        f.governor,
        "GovernorInsufficientProposerVotes",
        [getAddress(f.bob.account.address), 0n, 1n],
      );
    });
  });

  describe("castVote", function () {
    it("counts one vote per member", async function () {
      const { governor, proposalId, alice, bob } = await loadFixture(activeProposalFixture);
      const hash = await governor.write.castVote([proposalId, For], { account: alice.account });
      await viem.assertions.emitWithArgs(hash, governor, "VoteCast", [
        getAddress(alice.account.address),
        proposalId,
        For,
        1n,
        "",
      ]);
      await governor.write.castVote([proposalId, Against], { account: bob.account });
      assert.deepEqual(await governor.read.proposalVotes([proposalId]), [1n, 1n, 0n]);
      assert.equal(await governor.read.hasVoted([proposalId, alice.account.address]), true);
    });

    it("gives a non-member a vote of weight zero", async function () {
      const { governor, proposalId, erin } = await loadFixture(activeProposalFixture);
      const hash = await governor.write.castVote([proposalId, For], { account: erin.account });
      await viem.assertions.emitWithArgs(hash, governor, "VoteCast", [
        getAddress(erin.account.address),
        proposalId,
        For,
        0n,
        "",
      ]);
      assert.deepEqual(await governor.read.proposalVotes([proposalId]), [0n, 0n, 0n]);
    });

    it("gives no weight to a member who joined after the snapshot", async function () {
      const f = await loadFixture(activeProposalFixture);
      await joinMembers(f, [f.erin]);
      await f.governor.write.castVote([f.proposalId, For], { account: f.erin.account });
      assert.deepEqual(await f.governor.read.proposalVotes([f.proposalId]), [0n, 0n, 0n]);
    });

    it("gives no weight to a member who exited after the snapshot", async function () {
      const f = await loadFixture(governorFixture);
      // bob asks to leave; his notice ends during the voting period of a proposal made now.
      await f.membership.write.requestExit({ account: f.bob.account });
      const [, availableAt] = await f.membership.read.getMember([f.bob.account.address]);
      await time.increaseTo(availableAt - 30n);
      const call = governanceCall(f.membership, "setShareAmount", [1n]);
      await f.governor.write.propose([[call.target], [0n], [call.data], "exit"], {
        account: f.alice.account,
      });
      const proposalId = await f.governor.read.hashProposal([
        [call.target],
        [0n],
        [call.data],
        keccak256(toHex("exit")),
      ]);
      await time.increase(COOP_DEFAULTS.votingDelay + 1);
      assert.equal(await f.governor.read.state([proposalId]), State.Active);
      const snapshot = await f.governor.read.proposalSnapshot([proposalId]);
      assert.equal(await f.governor.read.getVotes([f.bob.account.address, snapshot]), 1n);
      // bob takes his share back: the vote he held at the snapshot is gone with it.
      await f.membership.write.completeExit({ account: f.bob.account });
      assert.equal(await f.governor.read.getVotes([f.bob.account.address, snapshot]), 0n);
      const hash = await f.governor.write.castVote([proposalId, For], { account: f.bob.account });
      await viem.assertions.emitWithArgs(hash, f.governor, "VoteCast", [
        getAddress(f.bob.account.address),
        proposalId,
        For,
        0n,
        "",
      ]);
      assert.deepEqual(await f.governor.read.proposalVotes([proposalId]), [0n, 0n, 0n]);
      // The quorum is still that of the members at the snapshot.
      assert.equal(await f.governor.read.quorum([snapshot]), 2n);
    });

    it("gives no weight to a member expelled after the snapshot", async function () {
      const f = await loadFixture(activeProposalFixture);
      const governance = await impersonateTimelock(f, networkHelpers);
      await f.membership.write.expel([f.bob.account.address], { account: governance.account });
      await f.governor.write.castVote([f.proposalId, For], { account: f.bob.account });
      await f.governor.write.castVote([f.proposalId, For], { account: f.alice.account });
      assert.deepEqual(await f.governor.read.proposalVotes([f.proposalId]), [0n, 1n, 0n]);
    });

    it("refuses a second vote", async function () {
      const { governor, proposalId, alice } = await loadFixture(activeProposalFixture);
      await governor.write.castVote([proposalId, For], { account: alice.account });
      await viem.assertions.revertWithCustomErrorWithArgs(
        governor.write.castVote([proposalId, For], { account: alice.account }),
        governor,
        "GovernorAlreadyCastVote",
        [getAddress(alice.account.address)],
      );
    });

    it("stays within the 100k gas budget", async function () {
      const { governor, proposalId, alice, bob } = await loadFixture(activeProposalFixture);
      // The first vote pays for the first write of the tally slots; the second is the typical one.
      const first = await publicClient.waitForTransactionReceipt({
        hash: await governor.write.castVote([proposalId, For], { account: alice.account }),
      });
      const second = await publicClient.waitForTransactionReceipt({
        hash: await governor.write.castVote([proposalId, For], { account: bob.account }),
      });
      console.log(
        `      gas: castVote = ${first.gasUsed} (first vote), ${second.gasUsed} (later votes)`,
      );
      assert.ok(first.gasUsed <= 100_000n, `castVote used ${first.gasUsed} gas`);
      assert.ok(second.gasUsed <= 100_000n, `castVote used ${second.gasUsed} gas`);
    });
  });

  describe("quorum", function () {
    it("is the quorum fraction of the members at the snapshot", async function () {
      const { governor, proposalId } = await loadFixture(activeProposalFixture);
      const snapshot = await governor.read.proposalSnapshot([proposalId]);
      assert.equal(await governor.read.quorum([snapshot]), 2n); // 50% of 4 members
    });

    it("rounds up, and is at least one vote", async function () {
      const coop = await deployCoop(viem, { quorumPercent: 10n });
      const [alice, bob, carol] = coop.accounts;
      await joinMembers(coop, [alice, bob, carol]);
      await time.increase(1);
      const now = BigInt(await time.latest()) - 1n;
      assert.equal(await coop.governor.read.quorum([now]), 1n); // 10% of 3 members is 0.3 → 1
      const empty = await deployCoop(viem, { quorumPercent: 10n });
      assert.equal(await empty.governor.read.quorum([now]), 1n); // no members: still one vote
      const half = await deployCoop(viem, { quorumPercent: 50n });
      await joinMembers(half, [alice, bob, carol]);
      await time.increase(1);
      assert.equal(await half.governor.read.quorum([BigInt(await time.latest()) - 1n]), 2n); // 1.5 → 2
    });

    it("defeats a proposal below quorum even when every vote is For", async function () {
      const { governor, proposalId, alice } = await loadFixture(activeProposalFixture);
      await governor.write.castVote([proposalId, For], { account: alice.account });
      await time.increase(COOP_DEFAULTS.votingPeriod + 1);
      assert.equal(await governor.read.state([proposalId]), State.Defeated);
    });

    it("passes a proposal that reaches quorum with a majority", async function () {
      const { governor, proposalId, alice, bob } = await loadFixture(activeProposalFixture);
      await governor.write.castVote([proposalId, For], { account: alice.account });
      await governor.write.castVote([proposalId, For], { account: bob.account });
      await time.increase(COOP_DEFAULTS.votingPeriod + 1);
      assert.equal(await governor.read.state([proposalId]), State.Succeeded);
    });
  });

  describe("queue / execute", function () {
    it("changes the member share through the timelock after the delay", async function () {
      const f = await loadFixture(activeProposalFixture);
      const { governor, membership, call, description, proposalId, alice, bob, erin } = f;
      const descriptionHash = keccak256(toHex(description));
      await governor.write.castVote([proposalId, For], { account: alice.account });
      await governor.write.castVote([proposalId, For], { account: bob.account });
      await time.increase(COOP_DEFAULTS.votingPeriod + 1);
      const queueHash = await governor.write.queue([
        [call.target],
        [0n],
        [call.data],
        descriptionHash,
      ]);
      await viem.assertions.emit(queueHash, governor, "ProposalQueued");
      assert.equal(await governor.read.state([proposalId]), State.Queued);
      // Too early: the timelock's delay has not passed.
      await viem.assertions.revertWithCustomError(
        governor.write.execute([[call.target], [0n], [call.data], descriptionHash]),
        f.timelock,
        "TimelockUnexpectedOperationState",
      );
      await time.increase(COOP_DEFAULTS.timelockDelay + 1n);
      // Anyone may execute.
      const hash = await governor.write.execute(
        [[call.target], [0n], [call.data], descriptionHash],
        {
          account: erin.account,
        },
      );
      await viem.assertions.emitWithArgs(hash, membership, "ShareAmountUpdated", [
        COOP_DEFAULTS.shareAmount,
        2n * COOP_DEFAULTS.shareAmount,
      ]);
      await viem.assertions.emitWithArgs(hash, governor, "ProposalExecuted", [proposalId]);
      assert.equal(await membership.read.shareAmount(), 2n * COOP_DEFAULTS.shareAmount);
      assert.equal(await governor.read.state([proposalId]), State.Executed);
    });

    it("refuses to queue a defeated proposal", async function () {
      const { governor, call, description, proposalId, alice, bob, carol } =
        await loadFixture(activeProposalFixture);
      await governor.write.castVote([proposalId, For], { account: alice.account });
      await governor.write.castVote([proposalId, Against], { account: bob.account });
      await governor.write.castVote([proposalId, Against], { account: carol.account });
      await time.increase(COOP_DEFAULTS.votingPeriod + 1);
      await viem.assertions.revertWithCustomError(
        governor.write.queue([[call.target], [0n], [call.data], keccak256(toHex(description))]),
        governor,
        "GovernorUnexpectedProposalState",
      );
    });
  });

  describe("cancel", function () {
    it("lets the proposer withdraw a pending proposal", async function () {
      const f = await loadFixture(governorFixture);
      const call = governanceCall(f.membership, "setExitNotice", [0n]);
      const descriptionHash = keccak256(toHex("no notice"));
      const proposalId = await f.governor.read.hashProposal([
        [call.target],
        [0n],
        [call.data],
        descriptionHash,
      ]);
      await f.governor.write.propose([[call.target], [0n], [call.data], "no notice"], {
        account: f.bob.account,
      });
      const hash = await f.governor.write.cancel(
        [[call.target], [0n], [call.data], descriptionHash],
        {
          account: f.bob.account,
        },
      );
      await viem.assertions.emitWithArgs(hash, f.governor, "ProposalCanceled", [proposalId]);
      assert.equal(await f.governor.read.state([proposalId]), State.Canceled);
    });
  });

  describe("settings (onlyGovernance)", function () {
    it("cannot be changed directly", async function () {
      const { governor, alice } = await loadFixture(governorFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        governor.write.setVotingPeriod([7_200], { account: alice.account }),
        governor,
        "GovernorOnlyExecutor",
        [getAddress(alice.account.address)],
      );
    });

    it("change through a proposal: voting period, quorum and a treasury setting together", async function () {
      const f = await loadFixture(governorFixture);
      const { governor, treasury, alice, bob, carol } = f;
      const calls = [
        governanceCall(governor, "setVotingPeriod", [7_200]),
        governanceCall(governor, "updateQuorumNumerator", [75n]),
        governanceCall(treasury, "setWeights", [2n, 3n]),
      ];
      await passProposal(f, networkHelpers, calls, "Longer votes, higher quorum, new weights", [
        alice,
        bob,
        carol,
      ]);
      assert.equal(await governor.read.votingPeriod(), 7_200n);
      assert.equal(await governor.read.quorumNumerator(), 75n);
      assert.equal(await treasury.read.paidWeight(), 2n);
      assert.equal(await treasury.read.earnedWeight(), 3n);
    });
  });
});
