// `npm start`: the whole local co-op cloud in one command. Starts a Hardhat
// JSON-RPC chain on 127.0.0.1, deploys every contract with Ignition (admin
// roles renounced, as in production), exports ABIs and addresses for the
// SDK, provider nodes and web app, prints them, and runs until Ctrl-C.
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
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

function stopAll(code: number): never {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  process.exit(code);
}
process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));

function fail(message: string): never {
  console.error(`\n✖ ${message}`);
  stopAll(1);
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
  node.on("exit", (code) => fail(`the chain stopped (exit ${code})`));
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
  ],
  "ignition deploy",
).catch((e: Error) => fail(e.message));
exportContracts();

const addresses = readDeployments()[String(id)] ?? {};
console.log(`\nCo-operative Cloud is up — chain ${id} at ${rpcUrl}\n`);
for (const [name, address] of Object.entries(addresses))
  console.log(`  ${name.padEnd(18)} ${address}`);
console.log("\nABIs and addresses: sdk/src/contracts/generated/. Press Ctrl-C to stop.");
if (opts["exit-after-deploy"]) stopAll(0);
