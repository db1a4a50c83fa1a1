// coop patronage status | claim <period>: points per period and dividends.
import type { Command } from "commander";
import type { Address } from "viem";

import { formatAmount, formatDuration, formatTime } from "../../src/client/format.ts";
import { claimDividend, patronageStatus } from "../../src/client/patronage.ts";
import { usageError } from "../errors.ts";
import { table } from "../format.ts";
import { action } from "../run.ts";
import { txNotes } from "./member.ts";

export function registerPatronage(program: Command): void {
  const patronage = program
    .command("patronage")
    .description("patronage: points for what you paid and earned, and the dividends they share");

  patronage
    .command("status")
    .description("your points per period, declared dividends, what you can claim")
    .argument("[address]", "another member's address")
    .action(
      action(async (cli, address: string | undefined) => {
        const c = await cli.connect(address ? "none" : "required", "coop patronage status");
        const s = await patronageStatus(c, address as Address | undefined);
        cli.out(s, () => [
          `Patronage of ${s.member}: period ${s.currentPeriod} now (periods of ${formatDuration(s.periodLength)}); weights paid ${s.paidWeight} : earned ${s.earnedWeight}`,
          `Treasury free balance ${formatAmount(s.freeBalance)}; you can claim ${formatAmount(s.totalClaimable)} in total`,
          ...table(
            ["period", "points", "of total", "dividend", "yours", "state"],
            s.periods.map((p) => [
              String(p.period),
              String(p.points),
              String(p.totalPoints),
              p.declared ? formatAmount(p.dividend) : "-",
              p.claimed
                ? `${formatAmount(p.claimedAmount)} claimed`
                : p.claimable > 0n
                  ? `${formatAmount(p.claimable)} claimable`
                  : "-",
              !p.closed
                ? "open"
                : p.declared
                  ? p.claimOpen
                    ? `claim until ${formatTime(p.claimDeadline)}`
                    : "claim window over"
                  : "closed",
            ]),
          ),
        ]);
      }),
    );

  patronage
    .command("claim")
    .description("claim your share of a period's declared dividend")
    .argument("<period>", "the period (see coop patronage status)")
    .action(
      action(async (cli, period: string) => {
        if (!/^\d+$/.test(period)) throw usageError(`period "${period}" is not a whole number`);
        const c = await cli.connect("required", "coop patronage claim");
        const r = await claimDividend(c, BigInt(period), txNotes(cli));
        cli.out({ period, amount: r.amount, tx: r.receipt.transactionHash }, () => [
          `Claimed ${formatAmount(r.amount)} from period ${period}'s dividend.`,
        ]);
      }),
    );
}
