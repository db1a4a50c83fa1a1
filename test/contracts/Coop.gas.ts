/**
 * Gas of the co-op's everyday operations, for `npm run bench` (measured, asserted only
 * against the budgets): join, castVote (first and later vote on a proposal),
 * claimDividend. Each is measured after one of the same kind, so one-time storage
 * initialisation does not count.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { network } from "hardhat";
import { keccak256, toHex, type Hex } from "viem";

import {
  COOP_DEFAULTS,
  deployCoop,
  governanceCall,
  impersonateTimelock,
  joinMembers,
} from "./fixtures/coop.js";
import { recordGas } from "./helpers/gas-report.js";

describe("Co-op gas", async function () {
  const { viem, networkHelpers } = await network.create();
  const publicClient = await viem.getPublicClient();
  const { time } = networkHelpers;
  const gasOf = async (hash: Hex) =>
    (await publicClient.waitForTransactionReceipt({ hash })).gasUsed;

  const wallets = await viem.getWalletClients();
  const market = wallets[10];
  const coop = await deployCoop(viem, { recorder: market.account.address });
  const [alice, bob, carol, dave] = coop.accounts;

  it("join", async function () {
    await joinMembers(coop, [alice, bob, carol]); // warm-up: the first member initialises totals
    await coop.token.write.faucet({ account: dave.account });
    await coop.token.write.approve([coop.membership.address, COOP_DEFAULTS.shareAmount], {
      account: dave.account,
    });
    const gas = await gasOf(await coop.membership.write.join({ account: dave.account }));
    recordGas("join", gas);
  });

  it("castVote (first vote on a proposal, later vote)", async function () {
    await time.increase(1);
    const call = governanceCall(coop.membership, "setShareAmount", [
      2n * COOP_DEFAULTS.shareAmount,
    ]);
    const description = "Double the member share";
    await coop.governor.write.propose([[call.target], [0n], [call.data], description], {
      account: alice.account,
    });
    const proposalId = await coop.governor.read.hashProposal([
      [call.target],
      [0n],
      [call.data],
      keccak256(toHex(description)),
    ]);
    await time.increase(COOP_DEFAULTS.votingDelay + 1);
    const first = await gasOf(
      await coop.governor.write.castVote([proposalId, 1], { account: alice.account }),
    );
    const later = await gasOf(
      await coop.governor.write.castVote([proposalId, 1], { account: bob.account }),
    );
    recordGas("castVote (first vote on a proposal)", first);
    recordGas("castVote (later vote)", later);
    assert.ok(first <= 100_000n && later <= 100_000n, `castVote ${first} / ${later} > 100k`);
  });

  it("claimDividend", async function () {
    for (const m of [alice, bob]) {
      await coop.treasury.write.recordPatronage([m.account.address, 1_000n, 0n], {
        account: market.account,
      });
    }
    // Fees the market would have sent: the treasury's free balance funds the dividend.
    const feePayer = wallets[11];
    await coop.token.write.faucet({ account: feePayer.account });
    await coop.token.write.transfer([coop.treasury.address, 1_000_000n], {
      account: feePayer.account,
    });
    await time.increase(COOP_DEFAULTS.periodLength + 1n);
    const governance = await impersonateTimelock(coop, networkHelpers);
    await coop.treasury.write.declareDividend([0n, 1_000_000n], { account: governance.account });
    await coop.treasury.write.claimDividend([0n], { account: alice.account }); // warm-up
    const gas = await gasOf(
      await coop.treasury.write.claimDividend([0n], { account: bob.account }),
    );
    recordGas("claimDividend", gas);
    assert.ok(gas <= 80_000n, `claimDividend ${gas} > 80k`);
  });
});
