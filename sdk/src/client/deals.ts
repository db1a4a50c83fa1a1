// Deals as the chain records them: the DealCreated event (roots, providers, manifest CID, what
// was paid) and where each shard is now. Shared by get, files and put.
import { type Address, type Hex, zeroAddress } from "viem";
import { CID } from "multiformats/cid";

import { storageMarketAbi } from "../contracts/generated/abis.ts";
import type { CoopContracts } from "./contracts.ts";

/** A deal's creation record (its DealCreated event). */
export interface DealRecord {
  dealId: bigint;
  owner: Address;
  k: number;
  n: number;
  shardSize: bigint;
  durationEpochs: number;
  roots: Hex[];
  /** The providers the deal was created with. */
  providers: Address[];
  manifestCid: string;
  startEpoch: number;
  endEpoch: number;
  escrow: bigint;
  fee: bigint;
  blockNumber: bigint;
}

/** No deal with this id (or manifest CID) exists on the connected market. */
export class UnknownDealError extends Error {
  name = "UnknownDealError";
  constructor(what: string) {
    super(
      `${what} does not exist on this market: check the id, the network (RPC URL) and that the put finished`,
    );
  }
}

type DealCreatedLog = {
  args: {
    dealId?: bigint;
    owner?: Address;
    request?: {
      k: number;
      shardSize: bigint;
      durationEpochs: number;
      roots: readonly Hex[];
      providers: readonly Address[];
      manifestCid: Hex;
    };
    startEpoch?: number;
    endEpoch?: number;
    escrow?: bigint;
    fee?: bigint;
  };
  blockNumber: bigint | null;
};

function toRecord(log: DealCreatedLog): DealRecord {
  const a = log.args;
  const r = a.request!;
  return {
    dealId: a.dealId!,
    owner: a.owner!,
    k: r.k,
    n: r.roots.length,
    shardSize: r.shardSize,
    durationEpochs: r.durationEpochs,
    roots: [...r.roots],
    providers: [...r.providers],
    manifestCid: CID.decode(hexBytes(r.manifestCid)).toString(),
    startEpoch: a.startEpoch!,
    endEpoch: a.endEpoch!,
    escrow: a.escrow!,
    fee: a.fee!,
    blockNumber: log.blockNumber ?? 0n,
  };
}

function hexBytes(hex: Hex): Uint8Array {
  return Uint8Array.from(hex.slice(2).match(/../g) ?? [], (b) => parseInt(b, 16));
}

/** DealCreated events, filtered by deal id and/or owner (both indexed). */
export async function dealRecords(
  c: CoopContracts,
  filter: { dealId?: bigint; owner?: Address } = {},
): Promise<DealRecord[]> {
  const logs = await c.getContractEvents({
    address: c.addresses.StorageMarket,
    abi: storageMarketAbi,
    eventName: "DealCreated",
    args: { dealId: filter.dealId, owner: filter.owner },
    fromBlock: c.fromBlock,
  });
  return (logs as unknown as DealCreatedLog[]).map(toRecord);
}

/** One deal's creation record; UnknownDealError if there is none. */
export async function dealRecord(c: CoopContracts, dealId: bigint): Promise<DealRecord> {
  const [rec] = await dealRecords(c, { dealId });
  if (!rec) throw new UnknownDealError(`deal ${dealId}`);
  return rec;
}

/** Where a shard is now. */
export interface ShardLocation {
  index: number;
  /** The holder, or the provider it is assigned to. */
  provider: Address;
  status: (typeof SHARD_STATUS)[number];
  /** Lost, or held by a provider that has failed. */
  lost: boolean;
  /** Epochs the holder was paid for so far. */
  paidEpochs: number;
  /** While assigned: the assignment epoch. While active: the first epoch not yet paid. */
  epoch: number;
}

/** Shard statuses in the order of the market's `ShardStatus` enum. */
export const SHARD_STATUS = ["assigned", "active", "lost", "closed"] as const;

/** Each shard's holder (or assignee) and status. */
export async function shardLocations(
  c: CoopContracts,
  deal: Pick<DealRecord, "dealId" | "n" | "providers">,
): Promise<ShardLocation[]> {
  const views = await Promise.all(
    Array.from({ length: deal.n }, (_, i) => c.market.read.getShard([deal.dealId, BigInt(i)])),
  );
  return views.map((s, index) => ({
    index,
    provider: s.provider === zeroAddress ? deal.providers[index]! : s.provider,
    status: SHARD_STATUS[s.status] ?? "closed",
    lost: s.lost,
    paidEpochs: s.paidEpochs,
    epoch: s.epoch,
  }));
}

/** HTTP endpoint and libp2p multiaddrs of providers by lowercase address (one read each, deduplicated). */
export async function providerContacts(
  c: CoopContracts,
  providers: readonly Address[],
): Promise<Map<string, { endpoint: string; multiaddrs: readonly string[] }>> {
  const unique = [...new Set(providers.map((p) => p.toLowerCase() as Address))];
  const views = await Promise.all(unique.map((p) => c.market.read.getProvider([p])));
  return new Map(
    unique.map((p, i) => [p, { endpoint: views[i]!.endpoint, multiaddrs: views[i]!.multiaddrs }]),
  );
}
