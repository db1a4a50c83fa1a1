// Governance as members use it: proposal templates (no hand-written calldata) that produce what
// the timelock will execute, proposing, listing with state, votes and time left, voting,
// queueing and executing. Every decision runs through CoopGovernor → CoopTimelock, which owns
// the setters of the market, the treasury and the membership.
import {
  type Abi,
  type Address,
  type Hex,
  type TransactionReceipt,
  decodeFunctionData,
  encodeFunctionData,
  keccak256,
  parseEventLogs,
  toHex,
} from "viem";

import {
  coopGovernorAbi,
  coopMembershipAbi,
  patronageTreasuryAbi,
  storageMarketAbi,
} from "../contracts/generated/abis.ts";
import { chainTime } from "./connect.ts";
import { ContractCallError, type CoopContracts, type SendOptions } from "./contracts.ts";
import {
  formatAmount,
  formatDuration,
  formatTime,
  getDefaultTokenUnits,
  type TokenUnits,
} from "./format.ts";
import { PROPOSAL_STATES, type ProposalStateName } from "./revert-words.ts";

/** What a proposal asks the timelock to do, and why in words. */
export interface ProposalAction {
  targets: Address[];
  values: bigint[];
  calldatas: Hex[];
  description: string;
}

const GIB = 2n ** 30n;
const WAD = 10n ** 18n;

/** A price per byte per epoch (1e-18 token base units) as the price of a GiB for one epoch. */
export function pricePerGiBEpoch(
  pricePerByteEpoch: bigint,
  units: TokenUnits = getDefaultTokenUnits(),
): string {
  // Six extra decimals so small local prices do not round to zero.
  const scaled = (pricePerByteEpoch * GIB * 10n ** 6n) / WAD;
  return formatAmount(scaled, { decimals: units.decimals + 6, symbol: units.symbol });
}

function setParamsAction(
  c: CoopContracts,
  params: Awaited<ReturnType<CoopContracts["market"]["read"]["params"]>>,
  description: string,
): ProposalAction {
  return {
    targets: [c.addresses.StorageMarket],
    values: [0n],
    calldatas: [
      encodeFunctionData({ abi: storageMarketAbi, functionName: "setParams", args: [params] }),
    ],
    description,
  };
}

const bps = (x: number) => `${(x / 100).toFixed(2).replace(/\.?0+$/, "")}%`;

/**
 * Templates of the proposals members make. Each reads what it needs from the chain (the market's
 * current parameters: `setParams` replaces them all, so only the one field changes) and says in
 * its description what it does.
 */
export const proposalActions = {
  /** Sets the storage price (`pricePerByteEpoch`, 1e-18 token base units per byte and epoch). */
  async setPrice(c: CoopContracts, pricePerByteEpoch: bigint): Promise<ProposalAction> {
    const params = await c.market.read.params();
    return setParamsAction(
      c,
      { ...params, pricePerByteEpoch },
      `Set the storage price to ${pricePerGiBEpoch(pricePerByteEpoch)} per GiB per epoch (pricePerByteEpoch ${params.pricePerByteEpoch} → ${pricePerByteEpoch}).`,
    );
  },

  /** Sets the co-op fee on deals, in basis points (100 = 1%). */
  async setFee(c: CoopContracts, feeBps: number): Promise<ProposalAction> {
    const params = await c.market.read.params();
    return setParamsAction(
      c,
      { ...params, feeBps },
      `Set the co-op fee on storage deals to ${bps(feeBps)} (was ${bps(params.feeBps)}).`,
    );
  },

  /** Sets the market's epoch length in seconds, from the next epoch on. */
  async setEpochLength(c: CoopContracts, seconds: number): Promise<ProposalAction> {
    const [, , length] = await c.market.read.epochClock();
    return {
      targets: [c.addresses.StorageMarket],
      values: [0n],
      calldatas: [
        encodeFunctionData({
          abi: storageMarketAbi,
          functionName: "setEpochLength",
          args: [seconds],
        }),
      ],
      description: `Set the epoch length to ${formatDuration(seconds)} (${seconds} s, was ${length} s), from the epoch after execution on.`,
    };
  },

  /** Declares `amount` of the treasury's free balance as the dividend of a closed `period`. */
  async declareDividend(c: CoopContracts, period: bigint, amount: bigint): Promise<ProposalAction> {
    const [start, length] = await Promise.all([
      c.treasury.read.periodStart([period]),
      c.treasury.read.periodLength(),
    ]);
    return {
      targets: [c.addresses.PatronageTreasury],
      values: [0n],
      calldatas: [
        encodeFunctionData({
          abi: patronageTreasuryAbi,
          functionName: "declareDividend",
          args: [period, amount],
        }),
      ],
      description: `Declare a patronage dividend of ${formatAmount(amount)} for period ${period} (${formatTime(start)} to ${formatTime(start + length)}), shared by the points members earned in it.`,
    };
  },

  /** Sends `amount` from the treasury's free balance to `to`. */
  async treasurySpend(c: CoopContracts, to: Address, amount: bigint): Promise<ProposalAction> {
    return {
      targets: [c.addresses.PatronageTreasury],
      values: [0n],
      calldatas: [
        encodeFunctionData({
          abi: patronageTreasuryAbi,
          functionName: "spend",
          args: [to, amount],
        }),
      ],
      description: `Pay ${formatAmount(amount)} from the co-op treasury to ${to}.`,
    };
  },
};

/** `keccak256` of the description: with targets, values and calldatas it names the proposal. */
export const descriptionHash = (description: string): Hex => keccak256(toHex(description));

/** The proposal id the governor gives `action`. */
export async function proposalIdOf(c: CoopContracts, action: ProposalAction): Promise<bigint> {
  return c.governor.read.hashProposal([
    action.targets,
    action.values,
    action.calldatas,
    descriptionHash(action.description),
  ]);
}

/** Submits `action` as a proposal (members only). Resolves with its id. */
export async function propose(
  c: CoopContracts,
  action: ProposalAction,
  options: SendOptions = {},
): Promise<{ proposalId: bigint; receipt: TransactionReceipt }> {
  const id = await proposalIdOf(c, action);
  if ((await c.governor.read.proposalSnapshot([id])) !== 0n)
    throw new ContractCallError(
      "propose",
      `the same proposal already exists (id ${id}, ${await stateName(c, id)}): change its description to propose it again`,
    );
  const receipt = await c.send(
    "propose",
    {
      address: c.addresses.CoopGovernor,
      abi: coopGovernorAbi,
      functionName: "propose",
      args: [action.targets, action.values, action.calldatas, action.description],
    },
    options,
  );
  return { proposalId: id, receipt };
}

/** A proposal with its state, votes and timing (in the governor's clock). */
export interface ProposalInfo {
  id: bigint;
  proposer: Address;
  description: string;
  targets: Address[];
  values: bigint[];
  calldatas: Hex[];
  /** Each action in words: `StorageMarket.setEpochLength(60)`. */
  actions: string[];
  state: ProposalStateName;
  votes: { for: bigint; against: bigint; abstain: bigint };
  /** Votes (For + Abstain) needed; undefined until the snapshot has passed. */
  quorum: bigint | undefined;
  /** `"mode=timestamp"` (seconds) or `"mode=blocknumber&from=default"` (blocks). */
  clockMode: string;
  /** The governor's clock now. */
  now: bigint;
  /** Snapshot: voting opens after it. */
  voteStart: bigint;
  /** Last clock value at which votes count. */
  voteEnd: bigint;
  /** When the queued proposal can be executed (0 unless queued). */
  eta: bigint;
  /** Clock units until voting opens (0 once open). */
  untilVoteStart: bigint;
  /** Clock units until voting closes (0 once closed). */
  untilVoteEnd: bigint;
  /** Seconds until a queued proposal can be executed (0 when executable or not queued). */
  untilExecutable: bigint;
  /** When `voter` was given: whether it has voted. */
  hasVoted?: boolean;
}

async function stateName(c: CoopContracts, id: bigint): Promise<ProposalStateName> {
  return PROPOSAL_STATES[await c.governor.read.state([id])];
}

const NAMED_ABIS = (c: CoopContracts): [Address, string, Abi][] => [
  [c.addresses.StorageMarket, "StorageMarket", storageMarketAbi as Abi],
  [c.addresses.PatronageTreasury, "PatronageTreasury", patronageTreasuryAbi as Abi],
  [c.addresses.CoopMembership, "CoopMembership", coopMembershipAbi as Abi],
  [c.addresses.CoopGovernor, "CoopGovernor", coopGovernorAbi as Abi],
];

const show = (v: unknown): string =>
  typeof v === "bigint"
    ? v.toString()
    : Array.isArray(v)
      ? `[${v.map(show).join(", ")}]`
      : v && typeof v === "object"
        ? `{ ${Object.entries(v)
            .map(([k, x]) => `${k}: ${show(x)}`)
            .join(", ")} }`
        : String(v);

/** One proposal action as `Contract.function(args)`, or the raw call when it is not a co-op contract. */
export function describeCall(c: CoopContracts, target: Address, calldata: Hex): string {
  const known = NAMED_ABIS(c).find(([a]) => a.toLowerCase() === target.toLowerCase());
  if (!known) return `call ${target} with ${calldata}`;
  try {
    const { functionName, args } = decodeFunctionData({ abi: known[2], data: calldata });
    return `${known[1]}.${functionName}(${(args ?? []).map(show).join(", ")})`;
  } catch {
    return `${known[1]} call ${calldata.slice(0, 10)}`;
  }
}

interface CreatedProposal {
  id: bigint;
  proposer: Address;
  targets: Address[];
  values: bigint[];
  calldatas: Hex[];
  description: string;
}

async function createdProposals(
  c: CoopContracts,
  fromBlock = c.fromBlock,
): Promise<CreatedProposal[]> {
  const logs = await c.getContractEvents({
    address: c.addresses.CoopGovernor,
    abi: coopGovernorAbi,
    eventName: "ProposalCreated",
    fromBlock,
  });
  return logs.map((l) => ({
    id: l.args.proposalId!,
    proposer: l.args.proposer!,
    targets: [...l.args.targets!],
    values: [...l.args.values!],
    calldatas: [...l.args.calldatas!],
    description: l.args.description!,
  }));
}

async function proposalInfo(
  c: CoopContracts,
  p: CreatedProposal,
  voter: Address | undefined,
): Promise<ProposalInfo> {
  const g = c.governor.read;
  const [state, [against, forVotes, abstain], voteStart, voteEnd, eta, now, mode, time, voted] =
    await Promise.all([
      g.state([p.id]),
      g.proposalVotes([p.id]),
      g.proposalSnapshot([p.id]),
      g.proposalDeadline([p.id]),
      g.proposalEta([p.id]),
      g.clock(),
      g.CLOCK_MODE(),
      chainTime(c),
      voter ? g.hasVoted([p.id, voter]) : Promise.resolve(undefined),
    ]);
  const clockNow = BigInt(now);
  const quorum = voteStart < clockNow ? await g.quorum([voteStart]) : undefined;
  return {
    ...p,
    actions: p.targets.map((t, i) => describeCall(c, t, p.calldatas[i])),
    state: PROPOSAL_STATES[state],
    votes: { for: forVotes, against, abstain },
    quorum,
    clockMode: mode,
    now: clockNow,
    voteStart,
    voteEnd,
    eta,
    untilVoteStart: voteStart >= clockNow ? voteStart - clockNow + 1n : 0n,
    untilVoteEnd: voteEnd >= clockNow ? voteEnd - clockNow + 1n : 0n,
    untilExecutable: eta > time ? eta - time : 0n,
    ...(voted === undefined ? {} : { hasVoted: voted }),
  };
}

export interface ProposalListOptions {
  /** First block to read ProposalCreated events from. @default 0 */
  fromBlock?: bigint;
  /** Also tell whether this address has voted on each proposal (default: the wallet, if any). */
  voter?: Address;
}

/** Every proposal, newest first, with state, votes and time left. */
export async function listProposals(
  c: CoopContracts,
  options: ProposalListOptions = {},
): Promise<ProposalInfo[]> {
  const voter = options.voter ?? c.walletClient?.account.address;
  const created = await createdProposals(c, options.fromBlock);
  const infos = await Promise.all(created.map((p) => proposalInfo(c, p, voter)));
  return infos.reverse();
}

/** One proposal by id (GovernorNonexistentProposal in words when there is none). */
export async function getProposal(
  c: CoopContracts,
  id: bigint,
  options: ProposalListOptions = {},
): Promise<ProposalInfo> {
  const p = (await createdProposals(c, options.fromBlock)).find((x) => x.id === id);
  if (!p)
    throw new ContractCallError(
      "reading the proposal",
      `there is no proposal ${id}: check the id (coop gov ls)`,
    );
  return proposalInfo(c, p, options.voter ?? c.walletClient?.account.address);
}

const SUPPORT = { against: 0, for: 1, abstain: 2 } as const;
export type VoteSupport = keyof typeof SUPPORT;

/** `"in 4 min"` for a timestamp clock, `"in 12 blocks"` for a block clock. */
function inClock(info: ProposalInfo, units: bigint): string {
  return info.clockMode.includes("timestamp")
    ? `in ${formatDuration(units)}`
    : `in ${units} block${units === 1n ? "" : "s"}`;
}

/** Casts the wallet's vote on proposal `id`. Resolves with the weight counted. */
export async function castVote(
  c: CoopContracts,
  id: bigint,
  support: VoteSupport,
  reason?: string,
  options: SendOptions = {},
): Promise<{ weight: bigint; receipt: TransactionReceipt }> {
  if (!Object.hasOwn(SUPPORT, support))
    throw new ContractCallError("castVote", `vote "${support}" is not for, against or abstain`);
  const info = await getProposal(c, id);
  if (info.state === "Pending")
    throw new ContractCallError(
      "castVote",
      `voting on proposal ${id} has not opened yet: it opens ${inClock(info, info.untilVoteStart)}`,
    );
  const receipt = await c.send(
    "castVote",
    {
      address: c.addresses.CoopGovernor,
      abi: coopGovernorAbi,
      functionName: reason ? "castVoteWithReason" : "castVote",
      args: reason ? [id, SUPPORT[support], reason] : [id, SUPPORT[support]],
    },
    options,
  );
  const [ev] = parseEventLogs({ abi: coopGovernorAbi, eventName: "VoteCast", logs: receipt.logs });
  return { weight: ev.args.weight, receipt };
}

function operation(info: ProposalInfo) {
  return [info.targets, info.values, info.calldatas, descriptionHash(info.description)] as const;
}

/** Queues a passed proposal in the timelock. Resolves with when it can be executed. */
export async function queueProposal(
  c: CoopContracts,
  id: bigint,
  options: SendOptions = {},
): Promise<{ eta: bigint; receipt: TransactionReceipt }> {
  const info = await getProposal(c, id);
  if (info.state === "Active" || info.state === "Pending")
    throw new ContractCallError(
      "queue",
      `proposal ${id} is still ${info.state === "Active" ? "being voted on" : "waiting for its vote"}: its vote closes ${inClock(info, info.untilVoteEnd)}; queue it after that if it passes`,
    );
  const receipt = await c.send(
    "queue",
    {
      address: c.addresses.CoopGovernor,
      abi: coopGovernorAbi,
      functionName: "queue",
      args: operation(info),
    },
    options,
  );
  const [ev] = parseEventLogs({
    abi: coopGovernorAbi,
    eventName: "ProposalQueued",
    logs: receipt.logs,
  });
  return { eta: ev.args.etaSeconds, receipt };
}

/** Executes a queued proposal once the timelock delay has passed (anyone may). */
export async function executeProposal(
  c: CoopContracts,
  id: bigint,
  options: SendOptions = {},
): Promise<TransactionReceipt> {
  const info = await getProposal(c, id);
  // The next block is at least a second after the latest, so one second left is executable.
  if (info.state === "Queued" && info.untilExecutable > 1n)
    throw new ContractCallError(
      "execute",
      `proposal ${id} waits in the timelock until ${formatTime(info.eta)} (in ${formatDuration(info.untilExecutable)}): execute it then`,
    );
  return c.send(
    "execute",
    {
      address: c.addresses.CoopGovernor,
      abi: coopGovernorAbi,
      functionName: "execute",
      args: operation(info),
    },
    options,
  );
}
