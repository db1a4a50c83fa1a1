// `npm start`: the whole local co-op cloud in one command. Starts a Hardhat
// JSON-RPC chain on 127.0.0.1, deploys every contract with Ignition (admin
// roles renounced, as in production; epochs of a few seconds), exports ABIs and
// addresses for the SDK, provider nodes and web app, starts four provider nodes
// (members, registered and staked) with a demo deal to prove, prints it all, and
// runs until Ctrl-C or SIGTERM, which stop every process it started.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
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
  },
});
const rpcUrl = `http://127.0.0.1:${opts.port}`;
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

console.log("▶ compiling contracts");
await run(["build", "--quiet"], "hardhat build").catch((e: Error) => fail(e.message));
console.log(`▶ starting the chain on ${rpcUrl}`);
const id = await startChain();
// A fresh chain each run: Ignition's journal of the previous local run is stale.
rmSync(join(root, `ignition/deployments/chain-${id}`), { recursive: true, force: true });
console.log("▶ deploying the co-op's contracts");
// Ignition parameters of this run: epochs of a few seconds, so proofs land while you watch.
const paramsFile = join(root, ".dev/ignition-params.json");
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
  `\nEpochs are ${opts["epoch-length"]} s; watch for "epoch proven" lines. Data folders: .dev/providers/.`,
);
console.log("ABIs and addresses: sdk/src/contracts/generated/.");
// Hardhat's public account #10: no provider or demo deal uses it, so it is free for a person.
console.log(
  `\nStore a file (another terminal; a public test key, never for real money):\n` +
    `  echo ${devKey(10)} | npx coop wallet import\n` +
    `  npx coop faucet && npx coop put <file> && npx coop ls\n\nPress Ctrl-C to stop.`,
);
