// The Storage page's pure logic: what a (k, n) choice means in words, the shard size a file will
// have (to quote a deal before anything is encoded or signed), the upload form's checks, and the
// put's progress events folded into one view the page draws.
import type { Address } from "viem";

import type { PutProgress } from "@coop-cloud/sdk/client";
import { getCiphertextLength } from "@coop-cloud/sdk/crypto/format.ts";
import { DEFAULT_BLOCK_SIZE, getStripeLayout } from "@coop-cloud/sdk/erasure/stripes.ts";

/** "any 2 of 4 shards rebuild the file: survives 2 providers lost". */
export function durabilityWords(k: number, n: number): string {
  const spare = n - k;
  const survives =
    spare === 0
      ? "losing any one provider loses the file"
      : `survives ${spare} provider${spare === 1 ? "" : "s"} lost`;
  if (n === 1) return `one shard, on one provider: ${survives}`;
  if (k === n) return `all ${n} shards are needed: ${survives}`;
  return `any ${k} of ${n} shards rebuild the file: ${survives}`;
}

/** Bytes stored per byte of file: n / k, as "2×" or "1.5×". */
export function overheadWords(k: number, n: number): string {
  const x = n / k;
  return `${Number.isInteger(x) ? x : Number(x.toFixed(2))}× the file's size stored`;
}

/** Bytes in every shard of a file of `size` bytes coded k of n (what the deal is priced on). */
export function shardSizeFor(size: number, k: number, n: number): number {
  return getStripeLayout({
    dataShards: k,
    totalShards: n,
    blockSize: DEFAULT_BLOCK_SIZE,
    dataLength: getCiphertextLength(size),
  }).shardSize;
}

export interface UploadForm {
  k: number;
  n: number;
  epochs: number;
}

/**
 * What is wrong with the form, one sentence per field, empty when it can be sent. `providers`
 * is how many providers can take a shard now.
 */
export function validateUpload(
  form: UploadForm,
  files: readonly { name: string; size: number }[],
  providers: number,
): Partial<Record<"files" | "k" | "n" | "epochs", string>> {
  const errors: Partial<Record<"files" | "k" | "n" | "epochs", string>> = {};
  if (files.length === 0) errors.files = "Choose at least one file to store.";
  else if (files.some((f) => f.size === 0))
    errors.files = `${files.find((f) => f.size === 0)!.name} is empty: there is nothing to store.`;
  const { k, n, epochs } = form;
  if (!Number.isInteger(n) || n < 1) errors.n = "Shards (n) must be a whole number, at least 1.";
  else if (n > providers)
    errors.n =
      providers === 0
        ? "No provider can take a shard now: wait for providers to register."
        : `Only ${providers} provider${providers === 1 ? "" : "s"} can take a shard now, so n can be at most ${providers}.`;
  if (!Number.isInteger(k) || k < 1)
    errors.k = "Data shards (k) must be a whole number, at least 1.";
  else if (Number.isInteger(n) && k > n)
    errors.k = `k cannot exceed n (${n}): any k of n rebuild the file.`;
  if (!Number.isSafeInteger(epochs) || epochs < 1)
    errors.epochs = "Duration must be a whole number of epochs, at least 1.";
  else if (epochs > 2 ** 32 - 1) errors.epochs = "Duration is too long for the market.";
  return errors;
}

/** Bytes per second in binary units ("3.2 MiB/s"). */
export function formatRate(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return "";
  const units = ["B/s", "KiB/s", "MiB/s", "GiB/s"];
  let v = bytesPerSecond;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** 0..100, rounded down (100 only when done). */
export function percent(done: number, total: number | undefined): number {
  if (!total || total <= 0) return 0;
  return Math.max(0, Math.min(100, Math.floor((done / total) * 100)));
}

export type ShardPhase = "waiting" | "uploading" | "retrying" | "accepted";

export interface ShardView {
  index: number;
  provider: Address | undefined;
  phase: ShardPhase;
  bytes: number;
  total: number;
  /** Bytes per second of the current attempt. */
  rate: number;
  /** When this attempt started (ms), for an elapsed time while no byte count is known. */
  startedAt: number | undefined;
  /** The last retry or reassignment, in words. */
  note: string | undefined;
}

export interface PutView {
  phase: "encode" | "deal" | "upload" | "done";
  encode: { bytes: number; total: number | undefined; rate: number; startedAt: number };
  deal: {
    status: "quote" | "signing" | "sent" | "mined" | "created" | undefined;
    escrow?: bigint;
    fee?: bigint;
    hash?: `0x${string}`;
    dealId?: bigint;
  };
  shards: ShardView[];
  /** Providers holding the encrypted manifest. */
  manifestAt: Address[];
  /** Things worth telling (retries, reassignments), newest last. */
  log: string[];
}

export function initialPutView(n: number, size: number | undefined, now: number): PutView {
  return {
    phase: "encode",
    encode: { bytes: 0, total: size, rate: 0, startedAt: now },
    deal: { status: undefined },
    shards: Array.from({ length: n }, (_, index) => ({
      index,
      provider: undefined,
      phase: "waiting",
      bytes: 0,
      total: 0,
      rate: 0,
      startedAt: undefined,
      note: undefined,
    })),
    manifestAt: [],
    log: [],
  };
}

function short(a: string): string {
  return `${a.slice(0, 6)}…${a.slice(-4)}`;
}

function setShard(view: PutView, i: number, patch: Partial<ShardView>): ShardView[] {
  const shards = [...view.shards];
  while (shards.length <= i)
    shards.push({
      index: shards.length,
      provider: undefined,
      phase: "waiting",
      bytes: 0,
      total: 0,
      rate: 0,
      startedAt: undefined,
      note: undefined,
    });
  shards[i] = { ...shards[i]!, ...patch };
  return shards;
}

/** Folds one PutProgress event into the view (pure; `now` in ms). */
export function reducePut(view: PutView, p: PutProgress, now: number): PutView {
  switch (p.stage) {
    case "encode": {
      const seconds = Math.max(0.001, (now - view.encode.startedAt) / 1000);
      return {
        ...view,
        phase: "encode",
        encode: {
          ...view.encode,
          bytes: p.plaintextBytes,
          total: p.totalBytes ?? view.encode.total,
          rate: p.plaintextBytes / seconds,
        },
      };
    }
    case "deal":
      return {
        ...view,
        phase: "deal",
        deal: {
          ...view.deal,
          status: p.status,
          escrow: p.escrow ?? view.deal.escrow,
          fee: p.fee ?? view.deal.fee,
          hash: p.hash ?? view.deal.hash,
        },
      };
    case "deal-created":
      // Every shard's upload starts now, in parallel.
      return {
        ...view,
        phase: "upload",
        deal: { ...view.deal, status: "created", dealId: p.dealId, escrow: p.escrow, fee: p.fee },
        shards: view.shards.map((s) =>
          s.phase === "accepted" ? s : { ...s, phase: "uploading", startedAt: now },
        ),
      };
    case "upload": {
      const prev = view.shards[p.shard];
      const restarted = prev?.phase !== "uploading" || p.bytes < (prev?.bytes ?? 0);
      return {
        ...view,
        phase: "upload",
        shards: setShard(view, p.shard, {
          provider: p.provider,
          phase: prev?.phase === "accepted" ? "accepted" : "uploading",
          bytes: p.bytes,
          total: p.total,
          rate: p.rate,
          startedAt: restarted && prev?.phase !== "uploading" ? now : (prev?.startedAt ?? now),
        }),
      };
    }
    case "retry": {
      const note =
        p.delayMs > 0
          ? `attempt ${p.attempt} failed (${p.error}); retrying in ${Math.round(p.delayMs / 100) / 10} s`
          : `refused (${p.error}); another provider will take it`;
      return {
        ...view,
        shards: setShard(view, p.shard, {
          provider: p.provider,
          phase: "retrying",
          bytes: 0,
          rate: 0,
          note,
        }),
        log: [...view.log, `Shard ${p.shard} at ${short(p.provider)}: ${note}`],
      };
    }
    case "reassign": {
      const note = `moved from ${short(p.from)} to ${short(p.to)} (${p.reason})`;
      return {
        ...view,
        shards: setShard(view, p.shard, {
          provider: p.to,
          phase: "uploading",
          bytes: 0,
          rate: 0,
          startedAt: now,
          note,
        }),
        log: [...view.log, `Shard ${p.shard} ${note}`],
      };
    }
    case "accepted": {
      const prev = view.shards[p.shard];
      const total = prev?.total || prev?.bytes || 0;
      return {
        ...view,
        shards: setShard(view, p.shard, {
          provider: p.provider,
          phase: "accepted",
          bytes: total,
          note: undefined,
        }),
      };
    }
    case "manifest":
      return view.manifestAt.includes(p.provider)
        ? view
        : { ...view, manifestAt: [...view.manifestAt, p.provider] };
    case "done":
      return {
        ...view,
        phase: "done",
        deal: { ...view.deal, dealId: p.dealId },
        shards: view.shards.map((s) => ({ ...s, phase: "accepted" })),
      };
    default:
      return view;
  }
}

/** Shards accepted on-chain. */
export function acceptedCount(view: PutView): number {
  return view.shards.filter((s) => s.phase === "accepted").length;
}

/** Epochs covering `seconds` at `epochLength` seconds per epoch (at least 1). */
export function epochsFor(seconds: number, epochLength: number): number {
  if (!(epochLength > 0)) return 1;
  return Math.max(1, Math.ceil(seconds / epochLength));
}

/**
 * The escrow a cancel gives back now: the shard rate × open shards × the epochs after the
 * current one (the current epoch stays payable), as the market computes it.
 */
export function cancelRefund(args: {
  shardRate: bigint;
  openShards: number;
  startEpoch: number;
  endEpoch: number;
  currentEpoch: number;
  cancelled: boolean;
}): bigint {
  const { shardRate, openShards, startEpoch, endEpoch, currentEpoch, cancelled } = args;
  if (cancelled || currentEpoch >= endEpoch) return 0n;
  const newEnd = Math.max(currentEpoch + 1, startEpoch);
  return endEpoch > newEnd ? shardRate * BigInt(openShards) * BigInt(endEpoch - newEnd) : 0n;
}

/** What adding `epochs` costs: escrow for every open shard plus the co-op fee. */
export function extendCost(args: {
  shardRate: bigint;
  openShards: number;
  epochs: number;
  feeBps: number;
}): { escrow: bigint; fee: bigint; total: bigint } {
  const escrow = args.shardRate * BigInt(args.openShards) * BigInt(Math.max(0, args.epochs));
  const fee = (escrow * BigInt(args.feeBps)) / 10_000n;
  return { escrow, fee, total: escrow + fee };
}

/** The web address of a share link: the link itself rides in the fragment, never sent to a server. */
export function shareUrl(origin: string, link: string): string {
  return `${origin.replace(/\/$/, "")}/share#${link}`;
}

/** The share link in a `/share#…` address's fragment (as `location.hash` gives it). */
export function linkFromHash(hash: string): string {
  let text = hash.startsWith("#") ? hash.slice(1) : hash;
  if (/^coop%3a/i.test(text)) {
    try {
      text = decodeURIComponent(text);
    } catch {
      /* left as it is: the sdk will say what is wrong */
    }
  }
  return text.trim();
}
