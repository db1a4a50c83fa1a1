// The co-op's contracts as one object: viem clients, the deployed addresses, typed reads and
// one write path (simulate → send → wait) whose reverts come back as words. Every client call
// (put, get, membership, governance, patronage) goes through this; the CLI and the web app
// never handle a raw ABI.
import {
  type Abi,
  type Account,
  type Address,
  type BlockNumber,
  type BlockTag,
  type Chain,
  type ContractEventName,
  type GetContractEventsParameters,
  type GetContractEventsReturnType,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
  BaseError,
  ContractFunctionRevertedError,
  NonceTooLowError,
  getContract,
} from "viem";

import {
  coopGovernorAbi,
  coopMembershipAbi,
  coopTimelockAbi,
  faucetTokenAbi,
  patronageTreasuryAbi,
  storageMarketAbi,
} from "../contracts/generated/abis.ts";
import { type LogScan, getContractEventsInRanges, logScan } from "./events.ts";
import { decodeRevertData, describeRevert } from "./revert-words.ts";

/** Addresses of one deployment of the co-op (what scripts/export-contracts.ts writes per chain). */
export interface CoopAddresses {
  FaucetToken: Address;
  CoopMembership: Address;
  CoopGovernor: Address;
  CoopTimelock: Address;
  PatronageTreasury: Address;
  StorageMarket: Address;
  StorageMarketExtension?: Address;
}

export interface CoopContractsOptions {
  publicClient: PublicClient<Transport, Chain | undefined>;
  /** Needed for writes and key derivation; reads work without one. */
  walletClient?: WalletClient<Transport, Chain | undefined, Account>;
  addresses: CoopAddresses;
  /** The block the co-op was deployed in: event scans start there. @default 0n */
  fromBlock?: bigint;
  /**
   * Blocks per eth_getLogs request that event scans start with; halved whenever the RPC
   * refuses a range as too wide or too large. @default 10000
   */
  logRange?: number;
}

/** A transaction's life, for progress displays: signing → sent (hash) → mined. */
export type TxStatus =
  | { stage: "signing"; what: string }
  | { stage: "sent"; what: string; hash: Hex }
  | { stage: "mined"; what: string; hash: Hex; receipt: TransactionReceipt };

export interface SendOptions {
  onStatus?: (status: TxStatus) => void;
}

/**
 * A contract call reverted or could not be sent. `message` is one sentence a person can act
 * on; `errorName`/`args` carry the contract's custom error when there was one.
 */
export class ContractCallError extends Error {
  name = "ContractCallError";
  /** What was being done, e.g. `"createDeal"`. */
  readonly what: string;
  /** The contract's custom error name (`MarketNotMember`, `ERC20InsufficientBalance`…), if any. */
  readonly errorName: string | undefined;
  readonly args: readonly unknown[];
  /** The transaction, when it was sent and then reverted. */
  readonly hash: Hex | undefined;

  constructor(
    what: string,
    message: string,
    details: { errorName?: string; args?: readonly unknown[]; hash?: Hex; cause?: unknown } = {},
  ) {
    super(`${what}: ${message}`, { cause: details.cause });
    this.what = what;
    this.errorName = details.errorName;
    this.args = details.args ?? [];
    this.hash = details.hash;
  }
}

/** No wallet was given, and the call needs one. */
export class NoWalletError extends Error {
  name = "NoWalletError";
  constructor(what: string) {
    super(`${what} needs a wallet: connect one (or pass --key / a keystore to the CLI)`);
  }
}

/** Turns any error of a viem call into a ContractCallError with the revert in words. */
export function toContractCallError(what: string, e: unknown, hash?: Hex): ContractCallError {
  if (e instanceof ContractCallError) return e;
  if (e instanceof BaseError) {
    const r = e.walk((x) => x instanceof ContractFunctionRevertedError);
    if (r instanceof ContractFunctionRevertedError && r.data?.errorName) {
      const args = r.data.args ?? [];
      return new ContractCallError(what, describeRevert(r.data.errorName, args), {
        errorName: r.data.errorName,
        args,
        hash,
        cause: e,
      });
    }
    // Raised by another contract than the one called (the token inside join, the timelock
    // inside execute): not in the called ABI, so decode it against every co-op contract.
    const bubbled =
      r instanceof ContractFunctionRevertedError ? decodeRevertData(r.raw) : undefined;
    if (bubbled)
      return new ContractCallError(what, describeRevert(bubbled.errorName, bubbled.args), {
        ...bubbled,
        hash,
        cause: e,
      });
    if (r instanceof ContractFunctionRevertedError && r.reason)
      return new ContractCallError(what, r.reason, { hash, cause: e });
    const rejected = e.walk((x) => (x as { code?: number }).code === 4001);
    if (rejected)
      return new ContractCallError(what, "you rejected the request in your wallet", {
        hash,
        cause: e,
      });
    return new ContractCallError(what, e.shortMessage, { hash, cause: e });
  }
  return new ContractCallError(what, (e as Error)?.message ?? String(e), { hash, cause: e });
}

/** The deployed contracts with typed reads, and `send` for writes. */
export class CoopContracts {
  readonly publicClient: PublicClient<Transport, Chain | undefined>;
  readonly walletClient: WalletClient<Transport, Chain | undefined, Account> | undefined;
  readonly addresses: CoopAddresses;

  /** The block the co-op was deployed in: where event scans start. */
  readonly fromBlock: bigint;

  /** The block range event scans ask for (lowered, and kept, when the RPC refuses one). */
  readonly logScan: LogScan;

  constructor(options: CoopContractsOptions) {
    this.publicClient = options.publicClient;
    this.walletClient = options.walletClient;
    this.addresses = options.addresses;
    this.fromBlock = options.fromBlock ?? 0n;
    this.logScan = logScan(options.logRange);
  }

  /**
   * `publicClient.getContractEvents` in block ranges the RPC accepts (getContractEventsInRanges):
   * every event scan of the client goes through this, so a public RPC's eth_getLogs caps do not
   * break it.
   */
  getContractEvents<
    const abi extends Abi | readonly unknown[],
    eventName extends ContractEventName<abi> | undefined = undefined,
    strict extends boolean | undefined = undefined,
    fromBlock extends BlockNumber | BlockTag | undefined = undefined,
    toBlock extends BlockNumber | BlockTag | undefined = undefined,
  >(
    parameters: GetContractEventsParameters<abi, eventName, strict, fromBlock, toBlock>,
  ): Promise<GetContractEventsReturnType<abi, eventName, strict, fromBlock, toBlock>> {
    return getContractEventsInRanges(this.publicClient, parameters, this.logScan);
  }

  /** The wallet's address; throws NoWalletError without a wallet. */
  account(what = "this"): Address {
    if (!this.walletClient) throw new NoWalletError(what);
    return this.walletClient.account.address;
  }

  /** Typed read-only contract instances (`market.read.getDeal([id])`). */
  get market() {
    return getContract({
      address: this.addresses.StorageMarket,
      abi: storageMarketAbi,
      client: this.publicClient,
    });
  }
  get token() {
    return getContract({
      address: this.addresses.FaucetToken,
      abi: faucetTokenAbi,
      client: this.publicClient,
    });
  }
  get membership() {
    return getContract({
      address: this.addresses.CoopMembership,
      abi: coopMembershipAbi,
      client: this.publicClient,
    });
  }
  get governor() {
    return getContract({
      address: this.addresses.CoopGovernor,
      abi: coopGovernorAbi,
      client: this.publicClient,
    });
  }
  get timelock() {
    return getContract({
      address: this.addresses.CoopTimelock,
      abi: coopTimelockAbi,
      client: this.publicClient,
    });
  }
  get treasury() {
    return getContract({
      address: this.addresses.PatronageTreasury,
      abi: patronageTreasuryAbi,
      client: this.publicClient,
    });
  }

  /**
   * Sends one transaction: simulated first on the pending block (a revert surfaces as the
   * contract's custom error in words, with no gas spent), then signed, sent and waited for.
   * The gas limit is the estimate plus a quarter: an estimate made before another member's
   * transaction lands in the same block (a join writing the same checkpoints first) can fall
   * short by the difference between a fresh and a warm storage write.
   * Resolves with the receipt; throws ContractCallError.
   */
  async send(
    what: string,
    request: {
      address: Address;
      abi: readonly unknown[];
      functionName: string;
      args?: readonly unknown[];
    },
    options: SendOptions = {},
  ): Promise<TransactionReceipt> {
    const wallet = this.walletClient;
    if (!wallet) throw new NoWalletError(what);
    const req = {
      ...request,
      args: request.args ?? [],
      account: wallet.account,
      chain: wallet.chain ?? null,
    };
    // A key used by two programs at once (a provider's node and its owner's CLI vote) can lose
    // the nonce race: nothing was sent, so the call is prepared again with the next nonce.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#sendOnce(what, req, options);
      } catch (e) {
        const raced =
          e instanceof ContractCallError &&
          e.hash === undefined &&
          e.cause instanceof BaseError &&
          e.cause.walk((x) => x instanceof NonceTooLowError) !== null;
        if (!raced || attempt === 3 || wallet.account.type !== "local") throw e;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  async #sendOnce(
    what: string,
    req: Record<string, unknown>,
    options: SendOptions,
  ): Promise<TransactionReceipt> {
    const wallet = this.walletClient!;
    let hash: Hex | undefined;
    try {
      await this.publicClient.simulateContract({ ...req, blockTag: "pending" } as never);
      const gas = await this.publicClient.estimateContractGas({
        ...req,
        blockTag: "pending",
      } as never);
      options.onStatus?.({ stage: "signing", what });
      hash = await wallet.writeContract({ ...req, gas: gas + gas / 4n } as never);
      options.onStatus?.({ stage: "sent", what, hash });
      const receipt = await this.publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success")
        throw new ContractCallError(what, `the transaction reverted (${hash})`, { hash });
      options.onStatus?.({ stage: "mined", what, hash, receipt });
      return receipt;
    } catch (e) {
      throw toContractCallError(what, e, hash);
    }
  }
}
