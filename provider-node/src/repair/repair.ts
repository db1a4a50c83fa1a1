// Repair: when a shard is lost (ShardLost, or every shard of a failed provider), an eligible
// node fetches k other shards of the deal from their holders (HTTP first, bitswap as fallback;
// each checked against its root and CID), rebuilds the lost one with the SDK's Reed–Solomon
// codec (no key needed: coding is over ciphertext), checks its root, imports it, and only then
// claims the repair and proves the segment drawn from the next block's hash (completeRepair).
// Claims are not exclusive: the first claimant to complete wins; a loser drops what it built.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";

import { unixfs } from "@helia/unixfs";
import { ShardCommitmentBuilder, createReedSolomon } from "@coop-cloud/sdk";
import { CID } from "multiformats/cid";
import { type Address, type Hex, bytesToHex, zeroAddress } from "viem";

import type { ProviderConfig } from "../config.ts";
import { claimRepair, completeRepair, drawnSegment } from "../chain/epoch.ts";
import { type Market, revertName, shortError, storageMarketAbi } from "../chain/market.ts";
import type { IpfsNode } from "../ipfs/node.ts";
import { askShardCid } from "../ipfs/shard-cids.ts";
import { createLogger, type Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { proveStoredSegment } from "../prover/prove.ts";
import { receiveShard } from "../store/ingest.ts";
import type { ShardStore } from "../store/shards.ts";

const CHUNK = 2 ** 20;
/** Attempts at one repair, the n-th failure waiting n · RETRY_MS before the next. */
const MAX_ATTEMPTS = 4;
const RETRY_MS = 10_000;

export class Repairer {
  readonly #config: ProviderConfig;
  readonly #market: Market;
  readonly #store: ShardStore;
  readonly #ipfs: IpfsNode;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #queue: { dealId: bigint; shard: number; attempt: number }[] = [];
  readonly #active = new Set<string>();
  /** Shards whose failed repair waits for its next attempt. */
  readonly #waiting = new Set<string>();
  /** Shards given up on (not eligible, or done), not tried again. */
  readonly #skip = new Set<string>();
  #stopped = false;

  constructor(
    config: ProviderConfig,
    market: Market,
    store: ShardStore,
    ipfs: IpfsNode,
    metrics: Metrics,
  ) {
    this.#config = config;
    this.#market = market;
    this.#store = store;
    this.#ipfs = ipfs;
    this.#metrics = metrics;
    this.#log = createLogger("provider:repair");
  }

  stop(): void {
    this.#stopped = true;
  }

  /** A shard was lost somewhere: queue it for repair if this node may take it. */
  onLost(dealId: bigint, shard: number, holder: Address): void {
    if (!this.#config.repair.enabled || this.#stopped) return;
    if (holder.toLowerCase() === this.#market.address.toLowerCase()) return;
    const key = `${dealId}-${shard}`;
    if (this.#skip.has(key) || this.#active.has(key) || this.#waiting.has(key)) return;
    if (this.#queue.some((j) => j.dealId === dealId && j.shard === shard)) return;
    if (this.#store.list().some((r) => r.dealId === dealId.toString())) return; // holds one of the deal
    this.#queue.push({ dealId, shard, attempt: 1 });
    this.#pump();
  }

  /** Every shard a failed provider held (from its proof set). */
  async onProviderFailed(provider: Address): Promise<void> {
    if (!this.#config.repair.enabled) return;
    const p = await this.#market.getProvider(provider);
    const entries = await this.#market.public.readContract({
      address: this.#market.market,
      abi: storageMarketAbi,
      functionName: "getProofSet",
      args: [provider, 0n, BigInt(p.entryCount)],
    });
    for (const e of entries) if (e.removedEpoch === 0) this.onLost(e.dealId, e.shard, provider);
  }

  #pump(): void {
    while (this.#active.size < this.#config.repair.maxConcurrent && this.#queue.length) {
      const job = this.#queue.shift()!;
      const key = `${job.dealId}-${job.shard}`;
      this.#active.add(key);
      void this.repair(job.dealId, job.shard)
        .catch((e) => {
          const retry = !this.#skip.has(key) && job.attempt < MAX_ATTEMPTS && !this.#stopped;
          this.#log.warn(
            {
              dealId: String(job.dealId),
              shard: job.shard,
              attempt: job.attempt,
              err: shortError(e),
              ...(retry ? { retryInMs: RETRY_MS * job.attempt } : {}),
            },
            "repair failed",
          );
          // A source may be back soon (a restart, a dropped connection): try again later.
          if (retry) {
            this.#waiting.add(key);
            setTimeout(() => {
              this.#waiting.delete(key);
              if (this.#stopped) return;
              this.#queue.push({ ...job, attempt: job.attempt + 1 });
              this.#pump();
            }, RETRY_MS * job.attempt).unref();
          }
        })
        .finally(() => {
          this.#active.delete(key);
          this.#pump();
        });
    }
  }

  /** Fetch k shards, rebuild, check, import, claim, complete. Returns whether this node won. */
  async repair(dealId: bigint, shard: number): Promise<boolean> {
    const key = `${dealId}-${shard}`;
    const market = this.#market;
    const deal = await market.getDeal(dealId);
    const c = await market.getDealCommitment(dealId);
    if (!c) return false;
    // Eligibility and capacity first, from a simulation: no gas and no bytes moved if not.
    try {
      await market.public.simulateContract({
        address: market.market,
        abi: storageMarketAbi,
        functionName: "claimRepair",
        args: [dealId, BigInt(shard), c.roots, c.providers],
        account: market.account,
        blockTag: "pending",
      });
    } catch (e) {
      this.#log.info(
        { dealId: String(dealId), shard, why: shortError(e) },
        "not eligible to repair",
      );
      this.#skip.add(key);
      return false;
    }
    const size = Number(deal.shardSize);
    if (
      this.#store.usedBytes() + size > this.#config.capacity ||
      this.#store.freeDiskBytes() < (deal.k + 2) * size + this.#config.minFreeBytes
    ) {
      this.#log.warn({ dealId: String(dealId), shard }, "no room to repair");
      return false;
    }
    this.#log.info({ dealId: String(dealId), shard }, "repairing a lost shard");
    const sources: { index: number; path: string }[] = [];
    const tmp = (what: string) =>
      join(this.#store.tmpDir, `repair-${key}-${what}-${randomBytes(4).toString("hex")}.part`);
    const outPath = tmp("out");
    let imported = false;
    try {
      for (let j = 0; j < deal.n && sources.length < deal.k; j++) {
        if (j === shard) continue;
        const s = await market.getShard(dealId, j);
        if (s.status !== "Active" || s.lost || s.provider === zeroAddress) continue;
        const path = tmp(`src${j}`);
        if (await this.#fetchShard(s.provider, dealId, j, c.roots[j], size, path))
          sources.push({ index: j, path });
        else rmSync(path, { force: true });
      }
      if (sources.length < deal.k)
        throw new Error(`only ${sources.length} of the ${deal.k} shards needed could be fetched`);
      const rs = createReedSolomon({ dataShards: deal.k, totalShards: deal.n });
      const handles = await Promise.all(sources.map((s) => open(s.path, "r")));
      const rebuilt = async function* () {
        try {
          for (let off = 0; off < size; off += CHUNK) {
            const len = Math.min(CHUNK, size - off);
            const blocks: (Uint8Array | undefined)[] = new Array(deal.n).fill(undefined);
            for (let i = 0; i < sources.length; i++) {
              const b = new Uint8Array(len);
              await handles[i].read(b, 0, len, off);
              blocks[sources[i].index] = b;
            }
            yield rs.reconstruct(blocks, { wanted: [shard] })[shard] as Uint8Array;
          }
        } finally {
          await Promise.all(handles.map((h) => h.close()));
        }
      };
      const got = await receiveShard(rebuilt(), outPath, {
        maxBytes: size,
        cacheLevel: this.#config.prover.cacheLevel,
      });
      const root = bytesToHex(got.root);
      if (root !== c.roots[shard].toLowerCase())
        throw new Error(`rebuilt shard's root ${root} is not the deal's ${c.roots[shard]}`);
      const rec = await this.#store.importShard(dealId, shard, outPath, got);
      imported = true;
      // Claim, let the next block be mined (its hash draws the segment), prove it.
      const claim = await claimRepair(market, dealId, shard, c.roots, c.providers);
      const segment = await this.#awaitDraw(dealId, shard, claim.blockNumber);
      const pr = await proveStoredSegment(this.#store, rec, segment);
      const done = await completeRepair(
        market,
        dealId,
        shard,
        pr.segment,
        pr.path,
        c.roots as Hex[],
        c.providers,
      );
      rec.state = "accepted";
      rec.endEpoch = deal.endEpoch;
      rec.acceptedEpoch = await market.currentEpoch();
      this.#store.save(rec);
      this.#metrics.repairs.inc();
      this.#skip.add(key);
      this.#log.info(
        { dealId: String(dealId), shard, cid: rec.cid, tx: done.hash },
        "shard repaired",
      );
      return true;
    } catch (e) {
      if (imported) await this.#store.drop(dealId, shard, { gc: true }).catch(() => undefined);
      const name = revertName(e)?.name;
      if (name === "MarketWrongShardStatus") this.#skip.add(key); // someone else completed first
      throw e;
    } finally {
      for (const s of sources) rmSync(s.path, { force: true });
      rmSync(outPath, { recursive: true, force: true });
    }
  }

  /** Waits until the block after the claim is mined (nudging a quiet local chain), then reads the draw. */
  async #awaitDraw(dealId: bigint, shard: number, claimBlock: bigint): Promise<number> {
    const market = this.#market;
    let nudged = -1n;
    for (let i = 0; i < 120; i++) {
      const head = await market.public.getBlockNumber();
      if (head > claimBlock) {
        const seg = await drawnSegment(market, dealId, shard, market.address);
        if (seg !== undefined) return seg;
      }
      // A chain that mines only on transactions (a local one) with nothing else sent needs two
      // more blocks: the seed block, and one on top for its hash to be read. After a quiet
      // second, one fixSeed per block until then.
      if (i >= 4 && head <= claimBlock + 1n && head > nudged) {
        nudged = head;
        await market.send("fixSeed", { functionName: "fixSeed" }).catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error("the repair claim's seed block was not mined");
  }

  /**
   * Fetches shard j from its holder: HTTP first (GET /deals/{id}/shards/{j}), bitswap as
   * fallback (the CID from the HTTP answer's x-ipfs-roots, else asked over libp2p with
   * SHARD_CID_PROTOCOL), checking its segment root and CID while writing to `path`.
   */
  async #fetchShard(
    holder: Address,
    dealId: bigint,
    j: number,
    root: Hex,
    size: number,
    path: string,
  ): Promise<boolean> {
    const p = await this.#market.getProvider(holder);
    let cid: CID | undefined;
    try {
      const res = await fetch(`${p.endpoint.replace(/\/$/, "")}/deals/${dealId}/shards/${j}`, {
        signal: AbortSignal.timeout(600_000),
      });
      if (res.ok && res.body) {
        const named = res.headers.get("x-ipfs-roots");
        cid = named ? CID.parse(named) : undefined;
        if (
          await this.#receive(
            res.body as unknown as AsyncIterable<Uint8Array>,
            root,
            cid,
            size,
            path,
          )
        )
          return true;
      }
    } catch (e) {
      this.#log.info(
        { holder, shard: j, err: (e as Error).message },
        "HTTP fetch failed; trying bitswap",
      );
    }
    try {
      await this.#ipfs.dial([...p.multiaddrs]);
      // Without the holder's HTTP answer, its node names the shard's CID over libp2p.
      cid ??= await askShardCid(this.#ipfs.helia.libp2p, p.multiaddrs, dealId, j);
      if (!cid) {
        this.#log.info({ holder, shard: j }, "the holder does not name the shard's CID");
        return false;
      }
      this.#log.info({ holder, shard: j, cid: cid.toString() }, "fetching over bitswap");
      const fs = unixfs(this.#ipfs.helia);
      return await this.#receive(
        fs.cat(cid, { signal: AbortSignal.timeout(600_000) }),
        root,
        cid,
        size,
        path,
      );
    } catch (e) {
      this.#log.info({ holder, shard: j, err: (e as Error).message }, "bitswap fetch failed");
      return false;
    }
  }

  async #receive(
    body: AsyncIterable<Uint8Array>,
    root: Hex,
    cid: CID | undefined,
    size: number,
    path: string,
  ): Promise<boolean> {
    const b = new ShardCommitmentBuilder();
    rmSync(path, { force: true });
    const fh = await open(path, "w");
    let n = 0;
    try {
      for await (const chunk of body) {
        n += chunk.length;
        if (n > size) return false;
        b.update(chunk);
        await fh.write(chunk);
      }
    } finally {
      await fh.close();
    }
    if (n !== size) return false;
    const got = b.finish();
    return (
      bytesToHex(got.root) === root.toLowerCase() && (cid === undefined || got.cid.equals(cid))
    );
  }
}
