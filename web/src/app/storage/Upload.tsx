"use client";
// Storing files: pick or drop them, choose the redundancy (k of n) and the duration, see the
// price quoted from the chain beside the wallet's balance, then one put per file: encoded in Web
// Workers, one permit signature and one transaction, shards uploaded to every provider at once.
import {
  createMemoryStaging,
  formatAmount,
  formatBytes,
  formatDuration,
  listProviders,
  putFile,
  resumePut,
  type PutProgress,
  type PutResult,
  type SendOptions,
  type ShardStaging,
  type TxStatus as SdkTxStatus,
} from "@coop-cloud/sdk/client";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useId, useMemo, useRef, useState, type DragEvent } from "react";

import { TxStatus } from "@/components/TxStatus";
import { ProgressBar } from "@/components/storage/ProgressBar";
import { btnPrimary, btnSecondary, card, input } from "@/components/storage/styles";
import { useCoop } from "@/lib/coop";
import { useTokenUnits } from "@/lib/useTokenUnits";
import { createBrowserPipeline, pipelineWorkers } from "@/lib/pipeline";
import {
  acceptedCount,
  durabilityWords,
  epochsFor,
  formatRate,
  initialPutView,
  overheadWords,
  percent,
  reducePut,
  shardSizeFor,
  validateUpload,
  type PutView,
} from "@/lib/storage";
import { errorSentence, useTx } from "@/lib/tx";
import { markUnlocked, unlockKeys } from "@/lib/unlock";

interface Job {
  id: number;
  file: File;
  k: number;
  n: number;
  epochs: number;
  view: PutView;
  status: "queued" | "running" | "done" | "failed" | "cancelled";
  error?: string;
  result?: PutResult;
  /** Set once the deal exists: the put can be resumed from its journal. */
  resumable?: boolean;
}

const PRESETS = [
  { label: "1 hour", seconds: 3600 },
  { label: "1 day", seconds: 86_400 },
  { label: "7 days", seconds: 7 * 86_400 },
  { label: "30 days", seconds: 30 * 86_400 },
];

/** The name used for the MIME type when the browser gives none. */
function mimeOf(file: File): string {
  return file.type || "application/octet-stream";
}

export function Upload() {
  const { coop, account, keys } = useCoop();
  const queryClient = useQueryClient();
  const tx = useTx();
  const ids = useId();
  const [files, setFiles] = useState<File[]>([]);
  const [kText, setK] = useState<string>("");
  const [nText, setN] = useState<string>("");
  const [epochsText, setEpochs] = useState<string>("");
  const [dragging, setDragging] = useState(false);
  const [jobs, setJobs] = useState<Job[]>([]);
  const picker = useRef<HTMLInputElement>(null);
  const controllers = useRef(new Map<number, AbortController>());
  const stagings = useRef(new Map<number, ShardStaging>());
  const skipped = useRef(new Set<number>());
  const nextId = useRef(1);
  const running = jobs.some((j) => j.status === "running" || j.status === "queued");

  useTokenUnits();

  const providers = useQuery({
    queryKey: ["storage-providers", coop?.addresses.StorageMarket],
    enabled: !!coop,
    queryFn: () => listProviders(coop!),
    refetchInterval: 15_000,
  });
  const eligible = useMemo(
    () => (providers.data ?? []).filter((p) => p.registered && !p.failed && p.free > 0n).length,
    [providers.data],
  );
  const clock = useQuery({
    queryKey: ["epoch-clock", coop?.addresses.StorageMarket],
    enabled: !!coop,
    queryFn: () => coop!.market.read.epochClock(),
    staleTime: 60_000,
  });
  const epochLength = clock.data ? Number(clock.data[2]) : undefined;
  const balance = useQuery({
    queryKey: ["token-balance", account],
    enabled: !!coop && !!account,
    queryFn: () => coop!.token.read.balanceOf([account!]),
    refetchInterval: 5_000,
  });

  // Defaults once the market is known: up to 6 shards, two spares; one day.
  const defaultN = Math.max(1, Math.min(6, eligible));
  const n = nText === "" ? defaultN : Number(nText);
  const k = kText === "" ? Math.max(1, defaultN - 2) : Number(kText);
  const epochs =
    epochsText === "" ? (epochLength ? epochsFor(86_400, epochLength) : NaN) : Number(epochsText);
  const errors = validateUpload({ k, n, epochs }, files, providers.data ? eligible : n);
  const formOk = Object.keys(errors).length === 0;

  const quote = useQuery({
    queryKey: ["storage-quote", files.map((f) => f.size), k, n, epochs],
    enabled: !!coop && formOk && files.length > 0,
    queryFn: async () => {
      const each = await Promise.all(
        files.map(async (f) => {
          const shardSize = shardSizeFor(f.size, k, n);
          const [, escrow, fee] = await coop!.market.read.quoteDeal([
            BigInt(shardSize),
            BigInt(n),
            BigInt(epochs),
          ]);
          return { shardSize, escrow, fee, total: escrow + fee };
        }),
      );
      return { each, total: each.reduce((a, q) => a + q.total, 0n) };
    },
  });
  const short = quote.data && balance.data !== undefined && balance.data < quote.data.total;

  // Leaving the page mid-upload loses the staged shards: ask first.
  useEffect(() => {
    if (!running) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [running]);

  const add = (list: FileList | null) => {
    if (!list) return;
    // Copied now: the input is cleared right after, which empties its live FileList.
    const picked = Array.from(list);
    setFiles((prev) => [...prev, ...picked]);
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    add(e.dataTransfer.files);
  };

  const patch = (id: number, f: (j: Job) => Job) =>
    setJobs((prev) => prev.map((j) => (j.id === id ? f(j) : j)));

  /** One put (or its resume), its progress folded into the job's view. */
  const runJob = async (job: Job, resume: boolean): Promise<"done" | "failed" | "stop-batch"> => {
    if (!coop || !keys) return "stop-batch";
    const ac = new AbortController();
    controllers.current.set(job.id, ac);
    let staging = stagings.current.get(job.id);
    if (!staging) {
      staging = createMemoryStaging();
      stagings.current.set(job.id, staging);
    }
    patch(job.id, (j) => ({ ...j, status: "running", error: undefined }));
    const workers = createBrowserPipeline();
    const onProgress = (send: SendOptions) => (p: PutProgress) => {
      patch(job.id, (j) => ({
        ...j,
        view: reducePut(j.view, p, performance.now()),
        resumable: j.resumable || p.stage === "deal-created",
      }));
      // The deal's transaction goes through the page's transaction status.
      if (p.stage === "deal" && p.status !== "quote")
        send.onStatus?.({ stage: p.status, what: "createDeal", hash: p.hash } as SdkTxStatus);
    };
    let failure: unknown;
    const result = await tx.run(`Store ${job.file.name}`, async (send) => {
      try {
        if (resume) {
          const journal = await staging.loadJournal();
          if (!journal) throw new Error("nothing of this put was kept: store the file again");
          return await resumePut(coop, journal, staging, keys, {
            onProgress: onProgress(send),
            signal: ac.signal,
          });
        }
        // The key signature first (once per session), so the encode's rate is the encode's.
        await unlockKeys(keys);
        patch(job.id, (j) => ({
          ...j,
          view: { ...j.view, encode: { ...j.view.encode, startedAt: performance.now() } },
        }));
        return await putFile(coop, job.file, {
          name: job.file.name,
          size: job.file.size,
          mimeType: mimeOf(job.file),
          k: job.k,
          n: job.n,
          durationEpochs: job.epochs,
          keys,
          staging,
          workers,
          onProgress: onProgress(send),
          signal: ac.signal,
        });
      } catch (e) {
        failure = e;
        throw e;
      } finally {
        markUnlocked(keys);
      }
    });
    await workers.close();
    controllers.current.delete(job.id);
    // A stop is the user's own doing: the job says so, the transaction line need not.
    if (!result && ac.signal.aborted) tx.reset();
    if (result) {
      stagings.current.delete(job.id);
      patch(job.id, (j) => ({ ...j, status: "done", result, resumable: false }));
      void queryClient.invalidateQueries({ queryKey: ["files"] });
      return "done";
    }
    {
      const journal = await staging.loadJournal();
      const resumable = !!journal?.dealId;
      if (!journal) stagings.current.delete(job.id);
      patch(job.id, (j) => ({
        ...j,
        status: ac.signal.aborted ? "cancelled" : "failed",
        error: ac.signal.aborted
          ? resumable
            ? "Upload stopped. The deal exists: resume to finish it, or cancel the deal in My files for a refund."
            : "Upload stopped before anything was paid."
          : errorSentence(failure),
        resumable,
      }));
      void queryClient.invalidateQueries({ queryKey: ["files"] });
      // The next files would fail the same way: a refusal in the wallet, no funds, no providers.
      if (ac.signal.aborted) return "failed";
      const name = (failure as { name?: string } | undefined)?.name;
      const rejected = /rejected/i.test(errorSentence(failure));
      return rejected || name === "InsufficientFundsError" || name === "NotEnoughProvidersError"
        ? "stop-batch"
        : "failed";
    }
  };

  const store = async () => {
    if (!formOk || !coop || !keys) return;
    const batch: Job[] = files.map((file) => ({
      id: nextId.current++,
      file,
      k,
      n,
      epochs,
      view: initialPutView(n, file.size, performance.now()),
      status: "queued",
    }));
    setFiles([]);
    setJobs((prev) => [...batch, ...prev]);
    for (let i = 0; i < batch.length; i++) {
      const job = batch[i]!;
      if (skipped.current.has(job.id)) continue;
      // A batch stops at a failure that is not this file's alone (rejected, no funds, stopped).
      if ((await runJob(job, false)) === "stop-batch") {
        const rest = new Set(batch.slice(i + 1).map((j) => j.id));
        setJobs((prev) =>
          prev.map((j) =>
            rest.has(j.id) && j.status === "queued"
              ? { ...j, status: "cancelled", error: "Not stored: the file before it stopped." }
              : j,
          ),
        );
        return;
      }
    }
  };

  const stop = (id: number) => {
    const ac = controllers.current.get(id);
    if (ac) ac.abort(new Error("You stopped the upload."));
    else {
      skipped.current.add(id);
      patch(id, (j) => (j.status === "queued" ? { ...j, status: "cancelled" } : j));
    }
  };

  if (!coop)
    return (
      <section aria-labelledby="upload-h" className={card}>
        <h2 id="upload-h" className="text-lg font-semibold">
          Store files
        </h2>
        <p className="mt-2 text-sm text-slate-700">Connecting to the co-op…</p>
      </section>
    );

  const duration =
    epochLength && Number.isFinite(epochs) ? formatDuration(epochs * epochLength) : undefined;

  return (
    <section aria-labelledby="upload-h" className={card}>
      <h2 id="upload-h" className="text-lg font-semibold">
        Store files
      </h2>
      <p className="mt-1 text-sm text-slate-700">
        Files are encrypted in this browser, cut into shards and spread over the co-op&apos;s
        providers; only you hold the key.
      </p>
      {!account && (
        <p className="mt-3 rounded border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-950">
          Connect a wallet (top right) to store files.
        </p>
      )}

      <div
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="drop-zone"
        className={`mt-3 flex flex-col items-center justify-center gap-2 rounded-lg border-2 border-dashed px-4 py-6 text-center text-sm ${dragging ? "border-blue-700 bg-blue-50" : "border-slate-400 bg-slate-50"}`}
      >
        <p className="text-slate-800">Drop files here, or</p>
        <button type="button" className={btnSecondary} onClick={() => picker.current?.click()}>
          Choose files…
        </button>
        <input
          ref={picker}
          id={`${ids}-files`}
          type="file"
          multiple
          aria-label="Files to store"
          className="sr-only"
          tabIndex={-1}
          onChange={(e) => {
            add(e.target.files);
            e.target.value = "";
          }}
        />
      </div>
      {files.length > 0 && (
        <ul
          className="mt-3 divide-y divide-slate-200 rounded border border-slate-200"
          aria-label="Files chosen"
        >
          {files.map((f, i) => (
            <li
              key={`${f.name}-${i}`}
              className="flex flex-wrap items-center justify-between gap-2 px-3 py-2 text-sm"
            >
              <span className="min-w-0 break-all">
                {f.name} <span className="text-slate-700">({formatBytes(f.size)})</span>
                {quote.data?.each[i] && (
                  <span className="text-slate-700">
                    {" "}
                    · {formatAmount(quote.data.each[i]!.total)} · shards of{" "}
                    {formatBytes(quote.data.each[i]!.shardSize)}
                  </span>
                )}
              </span>
              <button
                type="button"
                className="text-sm text-blue-800 underline"
                onClick={() => setFiles((prev) => prev.filter((_, j) => j !== i))}
                aria-label={`Remove ${f.name}`}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      {errors.files && files.length > 0 && (
        <p className="mt-1 text-sm text-red-800" role="alert">
          {errors.files}
        </p>
      )}

      <fieldset className="mt-4 grid gap-4 sm:grid-cols-2">
        <legend className="sr-only">Redundancy and duration</legend>
        <div>
          <div className="flex flex-wrap items-end gap-3">
            <label className="text-sm">
              <span className="block font-medium">Data shards (k)</span>
              <input
                className={input}
                type="number"
                inputMode="numeric"
                min={1}
                max={n || undefined}
                value={Number.isNaN(k) ? kText : k}
                onChange={(e) => setK(e.target.value)}
                aria-invalid={!!errors.k}
                aria-describedby={`${ids}-durability`}
              />
            </label>
            <label className="text-sm">
              <span className="block font-medium">Shards (n)</span>
              <input
                className={input}
                type="number"
                inputMode="numeric"
                min={1}
                max={eligible || undefined}
                value={Number.isNaN(n) ? nText : n}
                onChange={(e) => setN(e.target.value)}
                aria-invalid={!!errors.n}
                aria-describedby={`${ids}-durability`}
              />
            </label>
          </div>
          <p
            id={`${ids}-durability`}
            className="mt-2 text-sm text-slate-800"
            data-testid="durability"
          >
            {errors.k || errors.n ? (
              <span className="text-red-800" role="alert">
                {errors.k ?? errors.n}
              </span>
            ) : (
              <>
                {durabilityWords(k, n)}; {overheadWords(k, n)}.
              </>
            )}
          </p>
          <p className="text-xs text-slate-700">
            {providers.isPending
              ? "Reading the providers…"
              : `${eligible} provider${eligible === 1 ? "" : "s"} can take a shard now; each shard goes to a different one.`}
          </p>
        </div>
        <div>
          <label className="text-sm">
            <span className="block font-medium">Duration (epochs)</span>
            <input
              className={input}
              type="number"
              inputMode="numeric"
              min={1}
              value={Number.isNaN(epochs) ? epochsText : epochs}
              onChange={(e) => setEpochs(e.target.value)}
              aria-invalid={!!errors.epochs}
              aria-describedby={`${ids}-duration`}
            />
          </label>
          <p id={`${ids}-duration`} className="mt-1 text-sm text-slate-800">
            {errors.epochs ? (
              <span className="text-red-800" role="alert">
                {errors.epochs}
              </span>
            ) : duration ? (
              `about ${duration} (epochs of ${formatDuration(epochLength!)})`
            ) : (
              "Reading the epoch length…"
            )}
          </p>
          {epochLength && (
            <div className="mt-1 flex flex-wrap gap-1" role="group" aria-label="Duration presets">
              {PRESETS.map((p) => (
                <button
                  key={p.label}
                  type="button"
                  className="rounded border border-slate-300 px-2 py-0.5 text-xs hover:bg-slate-100"
                  onClick={() => setEpochs(String(epochsFor(p.seconds, epochLength)))}
                >
                  {p.label}
                </button>
              ))}
            </div>
          )}
        </div>
      </fieldset>

      <div
        className="mt-4 rounded border border-slate-200 bg-slate-50 px-3 py-2 text-sm"
        aria-live="polite"
        data-testid="quote"
      >
        {files.length === 0 ? (
          <span className="text-slate-700">Choose files to see the price.</span>
        ) : !formOk ? (
          <span className="text-slate-700">Fix the form to see the price.</span>
        ) : quote.isPending ? (
          <span>Quoting from the market…</span>
        ) : quote.isError ? (
          <span className="text-red-800">{errorSentence(quote.error)}</span>
        ) : (
          <>
            <span className="font-medium">Price: {formatAmount(quote.data!.total)}</span>{" "}
            <span className="text-slate-700">
              (escrow paid to providers as they prove, plus the co-op fee; quoted by the market now)
            </span>
            {account && (
              <span className="block">
                Your balance: {balance.data === undefined ? "…" : formatAmount(balance.data)}
              </span>
            )}
          </>
        )}
      </div>
      {short && (
        <p
          role="alert"
          className="mt-2 rounded border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-950"
        >
          Your wallet holds {formatAmount(balance.data!)} but storing these costs{" "}
          {formatAmount(quote.data!.total)}: get tokens on the{" "}
          <Link className="font-medium underline" href="/coop">
            Co-op page
          </Link>{" "}
          (the faucet on a test chain), or store for fewer epochs.
        </p>
      )}

      <div className="mt-4 flex flex-wrap items-center gap-3">
        <button
          type="button"
          className={btnPrimary}
          disabled={!account || !formOk || !quote.data || !!short || tx.busy}
          onClick={() => void store()}
        >
          {files.length > 1 ? `Store ${files.length} files` : "Store file"}
        </button>
        <span className="text-xs text-slate-700">
          Per file: one signature for the payment and one transaction (plus, once per session, a
          signature that unlocks your storage key).
        </span>
      </div>
      <TxStatus state={tx.state} />

      {jobs.length > 0 && (
        <ul className="mt-4 space-y-3" aria-label="Uploads">
          {jobs.map((j) => (
            <JobCard
              key={j.id}
              job={j}
              onStop={() => stop(j.id)}
              onResume={() => void runJob(j, true)}
              onDismiss={() => setJobs((prev) => prev.filter((x) => x.id !== j.id))}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function dealStep(v: PutView): string {
  switch (v.deal.status) {
    case undefined:
      return "waiting for the encode";
    case "quote":
      return "sign the payment permit in your wallet";
    case "signing":
      return "confirm the transaction in your wallet";
    case "sent":
      return "transaction sent, waiting for its block";
    case "mined":
      return "transaction mined";
    case "created":
      return `deal ${v.deal.dealId} created`;
  }
}

function JobCard({
  job,
  onStop,
  onResume,
  onDismiss,
}: {
  job: Job;
  onStop: () => void;
  onResume: () => void;
  onDismiss: () => void;
}) {
  const v = job.view;
  const accepted = acceptedCount(v);
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    if (job.status !== "running") return;
    const t = setInterval(() => setNow(performance.now()), 500);
    return () => clearInterval(t);
  }, [job.status]);
  const encodeDone = v.phase !== "encode";
  const encodeSeconds = Math.max(0.001, (now - v.encode.startedAt) / 1000);
  return (
    <li
      className="rounded border border-slate-200 p-3"
      data-testid="upload-job"
      data-status={job.status}
      data-deal-id={job.result?.dealId?.toString() ?? v.deal.dealId?.toString()}
    >
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h3 className="min-w-0 font-medium break-all">
          {job.file.name}{" "}
          <span className="text-sm font-normal text-slate-700">
            ({formatBytes(job.file.size)}, any {job.k} of {job.n})
          </span>
        </h3>
        <div className="flex gap-2">
          {(job.status === "running" || job.status === "queued") && (
            <button type="button" className={btnSecondary} onClick={onStop}>
              Stop
            </button>
          )}
          {job.resumable && (job.status === "failed" || job.status === "cancelled") && (
            <button type="button" className={btnPrimary} onClick={onResume}>
              Resume
            </button>
          )}
          {(job.status === "done" || job.status === "failed" || job.status === "cancelled") && (
            <button
              type="button"
              className={btnSecondary}
              onClick={onDismiss}
              aria-label={`Dismiss ${job.file.name}`}
            >
              Dismiss
            </button>
          )}
        </div>
      </div>
      {job.status === "queued" ? (
        <p className="text-sm text-slate-700">Waiting for the previous file.</p>
      ) : (
        <div className="mt-2 space-y-2">
          <ProgressBar
            label="Encrypt, erasure-code, hash"
            value={encodeDone ? 100 : percent(v.encode.bytes, v.encode.total)}
            detail={`${formatBytes(v.encode.bytes)}${v.encode.total !== undefined ? ` of ${formatBytes(v.encode.total)}` : ""}${v.encode.rate ? ` · ${formatRate(encodeDone ? v.encode.rate : v.encode.bytes / encodeSeconds)}` : ""} · ${pipelineWorkers()} workers`}
            tone={encodeDone ? "green" : "blue"}
            testId="encode-bar"
          />
          <p className="text-sm">
            <span className="font-medium">Deal:</span> {dealStep(v)}
            {v.deal.escrow !== undefined && v.deal.fee !== undefined && (
              <> · {formatAmount(v.deal.escrow + v.deal.fee)}</>
            )}
          </p>
          <ul className="grid gap-2 sm:grid-cols-2" aria-label="Shards">
            {v.shards.map((s) => {
              const elapsed = s.startedAt ? Math.max(0, (now - s.startedAt) / 1000) : 0;
              const halted =
                (job.status === "failed" || job.status === "cancelled") && s.phase !== "accepted";
              const detail = halted
                ? "stopped"
                : s.phase === "accepted"
                  ? `accepted${s.total ? ` · ${formatBytes(s.total)}` : ""}${s.rate ? ` · ${formatRate(s.rate)}` : ""}`
                  : s.phase === "uploading"
                    ? s.total && s.bytes >= s.total
                      ? `${formatBytes(s.total)} sent · awaiting acceptance on-chain`
                      : s.total
                        ? `${formatBytes(s.bytes)} of ${formatBytes(s.total)}${s.rate ? ` · ${formatRate(s.rate)}` : ""}`
                        : `sending and awaiting acceptance · ${elapsed.toFixed(0)} s`
                    : s.phase === "retrying"
                      ? "retrying"
                      : "waiting for the deal";
              return (
                <li key={s.index} data-testid="shard" data-phase={s.phase}>
                  <ProgressBar
                    label={`Shard ${s.index}${s.provider ? ` → ${s.provider.slice(0, 6)}…${s.provider.slice(-4)}` : ""}`}
                    value={
                      s.phase === "accepted"
                        ? 100
                        : halted
                          ? percent(s.bytes, s.total)
                          : s.phase === "uploading" && s.total
                            ? Math.min(99, percent(s.bytes, s.total))
                            : s.phase === "uploading"
                              ? undefined
                              : 0
                    }
                    detail={detail}
                    tone={
                      s.phase === "accepted"
                        ? "green"
                        : halted
                          ? "slate"
                          : s.phase === "retrying"
                            ? "amber"
                            : "blue"
                    }
                  />
                  {s.note && <p className="text-xs text-amber-900">{s.note}</p>}
                </li>
              );
            })}
          </ul>
          <ProgressBar
            label="Accepted on-chain"
            value={percent(accepted, v.shards.length)}
            detail={`${accepted} of ${v.shards.length} shards`}
            tone={accepted === v.shards.length ? "green" : "blue"}
            testId="accept-bar"
          />
          <p className="text-sm" data-testid="manifest-status">
            <span className="font-medium">Manifest:</span>{" "}
            {v.manifestAt.length
              ? `encrypted manifest stored with ${v.manifestAt.length} provider${v.manifestAt.length === 1 ? "" : "s"}`
              : "stored once a shard is accepted"}
          </p>
        </div>
      )}
      {job.status === "done" && job.result && (
        <p role="status" className="mt-2 text-sm text-green-900">
          Stored as deal {job.result.dealId.toString()}: paid {formatAmount(job.result.cost.total)};
          every shard accepted.
        </p>
      )}
      {job.error && (
        <p role="alert" className="mt-2 text-sm text-red-800">
          {job.error}
        </p>
      )}
    </li>
  );
}
