// A whole local co-op for one browser test file: a Hardhat chain with the co-op deployed (under a
// deployment id of its own, so the shared chain-31337 deployment and the sdk's generated
// addresses stay as they are), provider nodes (scripts/dev-providers.ts, as `npm start` runs
// them, in a temporary data folder), the web app built for that chain (`next build`, reused by
// the next file of the run while the chain's URL, addresses and sources are the same) and served
// by `next start`, and browsers with the test wallet. Everything runs on free ports of its own
// ranges and is stopped by `stop()`, by the test process exiting, or by a signal to it.
//
//   let stack: Stack;
//   beforeAll(async () => (stack = await startStack()), STACK_TIMEOUT);
//   afterAll(() => stack?.stop());
//   const { page, wallet } = await stack.newContext({ key: 16 });
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

import type { BrowserContext, Page } from "playwright-core";
import type { Address, Hex } from "viem";

import { devKey, type DevProvider, startDevProviders } from "../../../scripts/dev-providers.ts";
import { launchBrowser } from "./browser.ts";
import { installTestWallet, type TestWallet } from "./wallet.ts";

export { devKey };

const here = dirname(fileURLToPath(import.meta.url));
export const webRoot = join(here, "../..");
export const repoRoot = join(webRoot, "..");
const bin = (name: string) => join(repoRoot, "node_modules/.bin", name);

/** Time for beforeAll: a chain, a deployment, four providers and (first file) a web build. */
export const STACK_TIMEOUT = 900_000;
export const CHAIN_ID = 31337;

export interface PortRange {
  from: number;
  to: number;
}

export interface StackOptions {
  /** Provider nodes (Hardhat accounts #1…#n). @default 4 */
  providers?: number;
  /** Seconds per epoch. @default 10 */
  epochLength?: number;
  /** Account #0 stores a 3 MiB k = 2 deal on every provider, so pages have a deal to show. */
  demoDeal?: boolean;
  /** Ports, each range overridable by environment: COOP_WEB_TEST_{CHAIN,PROVIDER,APP}_PORTS=a-b */
  chainPorts?: PortRange;
  providerPorts?: PortRange;
  appPorts?: PortRange;
  /** Provider log lines (proofs, acceptances, warnings) go here. @default kept for `logs()` */
  log?: (line: string) => void;
}

export interface NewContextOptions {
  /** Hardhat dev account the test wallet signs with; none: a browser without a wallet. */
  key?: number;
  /** The chain the wallet starts on (another id simulates the wrong network). @default 31337 */
  chainId?: number;
  /** Wallet name shown by the dApp. */
  name?: string;
}

export interface BrowserSession {
  context: BrowserContext;
  /** A first page, not yet navigated. */
  page: Page;
  wallet: TestWallet | undefined;
}

export interface Stack {
  rpcUrl: string;
  appUrl: string;
  chainId: number;
  addresses: Record<string, Address>;
  providers: DevProvider[];
  /** The demo deal's id with `demoDeal`. */
  demoDealId: bigint | undefined;
  devKey(i: number): Hex;
  /** A fresh headless Chromium (own profile) with the test wallet installed when `key` is given. */
  newContext(options?: NewContextOptions): Promise<BrowserSession>;
  /** The last provider and web-server log lines, for failure messages. */
  logs(): string;
  /** Stops browsers, the web server, providers and the chain; safe to call twice. */
  stop(): Promise<void>;
}

// ---- every process this module started, killed however the test process ends ----

const live = new Set<ChildProcess>();
let hooked = false;
function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once("exit", () => live.delete(child));
  if (!hooked) {
    hooked = true;
    const killAll = () => {
      for (const c of live) {
        try {
          // Negative pid: the child's whole process group (next start's workers, hardhat's).
          process.kill(-c.pid!, "SIGKILL");
        } catch {
          c.kill("SIGKILL");
        }
      }
    };
    process.once("exit", killAll);
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
      process.once(sig, () => {
        killAll();
        process.exit(130);
      });
  }
  return child;
}

async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      child.kill(sig);
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

// ---- ports ----

function rangeFromEnv(name: string, fallback: PortRange): PortRange {
  const m = /^(\d+)-(\d+)$/.exec(process.env[name] ?? "");
  return m ? { from: Number(m[1]), to: Number(m[2]) } : fallback;
}

async function isFree(port: number): Promise<boolean> {
  const srv = createServer();
  return new Promise((resolve) => {
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** The first free port of `range`. */
async function freePort(range: PortRange): Promise<number> {
  for (let p = range.from; p <= range.to; p++) if (await isFree(p)) return p;
  throw new Error(`no free port in ${range.from}-${range.to}`);
}

// ---- the chain ----

/** Lets `seconds` of chain time pass and mines two blocks, as waiting members would see it. */
export async function passTime(stack: Pick<Stack, "rpcUrl">, seconds: number): Promise<void> {
  await rpc(stack.rpcUrl, "evm_increaseTime", [seconds]);
  await rpc(stack.rpcUrl, "hardhat_mine", ["0x2"]);
}

export async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    signal: AbortSignal.timeout(5_000),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(body.error.message);
  return body.result;
}

function runToEnd(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  return new Promise<string>((resolve, reject) => {
    const child = track(spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] }));
    let out = "";
    child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${relative(repoRoot, cmd)} ${args[0]} exited ${code}:\n${out}`)),
    );
  });
}

async function startChain(port: number, epochLength: number) {
  const rpcUrl = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    PATH: `${join(repoRoot, "node_modules/.bin")}:${process.env.PATH ?? ""}`,
    COOP_CHAIN_PORT: String(port),
    COOP_IGNITION_POLL_MS: "50",
  };
  const node = track(
    spawn(bin("hardhat"), ["node", "--hostname", "127.0.0.1", "--port", String(port)], {
      cwd: repoRoot,
      env,
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
    }),
  );
  let stderr = "";
  node.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
  for (let i = 0; ; i++) {
    try {
      if (Number(await rpc(rpcUrl, "eth_chainId")) === CHAIN_ID) break;
    } catch {
      /* not up yet */
    }
    if (i > 600 || node.exitCode !== null) {
      await stopProcess(node);
      throw new Error(`the chain did not start on ${rpcUrl}:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const deploymentId = `web-test-${port}`;
  const deploymentDir = join(repoRoot, "ignition/deployments", deploymentId);
  const tmp = mkdtempSync(join(tmpdir(), "coop-web-chain-"));
  const paramsFile = join(tmp, "params.json");
  writeFileSync(
    paramsFile,
    JSON.stringify({ CoopCloudLocal: { epochLength: `${epochLength}n`, faucetCooldown: "1n" } }),
  );
  try {
    rmSync(deploymentDir, { recursive: true, force: true });
    await runToEnd(
      bin("hardhat"),
      [
        "ignition",
        "deploy",
        "ignition/modules/CoopCloudLocal.ts",
        "--network",
        "localhost",
        "--build-profile",
        "default",
        "--deployment-id",
        deploymentId,
        "--parameters",
        paramsFile,
      ],
      repoRoot,
      env,
    );
    const raw = JSON.parse(
      readFileSync(join(deploymentDir, "deployed_addresses.json"), "utf8"),
    ) as Record<string, Address>;
    const addresses: Record<string, Address> = {};
    for (const [k, v] of Object.entries(raw)) addresses[k.split("#")[1]!] = v;
    return { node, rpcUrl, addresses };
  } catch (e) {
    await stopProcess(node);
    throw e;
  } finally {
    rmSync(deploymentDir, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---- the web app: one build per (chain URL, addresses, sources), reused across files ----

const SOURCES = ["web/src", "web/next.config.ts", "web/package.json", "web/postcss.config.mjs"];
const SDK_SOURCES = ["sdk/src"];

function fingerprint(paths: string[]): string {
  const hash = createHash("sha256");
  const walk = (p: string) => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) if (e !== "node_modules") walk(join(p, e));
    } else hash.update(`${relative(repoRoot, p)}:${st.size}:${st.mtimeMs}\n`);
  };
  for (const p of paths) walk(join(repoRoot, p));
  return hash.digest("hex");
}

/** Newest modification time under these paths (ms). */
export function newestMtime(paths: string[]): number {
  let newest = 0;
  const walk = (p: string) => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p)) if (e !== "node_modules") walk(join(p, e));
    } else newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of paths) walk(p);
  return newest;
}

export interface WebBuild {
  distDir: string;
  /** The `next build` output (route table), or "" when an earlier build was reused. */
  output: string;
  env: NodeJS.ProcessEnv;
}

/** Environment of a build (and of the server that serves it) for one chain. */
export function webEnv(
  distDir: string,
  rpcUrl: string,
  addresses?: Record<string, Address>,
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${join(repoRoot, "node_modules/.bin")}:${process.env.PATH ?? ""}`,
    NEXT_TELEMETRY_DISABLED: "1",
    NEXT_DIST_DIR: distDir,
    NEXT_PUBLIC_RPC_URL: rpcUrl,
    NEXT_PUBLIC_CHAIN_ID: String(CHAIN_ID),
    ...(addresses ? { NEXT_PUBLIC_COOP_ADDRESSES: JSON.stringify(addresses) } : {}),
  };
}

/**
 * `next build` of the dApp for the chain at `rpcUrl` with these addresses, into
 * web/.next-test-<key>; a build with the same key (same chain URL, addresses and sources) is
 * reused. A lock folder keeps two processes from building into the same folder at once.
 */
export async function buildWeb(
  rpcUrl: string,
  addresses: Record<string, Address>,
): Promise<WebBuild> {
  const key = createHash("sha256")
    .update(`${rpcUrl}\n${JSON.stringify(addresses)}\n${fingerprint([...SOURCES, ...SDK_SOURCES])}`)
    .digest("hex")
    .slice(0, 12);
  const distDir = `.next-test-${key}`;
  const dir = join(webRoot, distDir);
  const stamp = join(dir, "coop-build-key");
  const lock = `${dir}.lock`;
  const env = webEnv(distDir, rpcUrl, addresses);
  pruneOldBuilds();
  for (const started = Date.now(); ;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another process builds this very folder: wait for it (a lock older than 20 min is stale).
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 20 * 60_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() - started > 25 * 60_000) throw new Error(`${lock} held for 25 minutes`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    if (existsSync(stamp) && readFileSync(stamp, "utf8") === key) {
      utimesSync(stamp, new Date(), new Date()); // in use: not pruned
      return { distDir, output: "", env };
    }
    const output = await runToEnd(bin("next"), ["build"], webRoot, env);
    writeFileSync(stamp, key);
    return { distDir, output, env };
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Old test builds go (each is ~75 MB, and every change to the sources makes a new one): the
 * four used last stay, and any used within the hour (another run may be serving it).
 */
function pruneOldBuilds() {
  const builds = readdirSync(webRoot)
    .filter((e) => /^\.next-test-[0-9a-f]{12}$/.test(e))
    .map((e) => ({
      e,
      used: statSync(join(webRoot, e, "coop-build-key"), { throwIfNoEntry: false })?.mtimeMs,
    }))
    .filter((b) => b.used !== undefined && !existsSync(join(webRoot, `${b.e}.lock`)))
    .sort((a, b) => b.used! - a.used!);
  for (const b of builds.slice(4))
    if (Date.now() - b.used! > 3600_000) {
      rmSync(join(webRoot, b.e), { recursive: true, force: true });
      rmSync(join(webRoot, `${b.e}.tsconfig.json`), { force: true });
    }
}

/** `next start` of a build on 127.0.0.1:`port`; resolves once the app answers. */
export async function startWeb(build: WebBuild, port: number, logs: string[] = []) {
  const server = track(
    spawn(bin("next"), ["start", "--hostname", "127.0.0.1", "--port", String(port)], {
      cwd: webRoot,
      env: build.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    }),
  );
  const keep = (b: Buffer) => {
    logs.push(...b.toString().split("\n").filter(Boolean));
    if (logs.length > 400) logs.splice(0, logs.length - 400);
  };
  server.stdout!.on("data", keep);
  server.stderr!.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(5_000) })).status === 200) break;
    } catch {
      /* not up yet */
    }
    if (server.exitCode !== null || i > 600) {
      await stopProcess(server);
      throw new Error(`next start did not serve ${url}:\n${logs.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { server, url };
}

// ---- the stack ----

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const count = options.providers ?? 4;
  const chainPorts =
    options.chainPorts ?? rangeFromEnv("COOP_WEB_TEST_CHAIN_PORTS", { from: 8800, to: 8899 });
  const providerPorts =
    options.providerPorts ?? rangeFromEnv("COOP_WEB_TEST_PROVIDER_PORTS", { from: 7800, to: 7999 });
  const appPorts =
    options.appPorts ?? rangeFromEnv("COOP_WEB_TEST_APP_PORTS", { from: 3620, to: 3629 });
  const providerLogs: string[] = [];
  const webLogs: string[] = [];
  const sessions: BrowserContext[] = [];
  const procs: ChildProcess[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), "coop-web-providers-"));
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(sessions.map((c) => c.close().catch(() => undefined)));
    // Web server and providers first, the chain last (providers would log it as gone).
    const chain = procs[0];
    await Promise.all(procs.slice(1).map((p) => stopProcess(p)));
    if (chain) await stopProcess(chain);
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const chainPort = await freePort(chainPorts);
    const chain = await startChain(chainPort, options.epochLength ?? 10);
    procs.push(chain.node);

    // Provider i: HTTP base + 10·i, TCP + 1, WS + 2 (as npm start lays them out).
    const base = await freePortBlock(providerPorts, count);
    const childEnv = {
      ...process.env,
      PATH: `${join(repoRoot, "node_modules/.bin")}:${process.env.PATH ?? ""}`,
    };
    const providers = await startDevProviders({
      root: repoRoot,
      rpcUrl: chain.rpcUrl,
      addresses: chain.addresses,
      basePort: base,
      count,
      env: childEnv,
      dataDir,
      onSpawn: (child) => procs.push(track(child)),
      onExit: (name, code) => {
        if (!stopped) providerLogs.push(`${name} exited (${code})`);
      },
      log: (name, line) => {
        const text = `[${name}] ${line}`;
        if (options.log) options.log(text);
        providerLogs.push(text);
        if (providerLogs.length > 400) providerLogs.splice(0, providerLogs.length - 400);
      },
    });
    let demoDealId: bigint | undefined;
    if (options.demoDeal) {
      const { createDemoDeal } = await import("../../../scripts/dev-providers.ts");
      demoDealId = await createDemoDeal(chain.rpcUrl, chain.addresses, providers);
    }

    const build = await buildWeb(chain.rpcUrl, chain.addresses);
    const appPort = await freePort(appPorts);
    const web = await startWeb(build, appPort, webLogs);
    procs.push(web.server);

    return {
      rpcUrl: chain.rpcUrl,
      appUrl: web.url,
      chainId: CHAIN_ID,
      addresses: chain.addresses,
      providers,
      demoDealId,
      devKey,
      async newContext(o: NewContextOptions = {}) {
        const context = await launchBrowser();
        sessions.push(context);
        const wallet =
          o.key === undefined
            ? undefined
            : await installTestWallet(context, {
                privateKey: devKey(o.key),
                rpcUrl: chain.rpcUrl,
                chainId: o.chainId ?? CHAIN_ID,
                name: o.name,
              });
        const page = context.pages()[0] ?? (await context.newPage());
        return { context, page, wallet };
      },
      logs: () =>
        `--- providers ---\n${providerLogs.slice(-40).join("\n")}\n--- web ---\n${webLogs.slice(-40).join("\n")}`,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A base port with HTTP/TCP/WS (base + 10·i + 0…2) free for `count` providers. */
async function freePortBlock(range: PortRange, count: number): Promise<number> {
  for (let b = range.from; b + 10 * (count - 1) + 2 <= range.to; b += 10 * count) {
    let ok = true;
    for (let i = 0; i < count && ok; i++)
      for (let k = 0; k < 3 && ok; k++) ok = await isFree(b + 10 * i + k);
    if (ok) return b;
  }
  throw new Error(`no free provider ports in ${range.from}-${range.to}`);
}
