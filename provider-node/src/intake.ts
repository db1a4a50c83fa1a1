// Shard and manifest intake: every check against the deal on-chain before a byte is kept, one
// streaming pass (temporary file + tree + CCMT + CID), the root check, then import, pin and
// acceptShard. Any refusal is an HttpError; the temporary file is always removed, and a failure
// after import undoes the import.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";

import { MAX_ENVELOPE_LENGTH, ManifestCidMismatchError, verifyManifestCid } from "@coop-cloud/sdk";
import { CID } from "multiformats/cid";
import { type Address, hexToBytes } from "viem";

import type { ProviderConfig } from "./config.ts";
import { HttpError } from "./errors.ts";
import { type DealInfo, type Market, revertName, shortError } from "./chain/market.ts";
import { createLogger, type Logger } from "./log.ts";
import { receiveShard } from "./store/ingest.ts";
import type { ShardRecord, ShardStore } from "./store/shards.ts";

export interface IntakeEvents {
  onAccepted?(rec: ShardRecord, epoch: number): void;
}

export class Intake {
  readonly #config: ProviderConfig;
  readonly #market: Market;
  readonly #store: ShardStore;
  readonly #log: Logger;
  readonly #events: IntakeEvents;
  /** Uploads in flight, by "deal-shard", with their size (counted against capacity). */
  readonly #inFlight = new Map<string, number>();
  /** Imported shards whose acceptShard may still be pending (see settle()), by "deal-shard". */
  readonly #settling = new Set<string>();
  #closed = false;

  constructor(
    config: ProviderConfig,
    market: Market,
    store: ShardStore,
    events: IntakeEvents = {},
  ) {
    this.#config = config;
    this.#market = market;
    this.#store = store;
    this.#events = events;
    this.#log = createLogger("provider:intake");
  }

  /** Stops taking uploads (shutdown); uploads already running finish or fail cleanly. */
  close(): void {
    this.#closed = true;
  }

  get uploadsInFlight(): number {
    return this.#inFlight.size;
  }

  async #deal(dealId: bigint): Promise<DealInfo> {
    try {
      return await this.#market.getDeal(dealId);
    } catch (e) {
      if (revertName(e)?.name === "MarketUnknownDeal")
        throw new HttpError(404, "unknown_deal", `deal ${dealId} does not exist on-chain`);
      throw new HttpError(
        503,
        "chain_unavailable",
        `the chain could not be read: ${shortError(e)}`,
      );
    }
  }

  #tmpPath(): string {
    return join(this.#store.tmpDir, `${Date.now()}-${randomBytes(6).toString("hex")}`);
  }

  /**
   * PUT /deals/{dealId}/shards/{i}. `expectedCid` (header `x-coop-shard-cid`): the UnixFS CID
   * the uploader computed; a shard whose CID here differs is refused before anything is stored,
   * since the owner would later ask the gateways for a CID they do not hold.
   */
  async putShard(
    dealId: bigint,
    shard: number,
    body: AsyncIterable<Uint8Array>,
    contentLength: number | undefined,
    expectedCid?: string,
  ): Promise<{ record: ShardRecord; txHash: string }> {
    if (expectedCid !== undefined) {
      try {
        CID.parse(expectedCid);
      } catch {
        throw new HttpError(400, "bad_request", `x-coop-shard-cid ${expectedCid} is not a CID`);
      }
    }
    if (this.#closed) throw new HttpError(503, "shutting_down", "the node is shutting down");
    const key = `${dealId}-${shard}`;
    if (this.#inFlight.has(key))
      throw new HttpError(
        409,
        "upload_in_progress",
        `shard ${shard} of deal ${dealId} is being uploaded`,
      );
    if (this.#settling.has(key))
      throw new HttpError(
        409,
        "upload_in_progress",
        `shard ${shard} of deal ${dealId} is stored here, its acceptShard transaction not yet mined`,
      );
    const me = this.#market.address;
    const deal = await this.#deal(dealId);
    if (!Number.isInteger(shard) || shard < 0 || shard >= deal.n)
      throw new HttpError(404, "unknown_shard", `deal ${dealId} has shards 0..${deal.n - 1}`);
    const commitment = await this.#market.getDealCommitment(dealId);
    if (!commitment)
      throw new HttpError(
        503,
        "chain_unavailable",
        `no DealCreated event found for deal ${dealId}`,
      );
    const [s, epoch, params] = await Promise.all([
      this.#market.getShard(dealId, shard),
      this.#market.currentEpoch(),
      this.#market.params(),
    ]);
    const assigned = (
      s.status === "Assigned" && s.provider === "0x0000000000000000000000000000000000000000"
        ? commitment.providers[shard]
        : s.provider
    ) as Address;
    if (
      this.#store.get(dealId, shard)?.state === "accepted" ||
      (s.status === "Active" && assigned === me)
    )
      throw new HttpError(
        409,
        "already_stored",
        `shard ${shard} of deal ${dealId} is already stored here`,
      );
    if (assigned.toLowerCase() !== me.toLowerCase() || s.status !== "Assigned")
      throw new HttpError(
        403,
        "not_assigned",
        `shard ${shard} of deal ${dealId} is not assigned to ${me}`,
      );
    const deadline = s.epoch + params.acceptanceWindow;
    if (epoch > deadline || epoch + 1 >= deal.endEpoch)
      throw new HttpError(
        410,
        "acceptance_window_closed",
        `the acceptance window of shard ${shard} of deal ${dealId} closed at epoch ${Math.min(deadline, deal.endEpoch - 2)} (now ${epoch})`,
      );
    const size = Number(deal.shardSize);
    if (
      size > this.#config.http.maxShardBytes ||
      (contentLength ?? 0) > this.#config.http.maxShardBytes
    )
      throw new HttpError(
        413,
        "body_too_large",
        `this node takes shards of at most ${this.#config.http.maxShardBytes} bytes`,
      );
    if (contentLength !== undefined && contentLength !== size)
      throw new HttpError(
        400,
        "wrong_size",
        `the deal's shards are ${size} bytes, the body is ${contentLength}`,
      );
    let reserved = 0;
    for (const n of this.#inFlight.values()) reserved += n;
    const provider = await this.#market.getProvider();
    const freeOnChain = Number(provider.capacity - provider.used);
    if (
      this.#store.usedBytes() + reserved + size > this.#config.capacity ||
      freeOnChain - reserved < size
    )
      throw new HttpError(
        507,
        "over_capacity",
        `no room for ${size} more bytes within this node's capacity`,
      );
    // The upload needs room twice for a moment (temporary file, then blocks) plus the reserve.
    if (this.#store.freeDiskBytes() < 2 * size + this.#config.minFreeBytes)
      throw new HttpError(507, "disk_full", "the provider's disk has no room for this shard");

    this.#inFlight.set(key, size);
    const tmp = this.#tmpPath();
    let imported = false;
    const t0 = performance.now();
    const ms = (since: number) => Math.round(performance.now() - since);
    try {
      const got = await receiveShard(body, tmp, {
        maxBytes: size,
        cacheLevel: this.#config.prover.cacheLevel,
      });
      if (got.size !== size)
        throw new HttpError(
          400,
          "wrong_size",
          `the deal's shards are ${size} bytes, ${got.size} arrived`,
        );
      const want = commitment.roots[shard].toLowerCase();
      const root = `0x${Buffer.from(got.root).toString("hex")}`;
      if (root !== want)
        throw new HttpError(
          422,
          "root_mismatch",
          `the shard's segment root is ${root}, the deal says ${want}`,
        );
      if (expectedCid !== undefined && got.cid.toString() !== expectedCid)
        throw new HttpError(
          422,
          "cid_mismatch",
          `the shard's UnixFS CID is ${got.cid}, the uploader computed ${expectedCid}: nothing was stored`,
        );
      if (this.#closed) throw new HttpError(503, "shutting_down", "the node is shutting down");
      const received = ms(t0);
      const t1 = performance.now();
      const rec = await this.#store.importShard(dealId, shard, tmp, got);
      imported = true;
      const importMs = ms(t1);
      const t2 = performance.now();
      let txHash: string;
      try {
        const r = await this.#market.acceptShard(dealId, shard, commitment);
        txHash = r.hash;
      } catch (e) {
        const name = revertName(e)?.name;
        if (name === "MarketAcceptanceWindow" || name === "MarketDealEnded")
          throw new HttpError(
            410,
            "acceptance_window_closed",
            `acceptShard refused: ${shortError(e)}`,
          );
        if (name === "MarketInsufficientCapacity")
          throw new HttpError(507, "over_capacity", `acceptShard refused: ${shortError(e)}`);
        if (name === undefined) {
          // No revert: the RPC failed or the receipt did not come in time, and the transaction
          // may still be mined. Keep the shard until the wallet's transactions are mined, then
          // keep or drop it by what the chain says (settle), as after a crash.
          imported = false;
          void this.settle(rec);
          throw new HttpError(
            503,
            "accept_pending",
            `acceptShard did not confirm (${shortError(e)}); the shard is kept until the chain says whether it was accepted: retry shortly`,
          );
        }
        throw new HttpError(502, "accept_failed", `acceptShard failed: ${shortError(e)}`);
      }
      rec.state = "accepted";
      rec.endEpoch = deal.endEpoch;
      rec.acceptedEpoch = await this.#market.currentEpoch().catch(() => epoch);
      this.#store.save(rec);
      this.#log.info(
        {
          dealId: String(dealId),
          shard,
          cid: rec.cid,
          size,
          tx: txHash,
          receiveMs: received,
          importMs,
          acceptMs: ms(t2),
        },
        "shard accepted",
      );
      this.#events.onAccepted?.(rec, rec.acceptedEpoch);
      return { record: rec, txHash };
    } catch (e) {
      if (imported) await this.#store.drop(dealId, shard, { gc: true }).catch(() => undefined);
      if ((e as NodeJS.ErrnoException).code === "ENOSPC")
        throw new HttpError(507, "disk_full", "the provider's disk is full");
      throw e;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
      this.#inFlight.delete(key);
    }
  }

  /**
   * An imported shard whose acceptShard (or, rebuilt by a repair, completeRepair) may have been
   * sent and not yet mined (the node was killed between the two): waits until every transaction
   * of this wallet is mined, then keeps the shard as accepted if it is this node's on-chain, else
   * drops it. Dropping it at once would leave the chain naming this node the holder of bytes it
   * deleted once the pending transaction is mined. Uploads of the shard are answered 409 meanwhile (the client retries).
   * Returns whether the shard was kept; stops (keeping the record as it is) when the node closes.
   */
  async settle(rec: ShardRecord): Promise<boolean> {
    const key = `${rec.dealId}-${rec.shard}`;
    const me = this.#market.address.toLowerCase();
    this.#settling.add(key);
    try {
      for (;;) {
        if (this.#closed) return false;
        try {
          if (await this.#market.ownTransactionsMined()) {
            const s = await this.#market.getShard(BigInt(rec.dealId), rec.shard);
            if (s.status === "Active" && s.provider.toLowerCase() === me) {
              const deal = await this.#market.getDeal(BigInt(rec.dealId));
              rec.state = "accepted";
              rec.endEpoch = deal.endEpoch;
              rec.acceptedEpoch = await this.#market.currentEpoch();
              this.#store.save(rec);
              this.#log.info(
                { dealId: rec.dealId, shard: rec.shard },
                "recovered a shard accepted before the restart",
              );
              this.#events.onAccepted?.(rec, rec.acceptedEpoch);
              return true;
            }
            await this.#store.drop(rec.dealId, rec.shard, { gc: true });
            this.#log.info(
              { dealId: rec.dealId, shard: rec.shard, state: rec.state },
              "dropped an unfinished upload",
            );
            return false;
          }
        } catch (e) {
          this.#log.warn(
            { dealId: rec.dealId, shard: rec.shard, err: shortError(e) },
            "could not settle an imported shard yet",
          );
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    } finally {
      this.#settling.delete(key);
    }
  }

  /**
   * PUT /deals/{dealId}/manifest: kept by every provider of the deal. An envelope is at most
   * MAX_ENVELOPE_LENGTH (1 MiB) bytes, refused with 413 as soon as more are declared or arrive,
   * and checked with the SDK's verifyManifestCid against the deal's manifest CID before anything
   * is stored.
   */
  async putManifest(
    dealId: bigint,
    body: AsyncIterable<Uint8Array>,
    contentLength: number | undefined,
  ): Promise<{ cid: string; size: number }> {
    if (this.#closed) throw new HttpError(503, "shutting_down", "the node is shutting down");
    const tooLarge = () =>
      new HttpError(
        413,
        "body_too_large",
        `a manifest envelope is at most ${MAX_ENVELOPE_LENGTH} bytes (docs/protocol.md, "Manifest CID")`,
      );
    if ((contentLength ?? 0) > MAX_ENVELOPE_LENGTH) throw tooLarge();
    const deal = await this.#deal(dealId);
    const commitment = await this.#market.getDealCommitment(dealId);
    const me = this.#market.address.toLowerCase();
    const held = this.#store.list().some((r) => r.dealId === dealId.toString());
    if (!held && !commitment?.providers.some((p) => p.toLowerCase() === me))
      throw new HttpError(403, "not_assigned", `this node is not a provider of deal ${dealId}`);
    if (this.#store.getManifest(dealId))
      throw new HttpError(
        409,
        "already_stored",
        `the manifest of deal ${dealId} is already stored here`,
      );
    const envelope = new Uint8Array(contentLength ?? MAX_ENVELOPE_LENGTH);
    let size = 0;
    for await (const chunk of body) {
      if (size + chunk.length > envelope.length) {
        if (size + chunk.length > MAX_ENVELOPE_LENGTH) throw tooLarge();
        throw new HttpError(
          400,
          "wrong_size",
          `the body is longer than its Content-Length of ${contentLength}`,
        );
      }
      envelope.set(chunk, size);
      size += chunk.length;
    }
    const bytes = envelope.subarray(0, size);
    let cid: CID;
    try {
      cid = verifyManifestCid(bytes, hexToBytes(deal.manifestCid));
    } catch (e) {
      if (e instanceof ManifestCidMismatchError)
        throw new HttpError(422, "cid_mismatch", `${e.message}`);
      throw e;
    }
    const rec = await this.#store.importManifest(dealId, cid, bytes);
    this.#log.info({ dealId: String(dealId), cid: rec.cid }, "manifest stored");
    return { cid: rec.cid, size: rec.size };
  }
}
