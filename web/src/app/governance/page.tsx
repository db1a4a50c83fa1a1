"use client";
// Governance: proposals with state, tallies, quorum and the wait before the next step (time and
// blocks); new proposals from the sdk's templates only; vote, queue, execute when the state
// allows. Every write goes through useTx and shows its TxStatus.
import {
  castVote,
  executeProposal,
  listProposals,
  memberStatus,
  queueProposal,
  type ProposalInfo,
  type VoteSupport,
} from "@coop-cloud/sdk/client";

import { ChainDown, Panel, ReadError } from "@/components/Figure";
import { TxStatus } from "@/components/TxStatus";
import { CHAIN_ID } from "@/lib/chain";
import { useCoop } from "@/lib/coop";
import { allowedActions, nextStep, outcome, waitingUnits } from "@/lib/governance";
import { useChainClock, useChainError, useLive } from "@/lib/live";
import { useTx } from "@/lib/tx";

import { ProposeForm } from "./ProposeForm";

const STATE_TONE: Record<string, string> = {
  Pending: "bg-slate-200 text-slate-900",
  Active: "bg-blue-100 text-blue-900",
  Succeeded: "bg-green-100 text-green-900",
  Queued: "bg-amber-100 text-amber-900",
  Executed: "bg-green-700 text-white",
  Defeated: "bg-red-100 text-red-900",
  Canceled: "bg-slate-300 text-slate-900",
  Expired: "bg-slate-300 text-slate-900",
};

export default function GovernancePage() {
  const chainDown = useChainError();
  const { coop, account, wrongNetwork } = useCoop();
  const proposals = useLive(["proposals", account], async (c) => {
    const [list, me] = await Promise.all([
      listProposals(c, { voter: account }),
      account ? memberStatus(c, account) : Promise.resolve(undefined),
    ]);
    // A vote counts the weight the voter had at the proposal's snapshot.
    const weights = await Promise.all(
      list.map((p) =>
        account && p.state === "Active"
          ? c.governor.read.getVotes([account, p.voteStart])
          : Promise.resolve(undefined),
      ),
    );
    return {
      list: list.map((p, i) => ({ ...p, weightAtSnapshot: weights[i] })),
      isMember: me?.isMember ?? false,
    };
  });
  const clock = useChainClock();
  const data = proposals.data;

  return (
    <div>
      <h1 className="text-2xl font-semibold">Governance</h1>
      <ChainDown message={chainDown} />
      <p className="mt-2 max-w-3xl text-slate-700">
        One member, one vote. A proposal waits before voting opens, is voted on, and if it passes
        (more For than Against, and enough For + Abstain votes for the quorum) it is queued in the
        timelock and executed after its delay.
      </p>
      {CHAIN_ID === 31337 && (
        <p className="mt-2 max-w-3xl text-sm text-slate-700">
          On this local chain the clock moves only when a block is mined (blocks come with
          transactions), so a proposal moves on at the first block after its time has come.
        </p>
      )}
      {coop && (
        <>
          <Panel title="New proposal" id="propose">
            {!account ? (
              <p className="text-sm text-slate-700">
                {wrongNetwork
                  ? "Your wallet is on another network: switch it (button at the top) to propose and vote."
                  : "Connect a wallet to propose and vote."}
              </p>
            ) : data && !data.isMember ? (
              <p className="text-sm text-slate-700">
                Only members propose and vote: join on the Co-op page first.
              </p>
            ) : (
              <ProposeForm />
            )}
          </Panel>
          <Panel title="Proposals" id="proposals">
            <ReadError error={proposals.error} />
            {!data ? (
              <p className="text-sm text-slate-600">Reading the proposals…</p>
            ) : data.list.length === 0 ? (
              <p className="text-sm text-slate-600">No proposals yet.</p>
            ) : (
              <ul className="space-y-4">
                {data.list.map((p) => (
                  <ProposalCard
                    key={p.id.toString()}
                    p={p}
                    isMember={data.isMember}
                    secondsPerBlock={clock?.secondsPerBlock}
                  />
                ))}
              </ul>
            )}
          </Panel>
        </>
      )}
    </div>
  );
}

function ProposalCard({
  p,
  isMember,
  secondsPerBlock,
}: {
  p: ProposalInfo & { weightAtSnapshot: bigint | undefined };
  isMember: boolean;
  secondsPerBlock: number | undefined;
}) {
  const { coop, account } = useCoop();
  const tx = useTx();
  const canVoteWeight = p.weightAtSnapshot === undefined || p.weightAtSnapshot > 0n;
  const allowed = allowedActions(p, { connected: !!account, member: isMember && canVoteWeight });
  const [title, ...rest] = p.description.split("\n").filter(Boolean);
  const o = outcome(p);
  const waiting = waitingUnits(p);
  const vote = (support: VoteSupport) =>
    tx.run(`Vote ${support}`, (opts) => castVote(coop!, p.id, support, undefined, opts));

  return (
    <li
      className="rounded border border-slate-200 p-3"
      data-testid="proposal"
      data-proposal-id={p.id.toString()}
      data-state={p.state}
    >
      <div className="flex flex-wrap items-start justify-between gap-2">
        <h3 className="max-w-3xl font-medium break-words">{title}</h3>
        <span
          className={`rounded px-2 py-0.5 text-xs font-semibold ${STATE_TONE[p.state] ?? ""}`}
          data-testid="proposal-state"
        >
          {p.state}
        </span>
      </div>
      {rest.map((line, i) => (
        <p key={i} className="mt-1 text-sm break-words text-slate-700">
          {line}
        </p>
      ))}
      <p className="mt-1 font-mono text-xs break-all text-slate-600">
        id {p.id.toString()} · by {p.proposer}
      </p>
      <ul className="mt-1 text-xs text-slate-700">
        {p.actions.map((a, i) => (
          <li key={i} className="font-mono break-all">
            → {a}
          </li>
        ))}
      </ul>
      <p className="mt-2 text-sm" data-testid="tally">
        For <strong>{p.votes.for.toString()}</strong> · Against{" "}
        <strong>{p.votes.against.toString()}</strong> · Abstain{" "}
        <strong>{p.votes.abstain.toString()}</strong>
        {p.quorum !== undefined && (
          <>
            {" "}
            · quorum {p.quorum.toString()} (For + Abstain),{" "}
            {o.quorumMet ? "reached" : p.state === "Active" ? "not reached yet" : "not reached"}
          </>
        )}
        {p.hasVoted && <span className="text-green-900"> · you voted</span>}
      </p>
      <p className="mt-1 text-sm text-slate-800" data-testid="next-step">
        {nextStep(p, secondsPerBlock)}
        {waiting > 0n && CHAIN_ID === 31337 && " It moves on at the first block mined after that."}
      </p>
      {p.state === "Active" && account && !p.hasVoted && !canVoteWeight && (
        <p className="mt-1 text-sm text-amber-900">
          You were not a member when this vote opened: your vote would not count.
        </p>
      )}
      {(allowed.vote || allowed.queue || allowed.execute) && (
        <div className="mt-2 flex flex-wrap gap-2">
          {allowed.vote &&
            (["for", "against", "abstain"] as const).map((s) => (
              <button
                key={s}
                type="button"
                disabled={tx.busy}
                onClick={() => vote(s)}
                className={
                  s === "for"
                    ? "rounded bg-green-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-green-800 disabled:opacity-60"
                    : s === "against"
                      ? "rounded bg-red-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-red-800 disabled:opacity-60"
                      : "rounded border border-slate-400 px-3 py-1.5 text-sm font-medium hover:bg-slate-100 disabled:opacity-60"
                }
              >
                Vote {s}
              </button>
            ))}
          {allowed.queue && (
            <button
              type="button"
              disabled={tx.busy}
              onClick={() => tx.run("Queue", (opts) => queueProposal(coop!, p.id, opts))}
              className="rounded bg-blue-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-blue-800 disabled:opacity-60"
            >
              Queue in the timelock
            </button>
          )}
          {allowed.execute && (
            <button
              type="button"
              disabled={tx.busy}
              onClick={() => tx.run("Execute", (opts) => executeProposal(coop!, p.id, opts))}
              className="rounded bg-blue-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-blue-800 disabled:opacity-60"
            >
              Execute
            </button>
          )}
        </div>
      )}
      <TxStatus state={tx.state} />
    </li>
  );
}
