"use client";
// Overview: what the co-op is, its live figures (re-read at every block) and charts of the
// storage it holds and the proofs behind it, built from the market's events.
import {
  formatAmount,
  formatBytes,
  formatDuration,
  pricePerGiBEpoch,
} from "@coop-cloud/sdk/client";
import dynamic from "next/dynamic";
import Link from "next/link";

import { ChainDown, Figure, Panel, ReadError } from "@/components/Figure";
import { useCoop } from "@/lib/coop";
import { useChainError, useLive, useSecondsSince, useTokenUnits } from "@/lib/live";
import {
  activeDeals,
  epochAt,
  epochWindow,
  percent,
  proofSeries,
  storedBytesSeries,
} from "@/lib/overview";
import { readFigures, readMarketHistory } from "@/lib/reads";

// recharts is a large part of the page's JavaScript: loaded after the figures, not before.
const drawing = () => <p className="text-sm text-slate-600">Drawing the chart…</p>;
const StoredBytesChart = dynamic(
  () => import("@/components/Charts").then((m) => m.StoredBytesChart),
  { ssr: false, loading: drawing },
);
const ProofsChart = dynamic(() => import("@/components/Charts").then((m) => m.ProofsChart), {
  ssr: false,
  loading: drawing,
});

/** Epochs drawn by the charts. */
const CHART_EPOCHS = 60;

export default function OverviewPage() {
  const chainDown = useChainError();
  const { coop } = useCoop();
  const units = useTokenUnits();
  const figures = useLive(["overview-figures"], readFigures);
  // The charts' event scans are heavier: every few blocks is enough (writes refresh at once).
  const history = useLive(["overview-history"], readMarketHistory, { everyBlocks: 5 });
  const f = figures.data;
  const since = useSecondsSince(f?.chainTime);
  const now = f ? Number(f.chainTime) + since : undefined;
  const clock = f && now !== undefined ? epochAt(f.clock, now) : undefined;
  // The contract's epoch is the one of the head block; the clock may already be in the next.
  const epoch = f?.epoch;

  const deals =
    history.data && epoch !== undefined ? activeDeals(history.data.spans, epoch) : undefined;
  const range = epoch !== undefined ? epochWindow(epoch, CHART_EPOCHS) : undefined;
  const stored =
    history.data && range ? storedBytesSeries(history.data.spans, range.from, range.to) : [];
  const proofs =
    history.data && range
      ? proofSeries(history.data.proven, history.data.missed, range.from, range.to)
      : [];
  const free = f ? (f.capacity > f.used ? f.capacity - f.used : 0n) : undefined;

  return (
    <div>
      <h1 className="text-2xl font-semibold">Co-operative Cloud</h1>
      <ChainDown message={chainDown} />
      <p className="mt-2 max-w-3xl text-slate-700">
        A storage co-operative: your files are encrypted in your browser, split into erasure-coded
        shards and kept by member-run providers who prove on-chain, every epoch, that they still
        hold them. The members own it: one member, one vote sets the price, fees and epochs, and the
        treasury&apos;s surplus returns to them as patronage dividends.
      </p>
      <p className="mt-2 text-sm">
        <Link className="text-blue-800 underline" href="/storage">
          Store a file
        </Link>{" "}
        ·{" "}
        <Link className="text-blue-800 underline" href="/coop">
          Join the co-op
        </Link>{" "}
        ·{" "}
        <Link className="text-blue-800 underline" href="/providers">
          Become a provider
        </Link>
      </p>

      {!coop ? null : (
        <>
          <div className="mt-4">
            <ReadError error={figures.error ?? history.error} />
          </div>
          <dl className="mt-4 grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4">
            <Figure label="Members" value={f?.members.toString()} testId="fig-members" />
            <Figure
              label="Providers"
              value={f?.providers.active.toString()}
              note={
                f && f.providers.total !== f.providers.active
                  ? `${f.providers.total - f.providers.active} failed`
                  : "registered and proving"
              }
              testId="fig-providers"
            />
            <Figure
              label="Capacity used"
              value={f ? `${formatBytes(f.used)} of ${formatBytes(f.capacity)}` : undefined}
              note={
                f && free !== undefined
                  ? `${percent(f.used, f.capacity, 1)} used, ${formatBytes(free)} free`
                  : undefined
              }
              testId="fig-capacity"
            />
            <Figure
              label="Active deals"
              value={deals?.count.toString()}
              note={deals ? `${formatBytes(deals.dataBytes)} of data` : undefined}
              testId="fig-deals"
            />
            <Figure
              label="Stored bytes"
              value={deals ? formatBytes(deals.bytes) : undefined}
              note="all shards, with redundancy"
              testId="fig-stored"
            />
            <Figure
              label="Price"
              value={f ? `${pricePerGiBEpoch(f.pricePerByteEpoch, units)}` : undefined}
              note={
                f
                  ? `per GiB per epoch (${f.pricePerByteEpoch.toString()} per byte-epoch ×1e-18); fee ${f.feeBps / 100}%`
                  : undefined
              }
              testId="fig-price"
            />
            <Figure
              label="Epoch"
              value={epoch?.toString()}
              note={
                clock && f
                  ? clock.epoch > (epoch ?? 0)
                    ? `epoch ${clock.epoch} begins with the next block`
                    : `next in ${formatDuration(clock.secondsLeft)} (epochs of ${formatDuration(f.clock.length)})`
                  : undefined
              }
              testId="fig-epoch"
            />
            <Figure
              label="Treasury"
              value={f ? formatAmount(f.treasuryBalance, units) : undefined}
              note={
                f ? `${formatAmount(f.treasuryFree, units)} free to declare or spend` : undefined
              }
              testId="fig-treasury"
            />
          </dl>

          <div className="mt-2 grid grid-cols-1 gap-0 lg:grid-cols-2 lg:gap-4">
            <Panel title="Stored bytes per epoch" id="chart-stored">
              {history.isPending ? (
                <p className="text-sm text-slate-600">Reading the market&apos;s deals…</p>
              ) : stored.every((d) => d.bytes === 0) ? (
                <p className="text-sm text-slate-600">
                  No storage held in the last {CHART_EPOCHS} epochs yet.
                </p>
              ) : (
                <StoredBytesChart data={stored} />
              )}
            </Panel>
            <Panel title="Proofs per epoch" id="chart-proofs">
              {history.isPending ? (
                <p className="text-sm text-slate-600">Reading the market&apos;s proofs…</p>
              ) : proofs.every((d) => d.proven === 0 && d.missed === 0) ? (
                <p className="text-sm text-slate-600">
                  No proofs in the last {CHART_EPOCHS} epochs: providers prove only while they hold
                  shards.
                </p>
              ) : (
                <ProofsChart data={proofs} />
              )}
            </Panel>
          </div>
        </>
      )}
    </div>
  );
}
