// Worker threads that take full 1 MiB leaves of an upload off the main thread (which only parses
// HTTP and copies bytes): each leaf is written to its file and hashed, giving the segment-tree
// nodes at one height and the leaf's SHA-256. The bytes are read in place from a
// SharedArrayBuffer (nothing is copied to a worker), and one message each way is the only
// hand-off per leaf: on a loaded machine every hand-off between threads waits for a core.
import { hash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

import { SEGMENT_SIZE, getDefaultHasher, hashSubtreeRoots } from "@coop-cloud/sdk/merkle/hasher.ts";
import { computeSegmentTree } from "@coop-cloud/sdk/merkle/tree.ts";

/** A leaf to write and hash: `length` bytes at the start of `buffer`. */
export interface LeafHashRequest {
  id: number;
  buffer: SharedArrayBuffer;
  length: number;
  /** New file to write the leaf to. */
  path: string;
  /** Height of the subtree roots returned (segments are height 0; a 1 MiB leaf is height 11). */
  height: number;
}

export type LeafHashReply =
  | { id: number; nodes: Uint8Array; digest: Uint8Array; error?: undefined }
  | { id: number; error: string; code?: string };

/** What a leaf hashes to. */
export interface LeafHashes {
  /** 2^(11 − height) subtree roots of 32 bytes, left to right. */
  nodes: Uint8Array;
  /** SHA-256 of the leaf (its raw CID's digest). */
  digest: Uint8Array;
}

/** Writes one full leaf to a new file and hashes it: what a worker does, or inline without workers. */
export function writeAndHashLeaf(bytes: Uint8Array, path: string, height: number): LeafHashes {
  writeFileSync(path, bytes, { flag: "wx" });
  const digest = new Uint8Array(hash("sha256", bytes, "buffer"));
  // A full leaf is whole subtrees of this height: one batch call (the SIMD kernel where it runs).
  if (bytes.length > 0 && bytes.length % (SEGMENT_SIZE * 2 ** height) === 0)
    return { nodes: hashSubtreeRoots(getDefaultHasher(), bytes, height), digest };
  const t = computeSegmentTree(bytes, { cacheLevel: height });
  const c = t.cache!;
  // The nodes at `height`: the cache's lowest level, or the root when height is the leaf's depth.
  const nodes = c.levels.length > 0 ? c.levels[0] : t.root;
  return { nodes, digest };
}

/**
 * A worker's heap: its garbage is short-lived (32-byte digests), so a small young generation
 * keeps its memory low at little cost in collection time.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 48 };

const workerUrl = new URL("./leaf-hash-worker.ts", import.meta.url);

/**
 * Default worker count: two from two cores, one on one. On two cores two workers beside the
 * main thread's HTTP parsing were the fastest (512 MiB over loopback HTTP, three alternating
 * rounds at load ~6: 109-115 MB/s with two, 90-105 with one, 85-90 inline): a worker waits on
 * its leaf-file write part of the time.
 */
export const defaultLeafHashWorkers = (): number => (availableParallelism() >= 2 ? 2 : 1);

/**
 * A few worker threads for one upload, started on the first leaf, stopped by close(); with 0
 * workers, leaves are hashed inline (small uploads, where starting threads costs more).
 */
export class LeafHashers {
  readonly #size: number;
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<
    number,
    { resolve: (h: LeafHashes) => void; reject: (e: Error) => void }
  >();
  #next = 0;
  #failure: Error | undefined;

  constructor(workers = defaultLeafHashWorkers()) {
    this.#size = Math.max(0, workers);
  }

  #fail(e: Error): void {
    this.#failure ??= e;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }

  #start(): void {
    for (let i = 0; i < this.#size; i++) {
      const w = new Worker(workerUrl, { resourceLimits: WORKER_LIMITS });
      w.on("message", (r: LeafHashReply) => {
        const p = this.#pending.get(r.id);
        if (!p) return;
        this.#pending.delete(r.id);
        if (r.error !== undefined) p.reject(Object.assign(new Error(r.error), { code: r.code }));
        else p.resolve({ nodes: r.nodes, digest: r.digest });
      });
      w.on("error", (e) => this.#fail(e));
      w.on("exit", (code) => this.#fail(new Error(`a leaf-hash worker exited (${code})`)));
      this.#workers.push(w);
    }
  }

  /**
   * Writes the first `length` bytes of `buffer` (a full leaf) to the new file `path` and hashes
   * them; the buffer must not change until it resolves.
   */
  writeAndHash(
    buffer: SharedArrayBuffer,
    length: number,
    path: string,
    height: number,
  ): Promise<LeafHashes> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#size === 0) {
      try {
        return Promise.resolve(writeAndHashLeaf(new Uint8Array(buffer, 0, length), path, height));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    if (this.#workers.length === 0) this.#start();
    const id = this.#next++;
    return new Promise<LeafHashes>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const msg: LeafHashRequest = { id, buffer, length, path, height };
      this.#workers[id % this.#workers.length].postMessage(msg);
    });
  }

  /** Stops the workers; leaves still being hashed are rejected. */
  async close(): Promise<void> {
    this.#failure ??= new Error("the leaf hashers were closed");
    const ws = this.#workers.splice(0);
    for (const w of ws) w.removeAllListeners("exit");
    await Promise.all(ws.map((w) => w.terminate()));
    this.#fail(this.#failure);
  }
}
