"use client";
// Reads that follow the chain: the head block (watched), queries re-read on every new block
// (the previous answer stays on screen meanwhile), the token's units, and the chain's pace.
import {
  getDefaultTokenUnits,
  type CoopContracts,
  type TokenUnits,
} from "@coop-cloud/sdk/client";
import { keepPreviousData, useQuery, type UseQueryResult } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useBlockNumber } from "wagmi";

import { coopChain, RPC_URL } from "./chain";
import { useCoop } from "./coop";
import { secondsPerBlock } from "./overview";

export { SCAN_BLOCKS } from "./overview";

/** The latest block number, updated as blocks arrive. */
export function useHead(): bigint | undefined {
  const { data } = useBlockNumber({ chainId: coopChain.id, watch: true });
  return data;
}

/** Why the chain cannot be read (its RPC does not answer), in one sentence; else undefined. */
export function useChainError(): string | undefined {
  const { error, data } = useBlockNumber({ chainId: coopChain.id, watch: true });
  if (!error || data !== undefined) return undefined;
  return `Cannot reach the chain at ${RPC_URL}: check that it is running (npm start) and that the app was built for it (NEXT_PUBLIC_RPC_URL).`;
}

/**
 * A query read again at every new block (and after every write, which invalidates all
 * queries). `key` names it; the reader gets the co-op and the head block.
 */
export function useLive<T>(
  key: readonly unknown[],
  read: (coop: CoopContracts, head: bigint) => Promise<T>,
  options: { enabled?: boolean; everyBlocks?: number } = {},
): UseQueryResult<T> {
  const { coop } = useCoop();
  const head = useHead();
  // Reading on every block is cheap on a local chain; heavy scans may choose every N blocks.
  const every = BigInt(options.everyBlocks ?? 1);
  const tick = head === undefined ? undefined : head - (head % every);
  return useQuery({
    queryKey: [...key, coop?.addresses.StorageMarket, coop?.walletClient?.account.address, tick?.toString()],
    enabled: !!coop && head !== undefined && (options.enabled ?? true),
    queryFn: () => read(coop!, head!),
    placeholderData: keepPreviousData,
    staleTime: Infinity,
    gcTime: 30_000,
  });
}

/** The payment token's decimals and symbol (read once by CoopProvider). */
export function useTokenUnits(): TokenUnits {
  const { coop } = useCoop();
  const { data } = useQuery({
    queryKey: ["token-units", coop?.addresses.FaucetToken],
    enabled: !!coop,
    queryFn: async () => {
      const [decimals, symbol] = await Promise.all([
        coop!.token.read.decimals(),
        coop!.token.read.symbol(),
      ]);
      return { decimals, symbol };
    },
    staleTime: Infinity,
  });
  return data ?? getDefaultTokenUnits();
}

/**
 * The chain's time now and its pace: the latest block's timestamp (what the contracts compare
 * deadlines with) and the average seconds per block over the last 20 blocks.
 */
export function useChainClock(): { time: bigint; secondsPerBlock: number | undefined } | undefined {
  const { data } = useLive(["chain-clock"], async (coop, head) => {
    const back = head > 20n ? head - 20n : 0n;
    const [latest, older] = await Promise.all([
      coop.publicClient.getBlock({ blockNumber: head }),
      coop.publicClient.getBlock({ blockNumber: back }),
    ]);
    return { time: latest.timestamp, secondsPerBlock: secondsPerBlock(older, latest) };
  });
  return data;
}

/** Seconds since mount, ticking once a second (for countdowns between blocks). */
export function useSecondsSince(reset: unknown): number {
  const [start, setStart] = useState(() => Date.now());
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    setStart(Date.now());
    setNow(Date.now());
  }, [reset]);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return Math.max(0, Math.floor((now - start) / 1000));
}
