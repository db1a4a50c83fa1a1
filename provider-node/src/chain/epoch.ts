// The market calls that issue 6 reshapes: seeds, epoch challenges, proof-set entries, targeted
// challenges and repair claims. The rest of the node sees only the shapes below, so moving to
// a new market ABI changes this file alone.
//
// Issue 6's interface: fixSeed commits the epoch's seed to the next block's hash and a later
// call saves it; getEpochChallenges gives (entries, segments); proof-set entries carry their
// leaf count and the epochs they joined and left; targeted challenges and repair claims draw
// their segment from a committed block's hash.
import type { Address, Hex } from "viem";

import { storageMarketAbi, type Market } from "./market.ts";

const ZERO = `0x${"0".repeat(64)}`;

export interface Challenge {
  /** Index of the proof-set entry. */
  entry: number;
  dealId: bigint;
  shard: number;
  /** Segment index inside the entry's shard. */
  segment: number;
}

export interface SegmentProofArg {
  entry: bigint;
  segment: Hex;
  path: Hex[];
}

export async function seedOf(market: Market, epoch: number): Promise<Hex> {
  const [seed] = await market.public.readContract({
    address: market.market,
    abi: storageMarketAbi,
    functionName: "seedOf",
    args: [BigInt(epoch)],
  });
  return seed;
}

/**
 * Makes sure the current epoch's seed is (being) fixed: fixSeed, and if the seed is still
 * unknown afterwards (it commits to a future block), fixSeed once more after that block.
 * Returns whether the seed is known.
 */
export async function ensureSeed(market: Market, epoch: number): Promise<boolean> {
  if ((await seedOf(market, epoch)) !== ZERO) return true;
  for (let i = 0; i < 2; i++) {
    if ((await market.currentEpoch()) !== epoch) return false;
    await market.send("fixSeed", { functionName: "fixSeed" });
    if ((await seedOf(market, epoch)) !== ZERO) return true;
  }
  return false;
}

interface EntryInfo {
  dealId: bigint;
  shard: number;
}
const entryCache = new WeakMap<Market, Map<string, EntryInfo>>();

/** Deal and shard of a proof-set entry (fixed once appended, so cached). */
async function proofSetEntry(market: Market, provider: Address, index: number): Promise<EntryInfo> {
  let cache = entryCache.get(market);
  if (!cache) entryCache.set(market, (cache = new Map()));
  const key = `${provider}:${index}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const [e] = await market.public.readContract({
    address: market.market,
    abi: storageMarketAbi,
    functionName: "getProofSet",
    args: [provider, BigInt(index), 1n],
  });
  const item = { dealId: e.dealId, shard: e.shard };
  cache.set(key, item);
  return item;
}

/** The challenges of `provider` in `epoch`; empty until the seed is known or with nothing to prove. */
export async function getEpochChallenges(
  market: Market,
  provider: Address,
  epoch: number,
): Promise<Challenge[]> {
  const [entries, segments] = await market.public.readContract({
    address: market.market,
    abi: storageMarketAbi,
    functionName: "getEpochChallenges",
    args: [provider, BigInt(epoch)],
  });
  const out: Challenge[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = await proofSetEntry(market, provider, Number(entries[i]));
    out.push({
      entry: Number(entries[i]),
      dealId: e.dealId,
      shard: e.shard,
      segment: Number(segments[i]),
    });
  }
  return out;
}

export async function submitProof(
  market: Market,
  epoch: number,
  proofs: SegmentProofArg[],
  onSent?: (tx: Hex) => void,
) {
  return market.send("submitProof", {
    functionName: "submitProof",
    args: [BigInt(epoch), proofs],
    onSent,
  });
}

/** The segment a targeted challenge (claimant zero) or a repair claim must prove; undefined before its seed. */
export async function drawnSegment(
  market: Market,
  dealId: bigint,
  shard: number,
  claimant: Address = "0x0000000000000000000000000000000000000000",
): Promise<number | undefined> {
  try {
    const i = await market.public.readContract({
      address: market.market,
      abi: storageMarketAbi,
      functionName: "drawnSegment",
      args: [dealId, BigInt(shard), claimant],
    });
    return Number(i);
  } catch {
    return undefined;
  }
}

/** Saves a targeted challenge's draw (starting its answer deadline); anyone may call. */
export async function fixChallengeSeed(market: Market, dealId: bigint, shard: number) {
  return market.send("fixChallengeSeed", {
    functionName: "fixChallengeSeed",
    args: [dealId, BigInt(shard)],
  });
}

export async function answerChallenge(
  market: Market,
  dealId: bigint,
  shard: number,
  segment: Hex,
  path: Hex[],
) {
  return market.send("answerChallenge", {
    functionName: "answerChallenge",
    args: [dealId, BigInt(shard), segment, path],
  });
}

export async function claimRepair(
  market: Market,
  dealId: bigint,
  shard: number,
  roots: Hex[],
  providers: Address[],
) {
  return market.send("claimRepair", {
    functionName: "claimRepair",
    args: [dealId, BigInt(shard), roots, providers],
  });
}

export async function completeRepair(
  market: Market,
  dealId: bigint,
  shard: number,
  segment: Hex,
  path: Hex[],
  roots: Hex[],
  providers: Address[],
) {
  return market.send("completeRepair", {
    functionName: "completeRepair",
    args: [dealId, BigInt(shard), segment, path, roots, providers],
  });
}
