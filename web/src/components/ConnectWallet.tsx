"use client";
// Wallet states: none found, not connected (one button per wallet found), connected on the
// wrong network (one click to switch; the wallet adds the chain if it does not know it),
// connected (address, disconnect). A rejected request says so in words.
import { useEffect, useState } from "react";
import { useConnect, useConnection, useConnectors, useDisconnect, useSwitchChain } from "wagmi";

import { coopChain } from "@/lib/chain";
import { errorSentence } from "@/lib/tx";

export function ConnectWallet() {
  const { address, status, chainId } = useConnection();
  const connectors = useConnectors();
  const { connectAsync, isPending } = useConnect();
  const { disconnect } = useDisconnect();
  const { switchChainAsync, isPending: switching } = useSwitchChain();
  const [error, setError] = useState<string>();
  // Wallets are only known in the browser: the server's HTML and the first render in the
  // browser show neither buttons nor "no wallet", so hydration matches (React error #418).
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);

  const attempt = async (fn: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await fn();
    } catch (e) {
      setError(errorSentence(e));
    }
  };

  let body;
  if (status === "connected" && address) {
    const wrong = chainId !== coopChain.id;
    body = (
      <div className="flex flex-wrap items-center gap-2">
        {wrong ? (
          <button
            type="button"
            className="rounded bg-amber-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-amber-700"
            disabled={switching}
            onClick={() => attempt(() => switchChainAsync({ chainId: coopChain.id }))}
          >
            Wrong network (chain {chainId}): switch to {coopChain.name}
          </button>
        ) : null}
        <span className="font-mono text-sm" data-testid="account" title={address}>
          {address.slice(0, 6)}…{address.slice(-4)}
        </span>
        <button
          type="button"
          className="rounded border border-slate-300 px-2 py-1 text-sm hover:bg-slate-100"
          onClick={() => disconnect()}
        >
          Disconnect
        </button>
      </div>
    );
  } else if (!mounted) {
    body = null;
  } else {
    // The generic "Injected" connector only counts when a window.ethereum exists.
    const usable = connectors.filter(
      (c) => c.id !== "injected" || (typeof window !== "undefined" && "ethereum" in window),
    );
    body =
      usable.length === 0 ? (
        <span className="text-sm text-slate-700">
          No wallet found: install a browser wallet (any EIP-6963 wallet) to sign in.
        </span>
      ) : (
        <div className="flex flex-wrap gap-2">
          {usable.map((c) => (
            <button
              key={c.uid}
              type="button"
              className="rounded bg-blue-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-blue-800 disabled:opacity-60"
              disabled={isPending}
              onClick={() => attempt(() => connectAsync({ connector: c, chainId: coopChain.id }))}
            >
              Connect {c.name}
            </button>
          ))}
        </div>
      );
  }
  return (
    <div className="flex flex-col items-end gap-1">
      {body}
      {error && (
        <p role="alert" className="text-sm text-red-800">
          {error}
        </p>
      )}
    </div>
  );
}
