// The client's chain side against a real local chain (hardhat node + the CoopCloudLocal
// deployment): connecting, faucet and membership, reverts in words, providers, a full
// governance round that changes the price, a dividend declared by governance and claimed, and
// leaving. One chain for the file; the steps build on each other in order.
import { randomBytes } from "node:crypto";

import {
  type CoopContracts,
  type ProposalAction,
  ContractCallError,
  ContractsNotDeployedError,
  NotEnoughProvidersError,
  RpcUnreachableError,
  UnknownNetworkError,
  WrongNetworkError,
  castVote,
  chainTime,
  chooseProviders,
  claimDividend,
  cancelExit,
  completeExit,
  connectCoop,
  deploymentAddresses,
  ensureAllowance,
  executeProposal,
  faucet,
  getProposal,
  joinCoop,
  listProposals,
  listProviders,
  memberStatus,
  patronageStatus,
  propose,
  proposalActions,
  queueProposal,
  requestExit,
  signPermit,
  tokenBalance,
} from "@coop-cloud/sdk/client";
import { storageMarketAbi } from "@coop-cloud/sdk/contracts/generated/abis.ts";
import { bytesToHex, parseEventLogs, zeroAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type LocalChain, rpc, startLocalChain } from "../../provider-node/test/fixtures/chain.ts";
import { type ProviderSetup, setupProvider } from "../../provider-node/test/fixtures/provider.ts";

const USD = 1_000_000n;
let chain: LocalChain;
const providers: ProviderSetup[] = [];
/** Members made by this test (keys 4 and 5), a non-member (6) and a wallet with no tokens (7). */
let alice: CoopContracts;
let bob: CoopContracts;
let carol: CoopContracts;
let dave: CoopContracts;

const as = (key: number) =>
  connectCoop({
    rpcUrl: chain.rpcUrl,
    chainId: 31337,
    account: privateKeyToAccount(chain.keys[key]),
    addresses: chain.addresses,
  });

/** Moves the chain's clock forward and mines a block at the new time. */
async function advance(seconds: bigint | number): Promise<void> {
  await rpc(chain.rpcUrl, "evm_increaseTime", [Math.max(0, Number(seconds))]);
  await rpc(chain.rpcUrl, "evm_mine");
}

/** The ContractCallError a promise rejects with. */
async function refusal(p: Promise<unknown>): Promise<ContractCallError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ContractCallError);
  return e as ContractCallError;
}

/** Creates a deal of three 1 MiB shards on the three providers (permit or approve). */
async function createDeal(c: CoopContracts, viaPermit: boolean) {
  const req = {
    k: 2,
    shardSize: 2n ** 20n,
    durationEpochs: 10,
    roots: providers.map(() => bytesToHex(randomBytes(32))),
    providers: providers.map((p) => p.address),
    manifestCid: bytesToHex(new Uint8Array([1, 0x55, 0x12, 0x20, ...randomBytes(32)])),
  };
  const [, escrow, fee] = await c.market.read.quoteDeal([req.shardSize, 3n, 10n]);
  const market = c.addresses.StorageMarket;
  let receipt;
  if (viaPermit) {
    const deadline = (await chainTime(c)) + 600n;
    const p = await signPermit(c, market, escrow + fee, deadline);
    receipt = await c.send("createDealWithPermit", {
      address: market,
      abi: storageMarketAbi,
      functionName: "createDealWithPermit",
      args: [req, p.value, p.deadline, p.v, p.r, p.s],
    });
  } else {
    await ensureAllowance(c, market, escrow + fee);
    receipt = await c.send("createDeal", {
      address: market,
      abi: storageMarketAbi,
      functionName: "createDeal",
      args: [req],
    });
  }
  const [ev] = parseEventLogs({
    abi: storageMarketAbi,
    eventName: "DealCreated",
    logs: receipt.logs,
  });
  return { dealId: ev.args.dealId, escrow, fee, req };
}

/** Proposes `action` as `proposer`, votes For with `voters`, queues and executes it. */
async function passProposal(
  proposer: CoopContracts,
  action: ProposalAction,
  voters: CoopContracts[],
): Promise<bigint> {
  const { proposalId } = await propose(proposer, action);
  const info = await getProposal(proposer, proposalId);
  await advance(info.untilVoteStart);
  for (const v of voters) await castVote(v, proposalId, "for");
  await advance((await getProposal(proposer, proposalId)).untilVoteEnd);
  const { eta } = await queueProposal(proposer, proposalId);
  await advance(eta - (await chainTime(proposer)));
  await executeProposal(proposer, proposalId);
  return proposalId;
}

beforeAll(async () => {
  chain = await startLocalChain({ epochLength: 30 });
  for (const k of [1, 2, 3]) providers.push(await setupProvider(chain, k));
  [alice, bob, carol, dave] = await Promise.all([as(4), as(5), as(6), as(7)]);
});

afterAll(async () => {
  await chain?.stop();
});

describe("connectCoop", () => {
  it("connects on the right chain and refuses a wrong one, an unknown one and missing contracts", async () => {
    const c = await connectCoop({
      rpcUrl: chain.rpcUrl,
      chainId: 31337,
      addresses: chain.addresses,
    });
    expect(await c.market.read.currentEpoch()).toBeGreaterThan(0n);
    expect(() => c.account("createDeal")).toThrow(
      "createDeal needs a wallet: connect one (or pass --key / a keystore to the CLI)",
    );

    const wrong = await connectCoop({ rpcUrl: chain.rpcUrl, chainId: 1 }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(WrongNetworkError);
    expect((wrong as Error).message).toBe(
      `${chain.rpcUrl} serves chain 31337, not chain 1: switch the wallet or RPC URL to chain 1, or ask for chain 31337`,
    );

    expect(() => deploymentAddresses(31337, {})).toThrow(UnknownNetworkError);
    expect(() => deploymentAddresses(31337, {})).toThrow(
      "no co-op deployment is known on chain 31337: give the contract addresses, or deploy (npm start) and export them (npm run export-contracts)",
    );

    const gone = await connectCoop({
      rpcUrl: chain.rpcUrl,
      addresses: {
        ...chain.addresses,
        StorageMarket: "0x000000000000000000000000000000000000dEaD",
      },
    }).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(ContractsNotDeployedError);
    expect((gone as Error).message).toMatch(/^no contract code on chain 31337 for StorageMarket: /);

    const down = await connectCoop({ rpcUrl: "http://127.0.0.1:9" }).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(RpcUnreachableError);
  });
});

describe("faucet and membership", () => {
  it("draws from the faucet and joins with a permit in one transaction", async () => {
    const before = await memberStatus(alice);
    expect(before).toMatchObject({ isMember: false, votingWeight: 0n, shareAmount: 100n * USD });

    const drip = await faucet(alice);
    expect(drip.amount).toBe(10_000n * USD);
    expect(await tokenBalance(alice)).toBe(10_000n * USD);

    const nonce = await alice.token.read.nonces([alice.account()]);
    const joined = await joinCoop(alice);
    expect(joined).toMatchObject({ method: "permit", sharePaid: 100n * USD });
    // One transaction: the permit was used inside joinWithPermit and its allowance spent.
    expect(await alice.token.read.nonces([alice.account()])).toBe(nonce + 1n);
    expect(
      await alice.token.read.allowance([alice.account(), alice.addresses.CoopMembership]),
    ).toBe(0n);

    const after = await memberStatus(alice);
    expect(after).toMatchObject({
      isMember: true,
      sharePaid: 100n * USD,
      votingWeight: 1n,
      exitRequested: false,
      exitAvailableAt: undefined,
      deferredRefund: 0n,
      balance: 9_900n * USD,
    });
    expect(after.memberCount).toBe(before.memberCount + 1n);
  });

  it("joins with an approval instead", async () => {
    await faucet(bob);
    const joined = await joinCoop(bob, { method: "approve" });
    expect(joined.sharePaid).toBe(100n * USD);
    expect((await memberStatus(bob)).isMember).toBe(true);
    expect(await tokenBalance(bob)).toBe(9_900n * USD);
  });

  it("puts reverts in words, also when another contract raised them", async () => {
    const twice = await refusal(joinCoop(alice));
    expect(twice.errorName).toBe("CoopMembershipAlreadyMember");
    expect(twice.message).toBe(
      `joinWithPermit: ${alice.account()} is already a co-op member: there is nothing to join (coop member status)`,
    );

    // No tokens: the token refuses the transfer inside join (decoded although join's ABI lacks it).
    const broke = await refusal(joinCoop(dave, { method: "approve" }));
    expect(broke.errorName).toBe("ERC20InsufficientBalance");
    expect(broke.message).toBe(
      `join: ${dave.account()} holds 0 cUSD but 100 cUSD is needed: top up the wallet (coop faucet on a local chain)`,
    );

    const stranger = await refusal(propose(carol, await proposalActions.setFee(carol, 100)));
    expect(stranger.errorName).toBe("GovernorInsufficientProposerVotes");
    expect(stranger.message).toMatch(
      new RegExp(
        `^propose: ${carol.account()} has 0 vote\\(s\\) but 1 are needed to propose: only members may propose`,
      ),
    );

    const notLeaving = await refusal(completeExit(alice));
    expect(notLeaving.message).toBe(
      `completeExit: ${alice.account()} has not asked to leave: request the exit first (coop member exit)`,
    );
  });
});

describe("providers", () => {
  it("lists the registered providers and chooses distinct ones with room", async () => {
    const list = await listProviders(alice);
    expect(list.map((p) => p.address).sort()).toEqual(providers.map((p) => p.address).sort());
    for (const p of list)
      expect(p).toMatchObject({
        registered: true,
        failed: false,
        capacity: 2n ** 30n,
        used: 0n,
        free: 2n ** 30n,
        stake: 10n * USD,
        missedEpochs: 0,
      });
    const setup = providers.find((s) => s.address === list[0].address)!;
    expect(list[0].endpoint).toBe(`http://127.0.0.1:${setup.httpPort}`);

    const chosen = chooseProviders(list, { count: 3, shardSize: 2n ** 20n });
    expect(new Set(chosen.map((p) => p.address)).size).toBe(3);
    expect(() =>
      chooseProviders(list, { count: 3, shardSize: 2n ** 20n, exclude: [list[0].address] }),
    ).toThrow(NotEnoughProvidersError);
    expect(() => chooseProviders(list, { count: 1, shardSize: 2n ** 31n })).toThrow(
      /without 2 GiB free/,
    );
  });
});

// Patronage points come from deal fees; recorded in period 0 for the dividend further down.
let aliceFee = 0n;
let bobFee = 0n;
let aliceDeal: Awaited<ReturnType<typeof createDeal>>;
/** What the missed-epoch slashes below send to the treasury (slash − bounty, three times). */
const SLASHED_TO_TREASURY = 3n * (USD - USD / 10n);

describe("deals pay fees that earn patronage", () => {
  it("creates a deal with a signed permit (as put does) and one with an approval", async () => {
    const a = await createDeal(alice, true);
    aliceDeal = a;
    const b = await createDeal(bob, false);
    aliceFee = a.fee;
    bobFee = b.fee;
    expect(a.fee).toBeGreaterThan(0n);
    const status = await patronageStatus(alice);
    expect(status.currentPeriod).toBe(0n);
    expect(status.periods[0]).toMatchObject({
      period: 0n,
      closed: false,
      paid: aliceFee,
      earned: 0n,
      points: aliceFee,
      totalPoints: aliceFee + bobFee,
      declared: false,
      claimable: 0n,
    });
    expect(status.freeBalance).toBe(aliceFee + bobFee);
  });
});

describe("a provider that stops proving", () => {
  it("shows its reported missed epochs, fails after three in a row and is then never chosen", async () => {
    const market = alice.addresses.StorageMarket;
    const holder = await as(1);
    expect(holder.account()).toBe(providers[0].address);
    // The provider accepts shard 0 of alice's deal (no node runs, so it will prove nothing).
    await holder.send("acceptShard", {
      address: market,
      abi: storageMarketAbi,
      functionName: "acceptShard",
      args: [aliceDeal.dealId, 0n, aliceDeal.req.roots, aliceDeal.req.providers],
    });
    const accepted = await alice.market.read.currentEpoch();
    const epochStart = async (e: bigint) => {
      const [anchorTime, anchorEpoch, length] = await alice.market.read.epochClock();
      return anchorTime + (e - BigInt(anchorEpoch)) * BigInt(length);
    };
    const owed = [accepted + 1n, accepted + 2n, accepted + 3n];
    for (const e of owed) {
      // Someone asks for the epoch's seed (fixSeed commits to the next block), so it is owed.
      await advance((await epochStart(e)) - (await chainTime(alice)));
      expect(await alice.market.read.currentEpoch()).toBe(e);
      await alice.send("fixSeed", {
        address: market,
        abi: storageMarketAbi,
        functionName: "fixSeed",
      });
      await rpc(chain.rpcUrl, "evm_mine");
    }
    await advance((await epochStart(accepted + 5n)) - (await chainTime(alice)));
    for (const e of owed)
      await carol.send("reportMissedEpoch", {
        address: market,
        abi: storageMarketAbi,
        functionName: "reportMissedEpoch",
        args: [holder.account(), e],
      });

    const list = await listProviders(alice);
    const failed = list.find((p) => p.address === holder.account())!;
    expect(failed).toMatchObject({
      missedEpochs: 3,
      failed: true,
      registered: true,
      activeShards: 1,
      used: 2n ** 20n,
      provenEpochs: 0n,
      // What was left of its stake now waits for the repairers of its shards.
      stake: 0n,
    });
    expect(failed.failedEpoch).toBeGreaterThan(0);
    const healthy = list.filter((p) => p !== failed);
    for (const p of healthy) expect(p.missedEpochs).toBe(0);
    expect(
      chooseProviders(list, { count: 2, shardSize: 2n ** 20n })
        .map((p) => p.address)
        .sort(),
    ).toEqual(healthy.map((p) => p.address).sort());
    expect(() => chooseProviders(list, { count: 3, shardSize: 2n ** 20n })).toThrow(
      "3 providers are needed but only 2 can take the shards (3 known, 1 failed): use fewer shards (smaller n) or smaller shards, or wait for more providers",
    );
    expect(await alice.treasury.read.freeBalance()).toBe(aliceFee + bobFee + SLASHED_TO_TREASURY);
  });
});

describe("governance", () => {
  it("changes the price through a full round: propose, vote, queue, execute", async () => {
    const before = await alice.market.read.params();
    const newPrice = before.pricePerByteEpoch * 3n;
    const action = await proposalActions.setPrice(alice, newPrice);
    expect(action.description).toBe(
      `Set the storage price to 0.000032212254 cUSD per GiB per epoch (pricePerByteEpoch ${before.pricePerByteEpoch} → ${newPrice}).`,
    );
    const { proposalId } = await propose(alice, action);

    let info = (await listProposals(alice)).find((p) => p.id === proposalId)!;
    expect(info).toMatchObject({
      state: "Pending",
      proposer: alice.account(),
      description: action.description,
      clockMode: "mode=timestamp",
      votes: { for: 0n, against: 0n, abstain: 0n },
      quorum: undefined,
      hasVoted: false,
    });
    expect(info.actions[0]).toMatch(
      /^StorageMarket\.setParams\(\{ pricePerByteEpoch: 30000000000, /,
    );
    expect(info.voteEnd - info.voteStart).toBe(300n);
    expect(Number(info.untilVoteStart)).toBeGreaterThan(50);
    expect(Number(info.untilVoteStart)).toBeLessThanOrEqual(61);

    const early = await refusal(castVote(bob, proposalId, "for"));
    expect(early.message).toMatch(
      /^castVote: voting on proposal \d+ has not opened yet: it opens in \d+ (s|min)/,
    );

    await advance(info.untilVoteStart);
    expect((await castVote(alice, proposalId, "for")).weight).toBe(1n);
    expect((await castVote(bob, proposalId, "for", "cheaper is not sustainable")).weight).toBe(1n);
    const twice = await refusal(castVote(bob, proposalId, "against"));
    expect(twice.message).toBe(`castVote: ${bob.account()} has already voted on this proposal`);
    // A non-member's vote is recorded with weight 0.
    expect((await castVote(carol, proposalId, "against")).weight).toBe(0n);

    info = await getProposal(alice, proposalId);
    expect(info).toMatchObject({ state: "Active", votes: { for: 2n, against: 0n, abstain: 0n } });
    // 10% of 5 members, rounded up.
    expect(info.quorum).toBe(1n);
    const tooSoon = await refusal(queueProposal(alice, proposalId));
    expect(tooSoon.message).toMatch(
      /^queue: proposal \d+ is still being voted on: its vote closes in \d/,
    );

    await advance(info.untilVoteEnd);
    expect((await getProposal(alice, proposalId)).state).toBe("Succeeded");
    const { eta } = await queueProposal(alice, proposalId);
    info = await getProposal(alice, proposalId);
    expect(info).toMatchObject({ state: "Queued", eta });
    const waiting = await refusal(executeProposal(alice, proposalId));
    expect(waiting.message).toMatch(
      /^execute: proposal \d+ waits in the timelock until .+ UTC \(in \d+ (s|min)\): execute it then$/,
    );

    await advance(eta - (await chainTime(alice)));
    await executeProposal(bob, proposalId);
    expect((await getProposal(alice, proposalId)).state).toBe("Executed");
    const after = await alice.market.read.params();
    expect(after).toEqual({ ...before, pricePerByteEpoch: newPrice });
    const [rate] = await alice.market.read.quoteDeal([2n ** 20n, 3n, 10n]);
    expect(rate).toBe((2n ** 20n * newPrice + 10n ** 18n - 1n) / 10n ** 18n);
    const done = await refusal(executeProposal(alice, proposalId));
    expect(done.errorName).toBe("GovernorUnexpectedProposalState");
    expect(done.message).toMatch(
      /is Executed but this needs it Queued: it has already been executed$/,
    );
  });

  it("builds the other templates with calldata the timelock can run", async () => {
    const epoch = await proposalActions.setEpochLength(alice, 60);
    expect(epoch.description).toBe(
      "Set the epoch length to 1 min (60 s, was 30 s), from the epoch after execution on.",
    );
    const spend = await proposalActions.treasurySpend(alice, zeroAddress, 5n * USD);
    expect(spend.description).toBe(`Pay 5 cUSD from the co-op treasury to ${zeroAddress}.`);
    const fee = await proposalActions.setFee(alice, 250);
    expect(fee.description).toBe("Set the co-op fee on storage deals to 2.5% (was 5%).");
    const id = await passProposal(alice, epoch, [alice, bob]);
    expect((await getProposal(alice, id)).state).toBe("Executed");
    const [, , length] = await alice.market.read.epochClock();
    expect(length).toBe(60);
  });
});

describe("patronage dividend through governance", () => {
  it("declares the dividend of the closed period and pays each member its exact share", async () => {
    const t = alice.treasury.read;
    const start1 = await t.periodStart([1n]);
    await advance(start1 - (await chainTime(alice)) + 1n);
    expect(await t.currentPeriod()).toBe(1n);

    const dividend = await t.freeBalance();
    expect(dividend).toBe(aliceFee + bobFee + SLASHED_TO_TREASURY);
    const action = await proposalActions.declareDividend(alice, 0n, dividend);
    expect(action.description).toMatch(
      /^Declare a patronage dividend of [\d.,]+ cUSD for period 0 \(.+ UTC to .+ UTC\), shared by the points members earned in it\.$/,
    );
    await passProposal(alice, action, [alice, bob]);

    const total = aliceFee + bobFee;
    const aliceShare = (dividend * aliceFee) / total;
    const bobShare = (dividend * bobFee) / total;
    const status = await patronageStatus(alice);
    const p0 = status.periods.find((p) => p.period === 0n)!;
    expect(p0).toMatchObject({
      closed: true,
      declared: true,
      dividend,
      claimOpen: true,
      claimable: aliceShare,
      claimed: false,
      points: aliceFee,
      totalPoints: total,
    });
    expect(p0.claimDeadline - status.now).toBeGreaterThan(7n * 86400n - 600n);
    expect(status.totalClaimable).toBe(aliceShare);
    expect(status.freeBalance).toBe(0n);

    const aliceBefore = await tokenBalance(alice);
    const bobBefore = await tokenBalance(bob);
    expect((await claimDividend(alice, 0n)).amount).toBe(aliceShare);
    expect((await claimDividend(bob, 0n)).amount).toBe(bobShare);
    expect(await tokenBalance(alice)).toBe(aliceBefore + aliceShare);
    expect(await tokenBalance(bob)).toBe(bobBefore + bobShare);
    // Rounding down: the claims never exceed the dividend, and miss it by less than a unit each.
    expect(dividend - aliceShare - bobShare).toBeGreaterThanOrEqual(0n);
    expect(dividend - aliceShare - bobShare).toBeLessThan(2n);

    const after = (await patronageStatus(alice)).periods.find((p) => p.period === 0n)!;
    expect(after).toMatchObject({ claimed: true, claimable: 0n, claimedAmount: aliceShare });
    const again = await refusal(claimDividend(alice, 0n));
    expect(again.message).toBe(
      `claimDividend: ${alice.account()} has already claimed the dividend of period 0`,
    );
    const none = await refusal(claimDividend(alice, 1n));
    expect(none.message).toBe(
      "claimDividend: no dividend has been declared for period 1: wait for governance to declare one (coop patronage status)",
    );
  });
});

describe("leaving", () => {
  it("requests, cancels, requests again and completes an exit after the notice, refunding the share", async () => {
    const { availableAt: first } = await requestExit(alice);
    expect((await memberStatus(alice)).exitAvailableAt).toBe(first);
    await cancelExit(alice);
    expect((await memberStatus(alice)).exitRequested).toBe(false);

    const { availableAt, receipt } = await requestExit(bob);
    const block = await bob.publicClient.getBlock({ blockNumber: receipt.blockNumber });
    expect(availableAt).toBe(block.timestamp + 600n);
    const pending = await memberStatus(bob);
    expect(pending).toMatchObject({
      isMember: true,
      votingWeight: 1n,
      exitRequested: true,
      exitAvailableAt: availableAt,
      exitReady: false,
    });
    expect(Number(pending.exitSecondsLeft)).toBeGreaterThan(590);

    const early = await refusal(completeExit(bob));
    expect(early.errorName).toBe("CoopMembershipExitNotReady");
    expect(early.message).toMatch(
      new RegExp(
        `^completeExit: the exit notice of ${bob.account()} has not passed yet: complete the exit from \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC$`,
      ),
    );
    const twice = await refusal(requestExit(bob));
    expect(twice.errorName).toBe("CoopMembershipExitAlreadyRequested");

    await advance(pending.exitSecondsLeft);
    expect((await memberStatus(bob)).exitReady).toBe(true);
    const balance = await tokenBalance(bob);
    const { refund, deferred } = await completeExit(bob);
    expect(refund).toBe(100n * USD);
    expect(deferred).toBe(false);
    expect(await tokenBalance(bob)).toBe(balance + 100n * USD);
    expect(await memberStatus(bob)).toMatchObject({
      isMember: false,
      sharePaid: 0n,
      votingWeight: 0n,
      exitRequested: false,
    });
  });
});
