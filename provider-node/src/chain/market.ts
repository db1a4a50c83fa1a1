// The node's view of the chain: viem clients, the market's reads and writes, and one queue that
// sends this wallet's transactions one after another (so nonces never collide between the
// upload path and the epoch loop). Everything that the market's issue-6 interface changes
// (seeds, challenges, proof-set entries, repair claims) is in this file's "epoch" section, so
// adapting to a new ABI is a one-file change.
import {
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
  type Account,
  type Chain,
  type Transport,
  BaseError,
  ContractFunctionRevertedError,
  NonceTooLowError,
  createPublicClient,
  createWalletClient,
  http,
  parseEventLogs,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

import {
  coopMembershipAbi,
  faucetTokenAbi,
  storageMarketAbi,
} from "@coop-cloud/sdk/contracts/generated/abis.ts";
import { getContractEventsInRanges, logScan } from "@coop-cloud/sdk/client/events.ts";

import type { ProviderConfig } from "../config.ts";
import { createLogger, type Logger } from "../log.ts";

export { storageMarketAbi };

export type ShardStatus = "Assigned" | "Active" | "Lost" | "Closed";
const STATUS: ShardStatus[] = ["Assigned", "Active", "Lost", "Closed"];

export interface DealInfo {
  owner: Address;
  k: number;
  n: number;
  shardSize: bigint;
  leafCount: number;
  createdEpoch: number;
  startEpoch: number;
  endEpoch: number;
  shardRate: bigint;
  cancelled: boolean;
  manifestCid: Hex;
}

export interface ShardInfo {
  status: ShardStatus;
  lost: boolean;
  provider: Address;
  root: Hex;
  /** Assigned: epoch of assignment. Active: first unpaid epoch. */
  epoch: number;
  repairReward: bigint;
  challenger: Address;
  /** Block whose hash draws an open targeted challenge's segment. */
  challengeSeedBlock: bigint;
  /** Last epoch to answer it; 0 until its segment is drawn. */
  challengeDeadline: number;
  /** The holder's proof-set entry. */
  entry: number;
}

/** Roots and providers of a deal as created (from its DealCreated event). */
export interface DealCommitment {
  roots: Hex[];
  providers: Address[];
}

/** The name and arguments of a market custom error, when a call reverted with one. */
export function revertName(e: unknown): { name: string; args: readonly unknown[] } | undefined {
  if (!(e instanceof BaseError)) return undefined;
  const r = e.walk((x) => x instanceof ContractFunctionRevertedError);
  if (r instanceof ContractFunctionRevertedError && r.data?.errorName)
    return { name: r.data.errorName, args: r.data.args ?? [] };
  return undefined;
}

/** Short, human message of a viem error (never a stack). */
export function shortError(e: unknown): string {
  const r = revertName(e);
  if (r) return `${r.name}(${r.args.map(String).join(", ")})`;
  if (e instanceof BaseError) {
    // "Missing or invalid parameters" alone does not say which call failed or why: add the
    // node's own message and the JSON-RPC method.
    let text = "";
    let deepest: unknown = e;
    e.walk((x) => {
      text += ` ${(x as Error).message}`;
      deepest = x;
      return false;
    });
    const method = /"method":"(\w+)"/.exec(text)?.[1];
    const why = (deepest as { details?: string; message?: string }).details ?? e.details;
    const details = why && !e.shortMessage.includes(why) ? `: ${why}` : "";
    return `${e.shortMessage}${details}${method ? ` (${method})` : ""}`;
  }
  return (e as Error)?.message ?? String(e);
}

export class Market {
  readonly public: PublicClient<Transport, Chain | undefined>;
  readonly wallet: WalletClient<Transport, Chain | undefined, Account>;
  readonly account: Account;
  readonly address: Address;
  readonly market: Address;
  #token: Address | undefined;
  #membership: Address | undefined;
  readonly #fromBlock: bigint;
  readonly #log: Logger;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #commitments = new Map<bigint, DealCommitment>();
  /** eth_getLogs block range for the DealCreated scan (lowered when the RPC refuses one). */
  readonly #logScan = logScan();

  constructor(config: ProviderConfig, privateKey: Hex) {
    this.#log = createLogger("provider:chain");
    this.account = privateKeyToAccount(privateKey);
    this.address = this.account.address;
    const transport = http(config.chain.rpcUrl, { retryCount: 2, timeout: 15_000 });
    this.public = createPublicClient({ transport, pollingInterval: config.chain.pollMs });
    this.wallet = createWalletClient({ transport, account: this.account });
    this.market = config.chain.market as Address;
    this.#token = config.chain.token as Address | undefined;
    this.#membership = config.chain.membership as Address | undefined;
    this.#fromBlock = BigInt(config.chain.fromBlock);
  }

  /**
   * A Market whose payment token and membership contract are the config's, or, where the config
   * leaves them out, the ones the market itself names (its `token()` and `membership()`).
   */
  static async connect(config: ProviderConfig, privateKey: Hex): Promise<Market> {
    const m = new Market(config, privateKey);
    const read = async (functionName: "token" | "membership") => {
      try {
        return await m.public.readContract({
          address: m.market,
          abi: storageMarketAbi,
          functionName,
        });
      } catch (e) {
        throw new Error(
          `the market at ${m.market} did not name its ${functionName} (${shortError(e)}): check chain.market and chain.rpcUrl, or set chain.${functionName}`,
          { cause: e },
        );
      }
    };
    m.#token ??= await read("token");
    m.#membership ??= await read("membership");
    return m;
  }

  /** The payment token (from the config, else from the market: see connect()). */
  get token(): Address {
    if (!this.#token) throw new Error("Market.token read before Market.connect() resolved it");
    return this.#token;
  }

  /** The CoopMembership contract (from the config, else from the market: see connect()). */
  get membership(): Address {
    if (!this.#membership)
      throw new Error("Market.membership read before Market.connect() resolved it");
    return this.#membership;
  }

  // ───────────── transactions ─────────────

  /**
   * Sends one market (or token/membership) transaction after every earlier one of this node has
   * been mined; simulates first so a revert surfaces as the contract's custom error, without gas
   * spent. Resolves with the receipt; throws when the transaction reverts.
   */
  send(
    what: string,
    request: {
      address?: Address;
      abi?: readonly unknown[];
      functionName: string;
      args?: readonly unknown[];
      /** Called with the hash once the transaction is sent, before it is mined. */
      onSent?: (hash: Hex) => void;
    },
  ): Promise<{ hash: Hex; blockNumber: bigint; logs: readonly unknown[] }> {
    const run = async () => {
      const req = {
        address: request.address ?? this.market,
        abi: (request.abi ?? storageMarketAbi) as typeof storageMarketAbi,
        functionName: request.functionName as "withdraw",
        args: (request.args ?? []) as [],
        account: this.account,
        chain: null,
      };
      // Simulated on the pending block: its timestamp is now, so epoch checks see this epoch.
      await this.public.simulateContract({ ...req, blockTag: "pending" } as never);
      let hash: Hex;
      for (let attempt = 1; ; attempt++) {
        try {
          hash = await this.wallet.writeContract(req as never);
          break;
        } catch (e) {
          // The same key used elsewhere at once (the member's CLI) took this nonce: nothing
          // was sent, so send again with the next one.
          const raced =
            e instanceof BaseError && e.walk((x) => x instanceof NonceTooLowError) !== null;
          if (!raced || attempt === 3) throw e;
          await new Promise((r) => setTimeout(r, 100 * attempt));
        }
      }
      request.onSent?.(hash);
      const receipt = await this.public.waitForTransactionReceipt({
        hash,
        pollingInterval: 100,
        timeout: 120_000,
      });
      if (receipt.status !== "success") throw new Error(`${what} reverted (${hash})`);
      this.#log.debug({ tx: hash, what }, "transaction mined");
      return { hash, blockNumber: receipt.blockNumber, logs: receipt.logs };
    };
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  // ───────────── reads ─────────────

  /** Whether every transaction this wallet sent has been mined (no nonce still pending). */
  async ownTransactionsMined(): Promise<boolean> {
    const [pending, latest] = await Promise.all([
      this.public.getTransactionCount({ address: this.address, blockTag: "pending" }),
      this.public.getTransactionCount({ address: this.address, blockTag: "latest" }),
    ]);
    return pending <= latest;
  }

  async chainId(): Promise<number> {
    return this.public.getChainId();
  }

  /** The market's current epoch at the chain's current time (a pending-block call). */
  async currentEpoch(): Promise<number> {
    const e = await this.public.readContract({
      address: this.market,
      abi: storageMarketAbi,
      functionName: "currentEpoch",
      blockTag: "pending",
    });
    return Number(e);
  }

  async epochClock(): Promise<{ anchorTime: number; anchorEpoch: number; length: number }> {
    const [anchorTime, anchorEpoch, length] = await this.public.readContract({
      address: this.market,
      abi: storageMarketAbi,
      functionName: "epochClock",
    });
    return {
      anchorTime: Number(anchorTime),
      anchorEpoch: Number(anchorEpoch),
      length: Number(length),
    };
  }

  async params() {
    return this.public.readContract({
      address: this.market,
      abi: storageMarketAbi,
      functionName: "params",
    });
  }

  async getDeal(dealId: bigint): Promise<DealInfo> {
    const d = await this.public.readContract({
      address: this.market,
      abi: storageMarketAbi,
      functionName: "getDeal",
      args: [dealId],
    });
    return {
      owner: d.owner,
      k: d.k,
      n: d.n,
      shardSize: d.shardSize,
      leafCount: d.leafCount,
      createdEpoch: d.createdEpoch,
      startEpoch: d.startEpoch,
      endEpoch: d.endEpoch,
      shardRate: d.shardRate,
      cancelled: d.cancelled,
      manifestCid: d.manifestCid,
    };
  }

  async getShard(dealId: bigint, shard: number): Promise<ShardInfo> {
    const s = await this.public.readContract({
      address: this.market,
      abi: storageMarketAbi,
      functionName: "getShard",
      args: [dealId, BigInt(shard)],
    });
    return {
      status: STATUS[s.status],
      lost: s.lost,
      provider: s.provider,
      root: s.root,
      epoch: s.epoch,
      repairReward: s.repairReward,
      challenger: s.challenger,
      challengeSeedBlock: s.challengeSeedBlock,
      challengeDeadline: s.challengeDeadline,
      entry: s.entry,
    };
  }

  async getProvider(provider: Address = this.address) {
    return this.public.readContract({
      address: this.market,
      abi: storageMarketAbi,
      functionName: "getProvider",
      args: [provider],
    });
  }

  async balanceOf(account: Address = this.address): Promise<bigint> {
    return this.public.readContract({
      address: this.market,
      abi: storageMarketAbi,
      functionName: "balanceOf",
      args: [account],
    });
  }

  async tokenBalance(account: Address = this.address): Promise<bigint> {
    return this.public.readContract({
      address: this.token,
      abi: faucetTokenAbi,
      functionName: "balanceOf",
      args: [account],
    });
  }

  /** Roots and providers of a deal, from its DealCreated event (cached: they never change). */
  async getDealCommitment(dealId: bigint): Promise<DealCommitment | undefined> {
    const hit = this.#commitments.get(dealId);
    if (hit) return hit;
    // From the deployment block to the head, in ranges a public RPC accepts.
    const logs = await getContractEventsInRanges(
      this.public,
      {
        address: this.market,
        abi: storageMarketAbi,
        eventName: "DealCreated",
        args: { dealId },
        fromBlock: this.#fromBlock,
        toBlock: "latest",
      },
      this.#logScan,
    );
    const log = logs[0];
    if (!log) return undefined;
    const c = {
      roots: [...log.args.request!.roots],
      providers: [...log.args.request!.providers],
    };
    this.#commitments.set(dealId, c);
    return c;
  }

  // ───────────── provider actions ─────────────

  async acceptShard(dealId: bigint, shard: number, c: DealCommitment) {
    return this.send("acceptShard", {
      functionName: "acceptShard",
      args: [dealId, BigInt(shard), c.roots, c.providers],
    });
  }

  async declareLost(dealId: bigint, shard: number) {
    return this.send("declareLost", { functionName: "declareLost", args: [dealId, BigInt(shard)] });
  }

  async settleShard(dealId: bigint, shard: number) {
    return this.send("settleShard", { functionName: "settleShard", args: [dealId, BigInt(shard)] });
  }

  async withdraw() {
    return this.send("withdraw", { functionName: "withdraw" });
  }

  async reportMissedEpoch(provider: Address, epoch: number) {
    return this.send("reportMissedEpoch", {
      functionName: "reportMissedEpoch",
      args: [provider, BigInt(epoch)],
    });
  }

  /** Joins the co-op (approving the share) unless already a member. */
  async ensureMember(): Promise<void> {
    const member = await this.public.readContract({
      address: this.membership,
      abi: coopMembershipAbi,
      functionName: "isMember",
      args: [this.address],
    });
    if (member) return;
    const share = await this.public.readContract({
      address: this.membership,
      abi: coopMembershipAbi,
      functionName: "shareAmount",
    });
    await this.approve(this.membership, share);
    await this.send("join", {
      address: this.membership,
      abi: coopMembershipAbi,
      functionName: "join",
    });
  }

  async approve(spender: Address, amount: bigint) {
    return this.send("approve", {
      address: this.token,
      abi: faucetTokenAbi,
      functionName: "approve",
      args: [spender, amount],
    });
  }

  /** Local and test chains only: draws from the payment token's faucet. */
  async faucet() {
    return this.send("faucet", {
      address: this.token,
      abi: faucetTokenAbi,
      functionName: "faucet",
    });
  }

  async register(endpoint: string, multiaddrs: string[], capacity: bigint, stake: bigint) {
    await this.approve(this.market, stake);
    return this.send("register", {
      functionName: "register",
      args: [endpoint, multiaddrs, capacity, stake],
    });
  }

  async updateProvider(endpoint: string, multiaddrs: string[], capacity: bigint) {
    return this.send("updateProvider", {
      functionName: "updateProvider",
      args: [endpoint, multiaddrs, capacity],
    });
  }

  async leave() {
    return this.send("leave", { functionName: "leave" });
  }

  /** Decodes the market events in a receipt's logs. */
  parseLogs(logs: readonly unknown[]) {
    return parseEventLogs({ abi: storageMarketAbi, logs: logs as never });
  }
}
