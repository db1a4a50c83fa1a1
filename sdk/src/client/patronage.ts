// Patronage as a member sees it: per period, what it paid and earned, its points against the
// period's total, the dividend declared, what it can still claim and until when; and claiming.
import { type Address, type TransactionReceipt, parseEventLogs } from "viem";

import { patronageTreasuryAbi } from "../contracts/generated/abis.ts";
import { chainTime } from "./connect.ts";
import type { CoopContracts, SendOptions } from "./contracts.ts";

/** One patronage period of one member. */
export interface PatronagePeriod {
  period: bigint;
  /** Unix seconds: the period covers [start, end). */
  start: bigint;
  end: bigint;
  /** Ended: a dividend may be declared for it. */
  closed: boolean;
  /** Payment-token units the member paid for storage in the period (PatronageRecorded). */
  paid: bigint;
  /** Payment-token units the member earned providing storage in the period. */
  earned: bigint;
  /** The member's points (paid · paidWeight + earned · earnedWeight at the time). */
  points: bigint;
  /** All members' points in the period. */
  totalPoints: bigint;
  declared: boolean;
  /** Dividend of the period (0 until declared). */
  dividend: bigint;
  /** Last second at which claims are accepted (0 until declared). */
  claimDeadline: bigint;
  /** Declared and the deadline has not passed. */
  claimOpen: boolean;
  /** What claimDividend would pay now. */
  claimable: bigint;
  claimed: boolean;
  /** What the member received when it claimed. */
  claimedAmount: bigint;
}

/** A member's patronage across periods, and the treasury's settings. */
export interface PatronageStatus {
  member: Address;
  currentPeriod: bigint;
  periodLength: bigint;
  /** Start of period 0. */
  genesis: bigint;
  /** Points per unit paid and earned, in force now. */
  paidWeight: bigint;
  earnedWeight: bigint;
  /** Seconds a declared dividend stays claimable. */
  claimWindow: bigint;
  /** Treasury balance not reserved for declared dividends (what governance may declare or spend). */
  freeBalance: bigint;
  /** Sum of `claimable` over the periods. */
  totalClaimable: bigint;
  /** Periods with activity of the member, a declared dividend, or the current one; newest first. */
  periods: PatronagePeriod[];
  /** The chain's time when this was read. */
  now: bigint;
}

/** Patronage of `address` (default: the wallet) in every period it was active or a dividend was declared. */
export async function patronageStatus(
  c: CoopContracts,
  address?: Address,
  options: { fromBlock?: bigint } = {},
): Promise<PatronageStatus> {
  const member = address ?? c.account("reading patronage");
  const t = c.treasury.read;
  const ev = { address: c.addresses.PatronageTreasury, abi: patronageTreasuryAbi } as const;
  const fromBlock = options.fromBlock ?? c.fromBlock;
  const [current, length, genesis, paidW, earnedW, window, free, now, recorded, declared, claims] =
    await Promise.all([
      t.currentPeriod(),
      t.periodLength(),
      t.genesis(),
      t.paidWeight(),
      t.earnedWeight(),
      t.claimWindow(),
      t.freeBalance(),
      chainTime(c),
      c.getContractEvents({
        ...ev,
        eventName: "PatronageRecorded",
        args: { member },
        fromBlock,
      }),
      c.getContractEvents({ ...ev, eventName: "DividendDeclared", fromBlock }),
      c.getContractEvents({
        ...ev,
        eventName: "DividendClaimed",
        args: { member },
        fromBlock,
      }),
    ]);
  const activity = new Map<bigint, { paid: bigint; earned: bigint }>();
  for (const r of recorded) {
    const a = activity.get(r.args.period!) ?? { paid: 0n, earned: 0n };
    a.paid += r.args.paid!;
    a.earned += r.args.earned!;
    activity.set(r.args.period!, a);
  }
  const claimedAmount = new Map(claims.map((e) => [e.args.period!, e.args.amount!]));
  const numbers = [
    ...new Set([current, ...activity.keys(), ...declared.map((d) => d.args.period!)]),
  ].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));

  const periods = await Promise.all(
    numbers.map(async (period): Promise<PatronagePeriod> => {
      const [totals, mine, claimable] = await Promise.all([
        t.getPeriod([period]),
        t.getPatronage([period, member]),
        t.claimableDividend([period, member]),
      ]);
      const start = genesis + period * length;
      const a = activity.get(period) ?? { paid: 0n, earned: 0n };
      return {
        period,
        start,
        end: start + length,
        closed: period < current,
        paid: a.paid,
        earned: a.earned,
        points: mine.points,
        totalPoints: totals.totalPoints,
        declared: totals.claimDeadline !== 0n,
        dividend: totals.dividend,
        claimDeadline: totals.claimDeadline,
        claimOpen: totals.claimDeadline !== 0n && now <= totals.claimDeadline,
        claimable,
        claimed: mine.claimed,
        claimedAmount: claimedAmount.get(period) ?? 0n,
      };
    }),
  );
  return {
    member,
    currentPeriod: current,
    periodLength: length,
    genesis,
    paidWeight: paidW,
    earnedWeight: earnedW,
    claimWindow: window,
    freeBalance: free,
    totalClaimable: periods.reduce((s, p) => s + p.claimable, 0n),
    periods,
    now,
  };
}

/** Claims the wallet's share of `period`'s dividend. Resolves with the amount paid. */
export async function claimDividend(
  c: CoopContracts,
  period: bigint,
  options: SendOptions = {},
): Promise<{ amount: bigint; receipt: TransactionReceipt }> {
  const receipt = await c.send(
    "claimDividend",
    {
      address: c.addresses.PatronageTreasury,
      abi: patronageTreasuryAbi,
      functionName: "claimDividend",
      args: [period],
    },
    options,
  );
  const [ev] = parseEventLogs({
    abi: patronageTreasuryAbi,
    eventName: "DividendClaimed",
    logs: receipt.logs,
  });
  return { amount: ev.args.amount, receipt };
}
