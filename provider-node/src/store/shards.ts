// The shards (and manifests) this node keeps. Each shard's blocks live in Helia's blockstore,
// pinned; beside them, in <dataDir>/shards, a record (JSON), the prover's tree cache (CCMT) and
// the leaf digests (32 bytes per 1 MiB leaf), so a proof reads one block file at one offset.
// Records move importing → imported → accepted; a restart drops anything short of accepted
// that the chain does not show as ours, and Helia's GC removes every unpinned block.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync } from "node:fs";
import { mkdir, rename } from "node:fs/promises";
import { dirname, join } from "node:path";

import {
  SEGMENT_SIZE,
  SHARD_UNIXFS_PARAMS,
  serializeSegmentTreeCache,
  parseSegmentTreeCache,
  type SegmentTreeCache,
} from "@coop-cloud/sdk";
import type { GraphNode, GraphWalker, GraphWalkerFactory } from "@helia/interface";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import * as Digest from "multiformats/hashes/digest";

import type { IpfsNode } from "../ipfs/node.ts";
import { createLogger, type Logger } from "../log.ts";
import { readAt, writeFileAtomic } from "./files.ts";
import { leafFile, type ReceivedShard } from "./ingest.ts";

const LEAF = SHARD_UNIXFS_PARAMS.chunkSize;
/** Leaf files moved into the blockstore at once during an import. */
const RENAMES_AT_ONCE = 8;

export type ShardState = "importing" | "imported" | "accepted";

export interface ShardRecord {
  dealId: string;
  shard: number;
  cid: string;
  root: `0x${string}`;
  size: number;
  leafCount: number;
  state: ShardState;
  /** The deal's end epoch (moved by DealExtended / DealCancelled). */
  endEpoch?: number;
  /** Epoch in which the shard joined the proof set (accepted or repaired). */
  acceptedEpoch?: number;
  /** Epoch in which the shard left the node's proof set; its data is kept until it is proven. */
  leftEpoch?: number;
  /** How it left: settled, lost, repaired elsewhere. */
  leftReason?: string;
  /** Last scrub that found it whole (ms since epoch). */
  scrubbedAt?: number;
}

export interface ManifestRecord {
  dealId: string;
  cid: string;
  size: number;
}

/** Every block of an imported DAG (root first), as graph nodes for pins.add; leaves not read. */
async function* walkImported(
  root: CID,
  dag: { nodes: { cid: CID; bytes: Uint8Array }[]; leaves: CID[] },
): AsyncGenerator<GraphNode> {
  const seen = new Set<string>();
  const all = [root, ...dag.nodes.map((n) => n.cid), ...dag.leaves];
  for (const cid of all) {
    const k = cid.toString();
    if (seen.has(k)) continue;
    seen.add(k);
    yield { block: { cid } as GraphNode["block"], depth: 0, path: [root, cid] };
  }
}

const keyOf = (dealId: bigint | string, shard: number) => `${dealId}-${shard}`;
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}` as `0x${string}`;

export class ShardStore {
  readonly dir: string;
  readonly tmpDir: string;
  readonly manifestDir: string;
  readonly #ipfs: IpfsNode;
  readonly #records = new Map<string, ShardRecord>();
  readonly #manifests = new Map<string, ManifestRecord>();
  readonly #log: Logger;
  /** Imports under way (blocks written before their pins): gc waits for them to end. */
  #importing = 0;
  #idle: (() => void)[] = [];
  #gcRunning: Promise<void> | undefined;

  constructor(dataDir: string, ipfs: IpfsNode) {
    this.dir = join(dataDir, "shards");
    this.tmpDir = join(dataDir, "tmp");
    this.manifestDir = join(dataDir, "manifests");
    for (const d of [this.dir, this.tmpDir, this.manifestDir]) mkdirSync(d, { recursive: true });
    this.#ipfs = ipfs;
    this.#log = createLogger("provider:store");
  }

  /** Loads the records; returns those not yet accepted, for the caller to resolve against the chain. */
  load(): ShardRecord[] {
    // Temporary upload files never survive a restart.
    for (const f of readdirSync(this.tmpDir))
      rmSync(join(this.tmpDir, f), { recursive: true, force: true });
    const pending: ShardRecord[] = [];
    for (const f of readdirSync(this.dir)) {
      if (f.endsWith(".tmp")) {
        rmSync(join(this.dir, f), { force: true });
        continue;
      }
      if (!f.endsWith(".json")) continue;
      const rec = JSON.parse(readFileSync(join(this.dir, f), "utf8")) as ShardRecord;
      this.#records.set(keyOf(rec.dealId, rec.shard), rec);
      if (rec.state !== "accepted") pending.push(rec);
      else this.#ipfs.announce(CID.parse(rec.cid));
    }
    for (const f of readdirSync(this.manifestDir)) {
      if (!f.endsWith(".json")) continue;
      const rec = JSON.parse(readFileSync(join(this.manifestDir, f), "utf8")) as ManifestRecord;
      this.#manifests.set(rec.dealId, rec);
    }
    return pending;
  }

  #paths(key: string) {
    return {
      record: join(this.dir, `${key}.json`),
      cache: join(this.dir, `${key}.ccmt`),
      leaves: join(this.dir, `${key}.leaves`),
    };
  }

  get(dealId: bigint | string, shard: number): ShardRecord | undefined {
    return this.#records.get(keyOf(dealId, shard));
  }

  list(): ShardRecord[] {
    return [...this.#records.values()];
  }

  /** Bytes held or being imported. */
  usedBytes(): number {
    let n = 0;
    for (const r of this.#records.values()) n += r.size;
    return n;
  }

  /** Free bytes on the data folder's file system. */
  freeDiskBytes(): number {
    const s = statfsSync(this.dir);
    return Number(s.bavail) * Number(s.bsize);
  }

  save(rec: ShardRecord): void {
    const key = keyOf(rec.dealId, rec.shard);
    this.#records.set(key, rec);
    writeFileAtomic(this.#paths(key).record, JSON.stringify(rec, null, 2));
  }

  /**
   * Imports a received, checked shard from its temporary file: record (importing), tree cache
   * and leaf digests, every block into the blockstore, a recursive pin, record (imported).
   */
  async importShard(
    dealId: bigint,
    shard: number,
    tmpPath: string,
    got: ReceivedShard,
  ): Promise<ShardRecord> {
    const key = keyOf(dealId, shard);
    const paths = this.#paths(key);
    const rec: ShardRecord = {
      dealId: dealId.toString(),
      shard,
      cid: got.cid.toString(),
      root: hex(got.root),
      size: got.size,
      leafCount: got.leafCount,
      state: "importing",
    };
    this.save(rec);
    writeFileAtomic(paths.cache, serializeSegmentTreeCache(got.cache));
    const digests = new Uint8Array(32 * got.leaves.length);
    got.leaves.forEach((c, i) => digests.set(c.multihash.digest, 32 * i));
    writeFileAtomic(paths.leaves, digests);
    // The pin writes only datastore records (its walker reads no block): both run at once.
    await this.#whileImporting(() =>
      Promise.all([
        this.#importBlocks(tmpPath, got),
        this.#pin(got.cid, { dealId: rec.dealId, shard }, got),
      ]),
    );
    rec.state = "imported";
    this.save(rec);
    this.#ipfs.announce(got.cid);
    return rec;
  }

  /**
   * Pins a root; the same bytes held for another deal are pinned once (drop() counts holders).
   * With the DAG just imported (`dag`), the pin walks it from memory instead of reading every
   * leaf back from disk (Helia's walker loads each block only to learn its links, and raw
   * leaves have none): the pin records written are the same.
   */
  async #pin(
    cid: CID,
    metadata: Record<string, string | number>,
    dag?: { nodes: { cid: CID; bytes: Uint8Array }[]; leaves: CID[] },
  ): Promise<void> {
    const walker: GraphWalkerFactory | undefined =
      dag && (() => ({ walk: (() => walkImported(cid, dag)) as GraphWalker["walk"] }));
    try {
      for await (const _ of this.#ipfs.helia.pins.add(cid, {
        metadata,
        ...(walker ? { walker } : {}),
      }));
    } catch (e) {
      if ((e as Error).name !== "AlreadyPinnedError") throw e;
    }
  }

  /**
   * Moves the leaves from the upload's temporary folder into the blockstore (a rename each: no
   * copy; the CIDs were computed from these very bytes) and writes the dag-pb nodes.
   */
  async #importBlocks(
    tmpDir: string,
    got: { cid: CID; nodes: { cid: CID; bytes: Uint8Array }[]; leaves: CID[] },
  ) {
    const bs = this.#ipfs.helia.blockstore;
    const move = async (i: number) => {
      const dest = this.#ipfs.blockPath(got.leaves[i]);
      await mkdir(dirname(dest), { recursive: true });
      await rename(leafFile(tmpDir, i), dest);
    };
    // A few renames at a time keep libuv's thread pool busy without queueing thousands.
    for (let i = 0; i < got.leaves.length; i += RENAMES_AT_ONCE) {
      const batch: Promise<void>[] = [];
      for (let j = i; j < Math.min(i + RENAMES_AT_ONCE, got.leaves.length); j++)
        batch.push(move(j));
      await Promise.all(batch);
    }
    for (const n of got.nodes) await bs.put(n.cid, n.bytes);
  }

  /** Unpins a shard and forgets it; its blocks go at the next GC (or now, with `gc`). */
  async drop(
    dealId: bigint | string,
    shard: number,
    options: { gc?: boolean } = {},
  ): Promise<void> {
    const key = keyOf(dealId, shard);
    const rec = this.#records.get(key);
    if (rec) {
      this.#records.delete(key);
      const shared = [...this.#records.values()].some((r) => r.cid === rec.cid);
      if (!shared && !this.#manifestCids().has(rec.cid)) await this.#unpin(CID.parse(rec.cid));
    }
    const p = this.#paths(key);
    for (const f of [p.record, p.cache, p.leaves]) rmSync(f, { force: true });
    // The deal's manifest is kept while this node holds (or is taking) any shard of the deal.
    if (rec?.state === "accepted" && !this.list().some((r) => r.dealId === String(dealId)))
      await this.dropManifest(dealId);
    if (options.gc) await this.gc();
    this.#log.info({ dealId: String(dealId), shard }, "shard dropped");
  }

  async #unpin(cid: CID): Promise<void> {
    try {
      for await (const _ of this.#ipfs.helia.pins.rm(cid));
    } catch (e) {
      if ((e as Error).name !== "NotFoundError") throw e;
    }
  }

  /**
   * Runs `fn`, which writes blocks and then pins them, outside any gc pass: a gc between the two
   * would delete the new, not yet pinned blocks (another shard's drop runs gc).
   */
  async #whileImporting<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#gcRunning) await this.#gcRunning;
    this.#importing++;
    try {
      return await fn();
    } finally {
      if (--this.#importing === 0) for (const wake of this.#idle.splice(0)) wake();
    }
  }

  /** Deletes every unpinned block, once no import is between writing its blocks and pinning them. */
  async gc(): Promise<void> {
    while (this.#importing > 0 || this.#gcRunning) {
      if (this.#gcRunning) await this.#gcRunning;
      else await new Promise<void>((wake) => this.#idle.push(wake));
    }
    this.#gcRunning = this.#ipfs.helia.gc().finally(() => (this.#gcRunning = undefined));
    await this.#gcRunning;
  }

  /** Path of a shard's CCMT file. */
  cachePath(rec: ShardRecord): string {
    return this.#paths(keyOf(rec.dealId, rec.shard)).cache;
  }

  /** The prover's tree cache of a shard. */
  readCache(rec: ShardRecord): SegmentTreeCache {
    return parseSegmentTreeCache(readFileSync(this.#paths(keyOf(rec.dealId, rec.shard)).cache));
  }

  /** Leaf `i`'s CID, read from the leaf digest file (one 32-byte read). */
  async leafCid(rec: ShardRecord, i: number): Promise<CID> {
    if (rec.size <= LEAF) return CID.parse(rec.cid);
    const d = await readAt(this.#paths(keyOf(rec.dealId, rec.shard)).leaves, 32 * i, 32);
    if (d.length !== 32)
      throw new Error(`leaf ${i} of ${rec.dealId}/${rec.shard} not in the leaf file`);
    return CID.createV1(raw.code, Digest.create(0x12, d));
  }

  /**
   * Reads segments [first, first + count) of a stored shard (fewer bytes at its end): one read
   * in one leaf block, since 2^L segments never cross a 1 MiB leaf boundary.
   */
  async readSegments(rec: ShardRecord, first: number, count: number): Promise<Uint8Array> {
    const offset = first * SEGMENT_SIZE;
    const leaf = Math.floor(offset / LEAF);
    const within = offset - leaf * LEAF;
    const len = Math.min(count * SEGMENT_SIZE, rec.size - offset);
    if (len <= 0) return new Uint8Array(0);
    const cid = await this.leafCid(rec, leaf);
    return readAt(this.#ipfs.blockPath(cid), within, len);
  }

  /** Whether every block file of a shard is present (a quick check, not a rehash). */
  hasCache(rec: ShardRecord): boolean {
    return existsSync(this.#paths(keyOf(rec.dealId, rec.shard)).cache);
  }

  #manifestCids(): Set<string> {
    return new Set([...this.#manifests.values()].map((m) => m.cid));
  }

  // ───────────── manifests ─────────────

  getManifest(dealId: bigint | string): ManifestRecord | undefined {
    return this.#manifests.get(dealId.toString());
  }

  /** Stores and pins a manifest envelope already checked against its manifest CID (one raw block). */
  async importManifest(dealId: bigint, cid: CID, bytes: Uint8Array): Promise<ManifestRecord> {
    await this.#whileImporting(async () => {
      await this.#ipfs.helia.blockstore.put(cid, bytes);
      await this.#pin(cid, { manifestOf: dealId.toString() }, { nodes: [], leaves: [] });
    });
    this.#ipfs.announce(cid);
    const rec = { dealId: dealId.toString(), cid: cid.toString(), size: bytes.length };
    writeFileAtomic(join(this.manifestDir, `${rec.dealId}.json`), JSON.stringify(rec));
    this.#manifests.set(rec.dealId, rec);
    return rec;
  }

  async dropManifest(dealId: bigint | string): Promise<void> {
    const rec = this.#manifests.get(dealId.toString());
    if (!rec) return;
    this.#manifests.delete(rec.dealId);
    const shared = this.#manifestCids().has(rec.cid) || this.list().some((r) => r.cid === rec.cid);
    if (!shared) await this.#unpin(CID.parse(rec.cid));
    rmSync(join(this.manifestDir, `${rec.dealId}.json`), { force: true });
    this.#manifests.delete(rec.dealId);
  }
}
