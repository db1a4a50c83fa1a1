// Storage providers as a data owner sees them: who registered (events), what each offers now
// (getProvider), how reliable it has been (proven vs reported missed epochs), and a pure choice
// of n providers for a deal's shards.
import type { Address } from "viem";

import { storageMarketAbi } from "../contracts/generated/abis.ts";
import type { CoopContracts } from "./contracts.ts";
import { formatBytes } from "./format.ts";

/** One provider: its registration, capacity, stake and record. */
export interface ProviderSummary {
  address: Address;
  /** HTTP endpoint that takes shard uploads. */
  endpoint: string;
  /** libp2p addresses of its IPFS node. */
  multiaddrs: string[];
  /** Bytes offered. */
  capacity: bigint;
  /** Bytes reserved by accepted shards. */
  used: bigint;
  /** capacity − used. */
  free: bigint;
  /** Stake in payment-token units. */
  stake: bigint;
  /** Epochs it proved. */
  provenEpochs: bigint;
  /** Epochs reported as missed (EpochMissed events). */
  missedEpochs: number;
  /** Missed too many epochs in a row: its shards are lost and it takes no new ones. */
  failed: boolean;
  /** Still registered (false once it has left). */
  registered: boolean;
  /** Shards it holds now. */
  activeShards: number;
  lastProvenEpoch: number;
  /** Epoch it failed in (0 = never). */
  failedEpoch: number;
}

export interface ListOptions {
  /** First block to read events from (the deployment block on a long chain). @default 0 */
  fromBlock?: bigint;
}

/**
 * Every provider that ever registered with the market (ProviderRegistered events), with its
 * current state from `getProvider` (which reflects every ProviderUpdated and ProviderLeft since)
 * and its record: proven epochs from the market, missed epochs from EpochMissed reports.
 */
export async function listProviders(
  c: CoopContracts,
  options: ListOptions = {},
): Promise<ProviderSummary[]> {
  const events = { address: c.addresses.StorageMarket, abi: storageMarketAbi } as const;
  const fromBlock = options.fromBlock ?? c.fromBlock;
  const [registered, missed] = await Promise.all([
    c.getContractEvents({ ...events, eventName: "ProviderRegistered", fromBlock }),
    c.getContractEvents({ ...events, eventName: "EpochMissed", fromBlock }),
  ]);
  const addresses = [...new Set(registered.map((e) => e.args.provider!))];
  const missedBy = new Map<string, number>();
  for (const e of missed) {
    const a = e.args.provider!.toLowerCase();
    missedBy.set(a, (missedBy.get(a) ?? 0) + 1);
  }
  const views = await Promise.all(addresses.map((a) => c.market.read.getProvider([a])));
  return addresses.map((address, i) => {
    const v = views[i];
    return {
      address,
      endpoint: v.endpoint,
      multiaddrs: [...v.multiaddrs],
      capacity: v.capacity,
      used: v.used,
      free: v.capacity > v.used ? v.capacity - v.used : 0n,
      stake: v.stake,
      provenEpochs: v.provenEpochs,
      missedEpochs: missedBy.get(address.toLowerCase()) ?? 0,
      failed: v.failedEpoch !== 0,
      registered: v.registered,
      activeShards: v.activeShards,
      lastProvenEpoch: v.lastProvenEpoch,
      failedEpoch: v.failedEpoch,
    };
  });
}

/** Fewer suitable providers than shards. */
export class NotEnoughProvidersError extends Error {
  name = "NotEnoughProvidersError";
  readonly needed: number;
  readonly available: number;
  constructor(needed: number, available: number, why: string) {
    super(
      `${needed} providers are needed but only ${available} can take the shards (${why}): use fewer shards (smaller n) or smaller shards, or wait for more providers`,
    );
    this.needed = needed;
    this.available = available;
  }
}

export interface ChooseOptions {
  /** Providers needed (n, one per shard). */
  count: number;
  /** Bytes per shard: each chosen provider needs this much free capacity. */
  shardSize: bigint | number;
  /** Addresses never to choose (e.g. providers that failed an upload). */
  exclude?: readonly Address[];
}

/**
 * Reliability from the record, with one imagined proven and one imagined missed epoch so a
 * new provider starts at 0.5 and a long clean record approaches 1: (proven + 1) / (proven +
 * missed + 2).
 */
export function reliability(p: Pick<ProviderSummary, "provenEpochs" | "missedEpochs">): number {
  const proven = Number(p.provenEpochs);
  return (proven + 1) / (proven + p.missedEpochs + 2);
}

/** The host part of an endpoint URL (the endpoint itself when it is not a URL). */
function hostOf(endpoint: string): string {
  try {
    return new URL(endpoint).hostname.toLowerCase();
  } catch {
    return endpoint.toLowerCase();
  }
}

/**
 * Chooses `count` distinct providers for a deal's shards: registered, not failed, not
 * excluded, with `shardSize` bytes free; ranked by reliability, then stake; spread over
 * endpoint hosts (round-robin: the best provider of each host before a second one on any
 * host), so one machine going down costs as few shards as the list allows. Pure.
 * Throws NotEnoughProvidersError, saying why the others were left out.
 */
export function chooseProviders(
  list: readonly ProviderSummary[],
  options: ChooseOptions,
): ProviderSummary[] {
  const size = BigInt(options.shardSize);
  const excluded = new Set((options.exclude ?? []).map((a) => a.toLowerCase()));
  const seen = new Set<string>();
  const reasons = { left: 0, failed: 0, full: 0, excluded: 0 };
  const eligible: ProviderSummary[] = [];
  for (const p of list) {
    const key = p.address.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    if (!p.registered) reasons.left++;
    else if (p.failed) reasons.failed++;
    else if (excluded.has(key)) reasons.excluded++;
    else if (p.free < size) reasons.full++;
    else eligible.push(p);
  }
  if (eligible.length < options.count) {
    const why = [
      `${seen.size} known`,
      reasons.left && `${reasons.left} left`,
      reasons.failed && `${reasons.failed} failed`,
      reasons.excluded && `${reasons.excluded} excluded`,
      reasons.full && `${reasons.full} without ${formatBytes(size)} free`,
    ]
      .filter(Boolean)
      .join(", ");
    throw new NotEnoughProvidersError(options.count, eligible.length, why);
  }
  const ranked = [...eligible].sort(
    (a, b) =>
      reliability(b) - reliability(a) ||
      (b.stake > a.stake ? 1 : b.stake < a.stake ? -1 : 0) ||
      a.address.toLowerCase().localeCompare(b.address.toLowerCase()),
  );
  // Round-robin over hosts, hosts in the order of their best provider.
  const byHost = new Map<string, ProviderSummary[]>();
  for (const p of ranked) {
    const h = hostOf(p.endpoint);
    const group = byHost.get(h);
    if (group) group.push(p);
    else byHost.set(h, [p]);
  }
  const chosen: ProviderSummary[] = [];
  for (let round = 0; chosen.length < options.count; round++)
    for (const group of byHost.values())
      if (round < group.length && chosen.length < options.count) chosen.push(group[round]);
  return chosen;
}
