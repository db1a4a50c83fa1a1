// The README's first command: `npm start` brings up a chain with every
// contract deployed, wired, and administered by the timelock alone, four
// provider nodes that prove every epoch, and the web app. Run through npm itself,
// so the SIGTERM at the end goes to npm alone, as a service manager would send it.
// Its state goes to a folder of its own (--data-dir), and the web app builds into
// web/.next-e2e, so a `npm start` running on the default ports is left alone.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import {
  createPublicClient,
  createWalletClient,
  http,
  parseAbiItem,
  zeroHash,
  type Address,
} from "viem";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const port = 18545 + Math.floor(Math.random() * 1000);
const providerPort = 30000 + Math.floor(Math.random() * 20000);
const webPort = 50000 + Math.floor(Math.random() * 10000);
const npmCli =
  process.env.npm_execpath ??
  spawnSync("sh", ["-c", "realpath $(command -v npm)"], { encoding: "utf8" }).stdout.trim();

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

describe("npm start (scripts/dev.ts)", () => {
  let dev: ChildProcess;
  let output = "";
  const addresses: Record<string, Address> = {};
  const providers: { name: string; address: Address; http: string }[] = [];
  let webUrl = "";

  before(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "coop-dev-stack-"));
    dev = spawn(
      join(root, "node_modules/.bin/node"),
      [
        npmCli,
        "start",
        "--",
        "--port",
        String(port),
        "--provider-port",
        String(providerPort),
        "--epoch-length",
        "4",
        "--web-port",
        String(webPort),
        "--data-dir",
        dataDir,
      ],
      {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NEXT_DIST_DIR: ".next-e2e" },
      },
    );
    dev.stderr!.on("data", (b: Buffer) => (output += b.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no "Press Ctrl-C" line in 600 s:\n${output}`)),
        600_000,
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
    for (const m of output.matchAll(/^\s+(provider-\d)\s+(0x[0-9a-fA-F]{40})\s+(http\S+)/gm))
      providers.push({ name: m[1], address: m[2] as Address, http: m[3] });
    webUrl = /^The dApp \(web app [^)]*\): (http\S+)$/m.exec(output)?.[1] ?? "";
  });

  after(async () => {
    // npm ends by the signal it was sent (exitCode stays null, signalCode is set).
    if (dev.exitCode === null && dev.signalCode === null) {
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
      "StorageMarketExtension",
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

  it("starts four provider nodes, each registered and proving every epoch", async () => {
    assert.equal(providers.length, 4, output);
    const client = createPublicClient({ transport: http(`http://127.0.0.1:${port}`) });
    const proven = parseAbiItem(
      "event EpochProven(address indexed provider, uint256 indexed epoch)",
    );
    const deadline = Date.now() + 90_000;
    for (;;) {
      const logs = await client.getLogs({
        address: addresses.StorageMarket,
        event: proven,
        fromBlock: 0n,
      });
      const count = (a: Address) => logs.filter((l) => l.args.provider === a).length;
      if (providers.every((p) => count(p.address) >= 2)) break;
      assert.ok(Date.now() < deadline, `not every provider proved twice:\n${output}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    for (const p of providers) {
      const status = (await (await fetch(`${p.http}/status`)).json()) as { shards: number };
      assert.equal(status.shards, 1, `${p.name} holds the demo deal's shard`);
    }
  });

  it("serves the web app at the URL it prints", async () => {
    assert.equal(webUrl, `http://127.0.0.1:${webPort}`, output);
    const res = await fetch(webUrl);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<title>Co-operative Cloud<\/title>/);
  });

  it("stores and reads back a file with the steps it prints (npx coop)", async () => {
    const key = /echo (0x[0-9a-f]{64}) \| npx coop wallet import/.exec(output)?.[1];
    assert.ok(key, `no wallet import line in:\n${output}`);
    const dir = mkdtempSync(join(tmpdir(), "coop-readme-"));
    const env = {
      ...process.env,
      COOP_DATA_DIR: join(dir, "data"),
      COOP_PASSWORD: "readme",
      COOP_RPC_URL: `http://127.0.0.1:${port}`,
    };
    const node = join(root, "node_modules/.bin/node");
    const coop = async (args: string[], input?: string) => {
      // From the clone, as the README says (npx finds the workspace's coop bin there).
      const child = promisify(execFile)(node, [npmCli, "exec", "--", "coop", ...args], {
        cwd: root,
        env,
      });
      if (input !== undefined) child.child.stdin!.end(input);
      return (await child).stdout;
    };
    await coop(["wallet", "import"], `${key}\n`);
    await coop(["faucet"]);
    const file = join(dir, "notes.txt");
    const bytes = randomBytes(300_000);
    writeFileSync(file, bytes);
    const put = JSON.parse(await coop(["put", file, "--json"])) as { dealId: string };
    const listed = JSON.parse(await coop(["ls", "--json"])) as unknown;
    assert.match(JSON.stringify(listed), /notes\.txt/);
    await coop(["get", put.dealId, "-o", join(dir, "copy.txt"), "--json"]);
    assert.deepEqual(readFileSync(join(dir, "copy.txt")), bytes);
  });

  it("stops the chain and every provider on a SIGTERM sent to npm alone", async () => {
    dev.kill("SIGTERM");
    await once(dev, "exit");
    const client = createPublicClient({
      transport: http(`http://127.0.0.1:${port}`, { retryCount: 0 }),
    });
    // The processes npm started wind down after it exits: give them a few seconds.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const chainUp = await client.getChainId().then(
        () => true,
        () => false,
      );
      const up = await Promise.all(providers.map((p) => answers(`${p.http}/health`)));
      const webUp = await answers(webUrl);
      if (!chainUp && !up.some(Boolean) && !webUp) break;
      assert.ok(
        Date.now() < deadline,
        `still up after SIGTERM: chain ${chainUp}, providers ${up}, web ${webUp}`,
      );
      await new Promise((r) => setTimeout(r, 500));
    }
  });
});
