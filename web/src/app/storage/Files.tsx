"use client";
// The owner's files, from the chain alone (the same wallet anywhere sees the same list): name and
// size from the encrypted manifests once the storage key is unlocked, expiry, cost, the health of
// every shard, refreshed as blocks come; download, extend, cancel and share per file.
import {
  cancelFile,
  createShareLink,
  extendFile,
  formatAmount,
  formatBytes,
  formatDuration,
  formatTime,
  getFile,
  listFiles,
  listProviders,
  type CancelResult,
  type ExtendResult,
  type FileInfo,
} from "@coop-cloud/sdk/client";
import { useQueries, useQuery } from "@tanstack/react-query";
import { useEffect, useId, useMemo, useState } from "react";
import { useBlockNumber } from "wagmi";

import { TxStatus } from "@/components/TxStatus";
import { DownloadProgress } from "@/components/storage/DownloadProgress";
import { btnDanger, btnPrimary, btnSecondary, card, input } from "@/components/storage/styles";
import { useCoop } from "@/lib/coop";
import { useTokenUnits } from "@/lib/useTokenUnits";
import { cancelRefund, extendCost, epochsFor, shareUrl } from "@/lib/storage";
import { errorSentence, useTx } from "@/lib/tx";
import { markUnlocked, unlockKeys, useUnlocked } from "@/lib/unlock";
import { useDownload } from "@/lib/useDownload";

interface Opened {
  name: string;
  size: number;
  mimeType: string;
}

export function Files() {
  const { coop, account, keys } = useCoop();
  const unlocked = useUnlocked(keys);
  const [unlockError, setUnlockError] = useState<string>();
  const [unlocking, setUnlocking] = useState(false);
  // New blocks refresh the list (proofs, acceptances, repairs), at most every 8 s: a refresh
  // reads every deal's state (about ten calls per deal).
  const { data: block } = useBlockNumber({ watch: true, query: { enabled: !!account } });
  const [seenBlock, setSeenBlock] = useState<bigint>();

  useTokenUnits();

  const files = useQuery({
    queryKey: ["files", account, coop?.addresses.StorageMarket],
    enabled: !!coop && !!keys,
    queryFn: () => listFiles(coop!, keys!, { withoutManifests: true }),
    refetchInterval: 30_000,
  });
  const { refetch, dataUpdatedAt, isFetching } = files;
  useEffect(() => {
    if (block === undefined || block === seenBlock || isFetching) return;
    const wait = Math.max(0, dataUpdatedAt + 8_000 - Date.now());
    const t = setTimeout(() => {
      setSeenBlock(block);
      void refetch();
    }, wait);
    return () => clearTimeout(t);
  }, [block, seenBlock, isFetching, dataUpdatedAt, refetch]);
  const providers = useQuery({
    queryKey: ["storage-providers", coop?.addresses.StorageMarket],
    enabled: !!coop,
    queryFn: () => listProviders(coop!),
    refetchInterval: 15_000,
  });
  const missedBy = useMemo(() => {
    const m = new Map<string, number>();
    for (const p of providers.data ?? []) m.set(p.address.toLowerCase(), p.missedEpochs);
    return m;
  }, [providers.data]);

  const list = files.data ?? [];
  // Names and sizes: each manifest opened once (no plaintext is fetched).
  const manifests = useQueries({
    queries: list.map((f) => ({
      queryKey: ["file-manifest", account, f.dealId.toString()],
      enabled: !!coop && !!keys && unlocked,
      staleTime: Infinity,
      retry: 1,
      queryFn: async (): Promise<Opened> => {
        const opened = await getFile(coop!, { dealId: f.dealId }, { keys });
        const m = opened.manifest;
        return { name: m.name, size: m.size, mimeType: m.mimeType };
      },
    })),
  });

  const unlock = async () => {
    if (!keys) return;
    setUnlocking(true);
    setUnlockError(undefined);
    try {
      await unlockKeys(keys);
    } catch (e) {
      setUnlockError(errorSentence(e));
    } finally {
      setUnlocking(false);
    }
  };

  return (
    <section aria-labelledby="files-h" className={card}>
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id="files-h" className="text-lg font-semibold">
          My files
        </h2>
        {account && files.isFetching && <span className="text-xs text-slate-700">Refreshing…</span>}
      </div>
      {!account ? (
        <p className="mt-2 text-sm text-slate-700">Connect a wallet to see the files it stored.</p>
      ) : files.isPending ? (
        <p className="mt-2 text-sm text-slate-700">Reading your deals from the chain…</p>
      ) : files.isError ? (
        <p role="alert" className="mt-2 text-sm text-red-800">
          Could not read your files: {errorSentence(files.error)}
        </p>
      ) : list.length === 0 ? (
        <p className="mt-2 text-sm text-slate-700" data-testid="no-files">
          No files yet: store one above.
        </p>
      ) : (
        <>
          {!unlocked && (
            <div className="mt-2 flex flex-wrap items-center gap-2 rounded border border-slate-200 bg-slate-50 px-3 py-2 text-sm">
              <span>
                Names and sizes are in the encrypted manifests: sign once to unlock your storage key
                for this session (nothing is sent, and the key stays in this tab&apos;s memory).
              </span>
              <button
                type="button"
                className={btnSecondary}
                disabled={unlocking}
                onClick={() => void unlock()}
              >
                {unlocking ? "Waiting for the wallet…" : "Unlock names"}
              </button>
              {unlockError && (
                <span role="alert" className="text-red-800">
                  {unlockError}
                </span>
              )}
            </div>
          )}
          <ul className="mt-3 space-y-3" aria-label="Files">
            {list.map((f, i) => (
              <FileRow
                key={f.dealId.toString()}
                file={f}
                opened={manifests[i]?.data}
                openError={manifests[i]?.error ? errorSentence(manifests[i]!.error) : undefined}
                missedBy={missedBy}
              />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function healthTone(f: FileInfo): string {
  if (f.healthyShards >= f.n) return "bg-green-100 text-green-900";
  if (f.healthyShards >= f.k) return "bg-amber-100 text-amber-950";
  return "bg-red-100 text-red-900";
}

function shardWords(s: FileInfo["shards"][number]): string {
  if (s.repairing) return "lost, being repaired";
  if (s.lost) return "lost, waiting for repair";
  if (s.status === "assigned") return "awaiting upload";
  return s.status;
}

function FileRow({
  file: f,
  opened,
  openError,
  missedBy,
}: {
  file: FileInfo;
  opened: Opened | undefined;
  openError: string | undefined;
  missedBy: Map<string, number>;
}) {
  const { coop, keys } = useCoop();
  const download = useDownload();
  const [panel, setPanel] = useState<"extend" | "cancel" | "share" | undefined>();
  const name = opened?.name ?? `deal-${f.dealId}`;
  const ended = f.cancelled || f.expired;
  const secondsLeft = f.expiresAt - Date.now() / 1000;
  const toggle = (p: typeof panel) => setPanel((cur) => (cur === p ? undefined : p));

  return (
    <li
      className="rounded border border-slate-200 p-3"
      data-testid="file-row"
      data-deal-id={f.dealId.toString()}
      data-healthy={f.healthyShards}
    >
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div className="min-w-0">
          <h3 className="font-medium break-all">
            {opened ? (
              opened.name
            ) : (
              <span className="text-slate-700">Deal {f.dealId.toString()}</span>
            )}
            {opened && " "}
            {opened && (
              <span className="ml-2 text-sm font-normal text-slate-700">
                {formatBytes(opened.size)}
              </span>
            )}
          </h3>
          {openError && <p className="text-xs text-red-800">Manifest not opened: {openError}</p>}
          <p className="text-sm text-slate-800">
            Deal {f.dealId.toString()} ·{" "}
            {f.cancelled
              ? `cancelled, ends at epoch ${f.endEpoch}`
              : f.expired
                ? "expired"
                : `until ${formatTime(f.expiresAt)} (${secondsLeft > 0 ? `in ${formatDuration(secondsLeft)}` : "ending"})`}{" "}
            · paid {formatAmount(f.cost.total)}
            {f.cost.refunded > 0n && `, refunded ${formatAmount(f.cost.refunded)}`}
          </p>
        </div>
        <span
          className={`rounded px-2 py-0.5 text-xs font-medium ${healthTone(f)}`}
          data-testid="health"
        >
          {f.healthyShards} of {f.n} shards healthy (needs {f.k})
        </span>
      </div>

      <div className="mt-2 flex flex-wrap gap-2">
        <button
          type="button"
          className={btnPrimary}
          disabled={download.running || !coop || !keys || f.expired}
          onClick={() =>
            void download.start((o) => getFile(coop!, { dealId: f.dealId }, { ...o, keys }), {
              name,
              size: opened?.size,
            })
          }
        >
          Download
        </button>
        <button
          type="button"
          className={btnSecondary}
          aria-expanded={panel === "extend"}
          disabled={ended}
          onClick={() => toggle("extend")}
        >
          Extend
        </button>
        <button
          type="button"
          className={btnSecondary}
          aria-expanded={panel === "cancel"}
          disabled={ended}
          onClick={() => toggle("cancel")}
        >
          Cancel storage
        </button>
        <button
          type="button"
          className={btnSecondary}
          aria-expanded={panel === "share"}
          disabled={f.expired}
          onClick={() => toggle("share")}
        >
          Share
        </button>
      </div>
      <DownloadProgress state={download.state} onCancel={download.cancel} />
      {panel === "extend" && <ExtendPanel file={f} />}
      {panel === "cancel" && <CancelPanel file={f} />}
      {panel === "share" && <SharePanel file={f} />}

      <details className="mt-2">
        <summary className="cursor-pointer text-sm text-blue-800">Shards and providers</summary>
        <div className="mt-2 overflow-x-auto">
          <table className="w-full min-w-[28rem] text-left text-sm">
            <thead>
              <tr className="border-b border-slate-200 text-slate-700">
                <th scope="col" className="py-1 pr-3 font-medium">
                  Shard
                </th>
                <th scope="col" className="py-1 pr-3 font-medium">
                  Provider
                </th>
                <th scope="col" className="py-1 pr-3 font-medium">
                  Status
                </th>
                <th scope="col" className="py-1 pr-3 font-medium">
                  Proven epochs
                </th>
                <th scope="col" className="py-1 font-medium">
                  Provider missed
                </th>
              </tr>
            </thead>
            <tbody>
              {f.shards.map((s) => (
                <tr
                  key={s.index}
                  className="border-b border-slate-100"
                  data-testid="shard-health"
                  data-status={s.status}
                  data-lost={s.lost}
                  data-proven={s.provenEpochs}
                >
                  <td className="py-1 pr-3 tabular-nums">
                    {s.index}
                    {s.index < f.k ? " (data)" : " (parity)"}
                  </td>
                  <td className="py-1 pr-3 font-mono text-xs" title={s.provider}>
                    {s.provider.slice(0, 8)}…{s.provider.slice(-6)}
                  </td>
                  <td className={`py-1 pr-3 ${s.lost ? "text-red-800" : ""}`}>{shardWords(s)}</td>
                  <td className="py-1 pr-3 tabular-nums">{s.provenEpochs}</td>
                  <td className="py-1 tabular-nums">
                    {missedBy.get(s.provider.toLowerCase()) ?? "…"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="mt-1 text-xs text-slate-700">
            {formatBytes(f.shardSize)} per shard; epochs {f.startEpoch} to {f.endEpoch} (now{" "}
            {f.currentEpoch}).
          </p>
        </div>
      </details>
    </li>
  );
}

function useDealTerms(dealId: bigint) {
  const { coop } = useCoop();
  const deal = useQuery({
    queryKey: ["deal-view", dealId.toString()],
    enabled: !!coop,
    queryFn: () => coop!.market.read.getDeal([dealId]),
  });
  const params = useQuery({
    queryKey: ["market-params", coop?.addresses.StorageMarket],
    enabled: !!coop,
    queryFn: () => coop!.market.read.params(),
    staleTime: 30_000,
  });
  const clock = useQuery({
    queryKey: ["epoch-clock", coop?.addresses.StorageMarket],
    enabled: !!coop,
    queryFn: () => coop!.market.read.epochClock(),
    staleTime: 60_000,
  });
  return { deal, params, epochLength: clock.data ? Number(clock.data[2]) : undefined };
}

function ExtendPanel({ file: f }: { file: FileInfo }) {
  const { coop } = useCoop();
  const tx = useTx();
  const id = useId();
  const { deal, params, epochLength } = useDealTerms(f.dealId);
  const [text, setText] = useState("");
  const [done, setDone] = useState<ExtendResult>();
  const epochs = text === "" ? (epochLength ? epochsFor(86_400, epochLength) : NaN) : Number(text);
  const valid = Number.isSafeInteger(epochs) && epochs >= 1 && epochs <= 2 ** 32 - 1;
  const open = f.shards.filter((s) => s.status !== "closed").length;
  const cost =
    deal.data && params.data && valid
      ? extendCost({
          shardRate: deal.data.shardRate,
          openShards: open,
          epochs,
          feeBps: params.data.feeBps,
        })
      : undefined;
  return (
    <div
      className="mt-2 rounded border border-slate-200 bg-slate-50 p-3 text-sm"
      data-testid="extend-panel"
    >
      <label htmlFor={`${id}-epochs`} className="font-medium">
        Add epochs
      </label>
      <div className="mt-1 flex flex-wrap items-center gap-2">
        <input
          id={`${id}-epochs`}
          className={input}
          type="number"
          min={1}
          inputMode="numeric"
          value={Number.isNaN(epochs) ? text : epochs}
          onChange={(e) => setText(e.target.value)}
          aria-invalid={!valid}
        />
        <span>
          {!valid
            ? "a whole number of epochs, at least 1"
            : epochLength
              ? `about ${formatDuration(epochs * epochLength)}`
              : ""}
          {cost &&
            ` · costs ${formatAmount(cost.total)} (escrow ${formatAmount(cost.escrow)}, fee ${formatAmount(cost.fee)})`}
        </span>
        <button
          type="button"
          className={btnPrimary}
          disabled={!valid || tx.busy || !coop}
          onClick={async () => {
            const r = await tx.run(`Extend deal ${f.dealId}`, (o) =>
              extendFile(coop!, f.dealId, epochs, o),
            );
            if (r) setDone(r);
          }}
        >
          Extend
        </button>
      </div>
      <TxStatus state={tx.state} />
      {done && (
        <p role="status" className="mt-1 text-green-900">
          Extended to epoch {done.endEpoch}; paid {formatAmount(done.escrow + done.fee)}.
        </p>
      )}
    </div>
  );
}

function CancelPanel({ file: f }: { file: FileInfo }) {
  const { coop } = useCoop();
  const tx = useTx();
  const { deal } = useDealTerms(f.dealId);
  const [done, setDone] = useState<CancelResult>();
  const open = f.shards.filter((s) => s.status !== "closed").length;
  const refund = deal.data
    ? cancelRefund({
        shardRate: deal.data.shardRate,
        openShards: open,
        startEpoch: f.startEpoch,
        endEpoch: f.endEpoch,
        currentEpoch: f.currentEpoch,
        cancelled: f.cancelled,
      })
    : undefined;
  return (
    <div
      className="mt-2 rounded border border-red-200 bg-red-50 p-3 text-sm"
      data-testid="cancel-panel"
    >
      {done ? (
        <p role="status" className="text-green-900">
          Cancelled: the deal ends at epoch {done.endEpoch}; {formatAmount(done.refund)} of escrow
          refunded
          {done.withdrawn ? `, ${formatAmount(done.withdrawn)} withdrawn to your wallet` : ""}.
        </p>
      ) : (
        <>
          <p className="text-red-950">
            Storage ends after the current epoch (which stays paid) and the providers may then
            delete the shards.{" "}
            {refund === undefined
              ? "Working out the refund…"
              : `About ${formatAmount(refund)} of escrow comes back to your wallet.`}
          </p>
          <button
            type="button"
            className={`${btnDanger} mt-2`}
            disabled={tx.busy || !coop}
            onClick={async () => {
              const r = await tx.run(`Cancel deal ${f.dealId}`, (o) =>
                cancelFile(coop!, f.dealId, o),
              );
              if (r) setDone(r);
            }}
          >
            Cancel storage of this file
          </button>
        </>
      )}
      <TxStatus state={tx.state} />
    </div>
  );
}

function SharePanel({ file: f }: { file: FileInfo }) {
  const { coop, keys } = useCoop();
  const id = useId();
  const [url, setUrl] = useState<string>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState(false);
  const make = async () => {
    if (!coop || !keys) return;
    setBusy(true);
    setError(undefined);
    try {
      const link = await createShareLink(coop, f.dealId, keys);
      markUnlocked(keys);
      setUrl(shareUrl(window.location.origin, link));
    } catch (e) {
      setError(errorSentence(e));
    } finally {
      setBusy(false);
    }
  };
  const copy = async () => {
    if (!url) return;
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      setError("The browser did not allow copying: select the link and copy it by hand.");
    }
  };
  return (
    <div
      className="mt-2 rounded border border-slate-200 bg-slate-50 p-3 text-sm"
      data-testid="share-panel"
    >
      <p>
        Anyone with the link can download and read this file, without a wallet, for as long as it is
        stored; a link cannot be revoked. The key is in the part after <code>#</code>, which
        browsers never send to a server.
      </p>
      {!url ? (
        <button
          type="button"
          className={`${btnPrimary} mt-2`}
          disabled={busy}
          onClick={() => void make()}
        >
          {busy ? "Making the link…" : "Make a share link"}
        </button>
      ) : (
        <div className="mt-2 flex flex-wrap items-center gap-2">
          <label htmlFor={`${id}-link`} className="sr-only">
            Share link
          </label>
          <input
            id={`${id}-link`}
            readOnly
            value={url}
            data-testid="share-url"
            onFocus={(e) => e.currentTarget.select()}
            className="min-w-0 flex-1 rounded border border-slate-400 bg-white px-2 py-1 font-mono text-xs"
          />
          <button type="button" className={btnSecondary} onClick={() => void copy()}>
            {copied ? "Copied" : "Copy"}
          </button>
        </div>
      )}
      {error && (
        <p role="alert" className="mt-1 text-red-800">
          {error}
        </p>
      )}
    </div>
  );
}
