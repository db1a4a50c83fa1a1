// coop gov propose <template> … | ls | vote | queue | execute: proposals from templates only,
// never hand-written calldata.
import type { Command } from "commander";
import { type Address, getAddress, isAddress, parseUnits } from "viem";

import type { CoopContracts } from "../../src/client/contracts.ts";
import { formatDuration, formatTime, getDefaultTokenUnits } from "../../src/client/format.ts";
import {
  type ProposalAction,
  type ProposalInfo,
  type VoteSupport,
  castVote,
  executeProposal,
  listProposals,
  propose,
  proposalActions,
  queueProposal,
} from "../../src/client/governance.ts";
import type { Cli } from "../context.ts";
import { usageError } from "../errors.ts";
import { action } from "../run.ts";
import { txNotes } from "./member.ts";

const GIB = 2n ** 30n;
const WAD = 10n ** 18n;

/** A decimal token amount (`12.5`) in base units; usage error otherwise. */
export function parseAmount(text: string, what: string): bigint {
  const { decimals, symbol } = getDefaultTokenUnits();
  if (!/^\d+(\.\d+)?$/.test(text.trim()))
    throw usageError(`${what} "${text}" is not an amount: give ${symbol} as a number like 12.5`);
  try {
    return parseUnits(text.trim(), decimals);
  } catch {
    throw usageError(`${what} "${text}" has more than ${decimals} decimals`);
  }
}

function parseUint(text: string, what: string): bigint {
  if (!/^\d+$/.test(text.trim())) throw usageError(`${what} "${text}" is not a whole number`);
  return BigInt(text.trim());
}

/** Reads a proposal id: the full decimal id, or a unique prefix of at least 4 digits. */
async function resolveProposal(c: CoopContracts, text: string): Promise<bigint> {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw usageError(`proposal id "${text}" is not a number (see coop gov ls)`);
  if (t.length > 20) return BigInt(t);
  if (t.length < 4) throw usageError(`proposal id "${text}" is too short: give at least 4 digits`);
  const ids = (await listProposals(c)).map((p) => p.id.toString()).filter((id) => id.startsWith(t));
  if (ids.length === 1) return BigInt(ids[0]!);
  throw usageError(
    ids.length === 0
      ? `no proposal id starts with ${t}: see coop gov ls`
      : `${ids.length} proposal ids start with ${t}: give more digits`,
  );
}

function timing(p: ProposalInfo): string {
  const unit = (n: bigint) =>
    p.clockMode.includes("timestamp") ? formatDuration(n) : `${n} blocks`;
  switch (p.state) {
    case "Pending":
      return `voting opens in ${unit(p.untilVoteStart)}`;
    case "Active":
      return `voting closes in ${unit(p.untilVoteEnd)}`;
    case "Succeeded":
      return "passed: queue it (coop gov queue)";
    case "Queued":
      return p.untilExecutable > 1n
        ? `executable in ${formatDuration(p.untilExecutable)} (${formatTime(p.eta)})`
        : "executable now (coop gov execute)";
    default:
      return "";
  }
}

async function submit(
  cli: Cli,
  build: (c: CoopContracts) => Promise<ProposalAction>,
  note?: string,
) {
  const c = await cli.connect("required", "coop gov propose");
  const a = await build(c);
  if (note) a.description = `${a.description}\n\n${note}`;
  const r = await propose(c, a, txNotes(cli));
  const voting = await c.governor.read.votingDelay();
  cli.out(
    {
      proposalId: r.proposalId,
      description: a.description,
      targets: a.targets,
      calldatas: a.calldatas,
      tx: r.receipt.transactionHash,
    },
    () => [
      `Proposed: ${a.description}`,
      `Proposal id ${r.proposalId}`,
      `Voting opens in ${formatDuration(voting)}: coop gov vote ${r.proposalId} for|against|abstain`,
    ],
  );
}

export function registerGovernance(program: Command): void {
  const gov = program
    .command("gov")
    .description("governance: proposals and votes, one member one vote");

  const proposeCmd = gov
    .command("propose")
    .description("propose a change from a template (the calldata is built for you)");
  const noteOpt = ["--note <text>", "a sentence appended to the proposal's description"] as const;

  proposeCmd
    .command("price")
    .description("set the storage price, in tokens per GiB per epoch (e.g. 0.00002)")
    .argument(
      "<price>",
      "tokens per GiB per epoch; with --per-byte-epoch, the raw pricePerByteEpoch",
    )
    .option(
      "--per-byte-epoch",
      "the price is the contract's pricePerByteEpoch (1e-18 base units per byte-epoch)",
    )
    .option(...noteOpt)
    .action(
      action(async (cli, price: string, o: { perByteEpoch?: boolean; note?: string }) => {
        const raw = o.perByteEpoch ? parseUint(price, "price") : undefined;
        await submit(
          cli,
          (c) => {
            // Base units per GiB-epoch × 1e18 / 2^30, rounded to the nearest raw unit.
            const perByte = raw ?? (parseAmount(price, "price") * WAD + GIB / 2n) / GIB;
            if (perByte === 0n)
              throw usageError(`a price of ${price} per GiB per epoch rounds to zero`);
            return proposalActions.setPrice(c, perByte);
          },
          o.note,
        );
      }),
    );

  proposeCmd
    .command("fee")
    .description("set the co-op's fee on storage deals, in percent (e.g. 2.5)")
    .argument("<percent>", "percent of each deal's escrow (0–100, to two decimals)")
    .option(...noteOpt)
    .action(
      action(async (cli, percent: string, o: { note?: string }) => {
        const m = /^(\d{1,3})(?:\.(\d{1,2}))?%?$/.exec(percent.trim());
        const bps = m ? Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0")) : NaN;
        if (!(bps >= 0 && bps <= 10_000))
          throw usageError(
            `fee "${percent}" is not a percentage from 0 to 100 (two decimals at most)`,
          );
        await submit(cli, (c) => proposalActions.setFee(c, bps), o.note);
      }),
    );

  proposeCmd
    .command("epoch-length")
    .description("set the market's epoch length in seconds")
    .argument("<seconds>", "seconds per epoch")
    .option(...noteOpt)
    .action(
      action(async (cli, seconds: string, o: { note?: string }) => {
        const s = parseUint(seconds, "epoch length");
        if (s === 0n || s > 2n ** 32n - 1n)
          throw usageError(`epoch length ${seconds} s is out of range`);
        await submit(cli, (c) => proposalActions.setEpochLength(c, Number(s)), o.note);
      }),
    );

  proposeCmd
    .command("dividend")
    .description(
      "declare a patronage dividend for a closed period from the treasury's free balance",
    )
    .argument("<period>", "the closed period (see coop patronage status)")
    .argument("<amount>", "tokens to share among the period's points")
    .option(...noteOpt)
    .action(
      action(async (cli, period: string, amount: string, o: { note?: string }) => {
        const p = parseUint(period, "period");
        await submit(
          cli,
          (c) => proposalActions.declareDividend(c, p, parseAmount(amount, "amount")),
          o.note,
        );
      }),
    );

  proposeCmd
    .command("spend")
    .description("pay tokens from the treasury's free balance to an address")
    .argument("<to>", "recipient address")
    .argument("<amount>", "tokens")
    .option(...noteOpt)
    .action(
      action(async (cli, to: string, amount: string, o: { note?: string }) => {
        if (!isAddress(to)) throw usageError(`"${to}" is not an address`);
        const recipient: Address = getAddress(to);
        await submit(
          cli,
          (c) => proposalActions.treasurySpend(c, recipient, parseAmount(amount, "amount")),
          o.note,
        );
      }),
    );

  gov
    .command("ls")
    .description("proposals, newest first, with state, votes and time left")
    .action(
      action(async (cli) => {
        const c = await cli.connect("optional", "coop gov ls");
        const proposals = await listProposals(c);
        cli.out({ proposals }, () =>
          proposals.length === 0
            ? ["No proposals yet: coop gov propose --help"]
            : proposals.flatMap((p) => [
                `${p.id}`,
                `  ${p.state}${p.hasVoted ? " (you voted)" : ""}: for ${p.votes.for}, against ${p.votes.against}, abstain ${p.votes.abstain}${p.quorum === undefined ? "" : `, quorum ${p.quorum}`}${timing(p) ? `; ${timing(p)}` : ""}`,
                ...p.description
                  .split("\n")
                  .filter(Boolean)
                  .map((l) => `  ${l}`),
                ...p.actions.map((a) => `  → ${a}`),
              ]),
        );
      }),
    );

  gov
    .command("vote")
    .description("cast your vote on a proposal")
    .argument("<id>", "proposal id (or a unique prefix of at least 4 digits)")
    .argument("<support>", "for, against or abstain")
    .option("--reason <text>", "a reason recorded with the vote")
    .action(
      action(async (cli, id: string, support: string, o: { reason?: string }) => {
        if (!["for", "against", "abstain"].includes(support))
          throw usageError(`vote "${support}" is not for, against or abstain`);
        const c = await cli.connect("required", "coop gov vote");
        const pid = await resolveProposal(c, id);
        const r = await castVote(c, pid, support as VoteSupport, o.reason, txNotes(cli));
        cli.out(
          { proposalId: pid, support, weight: r.weight, tx: r.receipt.transactionHash },
          () => [
            r.weight === 0n
              ? `Vote recorded with weight 0: you were not a member when voting on ${pid} opened.`
              : `Voted ${support} on ${pid} (weight ${r.weight}).`,
          ],
        );
      }),
    );

  gov
    .command("queue")
    .description("queue a passed proposal in the timelock")
    .argument("<id>", "proposal id (or a unique prefix)")
    .action(
      action(async (cli, id: string) => {
        const c = await cli.connect("required", "coop gov queue");
        const pid = await resolveProposal(c, id);
        const r = await queueProposal(c, pid, txNotes(cli));
        cli.out({ proposalId: pid, eta: r.eta, tx: r.receipt.transactionHash }, () => [
          `Queued ${pid}: executable from ${formatTime(r.eta)} (coop gov execute ${pid}).`,
        ]);
      }),
    );

  gov
    .command("execute")
    .description("execute a queued proposal once the timelock delay has passed")
    .argument("<id>", "proposal id (or a unique prefix)")
    .action(
      action(async (cli, id: string) => {
        const c = await cli.connect("required", "coop gov execute");
        const pid = await resolveProposal(c, id);
        const receipt = await executeProposal(c, pid, txNotes(cli));
        cli.out({ proposalId: pid, tx: receipt.transactionHash }, () => [`Executed ${pid}.`]);
      }),
    );
}
