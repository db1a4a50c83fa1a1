// `npm start`: the whole local co-op cloud in one command. Starts a Hardhat
// JSON-RPC chain on 127.0.0.1, deploys every contract with Ignition (admin
// roles renounced, as in production; epochs of a few seconds), exports ABIs and
// addresses for the SDK, provider nodes and web app, starts four provider nodes
// (members, registered and staked) with a demo deal to prove, builds the web app
// for this chain (unless its last build is newer than the addresses and sources) and
// serves it with `next start`, prints it all, and runs until Ctrl-C or SIGTERM,
// which stop every process it started.
import { type ChildProcess, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { exportContracts, readDeployments } from "./export-contracts.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const hardhatBin = join(root, "node_modules/.bin/hardhat");

const { values: opts } = parseArgs({
  options: {
    port: { type: "string", default: process.env.COOP_CHAIN_PORT ?? "8545" },
    "exit-after-deploy": { type: "boolean", default: false },
    /** First port of the providers: provider i uses base + 10·i (HTTP), + 1 (TCP), + 2 (WS). */
    "provider-port": { type: "string", default: "7100" },
    providers: { type: "string", default: "4" },
    /** Seconds per epoch on the local chain. */
    "epoch-length": { type: "string", default: "10" },
    /** The web app's port on 127.0.0.1. */
    "web-port": { type: "string", default: "3000" },
    /** Folder of the run's state (provider data folders, Ignition parameters). */
    "data-dir": { type: "string", default: ".dev" },
  },
});
const rpcUrl = `http://127.0.0.1:${opts.port}`;
const dataDir = resolve(root, opts["data-dir"]);
const webDir = join(root, "web");
// The web app's build folder (NEXT_DIST_DIR, as for `next build`): web/.next by default.
const webDist = process.env.NEXT_DIST_DIR ?? ".next";
const webUrl = `http://127.0.0.1:${opts["web-port"]}`;
const children: ChildProcess[] = [];
// Children must run under the project's Node 24 even when this script was
// started by hand with another node on PATH.
const childEnv = {
  ...process.env,
  PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH ?? ""}`,
  COOP_CHAIN_PORT: opts.port,
  COOP_IGNITION_POLL_MS: "50",
};

let stopping = false;
/** Stops every child (SIGTERM, SIGKILL after 10 s), waits for them, then exits. */
async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
    await Promise.all(
      children.filter(alive).map(async (c) => {
        const exited = new Promise((r) => c.once("exit", r));
        c.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (alive(c)) c.kill("SIGKILL");
      }),
    );
  }
  process.exit(code);
}
// npm may exit first and close our output: a write must not kill us before the children stop.
process.stdout.on("error", () => undefined);
process.stderr.on("error", () => undefined);
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));
process.on("SIGHUP", () => void stopAll(0));
// If whoever started us (npm) goes away without passing its signal on, stop too: a SIGTERM
// sent to npm alone must not leave the chain holding its port.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stopAll(0);
}, 500).unref();

function fail(message: string): never {
  console.error(`\n✖ ${message}`);
  void stopAll(1);
  throw new Error(message);
}

function run(args: string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(hardhatBin, args, {
      cwd: root,
      stdio: ["ignore", "inherit", "inherit"],
      env: childEnv,
    });
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${what} exited with ${code}`)),
    );
  });
}

async function chainId(): Promise<number | undefined> {
  try {
    const res = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    });
    const body = (await res.json()) as { result?: string };
    return body.result ? Number(body.result) : undefined;
  } catch {
    return undefined;
  }
}

async function startChain(): Promise<number> {
  if ((await chainId()) !== undefined) {
    fail(`something already answers on ${rpcUrl}; stop it or pass --port`);
  }
  const node = spawn(hardhatBin, ["node", "--hostname", "127.0.0.1", "--port", opts.port], {
    cwd: root,
    env: childEnv,
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(node);
  node.on("exit", (code) => {
    if (!stopping) fail(`the chain stopped (exit ${code})`);
  });
  for (let i = 0; i < 300; i++) {
    const id = await chainId();
    if (id !== undefined) return id;
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`the chain did not answer on ${rpcUrl} within 30 s`);
}

function portFree(port: number): Promise<boolean> {
  const srv = createServer();
  return new Promise((resolve) => {
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** Newest modification time (ms) of the files under these paths. */
function newestMtime(paths: string[]): number {
  let newest = 0;
  const walk = (p: string) => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (!st.isDirectory()) newest = Math.max(newest, st.mtimeMs);
    else for (const e of readdirSync(p)) if (e !== "node_modules") walk(join(p, e));
  };
  for (const p of paths) walk(p);
  return newest;
}

/**
 * `next build` of web/ for this chain: the RPC URL and the addresses are baked in at build
 * time. Skipped when the last build (for the same chain URL and addresses) is newer than the
 * addresses file, the web sources and the sdk they compile in.
 */
async function buildWeb(env: NodeJS.ProcessEnv, addresses: Record<string, string>) {
  const stampFile = join(webDir, webDist, "coop-dev-build.json");
  const stamp = JSON.stringify({ rpcUrl, chainId: env.NEXT_PUBLIC_CHAIN_ID, addresses });
  const sources = [
    "sdk/src",
    "web/src",
    "web/next.config.ts",
    "web/package.json",
    "web/postcss.config.mjs",
  ].map((p) => join(root, p));
  if (
    existsSync(stampFile) &&
    readFileSync(stampFile, "utf8") === stamp &&
    statSync(stampFile).mtimeMs > newestMtime(sources)
  )
    return "up to date";
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(join(root, "node_modules/.bin/next"), ["build"], {
      cwd: webDir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`next build exited with ${code}:\n${out}`)),
    );
  });
  writeFileSync(stampFile, stamp);
  return `built in ${Math.round((Date.now() - started) / 1000)} s`;
}

/** `next start` on 127.0.0.1:--web-port; resolves once the app answers. */
async function startWeb(env: NodeJS.ProcessEnv): Promise<void> {
  const web = spawn(
    join(root, "node_modules/.bin/next"),
    ["start", "--hostname", "127.0.0.1", "--port", opts["web-port"]],
    { cwd: webDir, env, stdio: ["ignore", "ignore", "inherit"] },
  );
  children.push(web);
  web.on("exit", (code) => {
    if (!stopping) fail(`the web app stopped (exit ${code})`);
  });
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(webUrl, { signal: AbortSignal.timeout(5000) })).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`the web app did not answer on ${webUrl} within 60 s`);
}

if (!opts["exit-after-deploy"] && !(await portFree(Number(opts["web-port"]))))
  fail(`port ${opts["web-port"]} is taken; stop what uses it or pass --web-port`);
console.log("▶ compiling contracts");
await run(["build", "--quiet"], "hardhat build").catch((e: Error) => fail(e.message));
console.log(`▶ starting the chain on ${rpcUrl}`);
const id = await startChain();
// A fresh chain each run: Ignition's journal of the previous local run is stale.
rmSync(join(root, `ignition/deployments/chain-${id}`), { recursive: true, force: true });
console.log("▶ deploying the co-op's contracts");
// Ignition parameters of this run: epochs of a few seconds, so proofs land while you watch.
const paramsFile = join(dataDir, "ignition-params.json");
mkdirSync(dirname(paramsFile), { recursive: true });
writeFileSync(
  paramsFile,
  JSON.stringify({ CoopCloudLocal: { epochLength: `${Number(opts["epoch-length"])}n` } }),
);
await run(
  [
    "ignition",
    "deploy",
    "ignition/modules/CoopCloudLocal.ts",
    "--network",
    "localhost",
    // The test build (already made above) rather than an isolated production build: a local
    // chain needs no verifiable artifacts, and the production build takes a minute here.
    "--build-profile",
    "default",
    "--parameters",
    paramsFile,
  ],
  "ignition deploy",
).catch((e: Error) => fail(e.message));
exportContracts();

const addresses = readDeployments()[String(id)] ?? {};
console.log(`\nCo-operative Cloud is up — chain ${id} at ${rpcUrl}\n`);
for (const [name, address] of Object.entries(addresses))
  console.log(`  ${name.padEnd(22)} ${address}`);
if (opts["exit-after-deploy"]) await stopAll(0);

// The web app builds while the providers start (the build only needs the addresses).
const webEnv = {
  ...childEnv,
  NEXT_TELEMETRY_DISABLED: "1",
  NEXT_DIST_DIR: webDist,
  NEXT_PUBLIC_RPC_URL: rpcUrl,
  NEXT_PUBLIC_CHAIN_ID: String(id),
};
console.log(`\n▶ building the web app (web/${webDist}) while the providers start`);
const webBuild = buildWeb(webEnv, addresses).catch((e: Error) => fail(e.message));

console.log(`\n▶ starting ${opts.providers} provider nodes`);
// Loaded only now: it imports the ABIs that exportContracts() has just written.
const { createDemoDeal, devKey, startDevProviders } = await import("./dev-providers.ts");
const providers = await startDevProviders({
  root,
  rpcUrl,
  addresses,
  basePort: Number(opts["provider-port"]),
  count: Number(opts.providers),
  env: childEnv,
  dataDir: join(dataDir, "providers"),
  onSpawn: (child) => children.push(child),
  onExit: (name, code) => {
    if (!stopping) fail(`${name} stopped (exit ${code})`);
  },
}).catch((e: Error) => fail(e.message));
const dealId = await createDemoDeal(rpcUrl, addresses, providers).catch((e: Error) =>
  fail(`demo deal: ${e.message}`),
);
console.log(
  `\nProvider nodes (members, registered and staked; demo deal ${dealId} stored on all four):\n`,
);
for (const p of providers)
  console.log(`  ${p.name.padEnd(11)} ${p.address}  ${p.http}  ${p.multiaddr}`);
console.log(
  `\nEpochs are ${opts["epoch-length"]} s; watch for "epoch proven" lines. Data folders: ${join(opts["data-dir"], "providers")}/.`,
);
console.log("ABIs and addresses: sdk/src/contracts/generated/.");
const built = await webBuild;
await startWeb(webEnv);
console.log(
  `\nThe dApp (web app ${built}): ${webUrl}\n` +
    `  connect a browser wallet to chain ${id} at ${rpcUrl} with a dev key (below), or browse read-only.`,
);
// Hardhat's public account #10: no provider or demo deal uses it, so it is free for a person.
console.log(
  `\nStore a file (another terminal; a public test key, never for real money):\n` +
    `  echo ${devKey(10)} | npx coop wallet import\n` +
    `  npx coop faucet && npx coop put <file> && npx coop ls\n\nPress Ctrl-C to stop.`,
);
