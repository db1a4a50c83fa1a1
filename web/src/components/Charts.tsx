"use client";
// The Overview's and Co-op page's charts (recharts), each with a sentence describing it for
// screen readers and a note when there is nothing to draw yet.
import { formatBytes } from "@coop-cloud/sdk/client";
import {
  Area,
  AreaChart,
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";

function Frame({ label, children }: { label: string; children: React.ReactElement }) {
  return (
    <figure role="img" aria-label={label} className="h-64 w-full min-w-0">
      <ResponsiveContainer width="100%" height="100%" minWidth={0}>
        {children}
      </ResponsiveContainer>
    </figure>
  );
}

export function StoredBytesChart({ data }: { data: { epoch: number; bytes: number }[] }) {
  const last = data[data.length - 1];
  const label = last
    ? `Bytes held by providers per epoch, epochs ${data[0].epoch} to ${last.epoch}; now ${formatBytes(last.bytes)}.`
    : "No epochs yet.";
  return (
    <Frame label={label}>
      <AreaChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="#cbd5e1" />
        <XAxis dataKey="epoch" tick={{ fontSize: 12, fill: "#334155" }} minTickGap={16} />
        <YAxis
          tickFormatter={(v: number) => formatBytes(v)}
          tick={{ fontSize: 12, fill: "#334155" }}
          width={84}
        />
        <Tooltip
          formatter={(v) => [formatBytes(Number(v)), "stored"]}
          labelFormatter={(e) => `epoch ${e}`}
        />
        <Area
          type="stepAfter"
          dataKey="bytes"
          stroke="#1d4ed8"
          fill="#bfdbfe"
          isAnimationActive={false}
        />
      </AreaChart>
    </Frame>
  );
}

export function ProofsChart({
  data,
}: {
  data: { epoch: number; proven: number; missed: number }[];
}) {
  const proven = data.reduce((s, d) => s + d.proven, 0);
  const missed = data.reduce((s, d) => s + d.missed, 0);
  const label = data.length
    ? `Proofs per epoch over epochs ${data[0].epoch} to ${data[data.length - 1].epoch}: ${proven} proven, ${missed} missed.`
    : "No epochs yet.";
  return (
    <Frame label={label}>
      <BarChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="#cbd5e1" />
        <XAxis dataKey="epoch" tick={{ fontSize: 12, fill: "#334155" }} minTickGap={16} />
        <YAxis allowDecimals={false} tick={{ fontSize: 12, fill: "#334155" }} width={32} />
        <Tooltip labelFormatter={(e) => `epoch ${e}`} />
        <Legend />
        <Bar dataKey="proven" name="proven" stackId="p" fill="#15803d" isAnimationActive={false} />
        <Bar dataKey="missed" name="missed" stackId="p" fill="#b91c1c" isAnimationActive={false} />
      </BarChart>
    </Frame>
  );
}

export function BalanceChart({
  data,
  format,
}: {
  data: { block: number; balance: number }[];
  format: (v: number) => string;
}) {
  const last = data[data.length - 1];
  const label = last
    ? `Treasury balance from block ${data[0].block} to ${last.block}; now ${format(last.balance)}.`
    : "No treasury movements yet.";
  return (
    <Frame label={label}>
      <LineChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="#cbd5e1" />
        <XAxis
          dataKey="block"
          type="number"
          domain={["dataMin", "dataMax"]}
          tick={{ fontSize: 12, fill: "#334155" }}
          minTickGap={16}
        />
        <YAxis tickFormatter={format} tick={{ fontSize: 12, fill: "#334155" }} width={96} />
        <Tooltip
          formatter={(v) => [format(Number(v)), "balance"]}
          labelFormatter={(b) => `block ${b}`}
        />
        <Line
          type="stepAfter"
          dataKey="balance"
          stroke="#7c3aed"
          dot={false}
          isAnimationActive={false}
        />
      </LineChart>
    </Frame>
  );
}
