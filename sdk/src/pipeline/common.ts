// Parameters, results and helpers shared by encodeFile and decodeFile.
import { InvalidParametersError } from "../errors.ts";
import { isNativeAvailable } from "../crypto/backend.ts";
import { getStripeLayout, type StripeLayout } from "../erasure/stripes.ts";
import { SEGMENT_SIZE } from "./hash.ts";
import { createInlineRunner, getDefaultRunner, type TaskRunner } from "./pool.ts";
import type { PipelineImplementation } from "./tasks.ts";
import {
  SHARD_UNIXFS_PARAMS,
  getNodeStreamingSha256,
  portableStreamingSha256,
  type StreamingSha256,
} from "../cid/unixfs.ts";

/** What the pipeline reports while it runs. */
export interface PipelineProgress {
  /** `"encode"`/`"decode"` while stripes flow, `"done"` once at the end. */
  phase: "encode" | "decode" | "done";
  /** Plaintext bytes read (encode) or produced (decode) so far. */
  plaintextBytes: number;
  /** Shard bytes written to the sinks (encode) or read from the shards (decode) so far. */
  shardBytes: number;
  /** Stripes completed. */
  stripes: number;
}

/** Options both directions share. */
export interface PipelineOptions {
  /**
   * Where stripes are processed: a {@link TaskRunner} (see createPipelinePool), `"inline"` for
   * the calling thread, or a number of worker threads.
   * @default the shared pool: one worker thread per core in Node, inline elsewhere
   */
  workers?: TaskRunner | "inline" | number;
  /**
   * `"native"`: node:crypto ChaCha20-Poly1305 and SHA-256. `"portable"`: @noble ciphers and
   * pure-TS SHA-256, what browsers run (same bytes, slower). `"auto"`: native where available.
   * @default "auto"
   */
  implementation?: "auto" | PipelineImplementation;
  /**
   * Stripes in flight at once (read, being processed or being written). Memory is about
   * this × (k + n) × blockSize.
   * @default workers + 2
   */
  maxStripesInFlight?: number;
  /** Called after each stripe and once at the end. */
  onProgress?: (progress: PipelineProgress) => void;
  /** Aborts the run: the pipeline stops, aborts the sinks and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Per-shard commitments: what the manifest (its `ManifestShard` fields) and the on-chain deal record. */
export interface ShardInfo {
  /** Shard index i (0..n-1); shards 0..k-1 are data, the rest parity. */
  index: number;
  /** Shard bytes. */
  size: number;
  /** UnixFS CID (CIDv1, raw leaves, 1 MiB chunks, 1024 links), base32. */
  cid: string;
  /** Segment Merkle root, 0x-prefixed lowercase hex (bytes32). */
  merkleRoot: `0x${string}`;
  /** Number of 512-byte segments (leaves). */
  leafCount: number;
}

/** Layout parameters of an encoded file: everything decodeFile needs besides the key. */
export interface EncodedLayout {
  /** k. */
  dataShards: number;
  /** n. */
  totalShards: number;
  /** Block size B of every full stripe. */
  blockSize: number;
  /** Bytes of the erasure-coded stream: the STREAM ciphertext, header included. */
  ciphertextLength: number;
}

export function resolveImplementation(
  impl: PipelineOptions["implementation"],
): PipelineImplementation {
  if (impl === undefined || impl === "auto") return isNativeAvailable() ? "native" : "portable";
  if (impl === "native" || impl === "portable") return impl;
  throw new InvalidParametersError(
    "implementation",
    impl,
    'must be "auto", "native" or "portable"',
  );
}

/**
 * The runner to use and whether the call owns it (must close it). A pool created here (from a
 * worker count) gives its workers `maxOldGenerationSizeMb` (Node) when set.
 */
export function resolveRunner(
  workers: PipelineOptions["workers"],
  maxOldGenerationSizeMb?: number,
): {
  runner: TaskRunner;
  owned: boolean;
} {
  if (workers === undefined) return { runner: getDefaultRunner(), owned: false };
  if (workers === "inline" || workers === 0) return { runner: createInlineRunner(), owned: true };
  if (typeof workers === "number") {
    // Imported lazily so this module stays free of worker set-up cost when a runner is given.
    return { runner: createPipelinePoolSync(workers, maxOldGenerationSizeMb), owned: true };
  }
  return { runner: workers, owned: false };
}

type PoolFactory = (size: number, maxOldGenerationSizeMb?: number) => TaskRunner;
let poolFactory: PoolFactory | undefined;
/** Set by pipeline/index.ts (kept out of here to avoid an import cycle). */
export function setPoolFactory(f: PoolFactory): void {
  poolFactory = f;
}
function createPipelinePoolSync(size: number, maxOldGenerationSizeMb?: number): TaskRunner {
  if (!Number.isInteger(size) || size < 0)
    throw new InvalidParametersError(
      "workers",
      size,
      'must be an integer ≥ 0, a runner or "inline"',
    );
  if (poolFactory === undefined) throw new Error("pipeline pool factory not registered");
  return poolFactory(size, maxOldGenerationSizeMb);
}

/** Validates (k, n, B) and returns the layout plus the per-block tree height. */
export function planLayout(
  dataShards: number,
  totalShards: number,
  blockSize: number,
  ciphertextLength: number,
): { layout: StripeLayout; blockHeight: number; cidChunkSize: number } {
  const layout = getStripeLayout({
    dataShards,
    totalShards,
    blockSize,
    dataLength: ciphertextLength,
  });
  // getStripeLayout holds B to 512·2^h, so each full block is one segment subtree of height h.
  const segs = blockSize / SEGMENT_SIZE;
  return {
    layout,
    blockHeight: Math.log2(segs),
    cidChunkSize:
      blockSize % SHARD_UNIXFS_PARAMS.chunkSize === 0 ? SHARD_UNIXFS_PARAMS.chunkSize : 0,
  };
}

export function toHex(bytes: Uint8Array): `0x${string}` {
  let s = "0x";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s as `0x${string}`;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new Error("aborted");
}

/** The UnixFS builder's SHA-256 for an implementation (parent nodes; leaves come from tasks). */
export function cidSha256(implementation: PipelineImplementation): StreamingSha256 {
  return (
    (implementation === "native" ? getNodeStreamingSha256() : undefined) ?? portableStreamingSha256
  );
}
