// The per-stripe work of the pipeline, as pure functions over transferable messages: the same
// code runs in a worker thread, a Web Worker or inline on the calling thread. No node: imports;
// native crypto and hashing are reached through the crypto and merkle modules' own adapters.
import { createChunkSession, type ChunkSession } from "../crypto/backend.ts";
import {
  STREAM_HEADER_LENGTH,
  TAG_LENGTH,
  chunkNonceTail,
  computeKeyCheck,
  parseStreamHeader,
} from "../crypto/format.ts";
import { createReedSolomon, type ReedSolomon } from "../erasure/reed-solomon.ts";
import { computeSegmentTree } from "../merkle/tree.ts";
import { getSegmentHasher, getSha256, type HashImplementation } from "./hash.ts";

/** Which implementations run: node:crypto (`"native"`) or noble/portable hashing (`"portable"`). */
export type PipelineImplementation = "native" | "portable";

interface StripeGeometry {
  /** Byte offset of this stripe in the ciphertext stream (s · k · B). */
  stripeOffset: number;
  /** Ciphertext bytes in this stripe (k·B except for the last stripe). */
  dataBytes: number;
  /** This stripe's block size (B, or the shrunk last block size). */
  blockSize: number;
  dataShards: number;
  totalShards: number;
  /**
   * Whether to compute each block's segment-tree root (full blocks of 512·2^h bytes only: the
   * caller pushes them into its tree builder as complete subtrees; shorter last blocks it hashes
   * itself).
   */
  blockRoots: boolean;
  /** UnixFS leaf size to digest each block in; 0 when blocks do not hold whole leaves. */
  cidChunkSize: number;
  /** Index of the stream's last chunk, or -1 while the end of the input is not known. */
  finalChunk: number;
  implementation: PipelineImplementation;
}

export interface EncodeTask extends StripeGeometry {
  type: "encode";
  id: number;
  /** The task's own copy of the file key, wiped once the task has its session. */
  key: Uint8Array;
  /** The 41-byte STREAM header (its bytes are the first bytes of the ciphertext). */
  header: Uint8Array;
  /**
   * Ciphertext that opens the stripe: the part inside it of a chunk that straddles its start,
   * sealed on the calling thread (empty when a chunk or the header starts the stripe).
   */
  prefix: Uint8Array;
  /** Plaintext of the `chunkCount` chunks wholly inside this stripe, from chunk `firstChunk`. */
  plaintext: Uint8Array;
  firstChunk: number;
  chunkCount: number;
  /** Ciphertext that closes the stripe: the start of a chunk that straddles its end (or empty). */
  suffix: Uint8Array;
  /** A spare buffer of at least n · blockSize bytes to build the stripe in (recycled), or none. */
  output: ArrayBuffer | undefined;
}

export interface EncodeResult {
  type: "encode";
  id: number;
  /** n blocks of `blockSize` bytes, block i at i·blockSize: block i goes to shard i. */
  stripe: Uint8Array;
  /** n segment subtree roots of 32 bytes. */
  roots: Uint8Array;
  /** n × leavesPerBlock SHA-256 digests of the blocks' UnixFS leaves (empty when not aligned). */
  digests: Uint8Array;
  /** The task's plaintext buffer, handed back for reuse. */
  input: ArrayBuffer | undefined;
}

export interface DecodeTask extends StripeGeometry {
  type: "decode";
  id: number;
  /** The task's own copy of the file key, wiped once the task has its session. */
  key: Uint8Array;
  /** The STREAM header the caller pinned; stripe 0 must carry exactly these bytes. */
  header: Uint8Array;
  /** Indexes of the k shards whose blocks are given, ascending. */
  present: number[];
  /** The present blocks, concatenated in the order of `present` (k · blockSize bytes). */
  blocks: Uint8Array;
  /** Whether to decrypt (false: only hash the blocks, to find a tampered shard). */
  decrypt: boolean;
  /** Bytes of the whole ciphertext stream (header included). */
  ciphertextLength: number;
  /** A spare buffer (at least k · blockSize bytes) to write the plaintext into (recycled), or none. */
  output: ArrayBuffer | undefined;
}

/** Why a stripe did not decrypt: a chunk that does not authenticate, or another header. */
export type DecodeFailure = { kind: "tampered"; chunkIndex: number } | { kind: "header" };

export interface DecodeResult {
  type: "decode";
  id: number;
  /**
   * The stripe's ciphertext (after the header) in up to three parts, in stream order: `head`,
   * the part of chunk `headChunk` that began in an earlier stripe (it may end here or later);
   * the `fullChunks` chunks wholly inside the stripe from `firstFullChunk`, opened here into
   * `plaintext`; `tail`, the start of chunk `firstFullChunk + fullChunks`, which ends in a later
   * stripe. Any part may be empty; `head` is empty when a chunk starts the stripe.
   */
  head: Uint8Array;
  /** Index of the chunk `head` belongs to. */
  headChunk: number;
  /** Plaintext of the chunks wholly inside this stripe, in order. */
  plaintext: Uint8Array;
  /** Index of the first chunk wholly inside this stripe (or of the chunk `tail` starts, if none). */
  firstFullChunk: number;
  /** Chunks wholly inside this stripe. */
  fullChunks: number;
  /** Ciphertext after the last whole chunk: the start of a chunk that ends in a later stripe. */
  tail: Uint8Array;
  /** Segment subtree roots of the present blocks (k × 32 bytes, order of `present`), or empty. */
  roots: Uint8Array;
  /** The task's block buffer, handed back for reuse. */
  input: ArrayBuffer | undefined;
  /** UnixFS leaf digests of the present blocks, or empty. */
  digests: Uint8Array;
  failure: DecodeFailure | undefined;
}

export type Task = EncodeTask | DecodeTask;
export type TaskResult = EncodeResult | DecodeResult;

const codecs = new Map<string, ReedSolomon>();
function codecFor(k: number, n: number): ReedSolomon {
  const key = `${k}/${n}`;
  let c = codecs.get(key);
  if (c === undefined) codecs.set(key, (c = createReedSolomon({ dataShards: k, totalShards: n })));
  return c;
}

/**
 * How long a thread keeps a stream's chunk session (its key material) after the stream's last
 * task: the sessions of a finished call are dropped within about twice this.
 */
export const SESSION_IDLE_MS = 1000;
/** Sessions kept at once (a worker serves one or two streams at a time). */
const MAX_SESSIONS = 8;

interface CachedSession {
  session: ChunkSession;
  lastUsed: number;
}
const sessions = new Map<string, CachedSession>();
let sweep: ReturnType<typeof setTimeout> | undefined;

function drop(id: string): void {
  sessions.get(id)?.session.dispose();
  sessions.delete(id);
}

/** Drops, and wipes, the sessions idle for SESSION_IDLE_MS; runs while any are kept. */
function scheduleSweep(): void {
  if (sweep !== undefined || sessions.size === 0) return;
  sweep = setTimeout(() => {
    sweep = undefined;
    const now = Date.now();
    for (const [id, entry] of sessions) if (now - entry.lastUsed >= SESSION_IDLE_MS) drop(id);
    scheduleSweep();
  }, SESSION_IDLE_MS);
  // An idle pool must not keep the process alive for its sweep.
  (sweep as { unref?: () => void }).unref?.();
}

/** The ids of this thread's cached sessions (for tests: they must not contain key bytes). */
export function cachedSessionIds(): string[] {
  return [...sessions.keys()];
}

function hexOf(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * The chunk session of one stream, cached per thread. The cache is keyed by the header and the
 * key's key-check value (an HMAC of the key, which the header carries anyway), never by key
 * bytes: strings cannot be wiped. A session holds the key as bytes that dispose() wipes (noble)
 * or as a node:crypto KeyObject (native), and is dropped when idle or pushed out.
 */
function sessionFor(
  key: Uint8Array,
  header: Uint8Array,
  impl: PipelineImplementation,
): ChunkSession {
  const id = `${impl}:${hexOf(header)}:${hexOf(computeKeyCheck(key))}`;
  let entry = sessions.get(id);
  if (entry === undefined) {
    const h = parseStreamHeader(header);
    const session = createChunkSession(
      key,
      h.noncePrefix,
      h.aad,
      impl === "native" ? "native" : "noble",
    );
    entry = { session, lastUsed: 0 };
    while (sessions.size >= MAX_SESSIONS) drop(sessions.keys().next().value as string);
  } else sessions.delete(id); // re-inserted below: the map's order is least recently used first
  entry.lastUsed = Date.now();
  sessions.set(id, entry);
  scheduleSweep();
  return entry.session;
}

function hashImpl(impl: PipelineImplementation): HashImplementation {
  return impl === "native" ? "native" : "portable";
}

/** Roots and UnixFS leaf digests of `count` consecutive blocks of `buf`. */
function hashBlocks(
  g: StripeGeometry,
  buf: Uint8Array,
  count: number,
  withRoots: boolean,
): { roots: Uint8Array; digests: Uint8Array } {
  const b = g.blockSize;
  const hasher = getSegmentHasher(hashImpl(g.implementation));
  const roots = new Uint8Array(withRoots ? count * 32 : 0);
  const perBlock = g.cidChunkSize > 0 ? Math.ceil(b / g.cidChunkSize) : 0;
  const digests = new Uint8Array(count * perBlock * 32);
  const sha = perBlock > 0 ? getSha256(hashImpl(g.implementation)) : undefined;
  for (let i = 0; i < count; i++) {
    const block = buf.subarray(i * b, (i + 1) * b);
    if (withRoots) roots.set(computeSegmentTree(block, { hasher }).root, i * 32);
    for (let j = 0; j < perBlock; j++) {
      const piece = block.subarray(j * g.cidChunkSize, Math.min(b, (j + 1) * g.cidChunkSize));
      digests.set(sha!(piece), (i * perBlock + j) * 32);
    }
  }
  return { roots, digests };
}

/**
 * Lays out the stripe's ciphertext (header, the pre-sealed prefix and suffix, the chunks wholly
 * inside it sealed here), erasure-codes it and hashes every block.
 */
export function runEncodeTask(t: EncodeTask): EncodeResult {
  const { blockSize: b, dataShards: k, totalShards: n, stripeOffset: a } = t;
  const H = STREAM_HEADER_LENGTH;
  let stripe: Uint8Array;
  if (t.output !== undefined && t.output.byteLength >= n * b) {
    stripe = new Uint8Array(t.output, 0, n * b);
    stripe.fill(0, t.dataBytes, k * b); // zero padding of a last stripe; the rest is overwritten
  } else stripe = new Uint8Array(n * b);
  let pos = 0;
  if (a < H) {
    pos = Math.min(H, a + t.dataBytes) - a;
    stripe.set(t.header.subarray(a, a + pos), 0);
  }
  stripe.set(t.prefix, pos);
  pos += t.prefix.length;
  if (t.chunkCount > 0) {
    const session = sessionFor(t.key, t.header, t.implementation);
    const C = parseStreamHeader(t.header).chunkSize;
    for (let i = 0; i < t.chunkCount; i++) {
      const j = t.firstChunk + i;
      const pt = t.plaintext.subarray(i * C, Math.min(t.plaintext.length, (i + 1) * C));
      for (const part of session.seal(chunkNonceTail(j, j === t.finalChunk), pt)) {
        stripe.set(part, pos);
        pos += part.length;
      }
    }
  }
  stripe.set(t.suffix, pos);
  pos += t.suffix.length;
  if (pos !== t.dataBytes)
    throw new Error(`encode task: stripe ${t.id} laid out ${pos} of ${t.dataBytes} bytes`);
  if (n > k) {
    const data = Array.from({ length: k }, (_, i) => stripe.subarray(i * b, (i + 1) * b));
    const parity = Array.from({ length: n - k }, (_, i) =>
      stripe.subarray((k + i) * b, (k + i + 1) * b),
    );
    codecFor(k, n).encode(data, parity);
  }
  const { roots, digests } = hashBlocks(t, stripe, n, t.blockRoots);
  const input = t.plaintext.buffer instanceof ArrayBuffer ? t.plaintext.buffer : undefined;
  return { type: "encode", id: t.id, stripe, roots, digests, input };
}

let ctScratch = new Uint8Array(0);
/** Largest rebuild buffer a thread keeps between tasks (the default layout's k·B is 4 MiB). */
const MAX_KEPT_SCRATCH = 16 * 1024 * 1024;

/** Hashes the given blocks, rebuilds the stripe's ciphertext and decrypts the chunks wholly inside it. */
export function runDecodeTask(t: DecodeTask): DecodeResult {
  const { blockSize: b, dataShards: k, totalShards: n, stripeOffset: a } = t;
  const e = a + t.dataBytes;
  const H = STREAM_HEADER_LENGTH;
  const { roots, digests } = hashBlocks(t, t.blocks, k, t.blockRoots);
  const empty = new Uint8Array(0);
  const result: DecodeResult = {
    type: "decode",
    id: t.id,
    head: empty,
    headChunk: 0,
    plaintext: empty,
    firstFullChunk: 0,
    fullChunks: 0,
    tail: empty,
    roots,
    digests,
    input: t.blocks.buffer instanceof ArrayBuffer ? t.blocks.buffer : undefined,
    failure: undefined,
  };
  if (!t.decrypt) return result;

  // Ciphertext of the stripe: the data blocks 0..k-1, rebuilt where missing.
  let ct: Uint8Array;
  if (t.present.every((s, i) => s === i)) ct = t.blocks;
  else {
    const shards: (Uint8Array | undefined)[] = new Array(n);
    t.present.forEach((s, i) => (shards[s] = t.blocks.subarray(i * b, (i + 1) * b)));
    const wanted = [];
    for (let i = 0; i < k; i++) if (shards[i] === undefined) wanted.push(i);
    const full = codecFor(k, n).reconstruct(shards, { wanted });
    // Only read within this task (head and tail are copied out), so one buffer per thread serves.
    // A larger layout's buffer is not kept: a thread must not hold it after the call.
    if (k * b > MAX_KEPT_SCRATCH) ct = new Uint8Array(k * b);
    else {
      if (ctScratch.length < k * b) ctScratch = new Uint8Array(k * b);
      ct = ctScratch.subarray(0, k * b);
    }
    for (let i = 0; i < k; i++) ct.set(full[i]!, i * b);
  }

  const header = t.header;
  const finalChunk = t.finalChunk;
  if (a === 0) {
    // Stripe 0 must carry the header the caller pinned (the manifest's), byte for byte.
    for (let i = 0; i < H; i++)
      if (ct[i] !== header[i]) {
        result.failure = { kind: "header" };
        return result;
      }
  }
  const session = sessionFor(t.key, header, t.implementation);
  const C = parseStreamHeader(header).chunkSize;
  const U = C + TAG_LENGTH;
  const start = (j: number): number => H + j * U;
  const end = (j: number): number => Math.min(H + (j + 1) * U, t.ciphertextLength);
  const lo = Math.max(a, H);
  // The chunk that holds the stripe's first byte after the header: if it began in an earlier
  // stripe, its bytes up to its end (or the stripe's) are the head, opened by the caller.
  const jh = Math.floor((lo - H) / U);
  result.headChunk = jh;
  let j0 = jh;
  if (start(jh) < lo) {
    result.head = ct.slice(lo - a, Math.min(end(jh), e) - a);
    j0 = jh + 1;
  }
  // Then the chunks wholly inside the stripe, then the start of the next one (the tail).
  let j1 = j0;
  while (j1 <= finalChunk && end(j1) <= e) j1++;
  result.firstFullChunk = j0;
  result.fullChunks = j1 - j0;
  if (j1 <= finalChunk && start(j1) < e) result.tail = ct.slice(start(j1) - a, e - a);
  if (j1 === j0) return result;
  let plainBytes = 0;
  for (let j = j0; j < j1; j++) plainBytes += end(j) - start(j) - TAG_LENGTH;
  const plaintext =
    t.output !== undefined && t.output.byteLength >= plainBytes
      ? new Uint8Array(t.output, 0, plainBytes)
      : new Uint8Array(new ArrayBuffer(Math.max(plainBytes, k * b)), 0, plainBytes); // room to be recycled
  let off = 0;
  for (let j = j0; j < j1; j++) {
    const pt = session.open(
      chunkNonceTail(j, j === finalChunk),
      ct.subarray(start(j) - a, end(j) - a),
    );
    if (pt === undefined) {
      result.failure = { kind: "tampered", chunkIndex: j };
      return result;
    }
    plaintext.set(pt, off);
    off += pt.length;
  }
  result.plaintext = plaintext;
  return result;
}

/** Runs one task, then wipes its copy of the key (the session, if any, keeps its own). */
export function runTask(t: Task): TaskResult {
  try {
    return t.type === "encode" ? runEncodeTask(t) : runDecodeTask(t);
  } finally {
    t.key.fill(0);
  }
}

/** The buffers of a message that can be transferred rather than copied. */
export function transferablesOf(m: Task | TaskResult): ArrayBuffer[] {
  const list: ArrayBufferLike[] = [];
  switch (m.type) {
    case "encode":
      if ("stripe" in m) {
        list.push(m.stripe.buffer, m.roots.buffer, m.digests.buffer);
        if (m.input !== undefined) list.push(m.input);
      } else {
        list.push(m.key.buffer, m.plaintext.buffer, m.prefix.buffer, m.suffix.buffer);
        if (m.output !== undefined) list.push(m.output);
      }
      break;
    case "decode":
      if ("blocks" in m) {
        list.push(m.key.buffer, m.blocks.buffer);
        if (m.output !== undefined) list.push(m.output);
      } else {
        list.push(m.plaintext.buffer, m.roots.buffer, m.digests.buffer);
        if (m.input !== undefined) list.push(m.input);
      }
      break;
  }
  // Only whole, distinct, non-shared buffers; a view on a larger pool buffer is copied instead.
  return [...new Set(list)].filter(
    (x): x is ArrayBuffer => x instanceof ArrayBuffer && x.byteLength > 0,
  );
}
