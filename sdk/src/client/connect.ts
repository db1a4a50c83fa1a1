// Connecting to the co-op: one RPC URL (and a wallet for writes) in, CoopContracts out. Checks
// the chain id, finds the deployment's addresses, and makes sure contracts are really there,
// so a wrong network or a restarted local chain is one clear sentence, not a failing call later.
import {
  type Account,
  type Address,
  type Chain,
  type Transport,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
} from "viem";

import { deploymentBlocks, deployments } from "../contracts/generated/addresses.ts";
import { type CoopAddresses, CoopContracts } from "./contracts.ts";
import { setDefaultTokenUnits } from "./format.ts";

/** The RPC answered with another chain id than the one asked for. */
export class WrongNetworkError extends Error {
  name = "WrongNetworkError";
  readonly expected: number;
  readonly actual: number;
  constructor(expected: number, actual: number, rpcUrl: string) {
    super(
      `${rpcUrl} serves chain ${actual}, not chain ${expected}: switch the wallet or RPC URL to chain ${expected}, or ask for chain ${actual}`,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/** No co-op deployment is known for the chain, and no addresses were given. */
export class UnknownNetworkError extends Error {
  name = "UnknownNetworkError";
  readonly chainId: number;
  constructor(chainId: number, known: string[] = Object.keys(deployments)) {
    super(
      `no co-op deployment is known on chain ${chainId}${known.length ? ` (known: ${known.join(", ")})` : ""}: give the contract addresses, or deploy (npm start) and export them (npm run export-contracts)`,
    );
    this.chainId = chainId;
  }
}

/** The RPC could not be reached or did not answer like an Ethereum node. */
export class RpcUnreachableError extends Error {
  name = "RpcUnreachableError";
  constructor(rpcUrl: string, cause: unknown) {
    super(
      `cannot reach an Ethereum node at ${rpcUrl}: check the URL, or start the local chain (npm start)`,
      { cause },
    );
  }
}

/** An address that should hold a co-op contract holds no code (wrong addresses, or a restarted chain). */
export class ContractsNotDeployedError extends Error {
  name = "ContractsNotDeployedError";
  readonly chainId: number;
  readonly missing: string[];
  constructor(chainId: number, missing: string[]) {
    super(
      `no contract code on chain ${chainId} for ${missing.join(", ")}: the addresses are wrong or the chain was restarted; deploy again (npm start) and export the addresses (npm run export-contracts)`,
    );
    this.chainId = chainId;
    this.missing = missing;
  }
}

export interface ConnectOptions {
  /** JSON-RPC endpoint for reads (and for writes with a local account). */
  rpcUrl: string;
  /** The wallet: a local account (privateKeyToAccount) or a JSON-RPC account (browser wallet). */
  account?: Account;
  /**
   * Transport for the wallet's writes, e.g. `custom(window.ethereum)` for a browser wallet;
   * defaults to the RPC URL (right for local accounts, which sign in process).
   */
  walletTransport?: Transport;
  /** Contract addresses; default: the exported deployment of the chain. */
  addresses?: CoopAddresses;
  /**
   * The block the co-op was deployed in, where event scans (files, proposals, providers,
   * dividends) start. @default the exported deployment's first block, else 0 (public RPCs may
   * refuse a scan from block 0: give it there)
   */
  fromBlock?: bigint;
  /**
   * Blocks per eth_getLogs request that event scans start with. Public RPCs cap the range
   * (often 500–50,000 blocks) or the result size of eth_getLogs; a refused range is halved and
   * the working one kept for the connection's later scans. @default 10000
   */
  logRange?: number;
  /**
   * Transport for the reads instead of `http(rpcUrl)` (`fallback`, `webSocket`, or a wrapper
   * that logs or limits requests).
   */
  transport?: Transport;
  /** The chain expected; a different chain id at the RPC is a WrongNetworkError. */
  chainId?: number;
  /** Milliseconds between polls for receipts and blocks. @default 100 on chain 31337, else 1000 */
  pollingInterval?: number;
}

/** The exported addresses of chain `chainId`, or UnknownNetworkError. */
export function deploymentAddresses(
  chainId: number,
  known: Record<string, Record<string, string>> = deployments,
): CoopAddresses {
  const d = known[String(chainId)];
  if (!d?.StorageMarket) throw new UnknownNetworkError(chainId, Object.keys(known));
  return d as unknown as CoopAddresses;
}

/** The first block of the exported deployment of chain `chainId` (0 when unknown). */
export function deploymentBlock(chainId: number): bigint {
  return BigInt(deploymentBlocks[String(chainId)] ?? 0);
}

const CHECKED: (keyof CoopAddresses)[] = [
  "FaucetToken",
  "CoopMembership",
  "CoopGovernor",
  "CoopTimelock",
  "PatronageTreasury",
  "StorageMarket",
];

/**
 * Connects to the co-op on the chain at `rpcUrl`: checks the chain id (WrongNetworkError),
 * resolves the addresses (UnknownNetworkError), checks that contract code is there
 * (ContractsNotDeployedError) and reads the token's decimals and symbol so amounts are shown
 * in the token's units.
 */
export async function connectCoop(options: ConnectOptions): Promise<CoopContracts> {
  const transport = options.transport ?? http(options.rpcUrl);
  const probe = createPublicClient({ transport });
  let actual: number;
  try {
    actual = await probe.getChainId();
  } catch (e) {
    throw new RpcUnreachableError(options.rpcUrl, e);
  }
  if (options.chainId !== undefined && options.chainId !== actual)
    throw new WrongNetworkError(options.chainId, actual, options.rpcUrl);
  const addresses = options.addresses ?? deploymentAddresses(actual);

  const chain: Chain = defineChain({
    id: actual,
    name: actual === 31337 ? "Local chain" : `Chain ${actual}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [options.rpcUrl] } },
  });
  const pollingInterval = options.pollingInterval ?? (actual === 31337 ? 100 : 1000);
  const publicClient = createPublicClient({
    chain,
    transport,
    pollingInterval,
  });
  const codes = await Promise.all(
    CHECKED.map((name) => publicClient.getCode({ address: addresses[name] as Address })),
  );
  const missing = CHECKED.filter((_, i) => !codes[i] || codes[i] === "0x");
  if (missing.length) throw new ContractsNotDeployedError(actual, missing);

  const walletClient = options.account
    ? createWalletClient({
        account: options.account,
        chain,
        transport: options.walletTransport ?? http(options.rpcUrl),
        pollingInterval,
      })
    : undefined;
  const fromBlock = options.fromBlock ?? (options.addresses ? 0n : deploymentBlock(actual));
  const coop = new CoopContracts({
    publicClient,
    walletClient,
    addresses,
    fromBlock,
    logRange: options.logRange,
  });
  const [decimals, symbol] = await Promise.all([
    coop.token.read.decimals(),
    coop.token.read.symbol(),
  ]);
  setDefaultTokenUnits({ decimals, symbol });
  return coop;
}

/**
 * The chain's current time (the latest block's timestamp, Unix seconds): what the contracts
 * compare deadlines with, which on a local chain can run ahead of the wall clock.
 */
export async function chainTime(c: CoopContracts): Promise<bigint> {
  return (await c.publicClient.getBlock({ blockTag: "latest" })).timestamp;
}
