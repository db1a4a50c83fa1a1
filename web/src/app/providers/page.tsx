"use client";
// Providers: every provider that registered, with its room, stake and record (sortable), and
// how to become one (the coop-provider init → register → start recipe of docs/provider.md).
import {
  formatAmount,
  formatBytes,
  listProviders,
  type ProviderSummary,
} from "@coop-cloud/sdk/client";
import { useId, useMemo, useState } from "react";

import { ChainDown, Panel, ReadError } from "@/components/Figure";
import { CHAIN_ID, RPC_URL, coopAddresses } from "@/lib/chain";
import { useCoop } from "@/lib/coop";
import { useChainError, useLive, useTokenUnits } from "@/lib/live";
import {
  nextSort,
  providerStatus,
  reliabilityPercent,
  sortProviders,
  type ProviderColumn,
  type SortDirection,
} from "@/lib/providers";

const COLUMNS: { key: ProviderColumn; label: string; numeric?: boolean }[] = [
  { key: "address", label: "Address" },
  { key: "endpoint", label: "Endpoint" },
  { key: "capacity", label: "Capacity", numeric: true },
  { key: "used", label: "Used", numeric: true },
  { key: "stake", label: "Stake", numeric: true },
  { key: "provenEpochs", label: "Proven epochs", numeric: true },
  { key: "missedEpochs", label: "Missed epochs", numeric: true },
  { key: "reliability", label: "Reliability", numeric: true },
  { key: "status", label: "Status" },
];

export default function ProvidersPage() {
  const chainDown = useChainError();
  const { coop } = useCoop();
  const providers = useLive(["providers"], (c) => listProviders(c));
  const [showLeft, setShowLeft] = useState(false);
  const [sort, setSort] = useState<{ column: ProviderColumn; direction: SortDirection }>({
    column: "reliability",
    direction: "descending",
  });
  const rows = useMemo(
    () =>
      sortProviders(
        (providers.data ?? []).filter((p) => showLeft || p.registered),
        sort.column,
        sort.direction,
      ),
    [providers.data, showLeft, sort],
  );
  const leftCount = (providers.data ?? []).filter((p) => !p.registered).length;

  return (
    <div>
      <h1 className="text-2xl font-semibold">Providers</h1>
      <ChainDown message={chainDown} />
      <p className="mt-2 max-w-3xl text-slate-700">
        Members who run a provider node keep the shards of the co-op&apos;s files, prove every epoch
        that they still hold them, and are paid per epoch; a missed epoch costs part of their stake.
        Reliability counts proven against missed epochs, starting at 50% for a newcomer.
      </p>
      {coop && (
        <Panel
          title="Registered providers"
          id="provider-list"
          actions={
            leftCount > 0 ? (
              <label className="flex items-center gap-2 text-sm">
                <input
                  type="checkbox"
                  checked={showLeft}
                  onChange={(e) => setShowLeft(e.target.checked)}
                />
                Show the {leftCount} that left
              </label>
            ) : null
          }
        >
          <ReadError error={providers.error} />
          {providers.isPending ? (
            <p className="text-sm text-slate-600">Reading the providers…</p>
          ) : rows.length === 0 ? (
            <p className="text-sm text-slate-600">
              No providers registered yet: be the first (see below).
            </p>
          ) : (
            <>
              <div className="hidden md:block">
                <ProviderTable rows={rows} sort={sort} onSort={(c) => setSort(nextSort(sort, c))} />
              </div>
              <div className="md:hidden">
                <ProviderCards rows={rows} sort={sort} onSort={setSort} />
              </div>
            </>
          )}
        </Panel>
      )}
      <BecomeOne />
    </div>
  );
}

function ProviderTable({
  rows,
  sort,
  onSort,
}: {
  rows: ProviderSummary[];
  sort: { column: ProviderColumn; direction: SortDirection };
  onSort: (c: ProviderColumn) => void;
}) {
  const units = useTokenUnits();
  return (
    <div
      className="overflow-x-auto"
      tabIndex={0}
      role="region"
      aria-label="Providers table, scrolls sideways"
    >
      <table className="w-full min-w-[56rem] border-collapse text-sm">
        <caption className="sr-only">
          Providers, sorted by {COLUMNS.find((c) => c.key === sort.column)?.label} ({sort.direction}
          ). Use the column buttons to sort.
        </caption>
        <thead>
          <tr className="border-b border-slate-300 text-left">
            {COLUMNS.map((c) => (
              <th
                key={c.key}
                scope="col"
                aria-sort={sort.column === c.key ? sort.direction : undefined}
                className={`px-2 py-2 font-medium ${c.numeric ? "text-right" : ""}`}
              >
                <button
                  type="button"
                  onClick={() => onSort(c.key)}
                  className="rounded px-1 hover:bg-slate-100"
                >
                  {c.label}
                  <span aria-hidden="true" className="ml-1 text-slate-500">
                    {sort.column === c.key ? (sort.direction === "ascending" ? "▲" : "▼") : "↕"}
                  </span>
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((p) => {
            return (
              <tr key={p.address} className="border-b border-slate-200" data-testid="provider-row">
                <td className="px-2 py-2 font-mono text-xs" title={p.address}>
                  {p.address.slice(0, 8)}…{p.address.slice(-6)}
                </td>
                <td className="max-w-[14rem] truncate px-2 py-2" title={p.endpoint}>
                  {p.endpoint}
                </td>
                <td className="px-2 py-2 text-right">{formatBytes(p.capacity)}</td>
                <td className="px-2 py-2 text-right">{formatBytes(p.used)}</td>
                <td className="px-2 py-2 text-right">{formatAmount(p.stake, units)}</td>
                <td className="px-2 py-2 text-right">{p.provenEpochs.toString()}</td>
                <td className="px-2 py-2 text-right">{p.missedEpochs}</td>
                <td className="px-2 py-2 text-right">{reliabilityPercent(p)}</td>
                <td className="px-2 py-2">
                  <StatusBadge p={p} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function StatusBadge({ p }: { p: ProviderSummary }) {
  const status = providerStatus(p);
  return (
    <span
      className={`rounded px-1.5 py-0.5 text-xs font-medium ${
        status === "active"
          ? "bg-green-100 text-green-900"
          : status === "failed"
            ? "bg-red-100 text-red-900"
            : "bg-slate-200 text-slate-800"
      }`}
    >
      {status === "failed" ? `failed (epoch ${p.failedEpoch})` : status}
    </span>
  );
}

/** Phones: one card per provider, sorted with a select instead of column headers. */
function ProviderCards({
  rows,
  sort,
  onSort,
}: {
  rows: ProviderSummary[];
  sort: { column: ProviderColumn; direction: SortDirection };
  onSort: (s: { column: ProviderColumn; direction: SortDirection }) => void;
}) {
  const units = useTokenUnits();
  const id = useId();
  return (
    <div>
      <div className="flex flex-wrap items-end gap-2">
        <div>
          <label htmlFor={id} className="block text-sm font-medium">
            Sort by
          </label>
          <select
            id={id}
            className="mt-1 rounded border border-slate-400 bg-white px-2 py-1.5 text-sm"
            value={sort.column}
            onChange={(e) =>
              onSort(
                nextSort(
                  { column: sort.column, direction: sort.direction },
                  e.target.value as ProviderColumn,
                ),
              )
            }
          >
            {COLUMNS.map((c) => (
              <option key={c.key} value={c.key}>
                {c.label}
              </option>
            ))}
          </select>
        </div>
        <button
          type="button"
          className="rounded border border-slate-400 px-2 py-1.5 text-sm hover:bg-slate-100"
          onClick={() => onSort(nextSort(sort, sort.column))}
        >
          {sort.direction === "ascending" ? "Ascending ▲" : "Descending ▼"}
        </button>
      </div>
      <ul className="mt-3 space-y-3">
        {rows.map((p) => (
          <li key={p.address} className="rounded border border-slate-200 p-3 text-sm">
            <div className="flex items-center justify-between gap-2">
              <span className="font-mono text-xs break-all">{p.address}</span>
              <StatusBadge p={p} />
            </div>
            <p className="mt-1 break-all text-slate-700">{p.endpoint}</p>
            <dl className="mt-2 grid grid-cols-2 gap-x-3 gap-y-1">
              <dt className="text-slate-600">Used / capacity</dt>
              <dd>
                {formatBytes(p.used)} / {formatBytes(p.capacity)}
              </dd>
              <dt className="text-slate-600">Stake</dt>
              <dd>{formatAmount(p.stake, units)}</dd>
              <dt className="text-slate-600">Proven / missed</dt>
              <dd>
                {p.provenEpochs.toString()} / {p.missedEpochs}
              </dd>
              <dt className="text-slate-600">Reliability</dt>
              <dd>{reliabilityPercent(p)}</dd>
            </dl>
          </li>
        ))}
      </ul>
    </div>
  );
}

function Code({ children }: { children: string }) {
  return (
    <pre className="mt-2 overflow-x-auto rounded bg-slate-900 p-3 text-xs text-slate-100">
      <code>{children}</code>
    </pre>
  );
}

function BecomeOne() {
  const found = coopAddresses();
  const market = "addresses" in found ? found.addresses.StorageMarket : "0x…";
  const local = CHAIN_ID === 31337;
  const units = useTokenUnits();
  const { coop } = useCoop();
  const minStake = useLive(
    ["min-stake"],
    (c) => c.market.read.params().then((p) => p.minStakePerGiB),
    {
      enabled: !!coop,
    },
  );
  return (
    <Panel title="How to become a provider" id="become-provider">
      <ol className="list-decimal space-y-3 pl-5 text-sm text-slate-800">
        <li>
          Get the code and its Node (≥ 22; the repository ships Node 24):{" "}
          <code className="rounded bg-slate-100 px-1">
            git clone … coop-cloud && cd coop-cloud && npm ci
          </code>
          . The provider&apos;s command is{" "}
          <code className="rounded bg-slate-100 px-1">npx coop-provider</code>.
        </li>
        <li>
          <strong>Init</strong> a data folder: an encrypted wallet keystore, the config and the
          node&apos;s libp2p key. It prints the wallet address to fund
          {local ? " (on the local chain, register --faucet funds it)" : " with gas and the stake"}.
          <Code>{`export COOP_PROVIDER_PASSWORD='choose a long password'
npx coop-provider init --data-dir ./provider-data \\
  --rpc-url ${RPC_URL} --chain-id ${CHAIN_ID} \\
  --market ${market} \\
  --http-port 8080 --public-url http://127.0.0.1:8080 \\
  --tcp-port 4001 --ws-port 4002 --capacity 10737418240${local ? " --kdf-n 4096" : " --ipfs-mode public"}`}</Code>
        </li>
        <li>
          <strong>Register</strong>: joins the co-op if the wallet is not a member yet (it pays the
          share), then stakes and records the endpoint, addresses and capacity on-chain. The stake
          must be at least{" "}
          {minStake.data !== undefined ? formatAmount(minStake.data, units) : "minStakePerGiB"} per
          GiB of capacity (stake in base units of the token).
          <Code>{`npx coop-provider register --data-dir ./provider-data --stake 10000000${local ? " --faucet" : ""}`}</Code>
        </li>
        <li>
          <strong>Start</strong> the node: it takes shards, proves them every epoch, settles and
          withdraws its earnings. Run it as a service on a real machine (docs/provider.md has a
          systemd unit); open the HTTP and libp2p ports.
          <Code>{`npx coop-provider start --data-dir ./provider-data`}</Code>
        </li>
        <li>
          It appears in the table above within a block.{" "}
          <code className="rounded bg-slate-100 px-1">npx coop-provider status</code> shows its
          state; <code className="rounded bg-slate-100 px-1">npx coop-provider leave</code>{" "}
          deregisters it and returns the stake once it holds no shard.
        </li>
      </ol>
    </Panel>
  );
}
