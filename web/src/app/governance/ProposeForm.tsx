"use client";
// A new proposal from one of the sdk's templates: the member types values (checked as they
// type), sees the description and the calls the timelock would make, then proposes.
import {
  describeCall,
  formatAmount,
  formatDuration,
  propose,
  proposalActions,
  type CoopContracts,
  type ProposalAction,
} from "@coop-cloud/sdk/client";
import { useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";

import { TxStatus } from "@/components/TxStatus";
import { useCoop } from "@/lib/coop";
import {
  parseAddress,
  parseClosedPeriod,
  parseEpochLength,
  parseFeePercent,
  parsePositiveAmount,
  parsePricePerGiB,
  pricePerGiBText,
  type Parsed,
} from "@/lib/governance";
import { useLive, useTokenUnits } from "@/lib/live";
import { useTx } from "@/lib/tx";

type Template = "price" | "fee" | "epoch" | "dividend" | "spend";

const TEMPLATES: { key: Template; label: string }[] = [
  { key: "price", label: "Storage price" },
  { key: "fee", label: "Co-op fee" },
  { key: "epoch", label: "Epoch length" },
  { key: "dividend", label: "Patronage dividend" },
  { key: "spend", label: "Treasury spending" },
];

const input =
  "mt-1 w-full rounded border border-slate-400 px-2 py-1.5 text-sm aria-[invalid=true]:border-red-700";

function Field({
  label,
  value,
  onChange,
  error,
  hint,
  name,
  inputMode,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  hint?: string;
  name: string;
  inputMode?: "decimal" | "numeric" | "text";
}) {
  const id = useId();
  return (
    <div className="min-w-0 flex-1">
      <label htmlFor={id} className="block text-sm font-medium">
        {label}
      </label>
      <input
        id={id}
        name={name}
        className={input}
        value={value}
        inputMode={inputMode}
        autoComplete="off"
        aria-invalid={error ? true : undefined}
        aria-describedby={`${id}-note`}
        onChange={(e) => onChange(e.target.value)}
      />
      <p id={`${id}-note`} className={`mt-1 text-xs ${error ? "text-red-800" : "text-slate-600"}`}>
        {error ?? hint ?? " "}
      </p>
    </div>
  );
}

export function ProposeForm() {
  const { coop } = useCoop();
  const units = useTokenUnits();
  const tx = useTx();
  const [template, setTemplate] = useState<Template>("price");
  const [values, setValues] = useState<Record<string, string>>({});
  const [note, setNote] = useState("");
  const [done, setDone] = useState<string>();
  const noteId = useId();

  const current = useLive(["propose-current"], async (c) => {
    const [params, clock, period, free, votingDelay] = await Promise.all([
      c.market.read.params(),
      c.market.read.epochClock(),
      c.treasury.read.currentPeriod(),
      c.treasury.read.freeBalance(),
      c.governor.read.votingDelay(),
    ]);
    return { params, epochLength: clock[2], period, free, votingDelay };
  });
  const cur = current.data;
  const v = (k: string) => values[k] ?? "";
  const set = (k: string) => (x: string) => {
    setDone(undefined);
    setValues((old) => ({ ...old, [k]: x }));
  };

  // Check the fields of the chosen template; `build` makes the sdk's ProposalAction.
  let errors: Record<string, string | undefined> = {};
  let build: ((c: CoopContracts) => Promise<ProposalAction>) | undefined;
  let key: string[] = [];
  const touched = (k: string) => values[k] !== undefined;
  const check = <T,>(k: string, r: Parsed<T>) => {
    if (r.error !== undefined && touched(k)) errors = { ...errors, [k]: r.error };
    return r.error === undefined ? r.value : undefined;
  };
  /** A dividend's or a spend's amount: positive, and within the treasury's free balance. */
  const treasuryAmount = () => {
    const amount = check("amount", parsePositiveAmount(v("amount"), units));
    if (amount === undefined || !cur || amount <= cur.free) return amount;
    errors = {
      ...errors,
      amount: `More than the treasury's free balance (${formatAmount(cur.free, units)}).`,
    };
    return undefined;
  };
  if (template === "price") {
    const p = check("price", parsePricePerGiB(v("price"), units));
    if (p !== undefined) {
      build = (c) => proposalActions.setPrice(c, p);
      key = [p.toString()];
    }
  } else if (template === "fee") {
    const f = check("fee", parseFeePercent(v("fee")));
    if (f !== undefined && touched("fee")) {
      build = (c) => proposalActions.setFee(c, f);
      key = [String(f)];
    }
  } else if (template === "epoch") {
    const s = check("epoch", parseEpochLength(v("epoch")));
    if (s !== undefined) {
      build = (c) => proposalActions.setEpochLength(c, s);
      key = [String(s)];
    }
  } else if (template === "dividend") {
    const period = cur ? check("period", parseClosedPeriod(v("period"), cur.period)) : undefined;
    const amount = treasuryAmount();
    if (period !== undefined && amount !== undefined) {
      build = (c) => proposalActions.declareDividend(c, period, amount);
      key = [period.toString(), amount.toString()];
    }
  } else {
    const to = check("to", parseAddress(v("to")));
    const amount = treasuryAmount();
    if (to !== undefined && amount !== undefined) {
      build = (c) => proposalActions.treasurySpend(c, to, amount);
      key = [to, amount.toString()];
    }
  }

  const withNote = (a: ProposalAction): ProposalAction =>
    note.trim() ? { ...a, description: `${a.description}\n\n${note.trim()}` } : a;
  const preview = useQuery({
    queryKey: ["proposal-preview", template, ...key, note.trim()],
    enabled: !!coop && !!build,
    queryFn: async () => {
      const a = withNote(await build!(coop!));
      return { action: a, calls: a.targets.map((t, i) => describeCall(coop!, t, a.calldatas[i])) };
    },
    staleTime: 5_000,
  });

  const submit = async () => {
    if (!build || !coop) return;
    setDone(undefined);
    const r = await tx.run("Propose", async (o) => propose(coop, withNote(await build!(coop)), o));
    if (r)
      setDone(
        `Proposed (id ${r.proposalId}): voting opens in ${cur ? formatDuration(cur.votingDelay) : "a while"}.`,
      );
  };

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
      aria-label="New proposal"
    >
      <fieldset>
        <legend className="text-sm font-medium">What should change?</legend>
        <div className="mt-1 flex flex-wrap gap-2">
          {TEMPLATES.map((t) => (
            <label
              key={t.key}
              className={`cursor-pointer rounded border px-3 py-1.5 text-sm has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-blue-700 ${
                template === t.key
                  ? "border-slate-900 bg-slate-900 text-white"
                  : "border-slate-400 hover:bg-slate-100"
              }`}
            >
              <input
                type="radio"
                name="template"
                value={t.key}
                checked={template === t.key}
                onChange={() => {
                  setTemplate(t.key);
                  setDone(undefined);
                }}
                className="sr-only"
              />
              {t.label}
            </label>
          ))}
        </div>
      </fieldset>

      <div className="mt-3 flex flex-col gap-3 sm:flex-row">
        {template === "price" && (
          <Field
            name="price"
            label={`New price (${units.symbol} per GiB per epoch)`}
            value={v("price")}
            onChange={set("price")}
            error={errors.price}
            inputMode="decimal"
            hint={
              cur
                ? `Now ${pricePerGiBText(cur.params.pricePerByteEpoch, units)} ${units.symbol} per GiB per epoch.`
                : undefined
            }
          />
        )}
        {template === "fee" && (
          <Field
            name="fee"
            label="New fee on storage deals (%)"
            value={v("fee")}
            onChange={set("fee")}
            error={errors.fee}
            inputMode="decimal"
            hint={cur ? `Now ${cur.params.feeBps / 100}%.` : undefined}
          />
        )}
        {template === "epoch" && (
          <Field
            name="epoch"
            label="New epoch length (seconds)"
            value={v("epoch")}
            onChange={set("epoch")}
            error={errors.epoch}
            inputMode="numeric"
            hint={
              cur ? `Now ${cur.epochLength} s; applies from the epoch after execution.` : undefined
            }
          />
        )}
        {template === "dividend" && (
          <>
            <Field
              name="period"
              label="Closed period"
              value={v("period")}
              onChange={set("period")}
              error={errors.period}
              inputMode="numeric"
              hint={
                cur
                  ? cur.period === 0n
                    ? "No period has closed yet."
                    : `Periods 0 to ${cur.period - 1n} have closed.`
                  : undefined
              }
            />
            <Field
              name="amount"
              label={`Dividend (${units.symbol})`}
              value={v("amount")}
              onChange={set("amount")}
              error={errors.amount}
              inputMode="decimal"
              hint={cur ? `Free balance ${formatAmount(cur.free, units)}.` : undefined}
            />
          </>
        )}
        {template === "spend" && (
          <>
            <Field
              name="to"
              label="Pay to (address)"
              value={v("to")}
              onChange={set("to")}
              error={errors.to}
            />
            <Field
              name="amount"
              label={`Amount (${units.symbol})`}
              value={v("amount")}
              onChange={set("amount")}
              error={errors.amount}
              inputMode="decimal"
              hint={cur ? `Free balance ${formatAmount(cur.free, units)}.` : undefined}
            />
          </>
        )}
      </div>
      <div className="mt-2">
        <label htmlFor={noteId} className="block text-sm font-medium">
          Why (optional, added to the description)
        </label>
        <textarea
          id={noteId}
          className={input}
          rows={2}
          value={note}
          onChange={(e) => {
            setNote(e.target.value);
            setDone(undefined);
          }}
        />
      </div>

      {build && (
        <div
          className="mt-3 rounded border border-slate-200 bg-slate-50 p-3 text-sm"
          aria-live="polite"
        >
          <p className="font-medium">The proposal</p>
          {preview.error ? (
            <p className="text-red-800">{(preview.error as Error).message.split("\n")[0]}</p>
          ) : !preview.data ? (
            <p className="text-slate-600">Building it from the chain&apos;s current settings…</p>
          ) : (
            <>
              {preview.data.action.description
                .split("\n")
                .filter(Boolean)
                .map((l, i) => (
                  <p key={i} className="break-words" data-testid="proposal-preview">
                    {l}
                  </p>
                ))}
              {preview.data.calls.map((c, i) => (
                <p key={i} className="mt-1 font-mono text-xs break-all text-slate-700">
                  → {c}
                </p>
              ))}
            </>
          )}
        </div>
      )}

      <button
        type="submit"
        className="mt-3 rounded bg-blue-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-blue-800 disabled:cursor-not-allowed disabled:opacity-60"
        disabled={!build || tx.busy || !preview.data}
      >
        Propose
      </button>
      {done && (
        <p className="mt-2 text-sm break-words text-green-900" data-testid="propose-result">
          {done}
        </p>
      )}
      <TxStatus state={tx.state} />
    </form>
  );
}
