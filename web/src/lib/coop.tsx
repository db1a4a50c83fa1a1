"use client";
// The sdk's client on top of wagmi: one CoopContracts for the connected wallet (or read-only),
// the owner's key session (one signature per browser session, kept in memory only), and the
// token's units for amounts.
import {
  CoopContracts,
  createKeySession,
  setDefaultTokenUnits,
  type KeySession,
} from "@coop-cloud/sdk/client";
import { useQuery } from "@tanstack/react-query";
import { createContext, useContext, useEffect, useMemo, type ReactNode } from "react";
import { useConnection, usePublicClient, useWalletClient } from "wagmi";

import { coopAddresses, coopChain, FROM_BLOCK } from "./chain";

interface CoopState {
  /** Reads always; writes when a wallet on the right chain is connected. */
  coop: CoopContracts | undefined;
  /** Why there is no co-op (no deployment known for the chain). */
  error: string | undefined;
  /** The wallet's address when connected on the co-op's chain. */
  account: `0x${string}` | undefined;
  /** Connected, but to another chain. */
  wrongNetwork: boolean;
  keys: KeySession | undefined;
}

// One key session per wallet account and chain for the page's life: wagmi hands out a new wallet
// client now and then (refetches), and a new session would ask for the key signature again.
// Wiped when the wallet disconnects.
const keySessions = new Map<string, KeySession>();

function keySessionFor(coop: CoopContracts, account: `0x${string}`): KeySession {
  const id = `${coopChain.id}:${account.toLowerCase()}`;
  let session = keySessions.get(id);
  if (!session) {
    session = createKeySession(coop);
    keySessions.set(id, session);
  }
  return session;
}

function forgetKeySessions(): void {
  for (const s of keySessions.values()) s.forget();
  keySessions.clear();
}

const CoopContext = createContext<CoopState>({
  coop: undefined,
  error: undefined,
  account: undefined,
  wrongNetwork: false,
  keys: undefined,
});

export function CoopProvider({ children }: { children: ReactNode }) {
  const publicClient = usePublicClient({ chainId: coopChain.id });
  const { chainId, status } = useConnection();
  const { data: walletClient } = useWalletClient({ chainId: coopChain.id });
  const found = coopAddresses();
  const wrongNetwork = status === "connected" && chainId !== coopChain.id;

  const state = useMemo<CoopState>(() => {
    if ("error" in found || !publicClient)
      return {
        coop: undefined,
        error: "error" in found ? found.error : undefined,
        account: undefined,
        wrongNetwork,
        keys: undefined,
      };
    const wallet = !wrongNetwork && walletClient?.account ? walletClient : undefined;
    const coop = new CoopContracts({
      publicClient: publicClient as never,
      walletClient: wallet as never,
      addresses: found.addresses,
      fromBlock: FROM_BLOCK,
    });
    return {
      coop,
      error: undefined,
      account: wallet?.account.address,
      wrongNetwork,
      keys: wallet ? keySessionFor(coop, wallet.account.address) : undefined,
    };
    // found is derived from build-time constants, so it is not a dependency
  }, [publicClient, walletClient, wrongNetwork]);

  useEffect(() => {
    if (status === "disconnected") forgetKeySessions();
  }, [status]);

  // Amounts are shown in the token's own units.
  useQuery({
    queryKey: ["token-units", state.coop?.addresses.FaucetToken],
    enabled: !!state.coop,
    queryFn: async () => {
      const [decimals, symbol] = await Promise.all([
        state.coop!.token.read.decimals(),
        state.coop!.token.read.symbol(),
      ]);
      setDefaultTokenUnits({ decimals, symbol });
      return { decimals, symbol };
    },
    staleTime: Infinity,
  });

  return <CoopContext.Provider value={state}>{children}</CoopContext.Provider>;
}

export function useCoop(): CoopState {
  return useContext(CoopContext);
}
