// The action wrapper every command uses: builds the command's Cli, runs it, and turns any error
// into one sentence on stderr and the documented exit code.
import { inspect } from "node:util";

import type { Command } from "commander";

import { Cli, DEFAULT_RPC_URL } from "./context.ts";
import { CliError, EXIT, exitCodeOf, messageOf } from "./errors.ts";
import { toJson } from "./format.ts";

/** Reports an error: one sentence (or one JSON line with --json), the stack with --verbose. */
export function report(e: unknown, opts: { json: boolean; verbose: boolean; rpcUrl: string }) {
  const exitCode = exitCodeOf(e);
  const message = messageOf(e, opts.rpcUrl);
  if (opts.json)
    process.stderr.write(
      toJson({ error: { message, exitCode, name: (e as Error)?.name ?? "Error" } }) + "\n",
    );
  else process.stderr.write(`coop: ${message}\n`);
  if (opts.verbose) process.stderr.write(inspect(e, { depth: 6 }) + "\n");
  else if (!opts.json && !(e instanceof CliError) && exitCode !== EXIT.interrupted)
    process.stderr.write("(run with --verbose for details)\n");
  return exitCode;
}

/**
 * Wraps a command's handler: `fn(cli, ...positionals, options)`. Sets process.exitCode; the
 * entry point exits with it once the handler is done.
 */
export function action<A extends unknown[]>(fn: (cli: Cli, ...args: A) => Promise<void>) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const raw = cmd.optsWithGlobals() as { json?: boolean; verbose?: boolean; rpcUrl?: string };
    try {
      const cli = new Cli(cmd);
      await fn(cli, ...(args.slice(0, -1) as A));
      process.exitCode = EXIT.ok;
    } catch (e) {
      process.exitCode = report(e, {
        json: Boolean(raw.json),
        verbose: Boolean(raw.verbose),
        rpcUrl: raw.rpcUrl ?? process.env.COOP_RPC_URL ?? DEFAULT_RPC_URL,
      });
    }
  };
}
