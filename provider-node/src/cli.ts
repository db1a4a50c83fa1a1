#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1
// coop-provider: init, register, start, status, leave. Settings come from the data folder's
// config.json, the environment (COOP_PROVIDER_*) and these flags, validated once (config.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

import { Command, Option } from "commander";
import { type Hex, formatUnits, isHex } from "viem";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";

import { Market, revertName, shortError } from "./chain/market.ts";
import { configFileOf, loadConfig, readPassword, type ProviderConfig } from "./config.ts";
import { ConfigError, KeystoreError } from "./errors.ts";
import { loadPeerId } from "./ipfs/peer-id.ts";
import { encryptKeystore } from "@coop-cloud/sdk/node/keystore.ts";
import { configureLogging } from "./log.ts";
import { loadWalletKey } from "./wallet.ts";

interface GlobalFlags {
  dataDir?: string;
  config?: string;
  rpcUrl?: string;
  logLevel?: string;
  logFormat?: string;
}

function configFrom(cmd: Command, extra: Record<string, unknown> = {}): ProviderConfig {
  const g = cmd.optsWithGlobals() as GlobalFlags;
  return loadConfig({
    file: g.config,
    overrides: {
      dataDir: g.dataDir,
      "chain.rpcUrl": g.rpcUrl,
      "log.level": g.logLevel,
      "log.format": g.logFormat,
      ...extra,
    },
  });
}

function fail(e: unknown): never {
  if (e instanceof ConfigError || e instanceof KeystoreError) console.error(e.message);
  else console.error(`coop-provider: ${shortError(e)}`, process.env.COOP_DEBUG ? e : "");
  process.exit(1);
}

const program = new Command()
  .name("coop-provider")
  .description(
    "A Co-operative Cloud provider node: store shards, prove them every epoch, get paid.",
  )
  .option(
    "-d, --data-dir <dir>",
    "data folder (config.json, keys, blocks); env COOP_PROVIDER_DATA_DIR",
  )
  .option("-c, --config <file>", "config file (default: <data-dir>/config.json)")
  .option("--rpc-url <url>", "JSON-RPC URL of the chain")
  .addOption(
    new Option("--log-level <level>").choices([
      "trace",
      "debug",
      "info",
      "warn",
      "error",
      "silent",
    ]),
  )
  .addOption(new Option("--log-format <format>").choices(["json", "pretty"]));

program
  .command("init")
  .description(
    "create a data folder: config.json, an encrypted wallet keystore and the node's libp2p key",
  )
  .option(
    "--import-key <hex>",
    "use this private key (else env COOP_PROVIDER_IMPORT_KEY, else a new one)",
  )
  .option("--market <address>", "StorageMarket address")
  .option("--token <address>", "payment token address (default: the market's)")
  .option("--membership <address>", "CoopMembership address (default: the market's)")
  .option("--chain-id <id>", "expected chain id")
  .option("--http-port <port>", "HTTP API port")
  .option("--public-url <url>", "HTTP endpoint registered on-chain")
  .option("--tcp-port <port>", "libp2p TCP port")
  .option("--ws-port <port>", "libp2p WebSocket port")
  .option("--capacity <bytes>", "bytes offered")
  .addOption(new Option("--ipfs-mode <mode>").choices(["local", "public"]))
  .option(
    "--password-file <file>",
    "file holding the keystore password (else env COOP_PROVIDER_PASSWORD)",
  )
  .option("--kdf-n <n>", "scrypt cost of the keystore (local test chains may use 4096)", "262144")
  .action(async (o: Record<string, string | undefined>, cmd: Command) => {
    try {
      const g = cmd.optsWithGlobals() as GlobalFlags;
      const dataDir = resolve(g.dataDir ?? process.env.COOP_PROVIDER_DATA_DIR ?? "");
      if (!g.dataDir && !process.env.COOP_PROVIDER_DATA_DIR)
        throw new ConfigError(
          "dataDir",
          "Invalid configuration: dataDir is required (--data-dir).",
        );
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const file = g.config ?? configFileOf(dataDir);
      const existing = existsSync(file)
        ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, Record<string, unknown>>)
        : {};
      const put = (section: string, key: string, v: unknown) => {
        if (v === undefined) return;
        existing[section] = { ...(existing[section] ?? {}), [key]: v };
      };
      put("chain", "rpcUrl", g.rpcUrl);
      put("chain", "market", o.market);
      put("chain", "token", o.token);
      put("chain", "membership", o.membership);
      put("chain", "chainId", o.chainId === undefined ? undefined : Number(o.chainId));
      put("http", "port", o.httpPort === undefined ? undefined : Number(o.httpPort));
      put("http", "publicUrl", o.publicUrl);
      put("ipfs", "tcpPort", o.tcpPort === undefined ? undefined : Number(o.tcpPort));
      put("ipfs", "wsPort", o.wsPort === undefined ? undefined : Number(o.wsPort));
      put("ipfs", "mode", o.ipfsMode);
      put("wallet", "passwordFile", o.passwordFile);
      const tree = existing as Record<string, unknown>;
      if (o.capacity !== undefined) tree.capacity = Number(o.capacity);
      tree.dataDir = dataDir;
      writeFileSync(file, JSON.stringify(tree, null, 2) + "\n");
      const config = loadConfig({ file }); // validates what was written
      const keystore = config.wallet.keystore as string;
      if (!existsSync(keystore)) {
        const imported = o.importKey ?? process.env.COOP_PROVIDER_IMPORT_KEY;
        if (imported !== undefined && (!isHex(imported) || imported.length !== 66))
          throw new ConfigError(
            "importKey",
            "Invalid configuration: --import-key must be a 0x-prefixed 32-byte hex key.",
          );
        const key = (imported as Hex | undefined) ?? generatePrivateKey();
        const ks = encryptKeystore(key, readPassword(config), { n: Number(o.kdfN) });
        writeFileSync(keystore, JSON.stringify(ks, null, 2) + "\n", { mode: 0o600 });
      }
      const address = privateKeyToAddress(loadWalletKey(config));
      const peerId = await loadPeerId(config.dataDir);
      console.log(JSON.stringify({ dataDir: config.dataDir, config: file, address, peerId }));
    } catch (e) {
      fail(e);
    }
  });

program
  .command("register")
  .description(
    "join the co-op if needed, then register on the market: stake, capacity, HTTP endpoint, multiaddrs",
  )
  .requiredOption("--stake <units>", "stake in token base units")
  .option("--faucet", "draw test tokens from the payment token's faucet first (local chains)")
  .option(
    "--multiaddr <addr...>",
    "libp2p addresses to register (default: from the config and PeerId)",
  )
  .action(async (o: { stake: string; faucet?: boolean; multiaddr?: string[] }, cmd: Command) => {
    try {
      const config = configFrom(cmd);
      configureLogging({ level: "warn", format: config.log.format });
      const market = await Market.connect(config, loadWalletKey(config));
      if (o.faucet) await market.faucet();
      await market.ensureMember();
      const endpoint = config.http.publicUrl ?? `http://${config.http.host}:${config.http.port}`;
      const peerId = await loadPeerId(config.dataDir);
      const ip = config.ipfs.host.includes(":") ? "ip6" : "ip4";
      const addrs =
        o.multiaddr ??
        (config.ipfs.announce.length
          ? config.ipfs.announce
          : [
              `/${ip}/${config.ipfs.host}/tcp/${config.ipfs.tcpPort}/p2p/${peerId}`,
              `/${ip}/${config.ipfs.host}/tcp/${config.ipfs.wsPort}/ws/p2p/${peerId}`,
            ]);
      const p = await market.getProvider();
      const r = p.registered
        ? await market.updateProvider(endpoint, addrs, BigInt(config.capacity))
        : await market.register(endpoint, addrs, BigInt(config.capacity), BigInt(o.stake));
      console.log(
        JSON.stringify({
          address: market.address,
          endpoint,
          multiaddrs: addrs,
          capacity: config.capacity,
          tx: r.hash,
        }),
      );
    } catch (e) {
      fail(e);
    }
  });

program
  .command("start")
  .description("run the node until SIGINT/SIGTERM")
  .option("--http-port <port>", "HTTP API port")
  .option("--no-watcher", "do not report other providers' missed epochs")
  .action(async (o: { httpPort?: string; watcher: boolean }, cmd: Command) => {
    let config: ProviderConfig;
    let key: Hex;
    try {
      config = configFrom(cmd, {
        "http.port": o.httpPort,
        ...(o.watcher ? {} : { "watcher.enabled": false }),
      });
      key = loadWalletKey(config);
    } catch (e) {
      fail(e);
    }
    configureLogging({ level: config.log.level, format: config.log.format });
    try {
      // Helia and libp2p load only now: a bad config is reported before they are imported.
      const { startProviderNode } = await import("./node.ts");
      const node = await startProviderNode(config, key);
      // Whoever reads our output may be gone (a supervisor that exited first): keep stopping cleanly.
      process.stdout.on("error", () => undefined);
      process.stderr.on("error", () => undefined);
      let signals = 0;
      const shutdown = (sig: string) => {
        if (++signals > 1) process.exit(1);
        console.error(`${sig}: stopping`);
        node.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on("SIGINT", () => shutdown("SIGINT"));
      process.on("SIGTERM", () => shutdown("SIGTERM"));
    } catch (e) {
      fail(e);
    }
  });

program
  .command("status")
  .description("print the node's status (from its HTTP API, else from the chain)")
  .action(async (_o: unknown, cmd: Command) => {
    try {
      const config = configFrom(cmd);
      const url = `http://${config.http.host}:${config.http.port}/status`;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
        console.log(JSON.stringify(await res.json(), null, 2));
        return;
      } catch {
        /* not running: read the chain */
      }
      const market = await Market.connect(config, loadWalletKey(config));
      const p = await market.getProvider();
      const balance = await market.balanceOf();
      console.log(
        JSON.stringify(
          {
            running: false,
            address: market.address,
            registered: p.registered,
            stake: formatUnits(p.stake, 6),
            capacity: p.capacity.toString(),
            used: p.used.toString(),
            activeShards: p.activeShards,
            lastProvenEpoch: p.lastProvenEpoch,
            epochsProven: p.provenEpochs.toString(),
            balance: balance.toString(),
          },
          null,
          2,
        ),
      );
    } catch (e) {
      fail(e);
    }
  });

program
  .command("leave")
  .description(
    "deregister (needs no held shards); the stake moves to the withdrawable balance, then withdraw it",
  )
  .action(async (_o: unknown, cmd: Command) => {
    try {
      const config = configFrom(cmd);
      configureLogging({ level: "warn", format: config.log.format });
      const market = await Market.connect(config, loadWalletKey(config));
      const p = await market.getProvider();
      let left: string | null = null;
      if (p.registered) {
        if (p.activeShards > 0 || p.used > 0n)
          throw new Error(
            `${market.address} still holds ${p.activeShards} shard(s) (${p.used} bytes) on the market: it can leave once each has left its proof set (settled after its deal's end, repaired elsewhere or declared lost) and two more epochs have passed, so keep the node running until then.`,
          );
        try {
          left = (await market.leave()).hash;
        } catch (e) {
          if (revertName(e)?.name === "MarketProviderBusy")
            throw new Error(
              `${market.address}'s last shard left its proof set less than two epochs ago, and the market keeps a provider until its missed epochs can no longer be reported: try again in two epochs.`,
              { cause: e },
            );
          throw e;
        }
      }
      const balance = await market.balanceOf();
      if (!p.registered && balance === 0n)
        throw new Error(
          `${market.address} is not registered on the market: there is nothing to leave.`,
        );
      const w = balance > 0n ? await market.withdraw() : undefined;
      console.log(
        JSON.stringify({
          left,
          stake: p.stake.toString(),
          withdrawn: balance.toString(),
          tx: w?.hash ?? null,
        }),
      );
    } catch (e) {
      fail(e);
    }
  });

await program.parseAsync();
