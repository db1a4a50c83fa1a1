// putFile: a file in, a deal out. Encode once into staged shards, build and encrypt the manifest,
// create the deal (one permit signature and one transaction), upload every shard and the
// manifest to the providers in parallel, replace any provider that refuses or does not accept
// in time, and keep a journal so an interrupted put resumes without a new deal.
import {
  type Address,
  type Hex,
  bytesToHex,
  hexToBytes,
  isAddressEqual,
  parseEventLogs,
  zeroAddress,
} from "viem";

import { CID } from "multiformats/cid";

import { storageMarketAbi } from "../contracts/generated/abis.ts";
import { InvalidParametersError } from "../errors.ts";
import {
  COMMITMENT_HASH,
  COMMITMENT_SEGMENT_SIZE,
  ENCRYPTION_SCHEME,
  MANIFEST_VERSION,
  type Manifest,
  encryptManifest,
  generateFileId,
  manifestCid as computeManifestCid,
} from "../manifest/index.ts";
import { type ByteInput, encodeFile, type TaskRunner } from "../pipeline/index.ts";
import { type CoopContracts, ContractCallError, type TxStatus } from "./contracts.ts";
import type { KeySession } from "./keys.ts";
import { SHARD_STATUS, dealRecords } from "./deals.ts";
import { ensureAllowance, signPermit } from "./member.ts";
import { ProviderRequestError, putManifest, putShard } from "./provider-api.ts";
import { NotEnoughProvidersError, chooseProviders, listProviders } from "./providers.ts";
import { type ShardStaging, createMemoryStaging } from "./staging.ts";

/**
 * What a put has done so far, as plain JSON (never a key: the envelope is encrypted). Saved to
 * the staging after every step; `resumePut` finishes a put from it.
 */
export interface PutJournal {
  version: 1;
  chainId: number;
  market: Address;
  owner: Address;
  name: string;
  size: number;
  k: number;
  n: number;
  shardSize: number;
  durationEpochs: number;
  /** Segment Merkle root of each shard. */
  roots: Hex[];
  /** UnixFS CID of each shard. */
  cids: string[];
  /** The providers the deal was created with (its commitment, with the roots). */
  providers: Address[];
  manifestCid: string;
  /** The encrypted manifest envelope (hex). */
  envelope: Hex;
  /** The deal id (decimal) once the deal exists. */
  dealId?: string;
  cost?: { escrow: string; fee: string };
  /** Per shard: accepted on-chain. */
  accepted: boolean[];
  /** Providers that hold the manifest envelope. */
  manifestAt: Address[];
}

/** What putFile reports, stage by stage. */
export type PutProgress =
  | { stage: "encode"; plaintextBytes: number; totalBytes: number | undefined; shardBytes: number }
  | {
      stage: "deal";
      status: "quote" | TxStatus["stage"];
      escrow?: bigint;
      fee?: bigint;
      hash?: Hex;
    }
  | { stage: "deal-created"; dealId: bigint; escrow: bigint; fee: bigint }
  | {
      stage: "upload";
      shard: number;
      provider: Address;
      /** Bytes sent of this attempt. */
      bytes: number;
      total: number;
      /** Bytes per second over this attempt so far. */
      rate: number;
    }
  | {
      stage: "retry";
      shard: number;
      provider: Address;
      attempt: number;
      error: string;
      delayMs: number;
    }
  | { stage: "reassign"; shard: number; from: Address; to: Address; reason: string }
  | { stage: "accepted"; shard: number; provider: Address }
  | { stage: "manifest"; provider: Address }
  | { stage: "done"; dealId: bigint };

export interface PutFileOptions {
  /** The file's base name (stored in the encrypted manifest). */
  name: string;
  /** Plaintext bytes, when known beforehand (for progress; checked). */
  size?: number;
  /** @default "application/octet-stream" */
  mimeType?: string;
  /** Data shards; any k of n rebuild the file. @default n − 2 (at least 1) */
  k?: number;
  /** Shards, each on another provider. @default the eligible providers, at most 6 */
  n?: number;
  /** Epochs paid for. */
  durationEpochs: number;
  /** The owner's key session (its KEK wraps the file key in the manifest). */
  keys: KeySession;
  /** Where shards wait for upload. @default in memory */
  staging?: ShardStaging;
  /** Providers to use, one per shard (else chosen from the market). */
  providers?: Address[];
  onProgress?: (progress: PutProgress) => void;
  /** Stops the put; what is done so far stays in the journal for resumePut. */
  signal?: AbortSignal;
  /** Erasure block size (encodeFile's blockSize). */
  blockSize?: number;
  /** Pipeline workers (encodeFile's workers). */
  workers?: TaskRunner | "inline" | number;
}

export interface ResumeOptions {
  onProgress?: (progress: PutProgress) => void;
  signal?: AbortSignal;
}

/** What a finished put stored. */
export interface PutResult {
  dealId: bigint;
  manifestCid: string;
  shards: { index: number; provider: Address; cid: string; root: Hex }[];
  cost: { escrow: bigint; fee: bigint; total: bigint };
}

/** The owner's token balance does not cover the deal. */
export class InsufficientFundsError extends Error {
  name = "InsufficientFundsError";
  readonly needed: bigint;
  readonly balance: bigint;
  constructor(needed: bigint, balance: bigint) {
    super(
      `storing this file costs ${needed} token units (escrow and fee) but the wallet holds ${balance}: add tokens (on a local chain: coop faucet) or store it for fewer epochs`,
    );
    this.needed = needed;
    this.balance = balance;
  }
}

/** A put cannot finish: no provider is left to take a shard, or the deal ended. */
export class PutFailedError extends Error {
  name = "PutFailedError";
}

const STATUS_ASSIGNED = SHARD_STATUS.indexOf("assigned");
const STATUS_ACTIVE = SHARD_STATUS.indexOf("active");

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason ?? new Error("aborted");
}

/**
 * Stores a file: encodes it into staged shards, creates the deal and uploads every shard and the
 * encrypted manifest. Resolves once every shard is accepted on-chain; the staged shards are then
 * deleted. Interrupted (signal, crash), it leaves its journal in the staging: `resumePut`.
 */
export async function putFile(
  c: CoopContracts,
  input: ByteInput,
  options: PutFileOptions,
): Promise<PutResult> {
  const owner = c.account("storing a file");
  const { signal, onProgress } = options;
  if (!Number.isSafeInteger(options.durationEpochs) || options.durationEpochs < 1)
    throw new InvalidParametersError(
      "durationEpochs",
      options.durationEpochs,
      "must be a whole number of epochs, at least 1",
    );
  const staging = options.staging ?? createMemoryStaging();
  // The signature first: the wallet asks before any long work.
  const kek = await options.keys.kek();
  const chainId = options.keys.chainId || (await c.publicClient.getChainId());
  let journaled = false;
  try {
    // How many shards: the explicit providers, else what the market offers (at most 6).
    let n = options.n ?? options.providers?.length;
    const listed = options.providers ? [] : await listProviders(c);
    if (n === undefined) {
      n = Math.min(6, listed.filter((p) => p.registered && !p.failed).length);
      if (n === 0) throw new NotEnoughProvidersError(1, 0, "none is registered");
    }
    const k = options.k ?? Math.max(1, n - 2);
    // Too few providers at all: say so before the encode, not after.
    if (!options.providers) chooseProviders(listed, { count: n, shardSize: 1 });

    // 1. Encode once, into the staging (dropped again if the put fails before its journal).
    const encoded = await encodeFile(input, {
      dataShards: k,
      totalShards: n,
      blockSize: options.blockSize,
      workers: options.workers,
      signal,
      sinks: (i) => staging.sink(i),
      onProgress: (p) =>
        onProgress?.({
          stage: "encode",
          plaintextBytes: p.plaintextBytes,
          totalBytes: options.size,
          shardBytes: p.shardBytes,
        }),
    });
    if (options.size !== undefined && encoded.plaintextLength !== options.size)
      throw new InvalidParametersError(
        "size",
        options.size,
        `the input held ${encoded.plaintextLength} bytes`,
      );

    // 2. Providers for the shards.
    let providers: Address[];
    if (options.providers) {
      if (options.providers.length !== n)
        throw new InvalidParametersError(
          "providers",
          options.providers.length,
          `one provider per shard: ${n}`,
        );
      providers = [...options.providers];
    } else {
      providers = chooseProviders(listed, { count: n, shardSize: encoded.shardSize }).map(
        (p) => p.address,
      );
    }

    // 3. The manifest, encrypted under the owner's KEK.
    const manifest: Manifest = {
      version: MANIFEST_VERSION,
      fileId: generateFileId(),
      name: options.name,
      size: encoded.plaintextLength,
      mimeType: options.mimeType ?? "application/octet-stream",
      createdAt: new Date().toISOString(),
      encryption: {
        scheme: ENCRYPTION_SCHEME,
        chunkSize: encoded.chunkSize,
        ciphertextSize: encoded.ciphertextLength,
        header: bytesToHex(encoded.header),
      },
      erasure: { k, n, blockSize: encoded.blockSize },
      commitment: { hash: COMMITMENT_HASH, segmentSize: COMMITMENT_SEGMENT_SIZE },
      shards: encoded.shards.map((s) => ({
        size: s.size,
        cid: s.cid,
        merkleRoot: s.merkleRoot,
        leafCount: s.leafCount,
      })),
      chainId,
    } as Manifest;
    const envelope = encryptManifest({ manifest, fileKey: encoded.key, kek });
    encoded.key.fill(0);

    const journal: PutJournal = {
      version: 1,
      chainId,
      market: c.addresses.StorageMarket,
      owner,
      name: options.name,
      size: encoded.plaintextLength,
      k,
      n,
      shardSize: encoded.shardSize,
      durationEpochs: options.durationEpochs,
      roots: encoded.shards.map((s) => s.merkleRoot),
      cids: encoded.shards.map((s) => s.cid),
      providers,
      manifestCid: computeManifestCid(envelope).toString(),
      envelope: bytesToHex(envelope),
      accepted: providers.map(() => false),
      manifestAt: [],
    };
    await staging.saveJournal(journal);
    journaled = true;
    return await finishPut(c, journal, staging, { signal, onProgress });
  } catch (e) {
    // Nothing to resume without a journal: the staged shards go.
    if (!journaled) await staging.clear().catch(() => undefined);
    throw e;
  } finally {
    kek.fill(0);
  }
}

/**
 * Finishes a put from its journal (as saved in `staging`): creates the deal if it was not
 * created yet, then uploads what is not accepted. `keys` must be the session of the journal's
 * owner.
 */
export async function resumePut(
  c: CoopContracts,
  journal: PutJournal,
  staging: ShardStaging,
  keys: KeySession,
  options: ResumeOptions = {},
): Promise<PutResult> {
  const owner = c.account("resuming a put");
  if (!isAddressEqual(owner, journal.owner) || !isAddressEqual(keys.account, journal.owner))
    throw new InvalidParametersError(
      "journal",
      journal.owner,
      `this put belongs to ${journal.owner}; connect that wallet to resume it`,
    );
  if (!isAddressEqual(journal.market, c.addresses.StorageMarket))
    throw new InvalidParametersError(
      "journal",
      journal.market,
      "this put was made on another market deployment",
    );
  return finishPut(c, { ...journal, accepted: [...journal.accepted] }, staging, options);
}

async function finishPut(
  c: CoopContracts,
  journal: PutJournal,
  staging: ShardStaging,
  options: ResumeOptions,
): Promise<PutResult> {
  const { signal, onProgress } = options;
  throwIfAborted(signal);
  if (journal.dealId === undefined) {
    // A deal sent just before an interruption is found by its manifest CID.
    const found = await findOwnDeal(c, journal);
    if (found) {
      journal.dealId = found.dealId.toString();
      journal.cost = { escrow: found.escrow.toString(), fee: found.fee.toString() };
    } else {
      const created = await createDeal(c, journal, onProgress);
      journal.dealId = created.dealId.toString();
      journal.cost = { escrow: created.escrow.toString(), fee: created.fee.toString() };
    }
    await staging.saveJournal(journal);
    onProgress?.({
      stage: "deal-created",
      dealId: BigInt(journal.dealId),
      escrow: BigInt(journal.cost.escrow),
      fee: BigInt(journal.cost.fee),
    });
  }
  const dealId = BigInt(journal.dealId);
  throwIfAborted(signal);

  const uploader = new Uploader(c, journal, staging, dealId, options);
  const holders = await uploader.run();
  await staging.clear();
  onProgress?.({ stage: "done", dealId });
  const cost = journal.cost ?? { escrow: "0", fee: "0" };
  return {
    dealId,
    manifestCid: journal.manifestCid,
    shards: holders.map((provider, index) => ({
      index,
      provider,
      cid: journal.cids[index]!,
      root: journal.roots[index]!,
    })),
    cost: {
      escrow: BigInt(cost.escrow),
      fee: BigInt(cost.fee),
      total: BigInt(cost.escrow) + BigInt(cost.fee),
    },
  };
}

/** The owner's deal with this put's manifest CID, if one was created. */
async function findOwnDeal(
  c: CoopContracts,
  journal: PutJournal,
): Promise<{ dealId: bigint; escrow: bigint; fee: bigint } | undefined> {
  const deals = await dealRecords(c, { owner: journal.owner });
  return deals.find((d) => d.manifestCid === journal.manifestCid);
}

/** A CID string as the market stores it: the binary CID, hex. */
export function cidHex(cid: string): Hex {
  return bytesToHex(CID.parse(cid).bytes);
}

/** Creates the deal: createDealWithPermit (one signature, one transaction), else approve + createDeal. */
async function createDeal(
  c: CoopContracts,
  journal: PutJournal,
  onProgress: ResumeOptions["onProgress"],
): Promise<{ dealId: bigint; escrow: bigint; fee: bigint }> {
  const market = c.addresses.StorageMarket;
  const owner = journal.owner;
  const [, escrow, fee] = await c.market.read.quoteDeal([
    BigInt(journal.shardSize),
    BigInt(journal.n),
    BigInt(journal.durationEpochs),
  ]);
  onProgress?.({ stage: "deal", status: "quote", escrow, fee });
  const total = escrow + fee;
  const balance = await c.token.read.balanceOf([owner]);
  if (balance < total) throw new InsufficientFundsError(total, balance);
  const request = {
    k: journal.k,
    shardSize: BigInt(journal.shardSize),
    durationEpochs: journal.durationEpochs,
    roots: journal.roots,
    providers: journal.providers,
    manifestCid: cidHex(journal.manifestCid),
  };
  const onStatus = (s: TxStatus) =>
    onProgress?.({ stage: "deal", status: s.stage, hash: "hash" in s ? s.hash : undefined });
  const allowance = await c.token.read.allowance([owner, market]);
  const create = (functionName: "createDeal" | "createDealWithPermit", args: readonly unknown[]) =>
    c.send(
      "createDeal",
      { address: market, abi: storageMarketAbi, functionName, args },
      { onStatus },
    );
  let receipt;
  if (allowance >= total) receipt = await create("createDeal", [request]);
  else {
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
    const permit = await signPermit(c, market, total, deadline).catch((e: unknown) => {
      // A wallet that refuses to sign refuses the approval too: stop here.
      if (e instanceof ContractCallError && /rejected/.test(e.message)) throw e;
      return undefined; // the token takes no permits: approve instead
    });
    if (permit)
      receipt = await create("createDealWithPermit", [
        request,
        total,
        permit.deadline,
        permit.v,
        permit.r,
        permit.s,
      ]);
    else {
      await ensureAllowance(c, market, total, { onStatus });
      receipt = await create("createDeal", [request]);
    }
  }
  const [ev] = parseEventLogs({
    abi: storageMarketAbi,
    eventName: "DealCreated",
    logs: receipt.logs,
  });
  if (!ev) throw new ContractCallError("createDeal", "the transaction created no deal");
  return { dealId: ev.args.dealId, escrow: ev.args.escrow, fee: ev.args.fee };
}

/** Uploads every unaccepted shard and the manifest, replacing providers that do not take them. */
class Uploader {
  readonly #c: CoopContracts;
  readonly #journal: PutJournal;
  readonly #staging: ShardStaging;
  readonly #dealId: bigint;
  readonly #signal: AbortSignal | undefined;
  readonly #progress: ResumeOptions["onProgress"];
  readonly #envelope: Uint8Array;
  /** Providers that refused or did not accept in time: never chosen again for this deal. */
  readonly #refused = new Set<string>();
  #picking: Promise<unknown> = Promise.resolve();
  #acceptanceWindow: number | undefined;

  constructor(
    c: CoopContracts,
    journal: PutJournal,
    staging: ShardStaging,
    dealId: bigint,
    options: ResumeOptions,
  ) {
    this.#c = c;
    this.#journal = journal;
    this.#staging = staging;
    this.#dealId = dealId;
    this.#signal = options.signal;
    this.#progress = options.onProgress;
    this.#envelope = hexToBytes(journal.envelope);
  }

  async run(): Promise<Address[]> {
    const n = this.#journal.n;
    const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => this.#deliver(i)));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const holders = results.map((r) => (r as PromiseFulfilledResult<Address>).value);
    if (this.#journal.manifestAt.length === 0) {
      // Every shard is accepted, yet no holder took the manifest: try each once more.
      for (const p of holders) await this.#storeManifest(p);
      if (this.#journal.manifestAt.length === 0)
        throw new PutFailedError(
          `no provider of deal ${this.#dealId} would store the manifest: run the put again to retry`,
        );
    }
    return holders;
  }

  async #save(): Promise<void> {
    await this.#staging.saveJournal(this.#journal);
  }

  async #window(): Promise<number> {
    this.#acceptanceWindow ??= (await this.#c.market.read.params()).acceptanceWindow;
    return this.#acceptanceWindow;
  }

  /**
   * The epoch now: the market's view, or later when the wall clock says so (a view call sees
   * the last block's time, which stands still while nobody sends a transaction).
   */
  async #epoch(): Promise<number> {
    const [viewed, [anchorTime, anchorEpoch, length]] = await Promise.all([
      this.#c.market.read.currentEpoch(),
      this.#c.market.read.epochClock(),
    ]);
    const now = Math.floor(Date.now() / 1000);
    const byClock =
      length > 0 && now >= anchorTime
        ? anchorEpoch + Math.floor((now - Number(anchorTime)) / length)
        : 0;
    return Math.max(Number(viewed), byClock);
  }

  /** Shard i, until accepted on-chain; resolves with its holder. */
  async #deliver(i: number): Promise<Address> {
    const market = this.#c.market;
    for (;;) {
      throwIfAborted(this.#signal);
      const s = await market.read.getShard([this.#dealId, BigInt(i)]);
      if (s.status === STATUS_ACTIVE) {
        if (!this.#journal.accepted[i]) {
          this.#journal.accepted[i] = true;
          await this.#save();
          this.#progress?.({ stage: "accepted", shard: i, provider: s.provider });
        }
        if (!this.#journal.manifestAt.some((p) => isAddressEqual(p, s.provider)))
          await this.#storeManifest(s.provider);
        return s.provider;
      }
      if (s.status !== STATUS_ASSIGNED)
        throw new PutFailedError(
          `shard ${i} of deal ${this.#dealId} is ${SHARD_STATUS[s.status]}, so it can no longer be uploaded: the deal ended or was cancelled`,
        );
      const provider = s.provider === zeroAddress ? this.#journal.providers[i]! : s.provider;
      const deadline = s.epoch + (await this.#window());
      const epoch = await this.#epoch();
      if (this.#refused.has(provider.toLowerCase()) || epoch > deadline) {
        if (epoch <= deadline) {
          await this.#waitForEpoch(deadline + 1);
          continue;
        }
        await this.#replace(i, provider, "it refused the shard or did not accept it in time");
        continue;
      }
      const outcome = await this.#upload(i, provider, deadline);
      if (outcome === "refused") this.#refused.add(provider.toLowerCase());
      else if (outcome === "accepted") {
        // The provider answers once acceptShard is mined; the read may lag a block.
        for (let t = 0; t < 20; t++) {
          const now = await market.read.getShard([this.#dealId, BigInt(i)]);
          if (now.status === STATUS_ACTIVE) break;
          await sleep(250, this.#signal);
        }
      }
    }
  }

  /** Upload attempts with backoff until accepted, refused, or the window closes. */
  async #upload(
    i: number,
    provider: Address,
    deadline: number,
  ): Promise<"accepted" | "refused" | "window"> {
    const info = await this.#c.market.read.getProvider([provider]);
    const size = this.#journal.shardSize;
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(this.#signal);
      const started = Date.now();
      try {
        const body = await this.#staging.open(i);
        await putShard(info.endpoint, this.#dealId, i, body, size, {
          signal: this.#signal,
          cid: this.#journal.cids[i],
          onBytes: (bytes) =>
            this.#progress?.({
              stage: "upload",
              shard: i,
              provider,
              bytes,
              total: size,
              rate: bytes / Math.max(0.001, (Date.now() - started) / 1000),
            }),
        });
        return "accepted";
      } catch (e) {
        if (this.#signal?.aborted) throw this.#signal.reason ?? e;
        if (!(e instanceof ProviderRequestError)) throw e;
        if (e.code === "already_stored") return "accepted";
        if (e.refused) {
          this.#progress?.({
            stage: "retry",
            shard: i,
            provider,
            attempt,
            error: e.message,
            delayMs: 0,
          });
          return "refused";
        }
        if ((await this.#epoch()) > deadline) return "window";
        const delayMs = Math.min(30_000, 500 * 2 ** (attempt - 1));
        this.#progress?.({
          stage: "retry",
          shard: i,
          provider,
          attempt,
          error: e.message,
          delayMs,
        });
        await sleep(delayMs, this.#signal);
      }
    }
  }

  async #waitForEpoch(epoch: number): Promise<void> {
    while ((await this.#epoch()) < epoch) await sleep(1000, this.#signal);
  }

  /** Reassigns shard i to a provider that holds nothing of the deal (one pick at a time). */
  async #replace(i: number, from: Address, reason: string): Promise<void> {
    const pick = this.#picking.then(async () => {
      const market = this.#c.market;
      const n = this.#journal.n;
      const shards = await Promise.all(
        Array.from({ length: n }, (_, j) => market.read.getShard([this.#dealId, BigInt(j)])),
      );
      const s = shards[i]!;
      const current = s.provider === zeroAddress ? this.#journal.providers[i]! : s.provider;
      if (s.status !== STATUS_ASSIGNED || !isAddressEqual(current, from)) return; // done meanwhile
      const busy = new Set(
        shards.map((x, j) =>
          (x.provider === zeroAddress ? this.#journal.providers[j]! : x.provider).toLowerCase(),
        ),
      );
      let to: Address;
      try {
        [{ address: to }] = chooseProviders(await listProviders(this.#c), {
          count: 1,
          shardSize: this.#journal.shardSize,
          exclude: [...busy, ...this.#refused] as Address[],
        });
      } catch (e) {
        throw new PutFailedError(
          `shard ${i} of deal ${this.#dealId}: ${from} did not take it (${reason}) and no other provider can: ${(e as Error).message}; resume the put later to try again`,
          { cause: e },
        );
      }
      try {
        await this.#c.send("reassignShard", {
          address: this.#c.addresses.StorageMarket,
          abi: storageMarketAbi,
          functionName: "reassignShard",
          args: [this.#dealId, BigInt(i), to, this.#journal.roots, this.#journal.providers],
        });
      } catch (e) {
        // The chain's clock has not reached the end of the window yet: try again shortly.
        if (e instanceof ContractCallError && e.errorName === "MarketAcceptanceWindow")
          return sleep(1000, this.#signal);
        throw e;
      }
      this.#progress?.({ stage: "reassign", shard: i, from, to, reason });
    });
    this.#picking = pick.catch(() => undefined);
    await pick;
  }

  /** Stores the envelope with a holder (best effort: any one holder is enough). */
  async #storeManifest(provider: Address): Promise<void> {
    const info = await this.#c.market.read.getProvider([provider]);
    for (let attempt = 1; ; attempt++) {
      try {
        await putManifest(info.endpoint, this.#dealId, this.#envelope, { signal: this.#signal });
        this.#journal.manifestAt.push(provider);
        await this.#save();
        this.#progress?.({ stage: "manifest", provider });
        return;
      } catch (e) {
        if (this.#signal?.aborted) throw this.#signal.reason ?? e;
        if (!(e instanceof ProviderRequestError)) throw e;
        // A refusal, or a third failure: another holder may take it.
        if (e.refused || attempt === 3) return;
        await sleep(500 * 2 ** (attempt - 1), this.#signal);
      }
    }
  }
}
