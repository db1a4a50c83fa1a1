// Configuration: defaults < config file (JSON) < environment (COOP_PROVIDER_*) < command-line
// flags, validated once at start with zod. A bad value stops the node with one sentence naming
// the field and what is allowed (ConfigError).
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";

import { z } from "zod";

import { ConfigError } from "./errors.ts";

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, { error: "must be a 0x-prefixed 20-byte hex address" });
const port = z.coerce
  .number({ error: "must be a port number from 0 to 65535" })
  .int({ error: "must be a port number from 0 to 65535" })
  .min(0, { error: "must be a port number from 0 to 65535" })
  .max(65535, { error: "must be a port number from 0 to 65535" });
const positiveInt = (what: string) =>
  z.coerce
    .number({ error: `must be ${what}` })
    .int({ error: `must be ${what}` })
    .min(1, { error: `must be ${what}` });
const nonNegativeInt = (what: string) =>
  z.coerce
    .number({ error: `must be ${what}` })
    .int({ error: `must be ${what}` })
    .min(0, { error: `must be ${what}` });
const bool = z.union([z.boolean(), z.enum(["true", "false"]).transform((s) => s === "true")], {
  error: "must be true or false",
});
const url = z.url({ error: "must be a URL such as http://127.0.0.1:8545" });

export const configSchema = z.strictObject(
  {
    /** Folder holding everything the node keeps (blocks, shard records, keys, chain cursor). */
    dataDir: z
      .string({ error: "must be a folder path" })
      .min(1, { error: "must be a folder path" }),
    chain: z.strictObject(
      {
        rpcUrl: url,
        /** The chain id the RPC must report; stops the node on a mismatch. */
        chainId: positiveInt("a positive chain id").optional(),
        market: address,
        /** Payment token; @default the market's token() */
        token: address.optional(),
        /** CoopMembership; @default the market's membership() */
        membership: address.optional(),
        /** First block to scan for market events (the market's deployment block). */
        fromBlock: nonNegativeInt("a block number").default(0),
        /** Blocks behind the head before an event is acted on (reorg safety on public chains). */
        confirmations: nonNegativeInt("a number of blocks").default(0),
        /** Milliseconds between polls of the chain. */
        pollMs: positiveInt("a number of milliseconds ≥ 1").default(1000),
      },
      { error: "must be an object with rpcUrl and market (token and membership optional)" },
    ),
    wallet: z
      .strictObject({
        /** Encrypted keystore (Web3 Secret Storage v3). @default <dataDir>/wallet.json */
        keystore: z.string().optional(),
        /** File holding the keystore password (else COOP_PROVIDER_PASSWORD). */
        passwordFile: z.string().optional(),
      })
      .default({}),
    http: z
      .strictObject({
        host: z.string().default("127.0.0.1"),
        port: port.default(8080),
        /** URL registered on-chain for uploads. @default http://<host>:<port> */
        publicUrl: url.optional(),
        /** Origins allowed by CORS; "*" for any. */
        corsOrigins: z.array(z.string()).default(["*"]),
        /** Largest shard body accepted, in bytes. */
        maxShardBytes: positiveInt("a number of bytes ≥ 1").default(8 * 2 ** 30),
      })
      .default({
        host: "127.0.0.1",
        port: 8080,
        corsOrigins: ["*"],
        maxShardBytes: 8 * 2 ** 30,
      }),
    ipfs: z
      .strictObject({
        /** local: no bootstrap or public discovery; public: joins the IPFS network. */
        mode: z
          .enum(["local", "public"], { error: 'must be "local" or "public"' })
          .default("local"),
        host: z.string().default("127.0.0.1"),
        tcpPort: port.default(4001),
        wsPort: port.default(4002),
        /** Multiaddrs registered on-chain and announced. @default the listen addresses */
        announce: z.array(z.string()).default([]),
        /** Bootstrap peers for public mode. @default libp2p's public list */
        bootstrap: z.array(z.string()).default([]),
        /**
         * Public mode: keep private and loopback addresses in DHT peer records, for an IPFS
         * network of one's own on a LAN or one machine. Off, the DHT drops them (as the public
         * network's peers do) and ignores peers reachable only at such addresses.
         */
        dhtPrivateAddresses: bool.default(false),
      })
      .default({
        mode: "local",
        host: "127.0.0.1",
        tcpPort: 4001,
        wsPort: 4002,
        announce: [],
        bootstrap: [],
        dhtPrivateAddresses: false,
      }),
    /** Bytes this node offers (also its local limit for shards). */
    capacity: positiveInt("a number of bytes ≥ 1").default(10 * 2 ** 30),
    /** Disk space always left free: an upload that would eat into it is refused (disk_full). */
    minFreeBytes: nonNegativeInt("a number of bytes").default(2 ** 30),
    prover: z
      .strictObject({
        /** Tree level kept per shard (CCMT): a proof reads 2^L segments. */
        cacheLevel: z.coerce
          .number()
          .int()
          .min(0, { error: "must be an integer from 0 to 11" })
          .max(11, { error: "must be an integer from 0 to 11" })
          .default(6),
      })
      .default({ cacheLevel: 6 }),
    watcher: z.strictObject({ enabled: bool.default(true) }).default({ enabled: true }),
    scrub: z
      .strictObject({
        enabled: bool.default(true),
        /** Seconds between scrub passes. */
        intervalSec: positiveInt("a number of seconds ≥ 1").default(3600),
        /** Read rate limit in bytes per second. */
        bytesPerSec: positiveInt("a number of bytes per second ≥ 1").default(50 * 2 ** 20),
      })
      .default({ enabled: true, intervalSec: 3600, bytesPerSec: 50 * 2 ** 20 }),
    repair: z
      .strictObject({
        enabled: bool.default(true),
        maxConcurrent: positiveInt("a number ≥ 1").default(1),
      })
      .default({ enabled: true, maxConcurrent: 1 }),
    log: z
      .strictObject({
        level: z
          .enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"], {
            error: "must be one of trace, debug, info, warn, error, fatal, silent",
          })
          .default("info"),
        format: z
          .enum(["json", "pretty"], { error: 'must be "json" or "pretty"' })
          .default("pretty"),
      })
      .default({ level: "info", format: "pretty" }),
  },
  { error: "must be an object" },
);

export type ProviderConfig = z.infer<typeof configSchema>;
/** The config as written in a file: every default optional. */
export type ProviderConfigInput = z.input<typeof configSchema>;

/** Environment variables read, each setting one field. */
export const ENV_FIELDS: Record<string, string> = {
  COOP_PROVIDER_DATA_DIR: "dataDir",
  COOP_PROVIDER_RPC_URL: "chain.rpcUrl",
  COOP_PROVIDER_CHAIN_ID: "chain.chainId",
  COOP_PROVIDER_MARKET: "chain.market",
  COOP_PROVIDER_TOKEN: "chain.token",
  COOP_PROVIDER_MEMBERSHIP: "chain.membership",
  COOP_PROVIDER_PASSWORD_FILE: "wallet.passwordFile",
  COOP_PROVIDER_HTTP_HOST: "http.host",
  COOP_PROVIDER_HTTP_PORT: "http.port",
  COOP_PROVIDER_PUBLIC_URL: "http.publicUrl",
  COOP_PROVIDER_IPFS_MODE: "ipfs.mode",
  COOP_PROVIDER_TCP_PORT: "ipfs.tcpPort",
  COOP_PROVIDER_WS_PORT: "ipfs.wsPort",
  COOP_PROVIDER_CAPACITY: "capacity",
  COOP_PROVIDER_MIN_FREE_BYTES: "minFreeBytes",
  COOP_PROVIDER_WATCHER: "watcher.enabled",
  COOP_PROVIDER_SCRUB_INTERVAL: "scrub.intervalSec",
  COOP_PROVIDER_REPAIR: "repair.enabled",
  COOP_PROVIDER_POLL_MS: "chain.pollMs",
  COOP_PROVIDER_MAX_SHARD_BYTES: "http.maxShardBytes",
  COOP_PROVIDER_LOG_LEVEL: "log.level",
  COOP_PROVIDER_LOG_FORMAT: "log.format",
};

type Tree = { [key: string]: unknown };

function setPath(obj: Tree, path: string, value: unknown): void {
  const keys = path.split(".");
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== "object" || o[k] === null) o[k] = {};
    o = o[k] as Tree;
  }
  o[keys[keys.length - 1]] = value;
}

/** The config file of a data folder. */
export function configFileOf(dataDir: string): string {
  return join(dataDir, "config.json");
}

export interface LoadConfigOptions {
  /** Config file; @default <dataDir>/config.json when a data folder is known. */
  file?: string;
  /** Environment. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Values from flags, as dotted paths ("http.port") to values. */
  overrides?: Record<string, unknown>;
}

/** Describes one zod issue as "field: what is allowed". */
function describeIssue(issue: z.core.$ZodIssue): ConfigError {
  const field = issue.path.length ? issue.path.join(".") : "(config)";
  let what = issue.message;
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((k) => (field === "(config)" ? k : `${field}.${k}`));
    return new ConfigError(
      keys[0],
      `Invalid configuration: ${keys.join(", ")} ${keys.length > 1 ? "are" : "is"} not a known setting.`,
    );
  }
  if (issue.code === "invalid_type" && issue.input === undefined) what = "is required";
  else if (!/^(must|is) /.test(what)) what = `is invalid (${what})`;
  return new ConfigError(field, `Invalid configuration: ${field} ${what}.`);
}

/** Reads, merges and validates the configuration; throws ConfigError on the first bad field. */
export function loadConfig(options: LoadConfigOptions = {}): ProviderConfig {
  const env = options.env ?? process.env;
  const tree: Tree = {};
  const flags = options.overrides ?? {};
  const dataDir = (flags.dataDir as string | undefined) ?? env.COOP_PROVIDER_DATA_DIR;
  const file = options.file ?? (dataDir ? configFileOf(dataDir) : undefined);
  if (file !== undefined) {
    if (!existsSync(file)) {
      if (options.file !== undefined)
        throw new ConfigError(
          "config",
          `Invalid configuration: the config file ${file} does not exist.`,
        );
    } else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(file, "utf8"));
      } catch (e) {
        throw new ConfigError(
          "config",
          `Invalid configuration: ${file} is not valid JSON (${(e as Error).message}).`,
        );
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new ConfigError("config", `Invalid configuration: ${file} must hold a JSON object.`);
      Object.assign(tree, parsed);
    }
  }
  for (const [name, path] of Object.entries(ENV_FIELDS))
    if (env[name] !== undefined && env[name] !== "") setPath(tree, path, env[name]);
  for (const [path, value] of Object.entries(flags))
    if (value !== undefined) setPath(tree, path, value);
  const result = configSchema.safeParse(tree);
  if (!result.success) throw describeIssue(result.error.issues[0]);
  const config = result.data;
  config.dataDir = resolve(config.dataDir);
  const rel = (p: string) => (isAbsolute(p) ? p : resolve(config.dataDir, p));
  config.wallet.keystore = rel(config.wallet.keystore ?? "wallet.json");
  if (config.wallet.passwordFile) config.wallet.passwordFile = rel(config.wallet.passwordFile);
  return config;
}

/** The password of the keystore: COOP_PROVIDER_PASSWORD, else the configured password file. */
export function readPassword(config: ProviderConfig, env = process.env): string {
  if (env.COOP_PROVIDER_PASSWORD !== undefined) return env.COOP_PROVIDER_PASSWORD;
  if (config.wallet.passwordFile) return readFileSync(config.wallet.passwordFile, "utf8").trimEnd();
  throw new ConfigError(
    "wallet.passwordFile",
    "Invalid configuration: wallet.passwordFile is required when COOP_PROVIDER_PASSWORD is not set.",
  );
}
