// The scrubber: re-reads every stored shard on a schedule, at a limited rate, and rehashes it
// into its segment root. A shard whose blocks are missing or whose root differs is declared
// lost on-chain (declareLost: the smaller penalty) and dropped.
import { open } from "node:fs/promises";

import { SHARD_UNIXFS_PARAMS, SegmentTreeBuilder } from "@coop-cloud/sdk";
import { bytesToHex } from "viem";

import type { ProviderConfig } from "../config.ts";
import { revertName, shortError, type Market } from "../chain/market.ts";
import type { IpfsNode } from "../ipfs/node.ts";
import { createLogger, type Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { ShardRecord, ShardStore } from "./shards.ts";

const LEAF = SHARD_UNIXFS_PARAMS.chunkSize;

export class Scrubber {
  readonly #config: ProviderConfig;
  readonly #store: ShardStore;
  readonly #ipfs: IpfsNode;
  readonly #market: Market;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  #running: Promise<void> | undefined;

  constructor(
    config: ProviderConfig,
    store: ShardStore,
    ipfs: IpfsNode,
    market: Market,
    metrics: Metrics,
  ) {
    this.#config = config;
    this.#store = store;
    this.#ipfs = ipfs;
    this.#market = market;
    this.#metrics = metrics;
    this.#log = createLogger("provider:scrub");
  }

  start(): void {
    if (!this.#config.scrub.enabled) return;
    this.#running = (async () => {
      while (!this.#abort.signal.aborted) {
        await this.#sleep(this.#config.scrub.intervalSec * 1000);
        if (this.#abort.signal.aborted) break;
        try {
          await this.scrubAll();
        } catch (e) {
          this.#log.warn({ err: shortError(e) }, "scrub pass failed");
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#abort.signal.addEventListener("abort", () => (clearTimeout(t), resolve()), {
        once: true,
      });
    });
  }

  /** One pass over every accepted shard. */
  async scrubAll(): Promise<void> {
    for (const rec of this.#store.list()) {
      if (this.#abort.signal.aborted) return;
      if (rec.state !== "accepted" || rec.leftEpoch !== undefined) continue;
      const why = await this.check(rec);
      if (why === undefined) {
        rec.scrubbedAt = Date.now();
        this.#store.save(rec);
        continue;
      }
      this.#log.error({ dealId: rec.dealId, shard: rec.shard, why }, "stored shard is damaged");
      await this.declareLost(rec);
    }
  }

  /** Rehashes one shard; returns why it is damaged, or undefined when it is whole. */
  async check(rec: ShardRecord): Promise<string | undefined> {
    const tree = new SegmentTreeBuilder();
    const rate = this.#config.scrub.bytesPerSec;
    const leaves = Math.max(1, Math.ceil(rec.size / LEAF));
    const buf = Buffer.allocUnsafe(LEAF);
    const t0 = Date.now();
    let done = 0;
    for (let i = 0; i < leaves; i++) {
      const want = Math.min(LEAF, rec.size - i * LEAF);
      let got: number;
      try {
        const fh = await open(this.#ipfs.blockPath(await this.#store.leafCid(rec, i)), "r");
        try {
          got = (await fh.read(buf, 0, LEAF, 0)).bytesRead;
        } finally {
          await fh.close();
        }
      } catch (e) {
        return `leaf ${i} is missing (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
      }
      if (got !== want) return `leaf ${i} holds ${got} bytes, expected ${want}`;
      tree.update(buf.subarray(0, got));
      done += got;
      this.#metrics.scrubbedBytes.inc(got);
      // Rate limit: never read faster than bytesPerSec on average.
      const ahead = (done / rate) * 1000 - (Date.now() - t0);
      if (ahead > 0) await this.#sleep(ahead);
      if (this.#abort.signal.aborted) return undefined;
    }
    const root = bytesToHex(tree.finish().root);
    return root === rec.root ? undefined : `its segment root is ${root}, not ${rec.root}`;
  }

  /** declareLost on-chain, then drop the shard's data. */
  async declareLost(rec: ShardRecord): Promise<void> {
    try {
      const r = await this.#market.declareLost(BigInt(rec.dealId), rec.shard);
      this.#metrics.shardsLost.inc();
      this.#log.warn({ dealId: rec.dealId, shard: rec.shard, tx: r.hash }, "shard declared lost");
    } catch (e) {
      const name = revertName(e)?.name;
      // Already lost, closed or handed over: nothing left to declare.
      if (name !== "MarketWrongShardStatus" && name !== "MarketShardNotAssigned") throw e;
    }
    await this.#store.drop(rec.dealId, rec.shard, { gc: true });
  }
}
