// The four local provider nodes of `npm start`: each a member with its own data folder under
// .dev/providers, its own ports, registered and staked, started as a `coop-provider` process;
// plus a demo deal of random bytes spread over them so there is something to prove.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";

import { computeShardCommitment, computeUnixfsCid } from "../sdk/src/cid/index.ts";
import { faucetTokenAbi, storageMarketAbi } from "../sdk/src/contracts/generated/abis.ts";
import {
  type Address,
  bytesToHex,
  createPublicClient,
  createWalletClient,
  http,
  parseEventLogs,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";

const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

export interface DevProvider {
  name: string;
  address: Address;
  http: string;
  multiaddr: string;
  dataDir: string;
  process: ChildProcess;
}

export interface DevProvidersOptions {
  root: string;
  rpcUrl: string;
  addresses: Record<string, string>;
  basePort: number;
  count: number;
  env: NodeJS.ProcessEnv;
  onExit(name: string, code: number | null): void;
  /** Each provider process as soon as it is spawned (so a signal during start-up stops it). */
  onSpawn(child: ChildProcess): void;
  /** Where the providers' data folders go (emptied first). @default <root>/.dev/providers */
  dataDir?: string;
  /** Each notable log line (proofs, acceptances, warnings). @default printed to stdout */
  log?(name: string, line: string): void;
}

/** Hardhat's development account `i` (public test keys). */
export function devKey(i: number): `0x${string}` {
  const hd = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: i }).getHdKey();
  return bytesToHex(hd.privateKey as Uint8Array);
}

export async function startDevProviders(o: DevProvidersOptions): Promise<DevProvider[]> {
  const node = join(o.root, "node_modules/.bin/node");
  const cli = join(o.root, "provider-node/src/cli.ts");
  const base = o.dataDir ?? join(o.root, ".dev/providers");
  // A fresh chain every run: last run's provider state would point at a chain that is gone.
  rmSync(base, { recursive: true, force: true });
  mkdirSync(base, { recursive: true });
  // Two glibc malloc arenas: hash worker threads' own arenas kept freed upload memory (docs/provider.md).
  const env = {
    ...o.env,
    MALLOC_ARENA_MAX: "2",
    COOP_PROVIDER_PASSWORD: "local dev only",
    COOP_PROVIDER_POLL_MS: "500",
  };
  const out: DevProvider[] = [];
  for (let i = 0; i < o.count; i++) {
    const name = `provider-${i + 1}`;
    const dataDir = join(base, name);
    const [httpPort, tcpPort, wsPort] = [0, 1, 2].map((k) => o.basePort + 10 * i + k);
    const run = (args: string[]) =>
      execFileSync(node, [cli, ...args, "--data-dir", dataDir], {
        env,
        cwd: o.root,
        encoding: "utf8",
      });
    const init = JSON.parse(
      run([
        "init",
        "--rpc-url",
        o.rpcUrl,
        "--market",
        o.addresses.StorageMarket,
        "--token",
        o.addresses.FaucetToken,
        "--membership",
        o.addresses.CoopMembership,
        "--chain-id",
        "31337",
        "--http-port",
        String(httpPort),
        "--tcp-port",
        String(tcpPort),
        "--ws-port",
        String(wsPort),
        "--capacity",
        String(4 * 2 ** 30),
        "--import-key",
        devKey(i + 1),
        "--kdf-n",
        "1024",
      ]),
    ) as { address: Address; peerId: string };
    run(["register", "--faucet", "--stake", String(10_000_000)]);
    // A 1 MB young generation keeps an upload's short-lived garbage from piling up (docs/provider.md).
    const args = ["--max-semi-space-size=1", cli, "start", "--data-dir", dataDir];
    const child = spawn(node, [...args, "--log-format", "pretty"], {
      cwd: o.root,
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    child.stdout!.on("data", (b: Buffer) => {
      for (const line of b.toString().split("\n"))
        if (/epoch proven|shard accepted|withdrew|WARN|ERROR|ready/.test(line)) {
          if (o.log) o.log(name, line);
          else process.stdout.write(`  [${name}] ${line}\n`);
        }
    });
    o.onSpawn(child);
    child.on("exit", (code) => o.onExit(name, code));
    out.push({
      name,
      address: init.address,
      http: `http://127.0.0.1:${httpPort}`,
      multiaddr: `/ip4/127.0.0.1/tcp/${tcpPort}/p2p/${init.peerId}`,
      dataDir,
      process: child,
    });
  }
  for (const p of out) await waitForHealth(p.http);
  return out;
}

async function waitForHealth(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

/** Account #0 stores 3 MiB of random bytes as a k = 2, n = 4 deal across the providers. */
export async function createDemoDeal(
  rpcUrl: string,
  addresses: Record<string, string>,
  providers: DevProvider[],
) {
  const account = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: 0 });
  const transport = http(rpcUrl);
  const pub = createPublicClient({ transport, pollingInterval: 100 });
  const wallet = createWalletClient({ transport, account });
  const market = addresses.StorageMarket as Address;
  const token = addresses.FaucetToken as Address;
  const shardSize = 1536 * 1024;
  const shards = providers.map(() => new Uint8Array(randomBytes(shardSize)));
  const roots = (await Promise.all(shards.map((s) => computeShardCommitment([s])))).map((c) =>
    bytesToHex(c.root),
  );
  const manifest = new Uint8Array(randomBytes(2048));
  const manifestCid = (await computeUnixfsCid([manifest])).cid;
  const send = async (req: object) => {
    const hash = await wallet.writeContract({ chain: null, ...req } as never);
    return pub.waitForTransactionReceipt({ hash });
  };
  const duration = 1000n;
  const [, escrow, fee] = await pub.readContract({
    address: market,
    abi: storageMarketAbi,
    functionName: "quoteDeal",
    args: [BigInt(shardSize), BigInt(providers.length), duration],
  });
  await send({ address: token, abi: faucetTokenAbi, functionName: "faucet" });
  await send({
    address: token,
    abi: faucetTokenAbi,
    functionName: "approve",
    args: [market, escrow + fee],
  });
  const receipt = await send({
    address: market,
    abi: storageMarketAbi,
    functionName: "createDeal",
    args: [
      {
        k: 2,
        shardSize: BigInt(shardSize),
        durationEpochs: Number(duration),
        roots,
        providers: providers.map((p) => p.address),
        manifestCid: bytesToHex(manifestCid.bytes),
      },
    ],
  });
  const [ev] = parseEventLogs({
    abi: storageMarketAbi,
    eventName: "DealCreated",
    logs: receipt.logs,
  });
  const dealId = ev.args.dealId;
  for (let i = 0; i < providers.length; i++) {
    const res = await fetch(`${providers[i].http}/deals/${dealId}/shards/${i}`, {
      method: "PUT",
      body: shards[i] as Uint8Array<ArrayBuffer>,
    });
    if (res.status !== 201)
      throw new Error(`upload to ${providers[i].name}: ${res.status} ${await res.text()}`);
    await fetch(`${providers[i].http}/deals/${dealId}/manifest`, {
      method: "PUT",
      body: manifest as Uint8Array<ArrayBuffer>,
    });
  }
  return dealId;
}
