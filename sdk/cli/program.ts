// The `coop` command tree: global flags and every command, each in its own module.
import { Command, Option } from "commander";

import pkg from "../package.json" with { type: "json" };

import { registerFiles } from "./commands/files.ts";
import { registerGovernance } from "./commands/governance.ts";
import { registerMember } from "./commands/member.ts";
import { registerPatronage } from "./commands/patronage.ts";
import { registerProvider } from "./commands/provider.ts";
import { registerWallet } from "./commands/wallet.ts";

/** Builds the program (a fresh one per call, so tests can parse twice). */
export function buildProgram(): Command {
  const program = new Command()
    .name("coop")
    .description(
      "Co-operative Cloud from the command line: store files encrypted on member-run providers, join the co-op, vote, claim dividends.",
    )
    .version(pkg.version, "-V, --version", "print the version of coop (the sdk's)")
    .showHelpAfterError("(run coop --help, or coop <command> --help, for usage)")
    .option("--json", "machine output: one JSON document on stdout, nothing else there")
    .option("-v, --verbose", "print the full error with its causes and stack")
    .option(
      "-d, --data-dir <dir>",
      "data folder: keystore, put journals (env COOP_DATA_DIR, default ~/.coop)",
    )
    .option(
      "--rpc-url <url>",
      "the chain's JSON-RPC URL (env COOP_RPC_URL, default http://127.0.0.1:8545)",
    )
    .option(
      "--addresses <file|json>",
      "contract addresses as a JSON file or object (env COOP_ADDRESSES; default: the deployment files of the RPC's chain)",
    )
    .addOption(
      new Option(
        "--chain-id <id>",
        "refuse to run unless the RPC is on this chain (env COOP_CHAIN_ID)",
      ),
    )
    .option(
      "--from-block <n>",
      "the co-op's deployment block, where event scans start (env COOP_FROM_BLOCK; default: from the deployment files, else 0)",
    )
    .option(
      "--log-range <blocks>",
      "blocks per eth_getLogs request event scans start with, halved when the RPC refuses one (env COOP_LOG_RANGE, default 10000)",
    );
  registerFiles(program);
  registerWallet(program);
  registerMember(program);
  registerProvider(program);
  registerGovernance(program);
  registerPatronage(program);
  return program;
}
