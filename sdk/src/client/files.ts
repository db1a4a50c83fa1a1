// The owner's files: listed from the chain alone (DealCreated events by owner, so a new machine
// with the same wallet sees everything), with each shard's health; extend, cancel, share.
import { type Address, type TransactionReceipt, parseEventLogs } from "viem";

import { storageMarketAbi } from "../contracts/generated/abis.ts";
import { InvalidParametersError } from "../errors.ts";
import { decryptManifest, formatShareLink, type Manifest } from "../manifest/index.ts";
import { type CoopContracts, type SendOptions, ContractCallError } from "./contracts.ts";
import { type DealRecord, dealRecord, dealRecords, shardLocations } from "./deals.ts";
import { NotFileOwnerError, dealEndpoints, fetchEnvelope } from "./get.ts";
import type { KeySession } from "./keys.ts";
import { ensureAllowance } from "./member.ts";

/** One shard's health. */
export interface ShardHealth {
  index: number;
  /** Holder, or the provider it is assigned to. */
  provider: Address;
  status: "assigned" | "active" | "lost" | "closed";
  /** Lost, or its holder failed. */
  lost: boolean;
  /** Lost and claimed by a repairer. */
  repairing: boolean;
  /** Epochs the current holder proved for it (paid, or proven and not yet paid). */
  provenEpochs: number;
}

/** A stored file as the chain (and, with the owner's key, its manifest) describes it. */
export interface FileInfo {
  dealId: bigint;
  owner: Address;
  manifestCid: string;
  /** From the manifest: undefined when it could not be fetched or opened (see `manifestError`). */
  name: string | undefined;
  size: number | undefined;
  mimeType: string | undefined;
  createdAt: string | undefined;
  manifestError: string | undefined;
  k: number;
  n: number;
  shardSize: bigint;
  startEpoch: number;
  /** The deal ends at the start of this epoch (after extensions and a cancel). */
  endEpoch: number;
  /** Unix time (seconds) when endEpoch starts, at the current epoch length. */
  expiresAt: number;
  currentEpoch: number;
  cancelled: boolean;
  expired: boolean;
  /** Escrow and fee paid (creation and extensions), and escrow refunded by a cancel. */
  cost: { escrow: bigint; fee: bigint; total: bigint; refunded: bigint };
  shards: ShardHealth[];
  /** Shards active and not lost. At least k are needed to read the file. */
  healthyShards: number;
}

export interface ListFilesOptions {
  /** Skip fetching and opening manifests (no names; no provider traffic). @default false */
  withoutManifests?: boolean;
  signal?: AbortSignal;
}

/**
 * The owner's files, newest first, from the owner's DealCreated events and the deals' state;
 * names from the manifests, opened with the owner's key session.
 */
export async function listFiles(
  c: CoopContracts,
  keys: KeySession,
  options: ListFilesOptions = {},
): Promise<FileInfo[]> {
  const deals = await dealRecords(c, { owner: keys.account });
  const kek = options.withoutManifests || deals.length === 0 ? undefined : await keys.kek();
  try {
    const files = await Promise.all(deals.map((d) => describe(c, d, kek, options.signal)));
    return files.reverse();
  } finally {
    kek?.fill(0);
  }
}

/** One file's state (its name too when the owner's key session is given). */
export async function fileStatus(
  c: CoopContracts,
  dealId: bigint,
  keys?: KeySession,
): Promise<FileInfo> {
  const deal = await dealRecord(c, dealId);
  const owned = keys !== undefined && deal.owner.toLowerCase() === keys.account.toLowerCase();
  const kek = owned ? await keys.kek() : undefined;
  try {
    return await describe(c, deal, kek);
  } finally {
    kek?.fill(0);
  }
}

async function describe(
  c: CoopContracts,
  deal: DealRecord,
  kek: Uint8Array | undefined,
  signal?: AbortSignal,
): Promise<FileInfo> {
  const market = c.market;
  const events = {
    address: c.addresses.StorageMarket,
    abi: storageMarketAbi,
    args: { dealId: deal.dealId },
    fromBlock: deal.blockNumber,
  } as const;
  const [view, current, clock, locations, extended, cancelled, claims] = await Promise.all([
    market.read.getDeal([deal.dealId]),
    market.read.currentEpoch(),
    market.read.epochClock(),
    shardLocations(c, deal),
    c.getContractEvents({ ...events, eventName: "DealExtended" }),
    c.getContractEvents({ ...events, eventName: "DealCancelled" }),
    c.getContractEvents({ ...events, eventName: "RepairClaimed" }),
  ]);
  const cur = Number(current);
  const shards = await Promise.all(
    locations.map(async (l): Promise<ShardHealth> => {
      let proven = l.status === "active" ? l.paidEpochs : 0;
      if (l.status === "active" && !l.lost) {
        const from = Math.max(l.epoch, deal.startEpoch);
        const to = Math.min(view.endEpoch, cur);
        if (to > from)
          proven += Number(
            await market.read.provenEpochsBetween([l.provider, BigInt(from), BigInt(to)]),
          );
      }
      return {
        index: l.index,
        provider: l.provider,
        status: l.status,
        lost: l.lost,
        repairing:
          l.lost && claims.some((e) => Number(e.args.shard) === l.index && e.args.provider),
        provenEpochs: proven,
      };
    }),
  );
  let manifest: Manifest | undefined;
  let manifestError: string | undefined;
  if (kek) {
    try {
      const envelope = await fetchEnvelope(await dealEndpoints(c, deal), deal.manifestCid, {
        signal,
      });
      const opened = decryptManifest(envelope, { kek }, { manifestCid: deal.manifestCid });
      opened.fileKey.fill(0);
      manifest = opened.manifest;
    } catch (e) {
      manifestError = (e as Error).message;
    }
  }
  const [anchorTime, anchorEpoch, length] = clock;
  const escrow = deal.escrow + extended.reduce((a, e) => a + (e.args.escrow ?? 0n), 0n);
  const fee = deal.fee + extended.reduce((a, e) => a + (e.args.fee ?? 0n), 0n);
  const refunded = cancelled.reduce((a, e) => a + (e.args.refund ?? 0n), 0n);
  return {
    dealId: deal.dealId,
    owner: deal.owner,
    manifestCid: deal.manifestCid,
    name: manifest?.name,
    size: manifest?.size,
    mimeType: manifest?.mimeType,
    createdAt: manifest?.createdAt,
    manifestError,
    k: deal.k,
    n: deal.n,
    shardSize: deal.shardSize,
    startEpoch: deal.startEpoch,
    endEpoch: view.endEpoch,
    expiresAt: Number(anchorTime) + (view.endEpoch - anchorEpoch) * length,
    currentEpoch: cur,
    cancelled: view.cancelled,
    expired: cur >= view.endEpoch,
    cost: { escrow, fee, total: escrow + fee, refunded },
    shards,
    healthyShards: shards.filter((s) => s.status === "active" && !s.lost).length,
  };
}

/** What an extension paid. */
export interface ExtendResult {
  escrow: bigint;
  fee: bigint;
  /** The deal's new end epoch. */
  endEpoch: number;
  receipt: TransactionReceipt;
}

/**
 * Adds `epochs` to a file's deal: approves the escrow and fee of every open shard (when the
 * allowance is short), then `extendDeal`.
 */
export async function extendFile(
  c: CoopContracts,
  dealId: bigint,
  epochs: number,
  options: SendOptions = {},
): Promise<ExtendResult> {
  if (!Number.isSafeInteger(epochs) || epochs < 1 || epochs > 2 ** 32 - 1)
    throw new InvalidParametersError(
      "epochs",
      epochs,
      "must be a whole number of epochs, at least 1",
    );
  c.account("extending a file");
  const deal = await dealRecord(c, dealId);
  const [view, params, locations] = await Promise.all([
    c.market.read.getDeal([dealId]),
    c.market.read.params(),
    shardLocations(c, deal),
  ]);
  const open = BigInt(locations.filter((l) => l.status !== "closed").length);
  const escrow = view.shardRate * open * BigInt(epochs);
  const fee = (escrow * BigInt(params.feeBps)) / 10_000n;
  await ensureAllowance(c, c.addresses.StorageMarket, escrow + fee, options);
  const receipt = await c.send(
    "extendDeal",
    {
      address: c.addresses.StorageMarket,
      abi: storageMarketAbi,
      functionName: "extendDeal",
      args: [dealId, epochs],
    },
    options,
  );
  const [ev] = parseEventLogs({
    abi: storageMarketAbi,
    eventName: "DealExtended",
    logs: receipt.logs,
  });
  if (!ev) throw new ContractCallError("extendDeal", "the transaction extended nothing");
  return { escrow: ev.args.escrow, fee: ev.args.fee, endEpoch: ev.args.endEpoch, receipt };
}

/** What a cancel gave back. */
export interface CancelResult {
  /** Unearned escrow credited to the owner on the market. */
  refund: bigint;
  /** The deal now ends at the start of this epoch. */
  endEpoch: number;
  /** Withdrawn to the wallet (the owner's whole market balance), when asked. */
  withdrawn: bigint;
  receipt: TransactionReceipt;
}

export interface CancelOptions extends SendOptions {
  /** Withdraw the market balance to the wallet afterwards. @default true */
  withdraw?: boolean;
}

/**
 * Cancels a file's deal: it ends after the current epoch (which stays payable) and the escrow of
 * every later epoch comes back; by default withdrawn to the wallet at once.
 */
export async function cancelFile(
  c: CoopContracts,
  dealId: bigint,
  options: CancelOptions = {},
): Promise<CancelResult> {
  const owner = c.account("cancelling a file");
  const receipt = await c.send(
    "cancelDeal",
    {
      address: c.addresses.StorageMarket,
      abi: storageMarketAbi,
      functionName: "cancelDeal",
      args: [dealId],
    },
    options,
  );
  const [ev] = parseEventLogs({
    abi: storageMarketAbi,
    eventName: "DealCancelled",
    logs: receipt.logs,
  });
  if (!ev) throw new ContractCallError("cancelDeal", "the transaction cancelled nothing");
  let withdrawn = 0n;
  if (options.withdraw !== false) {
    const balance = await c.market.read.balanceOf([owner]);
    if (balance > 0n) {
      const r = await c.send(
        "withdraw",
        {
          address: c.addresses.StorageMarket,
          abi: storageMarketAbi,
          functionName: "withdraw",
        },
        options,
      );
      const [w] = parseEventLogs({ abi: storageMarketAbi, eventName: "Withdrawn", logs: r.logs });
      withdrawn = w?.args.amount ?? balance;
    }
  }
  return { refund: ev.args.refund, endEpoch: ev.args.endEpoch, withdrawn, receipt };
}

/**
 * A share link for one of the owner's files: `coop://<manifest CID>#k=<file key>`. Whoever holds
 * it can read that file (and only it), without a wallet; it cannot be revoked.
 */
export async function createShareLink(
  c: CoopContracts,
  dealId: bigint,
  keys: KeySession,
): Promise<string> {
  const deal = await dealRecord(c, dealId);
  if (deal.owner.toLowerCase() !== keys.account.toLowerCase())
    throw new NotFileOwnerError(dealId, deal.owner, keys.account);
  const envelope = await fetchEnvelope(await dealEndpoints(c, deal), deal.manifestCid);
  const kek = await keys.kek();
  try {
    const { fileKey } = decryptManifest(envelope, { kek }, { manifestCid: deal.manifestCid });
    const link = formatShareLink({ manifestCid: deal.manifestCid, fileKey });
    fileKey.fill(0);
    return link;
  } finally {
    kek.fill(0);
  }
}
