// Contract custom errors in words: one sentence per error that says what went wrong and, where
// there is one, what to do. Covers every error the co-op's contracts declare (Market*,
// CoopMembership*, PatronageTreasury*, FaucetToken*) and the OpenZeppelin errors they can raise
// (ERC-20/2612, the membership's ERC-721 and votes, Governor, TimelockController, Ownable,
// AccessControl, SafeERC20, ReentrancyGuard, SafeCast, ECDSA…). Unknown errors fall back to
// their name and arguments.
import { type Abi, type Hex, decodeErrorResult, keccak256, toHex } from "viem";

import {
  coopGovernorAbi,
  coopMembershipAbi,
  coopTimelockAbi,
  faucetTokenAbi,
  patronageTreasuryAbi,
  storageMarketAbi,
} from "../contracts/generated/abis.ts";
import { formatAmount, formatBytes, formatDuration, formatTime } from "./format.ts";

type Describe = (args: readonly unknown[]) => string;

const big = (x: unknown): bigint => (typeof x === "bigint" ? x : BigInt(x as number | string));
const amt = (x: unknown) => formatAmount(big(x));
const time = (x: unknown) => formatTime(big(x));
const str = (x: unknown) => String(x);

/** OpenZeppelin Governor's ProposalState, by enum index. */
export const PROPOSAL_STATES = [
  "Pending",
  "Active",
  "Canceled",
  "Defeated",
  "Succeeded",
  "Queued",
  "Expired",
  "Executed",
] as const;
export type ProposalStateName = (typeof PROPOSAL_STATES)[number];

const OPERATION_STATES = ["Unset", "Waiting", "Ready", "Done"] as const;
const SHARD_STATUSES = ["Assigned", "Active", "Lost", "Closed"] as const;

const ROLES: Record<string, string> = {
  [`0x${"0".repeat(64)}`]: "admin",
  [keccak256(toHex("PROPOSER_ROLE"))]: "proposer",
  [keccak256(toHex("EXECUTOR_ROLE"))]: "executor",
  [keccak256(toHex("CANCELLER_ROLE"))]: "canceller",
};

/** The names of the states set in an OpenZeppelin `bytes32` state bitmap. */
function statesIn(bitmap: unknown, names: readonly string[]): string {
  const b = big(bitmap);
  const set = names.filter((_, i) => (b >> BigInt(i)) & 1n);
  if (set.length <= 1) return set[0] ?? "none";
  return `${set.slice(0, -1).join(", ")} or ${set[set.length - 1]}`;
}

const proposalState = (x: unknown) => PROPOSAL_STATES[Number(x)] ?? `state ${str(x)}`;

const PROPOSAL_STATE_HINT: Partial<Record<ProposalStateName, string>> = {
  Pending: "its vote has not started yet; wait for the voting delay to pass",
  Active: "its vote is still open; wait for the deadline",
  Defeated: "it was defeated (not enough votes for, or no quorum); propose it again",
  Succeeded: "it passed and must be queued before it can run",
  Queued: "it is queued; execute it once the timelock delay has passed",
  Expired: "it expired; propose it again",
  Executed: "it has already been executed",
  Canceled: "it was cancelled",
};

const WORDS: Record<string, Describe> = {
  // ── StorageMarket ──
  MarketNotMember: ([a]) =>
    `${str(a)} is not a co-op member: join first (coop member join), then try again`,
  MarketNotRegistered: ([a]) =>
    `${str(a)} is not a registered provider: register it first, or choose another provider (coop provider ls)`,
  MarketAlreadyRegistered: ([a]) =>
    `${str(a)} is already registered as a provider: update its endpoint or capacity instead of registering again`,
  MarketStakeTooLow: ([stake, required]) =>
    `a stake of ${amt(stake)} does not cover the capacity offered: stake at least ${amt(required)}, or offer less capacity`,
  MarketCapacityBelowUsed: ([capacity, used]) =>
    `a capacity of ${formatBytes(big(capacity))} is below the ${formatBytes(big(used))} this provider already holds: keep at least that much`,
  MarketInsufficientCapacity: ([p, needed, free]) =>
    `provider ${str(p)} has only ${formatBytes(big(free))} free for a ${formatBytes(big(needed))} shard: choose another provider or smaller shards`,
  MarketProviderBusy: ([p, shards, used]) =>
    `provider ${str(p)} still holds ${str(shards)} shard(s) and ${formatBytes(big(used))} reserved: it can leave once its deals have ended and been settled`,
  MarketProviderFailed: ([p, epoch]) =>
    `provider ${str(p)} failed in epoch ${str(epoch)} (it missed too many epochs in a row): choose another provider`,
  MarketInvalidDeal: ([k, n, size, duration]) =>
    `invalid deal shape (k = ${str(k)}, n = ${str(n)}, shard size ${str(size)} bytes, ${str(duration)} epochs): need 1 ≤ k ≤ n ≤ 32, a positive shard size within the leaf limit and a positive duration`,
  MarketInvalidManifestCid: ([cid]) =>
    `the manifest CID ${str(cid)} is not a CIDv1 with a one-byte codec and a sha2-256 hash: store the manifest again to get a valid CID`,
  MarketDuplicateProvider: ([p, shard]) =>
    `provider ${str(p)} is chosen twice (again for shard ${str(shard)}): every shard of a deal needs a different provider`,
  MarketUnknownDeal: ([id]) => `there is no deal ${str(id)}: check the deal id (coop ls)`,
  MarketUnknownShard: ([id, shard]) =>
    `deal ${str(id)} has no shard ${str(shard)}: check the shard index`,
  MarketNotDealOwner: ([id, caller]) =>
    `${str(caller)} does not own deal ${str(id)}: only its owner may change it; use the wallet that created it`,
  MarketShardNotAssigned: ([id, shard, caller]) =>
    `shard ${str(shard)} of deal ${str(id)} is not assigned to ${str(caller)}: only its provider may do this`,
  MarketWrongShardStatus: ([id, shard, status]) =>
    `shard ${str(shard)} of deal ${str(id)} is ${SHARD_STATUSES[Number(status)] ?? str(status)}, which does not allow this: check the deal's status (coop status ${str(id)})`,
  MarketAcceptanceWindow: ([id, shard, deadline]) =>
    `the acceptance window of shard ${str(shard)} of deal ${str(id)} (epoch ${str(deadline)}) does not allow this now: check the deal's status`,
  MarketCommitmentMismatch: ([id]) =>
    `the roots and providers given do not match what deal ${str(id)} committed to: use the deal's own list from its DealCreated event`,
  MarketDealEnded: ([id, end]) =>
    `deal ${str(id)} ends at epoch ${str(end)}, so this is not possible now: check its end (coop status ${str(id)})`,
  MarketSeedNotFixed: ([epoch]) =>
    `the random seed of epoch ${str(epoch)} is not known yet: wait a block or two and try again`,
  MarketProofWindowClosed: ([epoch, cur]) =>
    `proofs for epoch ${str(epoch)} are no longer accepted (now epoch ${str(cur)}): only the current and the previous epoch can be proven`,
  MarketEpochAlreadyProven: ([epoch, last]) =>
    `epoch ${str(epoch)} is not after the last proven epoch ${str(last)}: it has already been proven`,
  MarketNothingToProve: ([p, epoch]) =>
    `provider ${str(p)} had nothing to prove in epoch ${str(epoch)}: no proof is owed`,
  MarketWrongProofCount: ([given, expected]) =>
    `${str(given)} proofs were given where ${str(expected)} challenges were drawn: rebuild the proof for this epoch`,
  MarketWrongEntry: ([challenge, entry, leaf]) =>
    `challenge ${str(challenge)} (leaf ${str(leaf)}) is not in proof-set entry ${str(entry)}: rebuild the proof from the current proof set`,
  MarketInvalidProof: ([challenge]) =>
    `the segment proof for challenge ${str(challenge)} is invalid: the data held does not match the shard's root`,
  MarketNotMissed: ([p, epoch]) =>
    `epoch ${str(epoch)} of provider ${str(p)} cannot be reported: its proof window is still open, it was proven, nothing was owed, or it was already reported`,
  MarketChallengeOpen: ([id, shard]) =>
    `shard ${str(shard)} of deal ${str(id)} already has an open challenge: wait for it to be answered or finalized`,
  MarketNoChallenge: ([id, shard]) =>
    `shard ${str(shard)} of deal ${str(id)} has no open challenge`,
  MarketDeadline: ([deadline, cur]) =>
    `the deadline (epoch ${str(deadline)}) does not allow this in epoch ${str(cur)}: it has either not passed yet or already passed`,
  MarketRepairIneligible: ([p, held]) =>
    `provider ${str(p)} may not repair this shard: it already holds shard ${str(held)} of the same deal`,
  MarketNoRepairClaim: ([id, shard, caller]) =>
    `${str(caller)} has no live repair claim on shard ${str(shard)} of deal ${str(id)}: claim the repair (again) first`,
  MarketNothingToWithdraw: ([a]) => `${str(a)} has nothing to withdraw from the market`,
  MarketInvalidParams: () =>
    "a market parameter is out of range (price and windows must be positive, fee at most 100%, bounty at most 50%, 1–16 challenges per epoch): fix the proposal",
  MarketDirectCall: () =>
    "the market extension was called directly: call the StorageMarket contract instead",
  MarketExtensionMismatch: ([ext]) =>
    `the market extension ${str(ext)} was built for another token, membership or treasury: deploy a matching one`,
  MarketRenounceDisabled: () =>
    "the market's ownership cannot be renounced: parameters must stay changeable by governance",
  MarketInvalidEpochLength: ([len]) =>
    `an epoch length of ${str(len)} seconds is not allowed: give a positive length`,

  // ── CoopMembership ──
  CoopMembershipAlreadyMember: ([a]) =>
    `${str(a)} is already a co-op member: there is nothing to join (coop member status)`,
  CoopMembershipNotMember: ([a]) =>
    `${str(a)} is not a co-op member: join first (coop member join)`,
  CoopMembershipInsufficientAllowance: ([a, allowance, required]) =>
    `the permit was refused and ${str(a)} allows the co-op only ${amt(allowance)} of the ${amt(required)} share: sign a fresh permit or approve the share first`,
  CoopMembershipExitAlreadyRequested: ([a, at]) =>
    `${str(a)} has already asked to leave; the exit can be completed from ${time(at)} (coop member exit)`,
  CoopMembershipExitNotRequested: ([a]) =>
    `${str(a)} has not asked to leave: request the exit first (coop member exit)`,
  CoopMembershipExitNotReady: ([a, at]) =>
    `the exit notice of ${str(a)} has not passed yet: complete the exit from ${time(at)}`,
  CoopMembershipTransferDisabled: ([from, to]) =>
    `membership cannot be transferred (from ${str(from)} to ${str(to)}): the new holder must join with its own share`,
  CoopMembershipApprovalDisabled: ([op]) =>
    `membership cannot be approved for transfer (to ${str(op)}): it is not transferable`,
  CoopMembershipDelegationDisabled: ([to]) =>
    `votes cannot be delegated (to ${str(to)}): every member votes for itself`,
  CoopMembershipNoRefund: ([a]) => `${str(a)} has no deferred refund to withdraw`,
  CoopMembershipShareTooLarge: ([x]) =>
    `a share of ${amt(x)} is too large to store: propose a smaller share`,
  CoopMembershipExitNoticeTooLong: ([notice, max]) =>
    `an exit notice of ${formatDuration(big(notice))} exceeds the longest allowed, ${formatDuration(big(max))}: propose a shorter notice`,
  CoopMembershipRenounceDisabled: () =>
    "the membership's ownership cannot be renounced: it must stay with governance",

  // ── PatronageTreasury ──
  PatronageTreasuryNotRecorder: ([a]) =>
    `${str(a)} is not the treasury's recorder: only the storage market records patronage`,
  PatronageTreasuryPeriodNotClosed: ([p, cur]) =>
    `period ${str(p)} has not ended yet (period ${str(cur)} is running): declare a dividend only for a closed period`,
  PatronageTreasuryDividendAlreadyDeclared: ([p]) =>
    `period ${str(p)} already has a dividend: each period gets one declaration`,
  PatronageTreasuryDividendNotDeclared: ([p]) =>
    `no dividend has been declared for period ${str(p)}: wait for governance to declare one (coop patronage status)`,
  PatronageTreasuryNoPatronage: ([p]) =>
    `no member earned points in period ${str(p)}, so nobody could claim a dividend: choose a period with patronage`,
  PatronageTreasuryZeroAmount: () => "the amount is zero: give a positive amount",
  PatronageTreasuryInsufficientFreeBalance: ([x, free]) =>
    `${amt(x)} exceeds the treasury's free balance of ${amt(free)}: ask for at most that much`,
  PatronageTreasuryClaimWindowClosed: ([p, deadline]) =>
    `the claim window of period ${str(p)} closed at ${time(deadline)}: its dividend can no longer be claimed`,
  PatronageTreasuryClaimWindowOpen: ([p, deadline]) =>
    `the claim window of period ${str(p)} is open until ${time(deadline)}: sweep it after that`,
  PatronageTreasuryAlreadyClaimed: ([p, m]) =>
    `${str(m)} has already claimed the dividend of period ${str(p)}`,
  PatronageTreasuryNoPoints: ([p, m]) =>
    `${str(m)} earned no patronage points in period ${str(p)}, so it has no dividend to claim`,
  PatronageTreasuryNothingToSweep: ([p]) => `period ${str(p)}'s dividend has nothing left to sweep`,
  PatronageTreasuryWeightTooLarge: ([w, max]) =>
    `a weight of ${str(w)} exceeds the largest allowed, ${str(max)}: propose smaller weights (only their ratio matters)`,
  PatronageTreasuryZeroPeriodLength: () => "the patronage period length must be positive",
  PatronageTreasuryZeroClaimWindow: () =>
    "the claim window must be positive: propose a window of at least one second",
  PatronageTreasuryRenounceDisabled: () =>
    "the treasury's ownership cannot be renounced: its funds would be locked for good",

  // ── FaucetToken, ERC-20, EIP-2612 ──
  FaucetTokenCooldownActive: ([a, at]) =>
    `${str(a)} drew from the faucet recently: try again from ${time(at)}`,
  ERC20InsufficientBalance: ([a, balance, needed]) =>
    `${str(a)} holds ${amt(balance)} but ${amt(needed)} is needed: top up the wallet (coop faucet on a local chain)`,
  ERC20InsufficientAllowance: ([spender, allowance, needed]) =>
    `${str(spender)} may spend only ${amt(allowance)} of the ${amt(needed)} needed: approve (or permit) at least that amount first`,
  ERC20InvalidSender: ([a]) => `tokens cannot be sent from ${str(a)}`,
  ERC20InvalidReceiver: ([a]) => `tokens cannot be sent to ${str(a)}: give a real address`,
  ERC20InvalidApprover: ([a]) => `${str(a)} cannot approve spending`,
  ERC20InvalidSpender: ([a]) => `${str(a)} cannot be approved as a spender: give a real address`,
  ERC2612ExpiredSignature: ([deadline]) =>
    `the permit expired at ${time(deadline)}: sign a new one`,
  ERC2612InvalidSigner: ([signer, owner]) =>
    `the permit was signed by ${str(signer)}, not by the owner ${str(owner)}: sign it with the owner's wallet on this chain and token`,
  InvalidAccountNonce: ([a, nonce]) =>
    `the signature of ${str(a)} uses a stale nonce (the current one is ${str(nonce)}): sign again`,
  ECDSAInvalidSignature: () => "the signature is invalid: sign again",
  ECDSAInvalidSignatureLength: ([len]) =>
    `the signature has ${str(len)} bytes instead of 65: sign again`,
  ECDSAInvalidSignatureS: () => "the signature is malleable (high s): sign again",
  SafeERC20FailedOperation: ([token]) =>
    `the token ${str(token)} refused the transfer: check the balance and allowance`,

  // ── Membership NFT (ERC-721, votes) ──
  ERC721NonexistentToken: ([id]) =>
    `membership token ${toHex(big(id))} does not exist: that address is not a member`,
  ERC721InvalidOwner: ([a]) => `${str(a)} cannot own a membership token`,
  ERC721IncorrectOwner: ([sender, id, owner]) =>
    `${str(sender)} does not hold membership token ${toHex(big(id))} (its holder is ${str(owner)})`,
  ERC721InsufficientApproval: ([op, id]) =>
    `${str(op)} may not move membership token ${toHex(big(id))}: membership is not transferable`,
  ERC721InvalidApprover: ([a]) => `${str(a)} cannot approve a membership transfer`,
  ERC721InvalidOperator: ([a]) => `${str(a)} cannot be an operator of membership tokens`,
  ERC721InvalidReceiver: ([a]) => `${str(a)} cannot receive a membership token`,
  ERC721InvalidSender: ([a]) => `${str(a)} cannot send a membership token`,
  ERC5805FutureLookup: ([t, clock]) =>
    `votes at ${str(t)} are asked for, but the clock is only at ${str(clock)}: ask for a past time`,
  VotesExpiredSignature: ([expiry]) => `the vote signature expired at ${time(expiry)}: sign again`,
  CheckpointUnorderedInsertion: () =>
    "a vote checkpoint was written out of order: this is a contract bug, report it",
  ERC6372InconsistentClock: () =>
    "the governor's clock does not match its token's clock: the deployment is inconsistent",

  // ── Governor ──
  GovernorInsufficientProposerVotes: ([a, votes, threshold]) =>
    `${str(a)} has ${str(votes)} vote(s) but ${str(threshold)} are needed to propose: only members may propose; join first (coop member join), or wait a second after joining`,
  GovernorAlreadyCastVote: ([a]) => `${str(a)} has already voted on this proposal`,
  GovernorAlreadyQueuedProposal: ([id]) => `proposal ${str(id)} is already queued`,
  GovernorNonexistentProposal: ([id]) =>
    `there is no proposal ${str(id)}: check the id (coop gov ls)`,
  GovernorUnexpectedProposalState: ([id, current, expected]) => {
    const now = proposalState(current);
    const hint = PROPOSAL_STATE_HINT[now as ProposalStateName];
    return `proposal ${str(id)} is ${now} but this needs it ${statesIn(expected, PROPOSAL_STATES)}${hint ? `: ${hint}` : ""}`;
  },
  GovernorInvalidProposalLength: ([t, c, v]) =>
    `the proposal has ${str(t)} targets, ${str(c)} calldatas and ${str(v)} values: they must be equally many and at least one`,
  GovernorDisabledDeposit: () => "the governor does not accept deposits",
  GovernorInvalidQuorumFraction: ([n, d]) =>
    `a quorum of ${str(n)}/${str(d)} is not allowed: propose at most 100%`,
  GovernorInvalidSignature: ([a]) => `the vote signature of ${str(a)} is invalid: sign again`,
  GovernorInvalidVoteParams: () => "the vote parameters are not supported: vote without params",
  GovernorInvalidVoteType: () => "the vote must be for, against or abstain",
  GovernorInvalidVotingPeriod: ([p]) =>
    `a voting period of ${str(p)} is not allowed: propose a positive period`,
  GovernorOnlyExecutor: ([a]) =>
    `${str(a)} may not do this: only governance (a passed proposal) can`,
  GovernorProposalQueueingFailed: ([id]) => `proposal ${str(id)} could not be queued`,
  GovernorProposalQueueingNotRequired: ([id]) =>
    `proposal ${str(id)} needs no queueing: execute it directly`,
  GovernorRestrictedProposer: ([a]) =>
    `the description restricts who may submit this proposal, and ${str(a)} is not that proposer`,
  GovernorUnableToCancel: ([id, a]) =>
    `${str(a)} cannot cancel proposal ${str(id)}: only its proposer can, and only before voting starts`,
  FailedCall: () =>
    "a call made by governance failed: one of the proposal's actions reverted; check its targets and calldata",

  // ── TimelockController, AccessControl, Ownable ──
  TimelockInsufficientDelay: ([delay, min]) =>
    `a delay of ${formatDuration(big(delay))} is below the timelock's minimum of ${formatDuration(big(min))}`,
  TimelockInvalidOperationLength: ([t, p, v]) =>
    `the operation has ${str(t)} targets, ${str(p)} payloads and ${str(v)} values: they must be equally many`,
  TimelockUnauthorizedCaller: ([a]) =>
    `${str(a)} may not call the timelock directly: changes go through a proposal`,
  TimelockUnexecutedPredecessor: ([id]) =>
    `the operation's predecessor ${str(id)} has not been executed yet: execute that first`,
  TimelockUnexpectedOperationState: ([id, expected]) =>
    `the timelock operation ${str(id)} is not ${statesIn(expected, OPERATION_STATES)}: if it was just queued, wait for the timelock delay to pass, then execute`,
  AccessControlUnauthorizedAccount: ([a, role]) =>
    `${str(a)} lacks the timelock's ${ROLES[str(role).toLowerCase()] ?? str(role)} role: changes go through a proposal`,
  AccessControlBadConfirmation: () => "a role can only be renounced by the account that holds it",
  OwnableUnauthorizedAccount: ([a]) =>
    `${str(a)} is not the contract's owner: only governance (a passed proposal, executed by the timelock) may do this`,
  OwnableInvalidOwner: ([a]) => `${str(a)} cannot become the owner: give a real address`,

  // ── Utilities ──
  ReentrancyGuardReentrantCall: () =>
    "a call re-entered the contract while it was busy: this is refused; call it again on its own",
  SafeCastOverflowedUintDowncast: ([bits, value]) =>
    `the value ${str(value)} does not fit in ${str(bits)} bits: use a smaller amount`,
  StringTooLong: ([s]) => `the text "${str(s)}" is too long`,
  InvalidShortString: () => "a short string is invalid",
};

/** Names of every error this module words (for tests and completeness checks). */
export const WORDED_ERRORS: readonly string[] = Object.keys(WORDS);

/** One sentence for a contract custom error. */
export function describeRevert(errorName: string, args: readonly unknown[]): string {
  const d = WORDS[errorName];
  if (d) {
    try {
      return d(args);
    } catch {
      // Arguments of an unexpected shape: fall through to the generic sentence.
    }
  }
  return `the contract refused it with ${errorName}(${args.map(String).join(", ")})`;
}

/** Every error of every co-op contract, for decoding errors raised by a contract other than the one called. */
const ALL_ERRORS: Abi = [
  ...storageMarketAbi,
  ...coopMembershipAbi,
  ...coopGovernorAbi,
  ...coopTimelockAbi,
  ...patronageTreasuryAbi,
  ...faucetTokenAbi,
].filter((x) => x.type === "error") as Abi;

/**
 * Decodes raw revert data against the errors of all co-op contracts (a revert bubbles up from
 * whichever contract raised it: the token inside `join`, the timelock inside `execute`).
 * Undefined when the data is no known custom error.
 */
export function decodeRevertData(
  raw: Hex | undefined,
): { errorName: string; args: readonly unknown[] } | undefined {
  if (!raw || raw.length < 10) return undefined;
  try {
    const r = decodeErrorResult({ abi: ALL_ERRORS, data: raw });
    return { errorName: r.errorName, args: (r.args ?? []) as readonly unknown[] };
  } catch {
    return undefined;
  }
}
