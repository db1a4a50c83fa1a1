// A co-op for one system test file: a local chain, provider processes on it (each one stopped in
// `stop()`, whatever state a failed step left it in), a wallet-holding client, and the checks
// the scenarios share (bit-exact reads, decoded market events, waiting for one).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { join } from "node:path";

import { type CoopContracts, type KeySession, connectCoop, getFile } from "@coop-cloud/sdk/client";
import { faucetTokenAbi } from "@coop-cloud/sdk/contracts/generated/abis.ts";
import { type Address, parseEventLogs } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import {
  type ChainOptions,
  type LocalChain,
  repoRoot,
  rpc,
  startLocalChain,
} from "../../provider-node/test/fixtures/chain.ts";
import { marketEvents, waitFor } from "../../provider-node/test/fixtures/deals.ts";
import { type RpcProxy, startRpcProxy } from "../../provider-node/test/fixtures/proxy.ts";
import {
  type ProviderSetup,
  type RunningProvider,
  setupProvider,
  startProvider,
} from "../../provider-node/test/fixtures/provider.ts";

export { marketEvents, rpc, waitFor };

export interface Cluster {
  chain: LocalChain;
  setups: ProviderSetup[];
  /** The provider processes, by index into `setups` (a stopped one stays until restarted). */
  nodes: RunningProvider[];
  /** The RPC proxy every provider talks through, with `ClusterOptions.proxy`. */
  proxy?: RpcProxy;
  /** Env each provider was started with (reused by `restart`). */
  env: NodeJS.ProcessEnv[];
  /** A client signing with Hardhat key `key` (no wallet when `account` is false). */
  connect(key: number, account?: boolean): Promise<CoopContracts>;
  /** Starts provider `i` again on its data folder. */
  restart(i: number): Promise<RunningProvider>;
  /** The index of the provider with this address. */
  indexOf(address: string): number;
  /** Stops every provider process still running, then the chain. */
  stop(): Promise<void>;
}

export interface ClusterOptions extends ChainOptions {
  /** Hardhat key indexes of the providers. */
  providerKeys: number[];
  /** Put the providers behind an RPC proxy the test can take down (`Cluster.proxy`). */
  proxy?: boolean;
  /** Extra environment for provider i. */
  providerEnv?: (i: number) => NodeJS.ProcessEnv;
}

/**
 * Starts a chain and registers and starts one provider per key. If anything fails
 * part-way, what did start is stopped before the error is rethrown.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const chain = await startLocalChain(options);
  const setups: ProviderSetup[] = [];
  const nodes: RunningProvider[] = [];
  const env: NodeJS.ProcessEnv[] = [];
  const stop = async () => {
    for (const n of nodes) await n?.stop("SIGKILL").catch(() => undefined);
    await proxy?.close();
    await chain.stop();
  };
  let proxy: RpcProxy | undefined;
  try {
    if (options.proxy) proxy = await startRpcProxy(chain.rpcUrl);
    for (const k of options.providerKeys)
      setups.push(await setupProvider(chain, k, { rpcUrl: proxy?.url }));
    setups.forEach((_, i) => env.push(options.providerEnv?.(i) ?? {}));
    // One at a time: seven nodes starting side by side on two loaded cores miss their minute.
    for (let i = 0; i < setups.length; i++) nodes[i] = await startProvider(setups[i]!, env[i]);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    chain,
    setups,
    nodes,
    proxy,
    env,
    connect: (key, account = true) =>
      connectCoop({
        rpcUrl: chain.rpcUrl,
        chainId: 31337,
        account: account ? privateKeyToAccount(chain.keys[key]) : undefined,
        addresses: chain.addresses,
      }),
    async restart(i) {
      nodes[i] = await startProvider(setups[i]!, env[i]);
      return nodes[i]!;
    },
    indexOf: (address) =>
      setups.findIndex((s) => s.address.toLowerCase() === address.toLowerCase()),
    stop,
  };
}

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Reads a deal's file through the client and returns the SHA-256 of its plaintext. */
export async function readBack(
  c: CoopContracts,
  dealId: bigint,
  keys: KeySession,
): Promise<string> {
  const got = await getFile(c, { dealId }, { keys });
  const hash = createHash("sha256");
  for await (const part of got) hash.update(part);
  return hash.digest("hex");
}

/** Decoded market events of one name whose args match `args`. */
export async function eventsOf(
  chain: LocalChain,
  name: string,
  args: Record<string, unknown> = {},
): Promise<{ args: Record<string, unknown>; blockNumber: bigint }[]> {
  return (await marketEvents(chain))
    .filter(
      (l) =>
        l.eventName === name &&
        Object.entries(args).every(([k, v]) => {
          const got = (l.args as Record<string, unknown>)[k];
          return typeof got === "string" && typeof v === "string"
            ? got.toLowerCase() === v.toLowerCase()
            : got === v;
        }),
    )
    .map((l) => ({ args: l.args as Record<string, unknown>, blockNumber: l.blockNumber }));
}

/** Waits until at least one `name` event matching `args` exists; returns the first. */
export async function waitForEvent(
  chain: LocalChain,
  name: string,
  args: Record<string, unknown> = {},
  timeoutMs = 180_000,
  why: () => string = () => "",
) {
  const found = await waitFor(
    () => `${name} ${JSON.stringify(args, (_, v) => (typeof v === "bigint" ? `${v}` : v))}${why()}`,
    async () => {
      const list = await eventsOf(chain, name, args);
      return list.length ? list : undefined;
    },
    timeoutMs,
  );
  return found[0]!;
}

/** The last `count` log lines of a provider, for failure messages. */
export function tail(n: RunningProvider | undefined, count = 20): string {
  if (!n) return "";
  return `\n${n.logs
    .slice(-count)
    .map((l) => JSON.stringify(l))
    .join("\n")}`;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `coop <args>` (sdk/cli/coop.ts) as a child process with `env` added to this one's. */
export function coop(args: string[], env: NodeJS.ProcessEnv, cwd = repoRoot): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(repoRoot, "node_modules/.bin/node"),
      [join(repoRoot, "sdk/cli/coop.ts"), ...args],
      { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Every token unit accounted for: the balances of every address that ever held the token sum to
 * its total supply, and the market holds exactly what it owes (balances, escrow, stakes, pools).
 * Returns the holders' balances.
 */
export async function expectTokenSumsExact(
  c: CoopContracts,
  expect: (v: unknown, m?: string) => { toBe(x: unknown): void },
): Promise<Map<Address, bigint>> {
  const token = c.addresses.FaucetToken;
  const logs = parseEventLogs({
    abi: faucetTokenAbi,
    eventName: "Transfer",
    logs: await c.publicClient.getLogs({ address: token, fromBlock: 0n, toBlock: "latest" }),
  });
  const holders = new Set<Address>();
  for (const l of logs) for (const a of [l.args.from, l.args.to]) holders.add(a);
  const balances = new Map<Address, bigint>();
  let sum = 0n;
  for (const a of holders) {
    const b = await c.token.read.balanceOf([a]);
    balances.set(a, b);
    sum += b;
  }
  expect(sum, "the balances of every holder sum to the total supply").toBe(
    await c.token.read.totalSupply(),
  );
  const [owed, escrow, stakes, pools] = await c.market.read.totals();
  expect(owed + escrow + stakes + pools, "the market holds exactly what it owes").toBe(
    balances.get(c.addresses.StorageMarket) ?? 0n,
  );
  return balances;
}
