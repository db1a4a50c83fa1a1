// The README's first command: `npm start` brings up a chain with every
// contract deployed, wired, and administered by the timelock alone.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { createPublicClient, createWalletClient, http, zeroHash, type Address } from "viem";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const port = 18545 + Math.floor(Math.random() * 1000);

describe("npm start (scripts/dev.ts)", () => {
  let dev: ChildProcess;
  let output = "";
  const addresses: Record<string, Address> = {};

  before(async () => {
    dev = spawn(join(root, "node_modules/.bin/node"), ["scripts/dev.ts", "--port", String(port)], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    dev.stderr!.on("data", (b: Buffer) => (output += b.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no "is up" line in 240 s:\n${output}`)),
        240_000,
      );
      dev.stdout!.on("data", (b: Buffer) => {
        output += b.toString();
        if (output.includes("Press Ctrl-C")) {
          clearTimeout(timer);
          resolve();
        }
      });
      dev.on("exit", (code) => reject(new Error(`dev.ts exited with ${code}:\n${output}`)));
    });
    for (const m of output.matchAll(/^\s+(\w+)\s+(0x[0-9a-fA-F]{40})$/gm))
      addresses[m[1]] = m[2] as Address;
  });

  after(async () => {
    if (dev.exitCode === null) {
      dev.kill("SIGTERM");
      await once(dev, "exit");
    }
  });

  it("prints the address of every contract", () => {
    for (const name of [
      "FaucetToken",
      "CoopTimelock",
      "CoopMembership",
      "CoopGovernor",
      "PatronageTreasury",
      "StorageMarket",
    ]) {
      assert.match(addresses[name] ?? "", /^0x[0-9a-fA-F]{40}$/, `${name} missing in:\n${output}`);
    }
  });

  it("leaves the timelock as the only administrator", async () => {
    const client = createPublicClient({ transport: http(`http://127.0.0.1:${port}`) });
    const ownerAbi = [
      {
        type: "function",
        name: "owner",
        inputs: [],
        outputs: [{ type: "address" }],
        stateMutability: "view",
      },
    ] as const;
    for (const name of ["CoopMembership", "PatronageTreasury", "StorageMarket"]) {
      const owner = await client.readContract({
        address: addresses[name],
        abi: ownerAbi,
        functionName: "owner",
      });
      assert.equal(owner.toLowerCase(), addresses.CoopTimelock.toLowerCase(), `${name} owner`);
    }
    const [deployer] = await createWalletClient({
      transport: http(`http://127.0.0.1:${port}`),
    }).getAddresses();
    const hasRole = [
      {
        type: "function",
        name: "hasRole",
        inputs: [{ type: "bytes32" }, { type: "address" }],
        outputs: [{ type: "bool" }],
        stateMutability: "view",
      },
    ] as const;
    const deployerIsAdmin = await client.readContract({
      address: addresses.CoopTimelock,
      abi: hasRole,
      functionName: "hasRole",
      args: [zeroHash, deployer],
    });
    assert.equal(deployerIsAdmin, false, "the deployer must not keep the timelock admin role");
  });

  it("stops the chain on SIGTERM", async () => {
    dev.kill("SIGTERM");
    await once(dev, "exit");
    const client = createPublicClient({
      transport: http(`http://127.0.0.1:${port}`, { retryCount: 0 }),
    });
    await assert.rejects(client.getChainId());
  });
});
