// What every command shares: the global flags resolved (env, defaults), the wallet, the
// connection to the co-op's contracts, and output in JSON or words.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

import type { Command } from "commander";
import { type Address, isAddress } from "viem";

import type { CoopAddresses, CoopContracts } from "../src/client/contracts.ts";
import { usageError } from "./errors.ts";
import { printJson, printLines } from "./format.ts";
import { loadAccount, requireAccount } from "./wallet.ts";

/** The global flags, after environment variables and defaults. */
export interface Globals {
  json: boolean;
  verbose: boolean;
  dataDir: string;
  rpcUrl: string;
  /** Contract addresses given by --addresses / COOP_ADDRESSES, else from the generated files. */
  addresses?: CoopAddresses;
  chainId?: number;
  /** --from-block / COOP_FROM_BLOCK: where event scans start. */
  fromBlock?: bigint;
  /** --log-range / COOP_LOG_RANGE: blocks per eth_getLogs request that event scans start with. */
  logRange?: number;
}

export const DEFAULT_RPC_URL = "http://127.0.0.1:8545";

const CONTRACT_NAMES = [
  "FaucetToken",
  "CoopMembership",
  "CoopGovernor",
  "CoopTimelock",
  "PatronageTreasury",
  "StorageMarket",
] as const;

/** `--addresses`: a JSON file or inline JSON object `{ "StorageMarket": "0x…", … }`. */
export function parseAddresses(value: string): CoopAddresses {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(
      value.trim().startsWith("{") ? value : readFileSync(resolve(value), "utf8"),
    ) as Record<string, unknown>;
  } catch (e) {
    throw usageError(
      `--addresses ${value.slice(0, 60)} is neither a readable JSON file nor a JSON object (${(e as Error).message})`,
    );
  }
  const missing = CONTRACT_NAMES.filter((n) => !isAddress(String(raw[n] ?? "")));
  if (missing.length)
    throw usageError(`--addresses lacks a valid address for ${missing.join(", ")}`);
  return raw as unknown as CoopAddresses & Record<string, Address>;
}

/** Resolves the global flags of `cmd` (and its parents) with the environment. */
export function globalsOf(cmd: Command): Globals {
  const o = cmd.optsWithGlobals() as {
    json?: boolean;
    verbose?: boolean;
    dataDir?: string;
    rpcUrl?: string;
    addresses?: string;
    chainId?: string;
    fromBlock?: string;
    logRange?: string;
  };
  const addresses = o.addresses ?? process.env.COOP_ADDRESSES;
  const chainId = o.chainId ?? process.env.COOP_CHAIN_ID;
  if (chainId !== undefined && !/^\d+$/.test(chainId))
    throw usageError(`--chain-id ${chainId} is not a number`);
  const fromBlock = o.fromBlock ?? process.env.COOP_FROM_BLOCK;
  if (fromBlock !== undefined && !/^\d+$/.test(fromBlock))
    throw usageError(`--from-block ${fromBlock} is not a block number`);
  const logRange = o.logRange ?? process.env.COOP_LOG_RANGE;
  if (logRange !== undefined && !/^[1-9]\d{0,14}$/.test(logRange))
    throw usageError(`--log-range ${logRange} is not a number of blocks`);
  return {
    json: Boolean(o.json),
    verbose: Boolean(o.verbose),
    dataDir: resolve(o.dataDir ?? process.env.COOP_DATA_DIR ?? join(homedir(), ".coop")),
    rpcUrl: o.rpcUrl ?? process.env.COOP_RPC_URL ?? DEFAULT_RPC_URL,
    addresses: addresses ? parseAddresses(addresses) : undefined,
    chainId: chainId === undefined ? undefined : Number(chainId),
    fromBlock: fromBlock === undefined ? undefined : BigInt(fromBlock),
    logRange: logRange === undefined ? undefined : Number(logRange),
  };
}

/** How much of the wallet a command needs. */
export type WalletNeed = "required" | "optional" | "none";

/** One command's run: flags, connection and output. */
export class Cli {
  readonly g: Globals;
  constructor(cmd: Command) {
    this.g = globalsOf(cmd);
  }

  /** Connects to the co-op (chain id from the RPC, addresses from the deployment files). */
  async connect(wallet: WalletNeed, what: string): Promise<CoopContracts> {
    const account =
      wallet === "required"
        ? await requireAccount(this.g.dataDir, what)
        : wallet === "optional"
          ? await loadAccount(this.g.dataDir, { optional: true })
          : undefined;
    // Loaded on use, so commands that never connect (help, wallet) start faster.
    const { connectCoop } = await import("../src/client/connect.ts");
    return connectCoop({
      rpcUrl: this.g.rpcUrl,
      account,
      addresses: this.g.addresses,
      chainId: this.g.chainId,
      fromBlock: this.g.fromBlock,
      logRange: this.g.logRange,
    });
  }

  /** Prints the result: `json` as one JSON line with --json, else the human lines. */
  out(json: unknown, human: () => string[]): void {
    if (this.g.json) printJson(json);
    else printLines(...human());
  }

  /** A folder under the data folder (journals, staging). */
  path(...parts: string[]): string {
    return join(this.g.dataDir, ...parts);
  }

  exists(...parts: string[]): boolean {
    return existsSync(this.path(...parts));
  }
}
