"use client";
// Co-op: the wallet's tokens (and the local faucet), membership (join with one permit
// signature, or approve + join; leave with notice and get the share back), patronage points
// and dividends per period, the wallet's votes, and the treasury with its history.
import {
  cancelExit,
  claimDividend,
  completeExit,
  faucet,
  formatAmount,
  formatDuration,
  formatTime,
  joinCoop,
  memberStatus,
  patronageStatus,
  requestExit,
  withdrawRefund,
} from "@coop-cloud/sdk/client";
import { coopGovernorAbi } from "@coop-cloud/sdk/contracts/generated/abis.ts";
import dynamic from "next/dynamic";
import { useState } from "react";

import { ChainDown, Figure, Panel, ReadError } from "@/components/Figure";
import { TxStatus } from "@/components/TxStatus";
import { CHAIN_ID } from "@/lib/chain";
import { useCoop } from "@/lib/coop";
import { useChainError, useLive, useSecondsSince, useTokenUnits } from "@/lib/live";
import { balanceSeries, scanFrom } from "@/lib/overview";
import { readTreasuryHistory } from "@/lib/reads";
import { useTx } from "@/lib/tx";

const LOCAL_CHAINS = new Set([31337, 1337]);

// recharts is a large part of the page's JavaScript: loaded after the rest, not before.
const BalanceChart = dynamic(() => import("@/components/Charts").then((m) => m.BalanceChart), {
  ssr: false,
  loading: () => <p className="text-sm text-slate-600">Drawing the chart…</p>,
});

const button =
  "rounded bg-blue-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-blue-800 disabled:cursor-not-allowed disabled:opacity-60";
const secondary =
  "rounded border border-slate-400 px-3 py-1.5 text-sm font-medium text-slate-900 hover:bg-slate-100 disabled:cursor-not-allowed disabled:opacity-60";

export default function CoopPage() {
  const chainDown = useChainError();
  const { coop, account, wrongNetwork } = useCoop();
  return (
    <div>
      <h1 className="text-2xl font-semibold">The co-op</h1>
      <ChainDown message={chainDown} />
      <p className="mt-2 max-w-3xl text-slate-700">
        Members buy one share to join (it is refunded when they leave), get one vote, and earn
        patronage points for what they pay for storage and what they earn providing it. Dividends
        the members declare from the treasury are shared by those points.
      </p>
      {!coop ? null : !account ? (
        <p className="mt-4 rounded border border-slate-300 bg-white px-3 py-2 text-sm">
          {wrongNetwork
            ? "Your wallet is on another network: switch it (button at the top) to see your membership."
            : "Connect a wallet (top right) to see your balance, join, and claim dividends."}
        </p>
      ) : (
        <>
          <Wallet />
          <Membership />
          <Patronage />
          <MyVotes />
        </>
      )}
      {coop && <Treasury />}
    </div>
  );
}

function Wallet() {
  const { coop, account } = useCoop();
  const units = useTokenUnits();
  const tx = useTx();
  const [dripped, setDripped] = useState<string>();
  const local = LOCAL_CHAINS.has(CHAIN_ID);
  const wallet = useLive(["wallet", account], async (c) => {
    // Only the local test token has a faucet (a real stablecoin has no nextDripAt).
    const [balance, nextDripAt, block] = await Promise.all([
      c.token.read.balanceOf([account!]),
      local ? c.token.read.nextDripAt([account!]) : Promise.resolve(0n),
      c.publicClient.getBlock({ blockTag: "latest" }),
    ]);
    return { balance, nextDripAt: BigInt(nextDripAt), now: block.timestamp };
  });
  const w = wallet.data;
  const waitDrip = w && w.nextDripAt > w.now ? w.nextDripAt - w.now : 0n;
  return (
    <Panel title="Your wallet" id="wallet">
      <ReadError error={wallet.error} />
      <dl className="grid grid-cols-1 gap-3 sm:grid-cols-2">
        <Figure
          label="Token balance"
          value={w ? formatAmount(w.balance, units) : undefined}
          testId="balance"
        />
      </dl>
      {local && (
        <div className="mt-3">
          <button
            type="button"
            className={button}
            disabled={tx.busy || !coop || waitDrip > 0n}
            onClick={async () => {
              setDripped(undefined);
              const r = await tx.run("Get test tokens", (o) => faucet(coop!, o));
              if (r) setDripped(`Received ${formatAmount(r.amount, units)}.`);
            }}
          >
            Get test tokens
          </button>
          <span className="ml-2 text-sm text-slate-600">
            {waitDrip > 0n
              ? `the faucet gives again in ${formatDuration(waitDrip)}`
              : "local chain only: free test tokens"}
          </span>
          {dripped && <p className="mt-2 text-sm text-green-900">{dripped}</p>}
          <TxStatus state={tx.state} />
        </div>
      )}
    </Panel>
  );
}

function Membership() {
  const { coop, account } = useCoop();
  const units = useTokenUnits();
  const tx = useTx();
  const [result, setResult] = useState<string>();
  const [confirmLeave, setConfirmLeave] = useState(false);
  const status = useLive(["member-status", account], (c) => memberStatus(c, account));
  const s = status.data;
  const since = useSecondsSince(s?.now);
  const exitLeft = s ? Math.max(0, Number(s.exitSecondsLeft) - since) : 0;

  const act = async <T,>(what: string, fn: (o: object) => Promise<T>, done: (r: T) => string) => {
    setResult(undefined);
    const r = await tx.run(what, fn);
    if (r !== undefined) setResult(done(r));
  };

  return (
    <Panel title="Membership" id="membership">
      <ReadError error={status.error} />
      {!s ? (
        <p className="text-sm text-slate-600">Reading your membership…</p>
      ) : (
        <>
          <p className="text-sm" data-testid="membership-status">
            {s.isMember ? (
              <>
                <strong>You are a member</strong>: share paid {formatAmount(s.sharePaid, units)},{" "}
                {s.votingWeight.toString()} vote. The co-op has {s.memberCount.toString()} members.
              </>
            ) : (
              <>
                <strong>You are not a member.</strong> Joining costs{" "}
                {formatAmount(s.shareAmount, units)}, refunded when you leave (after{" "}
                {formatDuration(s.exitNotice)} of notice). The co-op has {s.memberCount.toString()}{" "}
                members.
              </>
            )}
          </p>
          {s.isMember && s.exitRequested && (
            <p className="mt-2 text-sm text-amber-900" data-testid="exit-status">
              {s.exitReady || exitLeft === 0
                ? `Your exit is ready: complete it to leave and get ${formatAmount(s.sharePaid, units)} back.`
                : `You asked to leave: you can complete the exit from ${formatTime(s.exitAvailableAt!)} (in ${formatDuration(exitLeft)}).`}
            </p>
          )}
          {s.deferredRefund > 0n && (
            <p className="mt-2 text-sm text-amber-900">
              A refund of {formatAmount(s.deferredRefund, units)} could not be sent and waits for
              you to withdraw it.
            </p>
          )}
          <div className="mt-3 flex flex-wrap gap-2">
            {!s.isMember && (
              <>
                <button
                  type="button"
                  className={button}
                  disabled={tx.busy || s.balance < s.shareAmount}
                  onClick={() =>
                    act(
                      "Join the co-op",
                      (o) => joinCoop(coop!, { ...o, method: "permit" }),
                      (r) => `Joined: ${formatAmount(r.sharePaid, units)} paid as your share.`,
                    )
                  }
                >
                  Join ({formatAmount(s.shareAmount, units)})
                </button>
                <button
                  type="button"
                  className={secondary}
                  disabled={tx.busy || s.balance < s.shareAmount}
                  onClick={() =>
                    act(
                      "Join the co-op (approve, then join)",
                      (o) => joinCoop(coop!, { ...o, method: "approve" }),
                      (r) => `Joined: ${formatAmount(r.sharePaid, units)} paid as your share.`,
                    )
                  }
                >
                  Join with two transactions
                </button>
              </>
            )}
            {s.isMember && !s.exitRequested && !confirmLeave && (
              <button
                type="button"
                className={secondary}
                disabled={tx.busy}
                onClick={() => {
                  setResult(undefined);
                  setConfirmLeave(true);
                }}
              >
                Leave the co-op…
              </button>
            )}
            {s.isMember && !s.exitRequested && confirmLeave && (
              <div className="w-full rounded border border-amber-300 bg-amber-50 p-3 text-sm">
                <p>
                  Leaving takes {formatDuration(s.exitNotice)} of notice: after it you complete the
                  exit and get {formatAmount(s.sharePaid, units)} back. Until then you stay a member
                  and can change your mind.
                </p>
                <div className="mt-2 flex flex-wrap gap-2">
                  <button
                    type="button"
                    className={button}
                    disabled={tx.busy}
                    onClick={async () => {
                      await act(
                        "Ask to leave",
                        (o) => requestExit(coop!, o),
                        (r) =>
                          `Exit requested: from ${formatTime(r.availableAt)} complete it to get ${formatAmount(s.sharePaid, units)} back.`,
                      );
                      setConfirmLeave(false);
                    }}
                  >
                    Ask to leave
                  </button>
                  <button
                    type="button"
                    className={secondary}
                    disabled={tx.busy}
                    onClick={() => setConfirmLeave(false)}
                  >
                    Keep my membership
                  </button>
                </div>
              </div>
            )}
            {s.isMember && s.exitRequested && (
              <>
                <button
                  type="button"
                  className={button}
                  disabled={tx.busy || !(s.exitReady || exitLeft === 0)}
                  onClick={() =>
                    act(
                      "Complete the exit",
                      (o) => completeExit(coop!, o),
                      (r) =>
                        r.deferred
                          ? "You left the co-op; the refund could not be sent and waits to be withdrawn."
                          : `You left the co-op; ${formatAmount(r.refund, units)} refunded.`,
                    )
                  }
                >
                  Complete the exit
                </button>
                <button
                  type="button"
                  className={secondary}
                  disabled={tx.busy}
                  onClick={() =>
                    act(
                      "Cancel the exit",
                      (o) => cancelExit(coop!, o),
                      () => "Exit request withdrawn: you stay a member.",
                    )
                  }
                >
                  Stay (cancel the exit)
                </button>
              </>
            )}
            {s.deferredRefund > 0n && (
              <button
                type="button"
                className={button}
                disabled={tx.busy}
                onClick={() =>
                  act(
                    "Withdraw the refund",
                    (o) => withdrawRefund(coop!, undefined, o),
                    () => `${formatAmount(s.deferredRefund, units)} withdrawn.`,
                  )
                }
              >
                Withdraw {formatAmount(s.deferredRefund, units)}
              </button>
            )}
          </div>
          {!s.isMember && s.balance < s.shareAmount && (
            <p className="mt-2 text-sm text-slate-700">
              Your balance ({formatAmount(s.balance, units)}) is short of the share
              {LOCAL_CHAINS.has(CHAIN_ID) ? ": get test tokens first." : "."}
            </p>
          )}
          {result && (
            <p className="mt-2 text-sm text-green-900" data-testid="membership-result">
              {result}
            </p>
          )}
          <TxStatus state={tx.state} />
        </>
      )}
    </Panel>
  );
}

function Patronage() {
  const { coop, account } = useCoop();
  const units = useTokenUnits();
  const tx = useTx();
  const [result, setResult] = useState<string>();
  const status = useLive(["patronage", account], (c) => patronageStatus(c, account));
  const s = status.data;
  return (
    <Panel title="Patronage and dividends" id="patronage">
      <ReadError error={status.error} />
      {!s ? (
        <p className="text-sm text-slate-600">Reading your patronage…</p>
      ) : (
        <>
          <p className="text-sm text-slate-700">
            Period {s.currentPeriod.toString()} is running (periods of{" "}
            {formatDuration(s.periodLength)}). Points: {s.paidWeight.toString()} per unit paid for
            storage, {s.earnedWeight.toString()} per unit earned providing it. You can claim{" "}
            <strong data-testid="total-claimable">{formatAmount(s.totalClaimable, units)}</strong>.
          </p>
          {/* On phones each period is a block of label: value lines (labels from data-label). */}
          <div className="mt-3">
            <table className="w-full border-collapse text-sm">
              <thead className="max-md:sr-only">
                <tr className="border-b border-slate-300 text-left">
                  <th scope="col" className="px-2 py-2 font-medium">
                    Period
                  </th>
                  <th scope="col" className="px-2 py-2 text-right font-medium">
                    Your points
                  </th>
                  <th scope="col" className="px-2 py-2 text-right font-medium">
                    All points
                  </th>
                  <th scope="col" className="px-2 py-2 text-right font-medium">
                    Dividend
                  </th>
                  <th scope="col" className="px-2 py-2 font-medium">
                    Yours
                  </th>
                </tr>
              </thead>
              <tbody className="max-md:block">
                {s.periods.map((p) => (
                  <tr
                    key={p.period.toString()}
                    className="border-b border-slate-200 max-md:block max-md:py-2"
                    data-testid="period-row"
                  >
                    <td className={cell} data-label="Period">
                      <div>
                        {p.period.toString()}
                        <span className="block text-xs text-slate-600">
                          {p.closed ? "closed" : "running"} · {formatTime(p.start)}
                        </span>
                      </div>
                    </td>
                    <td className={`${cell} md:text-right`} data-label="Your points">
                      {p.points.toString()}
                    </td>
                    <td className={`${cell} md:text-right`} data-label="All points">
                      {p.totalPoints.toString()}
                    </td>
                    <td className={`${cell} md:text-right`} data-label="Dividend">
                      {p.declared ? formatAmount(p.dividend, units) : "—"}
                    </td>
                    <td className={cell} data-label="Yours">
                      <div>
                        {p.claimed ? (
                          `${formatAmount(p.claimedAmount, units)} claimed`
                        ) : p.claimable > 0n && p.claimOpen ? (
                          <button
                            type="button"
                            className={button}
                            disabled={tx.busy}
                            onClick={async () => {
                              setResult(undefined);
                              const r = await tx.run(`Claim period ${p.period}'s dividend`, (o) =>
                                claimDividend(coop!, p.period, o),
                              );
                              if (r) setResult(`Claimed ${formatAmount(r.amount, units)}.`);
                            }}
                          >
                            Claim {formatAmount(p.claimable, units)}
                          </button>
                        ) : p.declared && !p.claimOpen ? (
                          "claim window over"
                        ) : p.declared ? (
                          "nothing to claim"
                        ) : p.closed ? (
                          "no dividend declared"
                        ) : (
                          "period running"
                        )}
                        {p.declared && p.claimOpen && !p.claimed && (
                          <span className="block text-xs text-slate-600">
                            until {formatTime(p.claimDeadline)}
                          </span>
                        )}
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {result && (
            <p className="mt-2 text-sm text-green-900" data-testid="claim-result">
              {result}
            </p>
          )}
          <TxStatus state={tx.state} />
        </>
      )}
    </Panel>
  );
}

/** A table cell; on phones a "label: value" line (the label from data-label). */
const cell =
  "px-2 py-2 max-md:flex max-md:justify-between max-md:gap-3 max-md:px-0 max-md:py-1 max-md:text-right max-md:before:text-left max-md:before:font-medium max-md:before:text-slate-600 max-md:before:content-[attr(data-label)]";

const SUPPORT = ["against", "for", "abstain"] as const;

function MyVotes() {
  const { account } = useCoop();
  const votes = useLive(["my-votes", account], async (c, head) => {
    const fromBlock = scanFrom(head, c.fromBlock);
    const logs = await c.getContractEvents({
      address: c.addresses.CoopGovernor,
      abi: coopGovernorAbi,
      eventName: "VoteCast",
      args: { voter: account },
      fromBlock,
    });
    return logs
      .map((l) => ({
        proposalId: l.args.proposalId!,
        support: SUPPORT[l.args.support!] ?? "?",
        weight: l.args.weight!,
        block: l.blockNumber,
      }))
      .reverse();
  });
  return (
    <Panel title="Your votes" id="my-votes">
      <ReadError error={votes.error} />
      {!votes.data ? (
        <p className="text-sm text-slate-600">Reading your votes…</p>
      ) : votes.data.length === 0 ? (
        <p className="text-sm text-slate-600">You have not voted yet (see Governance).</p>
      ) : (
        <ul className="space-y-1 text-sm">
          {votes.data.map((v) => (
            <li key={`${v.proposalId}`}>
              <span className="font-medium">{v.support}</span> on proposal{" "}
              <span className="font-mono" title={v.proposalId.toString()}>
                {v.proposalId.toString().slice(0, 10)}…
              </span>{" "}
              (weight {v.weight.toString()}, block {v.block.toString()})
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

function Treasury() {
  const units = useTokenUnits();
  const history = useLive(["treasury-history"], readTreasuryHistory, { everyBlocks: 5 });
  const h = history.data;
  const series = h
    ? balanceSeries(h.changes, h.balance, h.head).map((p) => ({
        block: p.block,
        balance: Number(p.balance) / 10 ** units.decimals,
      }))
    : [];
  const fmt = (v: number) =>
    `${v.toLocaleString("en", { maximumSignificantDigits: 4 })} ${units.symbol}`;
  return (
    <Panel title="Treasury" id="treasury">
      <ReadError error={history.error} />
      <dl className="grid grid-cols-1 gap-3 sm:grid-cols-2">
        <Figure
          label="Balance"
          value={h ? formatAmount(h.balance, units) : undefined}
          note="fees on storage deals, less dividends and spending"
          testId="treasury-balance"
        />
        <Figure
          label="Free"
          value={h ? formatAmount(h.free, units) : undefined}
          note="not reserved for declared dividends: what members may declare or spend"
        />
      </dl>
      {h && (
        <>
          <h3 className="mt-4 font-medium">Balance over blocks</h3>
          {h.changes.length === 0 ? (
            <p className="text-sm text-slate-600">
              No movements since block {h.fromBlock.toString()}.
            </p>
          ) : (
            <BalanceChart data={series} format={fmt} />
          )}
          <h3 className="mt-4 font-medium">Dividends and spending</h3>
          {h.events.length === 0 ? (
            <p className="text-sm text-slate-600">None declared or spent yet.</p>
          ) : (
            <ul className="mt-1 space-y-1 text-sm">
              {h.events.slice(0, 20).map((e, i) => (
                <li key={i}>
                  <span className="text-slate-600">block {e.block.toString()}:</span>{" "}
                  {e.kind === "declared"
                    ? `dividend of ${formatAmount(e.amount, units)} declared for period ${e.period}`
                    : e.kind === "claimed"
                      ? `${e.member.slice(0, 8)}… claimed ${formatAmount(e.amount, units)} of period ${e.period}`
                      : e.kind === "spent"
                        ? `${formatAmount(e.amount, units)} paid to ${e.to}`
                        : `${formatAmount(e.amount, units)} unclaimed of period ${e.period} returned`}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </Panel>
  );
}
