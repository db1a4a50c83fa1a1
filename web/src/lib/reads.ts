// Chain reads of the Overview and Co-op pages: the sdk's calls and typed reads, plus the event
// scans the charts need (the sdk's own generated ABIs; no hand-written ABI anywhere).
import { dealRecords, listProviders, type CoopContracts } from "@coop-cloud/sdk/client";
import {
  faucetTokenAbi,
  patronageTreasuryAbi,
  storageMarketAbi,
} from "@coop-cloud/sdk/contracts/generated/abis.ts";
import type { Address } from "viem";

import { dealSpans, scanFrom, type BalanceChange, type DealSpan } from "./overview";

export interface CoopFigures {
  members: bigint;
  providers: { active: number; total: number };
  capacity: bigint;
  used: bigint;
  pricePerByteEpoch: bigint;
  feeBps: number;
  epoch: number;
  clock: { anchorTime: bigint; anchorEpoch: number; length: number };
  treasuryBalance: bigint;
  treasuryFree: bigint;
  /** Timestamp of the head block. */
  chainTime: bigint;
}

/** The figures of the Overview: members, providers, capacity, price, epoch, treasury. */
export async function readFigures(c: CoopContracts, head: bigint): Promise<CoopFigures> {
  const [members, providers, params, clock, epoch, treasuryBalance, treasuryFree, block] =
    await Promise.all([
      c.membership.read.memberCount(),
      listProviders(c),
      c.market.read.params(),
      c.market.read.epochClock(),
      c.market.read.currentEpoch(),
      c.token.read.balanceOf([c.addresses.PatronageTreasury]),
      c.treasury.read.freeBalance(),
      c.publicClient.getBlock({ blockNumber: head }),
    ]);
  const active = providers.filter((p) => p.registered && !p.failed);
  return {
    members,
    providers: { active: active.length, total: providers.filter((p) => p.registered).length },
    capacity: active.reduce((s, p) => s + p.capacity, 0n),
    used: active.reduce((s, p) => s + p.used, 0n),
    pricePerByteEpoch: params.pricePerByteEpoch,
    feeBps: params.feeBps,
    epoch: Number(epoch),
    clock: { anchorTime: clock[0], anchorEpoch: clock[1], length: clock[2] },
    treasuryBalance,
    treasuryFree,
    chainTime: block.timestamp,
  };
}

export interface MarketHistory {
  spans: DealSpan[];
  proven: { epoch: bigint }[];
  missed: { epoch: bigint }[];
}

/**
 * Every deal's span (DealCreated, ShardAccepted, with DealExtended/DealCancelled ends: a deal
 * made long ago may still hold storage, and these events are few) and the proofs and misses of the latest
 * SCAN_BLOCKS blocks.
 */
export async function readMarketHistory(c: CoopContracts, head: bigint): Promise<MarketHistory> {
  const market = { address: c.addresses.StorageMarket, abi: storageMarketAbi } as const;
  const recent = scanFrom(head, c.fromBlock);
  const [created, accepted, extended, cancelled, proven, missed] = await Promise.all([
    dealRecords(c),
    c.getContractEvents({ ...market, eventName: "ShardAccepted", fromBlock: c.fromBlock }),
    c.getContractEvents({ ...market, eventName: "DealExtended", fromBlock: c.fromBlock }),
    c.getContractEvents({ ...market, eventName: "DealCancelled", fromBlock: c.fromBlock }),
    c.getContractEvents({ ...market, eventName: "EpochProven", fromBlock: recent }),
    c.getContractEvents({ ...market, eventName: "EpochMissed", fromBlock: recent }),
  ]);
  const ends = [...extended, ...cancelled].map((e) => ({
    dealId: e.args.dealId!,
    endEpoch: Number(e.args.endEpoch!),
    blockNumber: e.blockNumber,
    logIndex: e.logIndex,
  }));
  return {
    spans: dealSpans(
      created,
      ends,
      accepted.map((e) => ({ dealId: e.args.dealId!, shard: Number(e.args.shard!) })),
    ),
    proven: proven.map((e) => ({ epoch: e.args.epoch! })),
    missed: missed.map((e) => ({ epoch: e.args.epoch! })),
  };
}

export type TreasuryEvent =
  | { kind: "declared"; period: bigint; amount: bigint; block: bigint }
  | { kind: "claimed"; period: bigint; member: Address; amount: bigint; block: bigint }
  | { kind: "spent"; to: Address; amount: bigint; block: bigint }
  | { kind: "swept"; period: bigint; amount: bigint; block: bigint };

export interface TreasuryHistory {
  balance: bigint;
  free: bigint;
  /** Token transfers into (+) and out of (−) the treasury in the latest SCAN_BLOCKS blocks. */
  changes: BalanceChange[];
  /** Dividends declared, claimed and swept, and spending, newest first. */
  events: TreasuryEvent[];
  fromBlock: bigint;
  head: bigint;
}

/** The treasury's balance and what moved it in the latest SCAN_BLOCKS blocks. */
export async function readTreasuryHistory(c: CoopContracts, head: bigint): Promise<TreasuryHistory> {
  const treasury = c.addresses.PatronageTreasury;
  const fromBlock = scanFrom(head, c.fromBlock);
  const token = { address: c.addresses.FaucetToken, abi: faucetTokenAbi } as const;
  const t = { address: treasury, abi: patronageTreasuryAbi, fromBlock } as const;
  const [balance, free, ins, outs, declared, claimed, spent, swept] = await Promise.all([
    c.token.read.balanceOf([treasury], { blockNumber: head }),
    c.treasury.read.freeBalance({ blockNumber: head }),
    c.getContractEvents({ ...token, eventName: "Transfer", args: { to: treasury }, fromBlock, toBlock: head }),
    c.getContractEvents({ ...token, eventName: "Transfer", args: { from: treasury }, fromBlock, toBlock: head }),
    c.getContractEvents({ ...t, eventName: "DividendDeclared" }),
    c.getContractEvents({ ...t, eventName: "DividendClaimed" }),
    c.getContractEvents({ ...t, eventName: "FundsSpent" }),
    c.getContractEvents({ ...t, eventName: "DividendSwept" }),
  ]);
  const changes: BalanceChange[] = [
    ...ins.map((e) => ({ blockNumber: e.blockNumber, logIndex: e.logIndex, delta: e.args.value! })),
    ...outs.map((e) => ({ blockNumber: e.blockNumber, logIndex: e.logIndex, delta: -e.args.value! })),
  ];
  const events: TreasuryEvent[] = [
    ...declared.map((e) => ({
      kind: "declared" as const,
      period: e.args.period!,
      amount: e.args.amount!,
      block: e.blockNumber,
    })),
    ...claimed.map((e) => ({
      kind: "claimed" as const,
      period: e.args.period!,
      member: e.args.member!,
      amount: e.args.amount!,
      block: e.blockNumber,
    })),
    ...spent.map((e) => ({
      kind: "spent" as const,
      to: e.args.to!,
      amount: e.args.amount!,
      block: e.blockNumber,
    })),
    ...swept.map((e) => ({
      kind: "swept" as const,
      period: e.args.period!,
      amount: e.args.amount!,
      block: e.blockNumber,
    })),
  ].sort((a, b) => (a.block > b.block ? -1 : a.block < b.block ? 1 : 0));
  return { balance, free, changes, events, fromBlock, head };
}
