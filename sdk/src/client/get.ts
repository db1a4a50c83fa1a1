// getFile: a deal id, a manifest CID or a share link in, plaintext out. Finds the envelope on
// any provider, opens it (the owner's KEK or the link's key, checked against the manifest CID),
// then streams k shards from the providers' gateways, every block verified as it arrives, and
// decodes. A provider that is down, refuses, or serves altered bytes is dropped and a spare
// shard used instead, so the file comes back with up to n − k providers gone.
import { type Address, isAddressEqual } from "viem";

import { ShardMismatchError, WrongKeyError } from "../errors.ts";
import {
  type Manifest,
  type ManifestKey,
  decryptManifest,
  manifestDecodeOptions,
  parseShareLink,
} from "../manifest/index.ts";
import { decodeFile, type ByteInput, type TaskRunner } from "../pipeline/index.ts";
import { iteratorToStream } from "../pipeline/io.ts";
import { type CoopContracts, NoWalletError } from "./contracts.ts";
import {
  type DealRecord,
  dealRecord,
  dealRecords,
  providerContacts,
  shardLocations,
} from "./deals.ts";
import { listProviders } from "./providers.ts";
import type { KeySession } from "./keys.ts";
import {
  ProviderRequestError,
  ShardFetchError,
  fetchShard,
  getManifest,
  holdsCid,
} from "./provider-api.ts";

/** Which file: a deal of the owner's, a manifest CID (the owner's), or a share link (anyone). */
export type GetSource = { dealId: bigint } | { manifestCid: string } | { shareLink: string };

export type GetProgress =
  | { stage: "manifest"; endpoint: string }
  | { stage: "shard"; shard: number; endpoint: string; bytes: number; total: number }
  | { stage: "shard-failed"; shard: number; endpoint: string; error: string }
  | { stage: "decode"; plaintextBytes: number; totalBytes: number }
  | { stage: "done"; plaintextBytes: number };

export interface GetFileOptions {
  /** The owner's key session (not needed with a share link). */
  keys?: KeySession;
  onProgress?: (progress: GetProgress) => void;
  signal?: AbortSignal;
  /** Pipeline workers (decodeFile's workers). */
  workers?: TaskRunner | "inline" | number;
  /** decodeFile's memory limit. */
  maxMemory?: number;
  /**
   * A second way to a shard when its provider's gateway fails, e.g. bitswap
   * (`createBitswapFallback()` from the sdk's `node/bitswap.ts` in Node).
   */
  fallback?: ShardFallback;
}

/** Fetches a shard by CID from its holder another way than HTTP (bitswap); verified by CID. */
export interface ShardFallback {
  /** Shown as the shard's source in progress events and errors. */
  readonly name: string;
  fetchShard(
    cid: string,
    /** The holder's registered libp2p multiaddrs. */
    peers: readonly string[],
    options?: { signal?: AbortSignal; onBytes?: (bytes: number) => void },
  ): AsyncIterable<Uint8Array>;
}

/** One place to read shard `shard` from: a provider's gateway, or the fallback with the holder's peers. */
interface ShardSource {
  shard: number;
  endpoint: string;
  peers?: readonly string[];
}

/** An opened file: its manifest, and its plaintext as an async iterable or a ReadableStream. */
export interface GetFileResult extends AsyncIterable<Uint8Array> {
  manifest: Manifest;
  manifestCid: string;
  /** The deal holding it, when known. */
  dealId: bigint | undefined;
  /** The plaintext as a WHATWG stream (read it once: either this or the iterator). */
  stream(): ReadableStream<Uint8Array>;
}

/** The connected wallet does not own the deal (its key cannot open the manifest). */
export class NotFileOwnerError extends WrongKeyError {
  name = "NotFileOwnerError";
  constructor(dealId: bigint, owner: Address, account: Address) {
    super(
      "manifest",
      `deal ${dealId} belongs to ${owner}, and the wallet ${account} cannot open it: connect the owner's wallet, or ask the owner for a share link`,
    );
  }
}

/** No provider gave the manifest envelope. */
export class ManifestUnavailableError extends Error {
  name = "ManifestUnavailableError";
  constructor(manifestCid: string, tried: number, cause?: unknown) {
    super(
      `no provider served the manifest ${manifestCid} (${tried} tried): the providers may be down, try again later`,
      { cause },
    );
  }
}

/** Fewer than k shards could be fetched intact. */
export class FileUnavailableError extends Error {
  name = "FileUnavailableError";
  readonly failures: { shard: number; reason: string }[];
  constructor(k: number, failures: { shard: number; reason: string }[]) {
    super(
      `fewer than ${k} shards could be fetched intact (${failures.map((f) => `shard ${f.shard}: ${f.reason}`).join("; ")}): try again when more providers are up`,
    );
    this.failures = failures;
  }
}

/**
 * Opens a file and returns its manifest and plaintext. Nothing is downloaded but the envelope
 * until the plaintext is read. Plaintext comes out only after it authenticated.
 */
export async function getFile(
  c: CoopContracts,
  source: GetSource,
  options: GetFileOptions = {},
): Promise<GetFileResult> {
  const { signal, onProgress } = options;
  let key: ManifestKey;
  let manifestCid: string;
  let deal: DealRecord | undefined;
  if ("shareLink" in source) {
    const link = parseShareLink(source.shareLink);
    manifestCid = link.manifestCid;
    key = { fileKey: link.fileKey };
    deal = await findDealByManifest(c, manifestCid);
  } else {
    if (!options.keys) throw new NoWalletError("opening your file (without a share link)");
    if ("dealId" in source) {
      deal = await dealRecord(c, source.dealId);
      manifestCid = deal.manifestCid;
    } else {
      manifestCid = source.manifestCid;
      deal = await findDealByManifest(c, manifestCid);
    }
    if (deal && !isAddressEqual(deal.owner, options.keys.account))
      throw new NotFileOwnerError(deal.dealId, deal.owner, options.keys.account);
    key = { kek: await options.keys.kek() };
  }

  // Where shards and the envelope may be: the deal's holders, else every registered provider.
  const candidates: ShardSource[][] = [];
  let envelopeFrom: string[];
  if (deal) {
    const { locations, contacts, ordered } = await dealSources(c, deal);
    envelopeFrom = ordered;
    for (const l of locations) {
      const holder = contacts.get(l.provider.toLowerCase());
      const list: ShardSource[] = (candidates[l.index] = []);
      if (!holder || l.status === "closed") continue;
      if (holder.endpoint) list.push({ shard: l.index, endpoint: holder.endpoint });
      if (options.fallback && holder.multiaddrs.length)
        list.push({ shard: l.index, endpoint: options.fallback.name, peers: holder.multiaddrs });
    }
  } else {
    envelopeFrom = (await listProviders(c))
      .filter((p) => p.registered && p.endpoint !== "")
      .map((p) => p.endpoint);
  }

  const envelope = await fetchEnvelope(envelopeFrom, manifestCid, { signal, onProgress });
  let opened;
  try {
    opened = decryptManifest(envelope, key, { manifestCid });
  } catch (e) {
    if (e instanceof WrongKeyError && key.kek && options.keys)
      throw new WrongKeyError(
        "manifest",
        `the wallet ${options.keys.account} cannot open the manifest ${manifestCid}: it was stored by another wallet (or on another chain); connect the owner's wallet, or use a share link`,
      );
    throw e;
  } finally {
    key.kek?.fill(0);
  }
  const { manifest, fileKey } = opened;
  const n = manifest.erasure.n;
  if (!deal) {
    // No deal known: ask every provider which shards it holds.
    const all = envelopeFrom;
    const held = await Promise.all(
      manifest.shards.map((s) =>
        Promise.all(
          all.map((e) =>
            holdsCid(e, s.cid, { signal: timeout(signal, 10_000) }).then((ok) => (ok ? e : "")),
          ),
        ),
      ),
    );
    for (let i = 0; i < n; i++)
      candidates[i] = held[i]!.filter((e) => e !== "").map((endpoint) => ({ shard: i, endpoint }));
  }
  for (let i = 0; i < n; i++) candidates[i] ??= [];

  const decodeOptions = manifestDecodeOptions(manifest, fileKey);
  const plaintext = () =>
    decodeWithSpares(manifest, candidates, decodeOptions, {
      signal,
      onProgress,
      workers: options.workers,
      maxMemory: options.maxMemory,
      fallback: options.fallback,
    });
  let used = false;
  const once = () => {
    if (used)
      throw new Error(
        "this file's plaintext was already read once: call getFile again to re-read it",
      );
    used = true;
    return plaintext();
  };
  return {
    manifest,
    manifestCid,
    dealId: deal?.dealId,
    [Symbol.asyncIterator]: once,
    stream() {
      return iteratorToStream(once());
    },
  };
}

/**
 * A manifest envelope from the first of `endpoints` that serves it intact (checked against
 * `manifestCid`); ManifestUnavailableError when none does.
 */
export async function fetchEnvelope(
  endpoints: readonly string[],
  manifestCid: string,
  options: Pick<GetFileOptions, "signal" | "onProgress"> = {},
): Promise<Uint8Array> {
  let lastError: unknown;
  for (const endpoint of endpoints) {
    try {
      const envelope = await getManifest(endpoint, manifestCid, { signal: options.signal });
      options.onProgress?.({ stage: "manifest", endpoint });
      return envelope;
    } catch (e) {
      if (options.signal?.aborted) throw e;
      lastError = e;
    }
  }
  throw new ManifestUnavailableError(manifestCid, endpoints.length, lastError);
}

/** Endpoints of a deal's providers, healthy holders first. */
export async function dealEndpoints(c: CoopContracts, deal: DealRecord): Promise<string[]> {
  return (await dealSources(c, deal)).ordered;
}

/** Where a deal's shards are, how to reach each provider, and the endpoints in order of health. */
async function dealSources(c: CoopContracts, deal: DealRecord) {
  const locations = await shardLocations(c, deal);
  const contacts = await providerContacts(c, [
    ...locations.map((l) => l.provider),
    ...deal.providers,
  ]);
  const order = [...locations].sort((a, b) => rank(a) - rank(b));
  const ordered = [
    ...new Set(
      [...order.map((l) => l.provider), ...deal.providers]
        .map((p) => contacts.get(p.toLowerCase())?.endpoint)
        .filter((e): e is string => !!e),
    ),
  ];
  return { locations, contacts, ordered };
}

/** Active, healthy holders first; lost ones last. */
function rank(l: { status: string; lost: boolean }): number {
  return l.status === "active" && !l.lost ? 0 : l.status === "assigned" ? 1 : 2;
}

function timeout(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const t = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, t]) : t;
}

/** The most recent deal whose manifest CID is `cid`, if any. */
async function findDealByManifest(c: CoopContracts, cid: string): Promise<DealRecord | undefined> {
  const all = await dealRecords(c);
  const matches = all.filter((d) => d.manifestCid === cid);
  return matches[matches.length - 1];
}

/**
 * Decodes from k shards, data shards first. When a shard fails (its provider is unreachable or
 * refuses, or its bytes do not match), that source is dropped and decoding starts again with a
 * spare; the plaintext already given out (authenticated, so right) is skipped, not repeated.
 */
async function* decodeWithSpares(
  manifest: Manifest,
  candidates: ShardSource[][],
  decodeOptions: ReturnType<typeof manifestDecodeOptions>,
  options: Pick<GetFileOptions, "signal" | "onProgress" | "workers" | "maxMemory" | "fallback">,
): AsyncGenerator<Uint8Array> {
  const { signal, onProgress } = options;
  const k = manifest.erasure.k;
  const n = manifest.erasure.n;
  const total = manifest.size;
  const failures: { shard: number; reason: string }[] = [];
  const sources = candidates.map((list) => [...list]);
  let emitted = 0;
  try {
    for (;;) {
      const chosen: number[] = [];
      for (let i = 0; i < n && chosen.length < k; i++) if (sources[i]!.length > 0) chosen.push(i);
      if (chosen.length < k) {
        for (let i = 0; i < n; i++)
          if (sources[i]!.length === 0 && !failures.some((f) => f.shard === i))
            failures.push({ shard: i, reason: "no provider holds it" });
        throw new FileUnavailableError(k, failures);
      }
      const inputs = new Map<number, ByteInput>();
      for (const i of chosen)
        inputs.set(i, shardStream(sources[i]![0]!, manifest, options.fallback, signal, onProgress));
      let skip = emitted;
      try {
        for await (const piece of decodeFile(inputs, {
          ...decodeOptions,
          signal,
          workers: options.workers,
          maxMemory: options.maxMemory,
          onProgress: (p) =>
            onProgress?.({
              stage: "decode",
              plaintextBytes: Math.max(emitted, p.plaintextBytes),
              totalBytes: total,
            }),
        })) {
          if (skip >= piece.length) {
            skip -= piece.length;
            continue;
          }
          const out = skip > 0 ? piece.subarray(skip) : piece;
          skip = 0;
          emitted += out.length;
          yield out;
        }
        onProgress?.({ stage: "done", plaintextBytes: emitted });
        return;
      } catch (e) {
        if (signal?.aborted) throw e;
        const shard =
          e instanceof ShardFetchError || e instanceof ShardMismatchError
            ? e.shardIndex
            : undefined;
        if (shard === undefined || sources[shard]!.length === 0) throw e;
        const dropped = sources[shard]!.shift()!;
        const reason = (e as Error).message;
        failures.push({ shard, reason });
        onProgress?.({ stage: "shard-failed", shard, endpoint: dropped.endpoint, error: reason });
      }
    }
  } finally {
    decodeOptions.key.fill(0);
  }
}

/**
 * A shard from a provider's gateway (verified as it streams) or from the fallback (each block
 * checked against its CID); every failure names the shard.
 */
async function* shardStream(
  { shard, endpoint, peers }: ShardSource,
  manifest: Manifest,
  fallback: ShardFallback | undefined,
  signal: AbortSignal | undefined,
  onProgress: GetFileOptions["onProgress"],
): AsyncGenerator<Uint8Array> {
  const { cid, size: total } = manifest.shards[shard]!;
  const onBytes = (bytes: number) =>
    onProgress?.({ stage: "shard", shard, endpoint, bytes, total });
  try {
    if (peers && fallback) yield* fallback.fetchShard(cid, peers, { signal, onBytes });
    else yield* fetchShard(endpoint, cid, { signal, shardIndex: shard, onBytes });
  } catch (e) {
    if (signal?.aborted || e instanceof ShardFetchError) throw e;
    const why = e instanceof ProviderRequestError ? e.message : String((e as Error).message);
    throw new ShardFetchError(endpoint, shard, why, e);
  }
}
