// coop provider ls: the storage providers, their room, stake and record.
import type { Command } from "commander";

import { formatAmount, formatBytes } from "../../src/client/format.ts";
import { listProviders, reliability } from "../../src/client/providers.ts";
import { table } from "../format.ts";
import { action } from "../run.ts";

export function registerProvider(program: Command): void {
  const provider = program.command("provider").description("storage providers of the co-op");

  provider
    .command("ls")
    .description("every registered provider: endpoint, free room, stake, proven and missed epochs")
    .option("--all", "also list providers that left")
    .action(
      action(async (cli, o: { all?: boolean }) => {
        const c = await cli.connect("none", "coop provider ls");
        const providers = (await listProviders(c)).filter((p) => o.all || p.registered);
        cli.out({ providers }, () =>
          providers.length === 0
            ? ["No providers registered yet."]
            : table(
                ["address", "endpoint", "free / capacity", "stake", "proven", "missed", "status"],
                providers.map((p) => [
                  p.address,
                  p.endpoint,
                  `${formatBytes(p.free)} / ${formatBytes(p.capacity)}`,
                  formatAmount(p.stake),
                  String(p.provenEpochs),
                  String(p.missedEpochs),
                  !p.registered
                    ? "left"
                    : p.failed
                      ? `failed (epoch ${p.failedEpoch})`
                      : `ok, reliability ${(reliability(p) * 100).toFixed(0)}%`,
                ]),
              ),
        );
      }),
    );
}
