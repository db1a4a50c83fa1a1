"use client";
import { formatBytes } from "@coop-cloud/sdk/client";

import type { DownloadState } from "@/lib/useDownload";
import { formatRate, percent } from "@/lib/storage";

import { ProgressBar } from "./ProgressBar";
import { btnSecondary } from "./styles";

/** A download's progress (fetch, verify, decrypt, save), its end, or why it failed. */
export function DownloadProgress({
  state,
  onCancel,
}: {
  state: DownloadState;
  onCancel: () => void;
}) {
  if (state.phase === "idle") return null;
  if (state.phase === "running")
    return (
      <div className="mt-2 space-y-1" data-download-phase="running">
        <ProgressBar
          label={`Downloading ${state.name}`}
          value={state.total ? percent(state.bytes, state.total) : undefined}
          detail={`${formatBytes(state.bytes)}${state.total !== undefined ? ` of ${formatBytes(state.total)}` : ""}${state.rate ? ` · ${formatRate(state.rate)}` : ""}`}
        />
        {state.notes.map((n) => (
          <p key={n} className="text-xs text-amber-900">
            {n}
          </p>
        ))}
        <button type="button" className={btnSecondary} onClick={onCancel}>
          Cancel download
        </button>
      </div>
    );
  if (state.phase === "done")
    return (
      <p role="status" data-download-phase="done" className="mt-2 text-sm text-green-900">
        Saved {state.name} ({formatBytes(state.bytes)}, verified and decrypted in{" "}
        {state.seconds.toFixed(1)} s).
      </p>
    );
  if (state.phase === "cancelled")
    return (
      <p role="status" data-download-phase="cancelled" className="mt-2 text-sm text-slate-700">
        Download cancelled; nothing was saved.
      </p>
    );
  return (
    <p role="alert" data-download-phase="failed" className="mt-2 text-sm text-red-800">
      Download failed: {state.message}
    </p>
  );
}
