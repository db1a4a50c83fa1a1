"use client";
import { txUrl } from "@/lib/chain";
import type { TxState } from "@/lib/tx";

/** The life of one write, announced to screen readers as it changes. */
export function TxStatus({ state }: { state: TxState }) {
  if (state.phase === "idle") return null;
  const link = "hash" in state && state.hash ? txUrl(state.hash) : undefined;
  const tone =
    state.phase === "failed"
      ? "border-red-300 bg-red-50 text-red-900"
      : state.phase === "confirmed"
        ? "border-green-300 bg-green-50 text-green-900"
        : "border-blue-300 bg-blue-50 text-blue-900";
  const text =
    state.phase === "signing"
      ? `${state.what}: confirm in your wallet…`
      : state.phase === "pending"
        ? `${state.what}: pending…`
        : state.phase === "confirmed"
          ? `${state.what}: confirmed.`
          : `${state.what} failed: ${state.message}`;
  return (
    <p
      role={state.phase === "failed" ? "alert" : "status"}
      data-tx-phase={state.phase}
      className={`mt-2 rounded border px-3 py-2 text-sm break-words ${tone}`}
    >
      {text}
      {link && (
        <>
          {" "}
          <a className="underline" href={link} target="_blank" rel="noreferrer">
            View on explorer
          </a>
        </>
      )}
    </p>
  );
}
