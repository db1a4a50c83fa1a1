"use client";
// The life of a write as the user sees it: signing → pending → confirmed, or failed with the
// contract's custom error in words (the sdk's ContractCallError), plus an explorer link on
// public chains. Every page runs its writes through useTx so they all look the same.
import type { SendOptions, TxStatus } from "@coop-cloud/sdk/client";
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useState } from "react";

export type TxState =
  | { phase: "idle" }
  | { phase: "signing"; what: string }
  | { phase: "pending"; what: string; hash: `0x${string}` }
  | { phase: "confirmed"; what: string; hash?: `0x${string}` }
  | { phase: "failed"; what: string; message: string };

/** One sentence for any error: a rejected signature, a revert in words, anything else. */
export function errorSentence(e: unknown): string {
  const err = e as { name?: string; message?: string; shortMessage?: string; code?: number };
  const text = `${err?.shortMessage ?? ""} ${err?.message ?? ""}`;
  if (err?.code === 4001 || /user rejected|denied|rejected the request/i.test(text))
    return "You rejected the request in your wallet; nothing was sent.";
  return (err?.message ?? String(e)).split("\n")[0];
}

export function useTx() {
  const [state, setState] = useState<TxState>({ phase: "idle" });
  const queryClient = useQueryClient();
  const run = useCallback(
    async <T>(what: string, fn: (options: SendOptions) => Promise<T>): Promise<T | undefined> => {
      setState({ phase: "signing", what });
      const onStatus = (s: TxStatus) => {
        if (s.stage === "signing") setState({ phase: "signing", what: s.what });
        else if (s.stage === "sent") setState({ phase: "pending", what: s.what, hash: s.hash });
        else setState({ phase: "confirmed", what: s.what, hash: s.hash });
      };
      try {
        const result = await fn({ onStatus });
        setState((prev) => ({
          phase: "confirmed",
          what,
          hash: "hash" in prev ? prev.hash : undefined,
        }));
        await queryClient.invalidateQueries();
        return result;
      } catch (e) {
        setState({ phase: "failed", what, message: errorSentence(e) });
        return undefined;
      }
    },
    [queryClient],
  );
  const reset = useCallback(() => setState({ phase: "idle" }), []);
  return { state, run, reset, busy: state.phase === "signing" || state.phase === "pending" };
}
