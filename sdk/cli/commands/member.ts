// coop member join | exit | status, and coop faucet (local chains).
import type { Command } from "commander";

import type { TxStatus } from "../../src/client/contracts.ts";
import { formatAmount, formatDuration, formatTime } from "../../src/client/format.ts";
import {
  type MemberStatus,
  cancelExit,
  completeExit,
  faucet,
  joinCoop,
  memberStatus,
  requestExit,
} from "../../src/client/member.ts";
import type { Cli } from "../context.ts";
import { CliError, EXIT } from "../errors.ts";
import { note } from "../format.ts";
import { action } from "../run.ts";

/** Chains whose payment token is the local FaucetToken (Hardhat, Anvil/Ganache). */
const LOCAL_CHAINS = new Set([31337, 1337]);

/** Transaction progress for people (stderr), silent with --json. */
export function txNotes(cli: Cli): { onStatus: (s: TxStatus) => void } {
  return {
    onStatus: (s) => {
      if (cli.g.json) return;
      if (s.stage === "sent") note(`${s.what}: sent ${s.hash}, waiting for it to be mined…`);
    },
  };
}

function statusLines(s: MemberStatus): string[] {
  const lines = [`Wallet ${s.address}: balance ${formatAmount(s.balance)}`];
  if (!s.isMember) {
    lines.push(
      `Not a member. Joining costs ${formatAmount(s.shareAmount)} (refunded when you leave): coop member join`,
    );
  } else {
    lines.push(`Member: share paid ${formatAmount(s.sharePaid)}, ${s.votingWeight} vote`);
    if (s.exitRequested)
      lines.push(
        s.exitReady
          ? "Exit requested and ready: complete it with coop member exit"
          : `Exit requested: it can be completed from ${formatTime(s.exitAvailableAt!)} (in ${formatDuration(s.exitSecondsLeft)})`,
      );
  }
  if (s.deferredRefund > 0n)
    lines.push(`A refund of ${formatAmount(s.deferredRefund)} waits to be withdrawn`);
  lines.push(`The co-op has ${s.memberCount} member${s.memberCount === 1n ? "" : "s"}`);
  return lines;
}

export function registerMember(program: Command): void {
  const member = program.command("member").description("your membership of the co-op");

  member
    .command("status")
    .description("membership, share paid, exit, votes and balance (of the wallet or an address)")
    .argument("[address]", "another member's address")
    .action(
      action(async (cli, address: string | undefined) => {
        const c = await cli.connect(address ? "none" : "required", "coop member status");
        const s = await memberStatus(c, address as `0x${string}` | undefined);
        cli.out(s, () => statusLines(s));
      }),
    );

  member
    .command("join")
    .description("join the co-op: pay the share (one permit signature and one transaction)")
    .option("--approve", "approve then join (two transactions), for tokens without permits")
    .action(
      action(async (cli, o: { approve?: boolean }) => {
        const c = await cli.connect("required", "coop member join");
        const before = await memberStatus(c);
        if (before.isMember)
          throw new CliError(
            EXIT.refused,
            `${before.address} is already a member (share paid ${formatAmount(before.sharePaid)})`,
          );
        const r = await joinCoop(c, { method: o.approve ? "approve" : "permit", ...txNotes(cli) });
        cli.out(
          {
            address: before.address,
            sharePaid: r.sharePaid,
            method: r.method,
            tx: r.receipt.transactionHash,
          },
          () => [
            `Joined the co-op: ${formatAmount(r.sharePaid)} paid as your share (refunded when you leave).`,
          ],
        );
      }),
    );

  member
    .command("exit")
    .description(
      "leave the co-op: request the exit, then run again after the notice to complete it and get the share back",
    )
    .option("--cancel", "withdraw a pending exit request")
    .action(
      action(async (cli, o: { cancel?: boolean }) => {
        const c = await cli.connect("required", "coop member exit");
        const s = await memberStatus(c);
        if (!s.isMember)
          throw new CliError(
            EXIT.refused,
            `${s.address} is not a member: there is nothing to leave`,
          );
        if (o.cancel) {
          if (!s.exitRequested)
            throw new CliError(EXIT.refused, "no exit is pending: there is nothing to cancel");
          const receipt = await cancelExit(c, txNotes(cli));
          cli.out({ action: "cancelled", tx: receipt.transactionHash }, () => [
            "Exit request withdrawn: you stay a member.",
          ]);
          return;
        }
        if (!s.exitRequested) {
          const r = await requestExit(c, txNotes(cli));
          cli.out(
            { action: "requested", availableAt: r.availableAt, tx: r.receipt.transactionHash },
            () => [
              `Exit requested: from ${formatTime(r.availableAt)} run coop member exit again to leave and get ${formatAmount(s.sharePaid)} back.`,
            ],
          );
          return;
        }
        if (!s.exitReady)
          throw new CliError(
            EXIT.refused,
            `your exit can be completed from ${formatTime(s.exitAvailableAt!)} (in ${formatDuration(s.exitSecondsLeft)}): run coop member exit again then`,
          );
        const r = await completeExit(c, txNotes(cli));
        cli.out(
          {
            action: "completed",
            refund: r.refund,
            deferred: r.deferred,
            tx: r.receipt.transactionHash,
          },
          () => [
            r.deferred
              ? "You left the co-op; the refund could not be sent and waits to be withdrawn."
              : `You left the co-op; ${formatAmount(r.refund)} refunded.`,
          ],
        );
      }),
    );

  program
    .command("faucet")
    .description("draw test tokens from the local payment token's faucet (local chains only)")
    .action(
      action(async (cli) => {
        const c = await cli.connect("required", "coop faucet");
        const chainId = await c.publicClient.getChainId();
        if (!LOCAL_CHAINS.has(chainId))
          throw new CliError(
            EXIT.refused,
            `chain ${chainId} is no local chain: its payment token has no faucet; buy it instead`,
          );
        const r = await faucet(c, txNotes(cli));
        const balance = await c.token.read.balanceOf([c.account()]);
        cli.out(
          {
            amount: r.amount,
            balance,
            nextDripAt: r.nextDripAt,
            tx: r.receipt.transactionHash,
          },
          () => [
            `Received ${formatAmount(r.amount)}; balance ${formatAmount(balance)}. Next drip from ${formatTime(r.nextDripAt)}.`,
          ],
        );
      }),
    );
}
