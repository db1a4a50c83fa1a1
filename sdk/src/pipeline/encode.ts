// encodeFile: plaintext in → n shards out, in one pass (docs/protocol.md, "Pipeline").
// The calling thread only reads, cuts plaintext at chunk boundaries, writes shard bytes and
// combines one Merkle node and one CID leaf per block; the workers do all the byte work.
import { UnixfsCidBuilder } from "../cid/unixfs.ts";
import { createChunkSession } from "../crypto/backend.ts";
import {
  DEFAULT_CHUNK_SIZE,
  STREAM_HEADER_LENGTH,
  TAG_LENGTH,
  chunkNonceTail,
  createStreamHeader,
  getCiphertextLength,
  parseStreamHeader,
  refuseNoncePrefix,
} from "../crypto/format.ts";
import { generateFileKey } from "../crypto/stream.ts";
import { InvalidParametersError } from "../errors.ts";
import { DEFAULT_BLOCK_SIZE } from "../erasure/stripes.ts";
import {
  cidSha256,
  type EncodedLayout,
  type PipelineOptions,
  type ShardInfo,
  planLayout,
  resolveImplementation,
  resolveRunner,
  throwIfAborted,
  toHex,
} from "./common.ts";
import { SegmentTreeBuilder } from "../merkle/tree.ts";
import { getSegmentHasher } from "./hash.ts";
import {
  concatBytes,
  iterateBytes,
  nullSink,
  toShardSink,
  type ByteInput,
  type ShardSink,
  type ShardSinkLike,
} from "./io.ts";
import type { EncodeResult, EncodeTask } from "./tasks.ts";

export interface EncodeFileOptions extends PipelineOptions {
  /**
   * The file key (32 bytes).
   * @default a fresh random key
   */
  key?: Uint8Array;
  /**
   * k: data shards; any k of the n shards rebuild the file.
   * @default 4
   */
  dataShards?: number;
  /**
   * n: data plus parity shards (k ≤ n ≤ 32).
   * @default 6
   */
  totalShards?: number;
  /**
   * Block size B: bytes of each shard per stripe, 512·2^h. At 1 MiB a block is exactly one
   * UnixFS leaf, so workers hash leaves too.
   * @default 1048576
   */
  blockSize?: number;
  /**
   * STREAM plaintext chunk size.
   * @default 65536
   */
  chunkSize?: number;
  /**
   * Where each shard's bytes go: an array of n sinks, or a function returning shard i's sink
   * (or a promise of it, e.g. `createFileSink`; awaited before any byte is read). Writes to the n sinks of one stripe run concurrently; the next stripe waits for them.
   * @default every shard discarded (only the commitments are computed)
   */
  sinks?:
    readonly ShardSinkLike[] | ((shardIndex: number) => ShardSinkLike | Promise<ShardSinkLike>);
}

export interface EncodeFileResult extends EncodedLayout {
  /** The file key (keep it secret; the manifest wraps it). */
  key: Uint8Array;
  /** The 41-byte STREAM header (also the first bytes of the ciphertext in the shards). */
  header: Uint8Array;
  /** STREAM plaintext chunk size. */
  chunkSize: number;
  /** Plaintext bytes read. */
  plaintextLength: number;
  /** Number of stripes. */
  stripeCount: number;
  /** Bytes of every shard. */
  shardSize: number;
  /** Per shard: index, size, CID, Merkle root, leaf count. */
  shards: ShardInfo[];
}

/** A sink as given, or InvalidParametersError naming the shard whose sink is not one. */
function checkSink(value: unknown, i: number): ShardSink {
  const ok =
    value !== null &&
    typeof value === "object" &&
    (typeof (value as ShardSink).write === "function" ||
      typeof (value as WritableStream).getWriter === "function");
  if (!ok)
    throw new InvalidParametersError(
      `sinks[${i}]`,
      value === null ? "null" : typeof value,
      "must be a sink (an object with write()) or a WritableStream, or a promise of one",
    );
  return toShardSink(value as ShardSinkLike);
}

async function sinkList(sinks: EncodeFileOptions["sinks"], n: number): Promise<ShardSink[]> {
  if (sinks === undefined) return Array.from({ length: n }, () => nullSink);
  if (typeof sinks === "function") {
    const made = Array.from({ length: n }, (_, i) => sinks(i));
    const settled = await Promise.allSettled(made);
    const sinksOut: ShardSink[] = [];
    let failure: unknown;
    for (const [i, r] of settled.entries()) {
      if (r.status === "rejected") failure ??= r.reason;
      else
        try {
          sinksOut.push(checkSink(r.value, i));
        } catch (e) {
          failure ??= e;
        }
    }
    if (failure !== undefined) {
      await Promise.allSettled(sinksOut.map(async (x) => x.abort?.(failure)));
      throw failure;
    }
    return sinksOut;
  }
  if (!Array.isArray(sinks))
    throw new InvalidParametersError("sinks", typeof sinks, "must be an array or a function");
  if (sinks.length !== n)
    throw new InvalidParametersError("sinks", sinks.length, `expected ${n} sinks`);
  return sinks.map(checkSink);
}

/** Old-generation cap (MB) of the workers of a pool encodeFile creates for itself (see below). */
const ENCODE_WORKER_OLD_GENERATION_MB = 24;

/**
 * Encrypts, erasure-codes and commits a file in one pass: STREAM XChaCha20-Poly1305 over the
 * plaintext, Reed–Solomon k-of-n over the ciphertext in stripes of k × blockSize, and per
 * shard its segment Merkle root and UnixFS CID, while the shard bytes stream to the sinks.
 * Memory stays bounded by `maxStripesInFlight` whatever the file size.
 */
export async function encodeFile(
  input: ByteInput,
  options: EncodeFileOptions = {},
): Promise<EncodeFileResult> {
  const k = options.dataShards ?? 4;
  const n = options.totalShards ?? 6;
  const B = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  const key = options.key ?? generateFileKey();
  const C = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  refuseNoncePrefix(options);
  const header = createStreamHeader(key, { chunkSize: C }).bytes;
  const { blockHeight, cidChunkSize } = planLayout(k, n, B, 0); // validates k, n, B
  const implementation = resolveImplementation(options.implementation);
  if (
    options.maxStripesInFlight !== undefined &&
    (!Number.isInteger(options.maxStripesInFlight) || options.maxStripesInFlight < 1)
  )
    throw new InvalidParametersError(
      "maxStripesInFlight",
      options.maxStripesInFlight,
      "must be an integer ≥ 1",
    );
  const sinks = await sinkList(options.sinks, n);
  // Encode workers hold ~12 MB of JS heap; capped, V8 collects sooner and a pool of the call's
  // own costs ~18 MB less RSS per worker at the same speed (1 GiB, two workers: 197 MB peak
  // instead of 233). Not for decode, whose per-stripe output buffers then cost ~40% of its speed
  // in collections.
  const { runner, owned } = resolveRunner(options.workers, ENCODE_WORKER_OLD_GENERATION_MB);
  const maxInFlight = Math.max(1, options.maxStripesInFlight ?? runner.concurrency + 1);
  const signal = options.signal;

  const H = STREAM_HEADER_LENGTH;
  const U = C + TAG_LENGTH;
  const kB = k * B;
  // Plaintext window: the chunks one stripe needs (at most ceil(kB / U) + 1) and one byte more,
  // with room to spare so that a window is handed out at most once per stripe.
  const windowBytes = (Math.ceil(kB / U) + 3) * C;
  const headerInfo = parseStreamHeader(header);
  // The calling thread's copy of the key material, wiped when the call ends.
  const fileKey = new Uint8Array(key); // a copy (Buffer.slice would share the caller's memory)
  // Seals the chunks that straddle a stripe boundary, once each; tasks seal the rest.
  const session = createChunkSession(
    fileKey,
    headerInfo.noncePrefix,
    headerInfo.aad,
    implementation === "native" ? "native" : "noble",
  );

  const hasher = getSegmentHasher(implementation === "native" ? "native" : "portable");
  const trees: SegmentTreeBuilder[] = [];
  const cids: UnixfsCidBuilder[] = [];
  for (let i = 0; i < n; i++) {
    trees.push(new SegmentTreeBuilder({ hasher }));
    cids.push(new UnixfsCidBuilder({ sha256: cidSha256(implementation) }));
  }

  let nextId = 0;
  let plaintextRead = 0;
  let shardBytes = 0;
  let stripesDone = 0;
  const inflight: Promise<EncodeResult>[] = [];
  // Recycled buffers: plaintext windows always (internal); stripes only if the sinks allow it.
  const freeWindows: ArrayBuffer[] = [];
  const freeStripes: ArrayBuffer[] = [];
  const reuseStripes = sinks.every((x) => x.releasesBytes === true);

  const dispatch = (
    task: Omit<
      EncodeTask,
      | "type"
      | "id"
      | "key"
      | "header"
      | "dataShards"
      | "totalShards"
      | "implementation"
      | "cidChunkSize"
      | "output"
    >,
  ): void => {
    const p = runner.run({
      ...task,
      type: "encode",
      id: nextId++,
      key: new Uint8Array(fileKey), // the task's own copy: transferred to a worker, wiped after use
      header,
      dataShards: k,
      totalShards: n,
      implementation,
      cidChunkSize,
      output: freeStripes.pop(),
    }) as Promise<EncodeResult>;
    p.catch(() => {}); // awaited in order below; avoid an unhandled rejection meanwhile
    inflight.push(p);
  };

  const writeOldest = async (): Promise<void> => {
    const r = await inflight.shift()!;
    throwIfAborted(signal);
    const b = r.stripe.length / n;
    const perBlock = cidChunkSize > 0 ? Math.ceil(b / cidChunkSize) : 0;
    const writes: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const block = r.stripe.subarray(i * b, (i + 1) * b);
      // Full blocks arrive as subtree roots; a shorter last block is hashed here.
      if (r.roots.length > 0)
        trees[i]!.pushSubtree(r.roots.subarray(i * 32, i * 32 + 32), blockHeight);
      else trees[i]!.update(block);
      if (perBlock > 0)
        for (let j = 0; j < perBlock; j++)
          cids[i]!.pushLeaf(
            r.digests.subarray((i * perBlock + j) * 32, (i * perBlock + j + 1) * 32),
            Math.min(cidChunkSize, b - j * cidChunkSize),
          );
      else cids[i]!.update(block); // blocks are not whole leaves: hash here
      writes.push(sinks[i]!.write(block));
    }
    await Promise.all(writes);
    if (r.input !== undefined && r.input.byteLength === windowBytes && freeWindows.length < 4)
      freeWindows.push(r.input);
    if (
      reuseStripes &&
      r.stripe.byteOffset === 0 &&
      r.stripe.buffer.byteLength === n * B &&
      freeStripes.length < 4
    )
      freeStripes.push(r.stripe.buffer as ArrayBuffer);
    shardBytes += r.stripe.length;
    stripesDone++;
    options.onProgress?.({
      phase: "encode",
      plaintextBytes: plaintextRead,
      shardBytes,
      stripes: stripesDone,
    });
  };

  const submit = async (task: Parameters<typeof dispatch>[0]): Promise<void> => {
    while (inflight.length >= maxInFlight) await writeOldest();
    throwIfAborted(signal);
    dispatch(task);
  };

  // Plaintext window: chunk-aligned, holding chunks winChunk, winChunk + 1, … (filled bytes).
  const cap = windowBytes;
  let win = new Uint8Array(cap);
  let winChunk = 0;
  let filled = 0;
  // The last chunk sealed here (it straddles the end of a stripe, so the next stripes open with it).
  let carry: { index: number; bytes: Uint8Array } | undefined;
  const empty = new Uint8Array(0);
  const start = (j: number): number => H + j * U;

  /**
   * Hands out stripe s, ciphertext [a, e), once every chunk it touches is in the window and
   * known to be the last or not (finalChunk ≥ 0 once the input has ended). A chunk that
   * straddles the stripe's start was sealed here for an earlier stripe (`carry`); one that
   * straddles its end is sealed here now; the chunks in between go to the task as plaintext.
   * So each chunk is sealed once, whatever C and k·B are.
   */
  const submitStripe = async (
    s: number,
    e: number,
    b: number,
    finalChunk: number,
    P: number,
    ctLen: number,
  ): Promise<void> => {
    const a = s * kB;
    const last = finalChunk >= 0 ? finalChunk : Number.MAX_SAFE_INTEGER;
    const end = (j: number): number => (j === finalChunk ? ctLen : start(j) + U);
    let j = a < H ? 0 : Math.floor((a - H) / U);
    let prefix = empty;
    if (a > H && start(j) < a) {
      if (carry?.index !== j)
        // Stryker disable next-line StringLiteral: unreachable by construction (the stripe before sealed chunk j as its suffix); a guard, not a path
        throw new Error(`encode: chunk ${j} was not sealed before stripe ${s}`);
      prefix = carry.bytes.slice(a - start(j), Math.min(end(j), e) - start(j));
      j++;
    }
    let jEnd = j;
    while (jEnd <= last && end(jEnd) <= e) jEnd++;
    const plainEnd = Math.min(jEnd * C, P);
    let suffix = empty;
    if (jEnd <= last && start(jEnd) < e) {
      const from = jEnd * C - winChunk * C;
      const pt = win.subarray(from, from + Math.min(C, P - jEnd * C));
      const parts = session.seal(chunkNonceTail(jEnd, jEnd === finalChunk), pt);
      carry = { index: jEnd, bytes: parts.length === 1 ? parts[0]! : concatBytes(parts) };
      suffix = carry.bytes.slice(0, e - start(jEnd));
    }
    const nextChunk = suffix.length > 0 ? jEnd + 1 : jEnd; // the first chunk still to seal
    const plaintext = win.subarray(j * C - winChunk * C, plainEnd - winChunk * C);
    if (jEnd > j) {
      // The window goes to the task (transferred): the rest moves to a fresh one.
      const spare = freeWindows.pop();
      const next = spare !== undefined ? new Uint8Array(spare) : new Uint8Array(cap);
      next.set(win.subarray(nextChunk * C - winChunk * C, filled), 0);
      win = next;
    } else if (nextChunk > winChunk) {
      win.copyWithin(0, nextChunk * C - winChunk * C, filled);
    }
    filled -= (nextChunk - winChunk) * C;
    winChunk = nextChunk;
    await submit({
      stripeOffset: a,
      dataBytes: e - a,
      blockSize: b,
      blockRoots: b === B,
      finalChunk,
      prefix,
      plaintext: jEnd > j ? plaintext : empty,
      firstChunk: j,
      chunkCount: jEnd - j,
      suffix,
    });
  };

  try {
    let s = 0; // next stripe to hand out
    for await (const piece of iterateBytes(input)) {
      throwIfAborted(signal);
      let off = 0;
      while (off < piece.length) {
        const take = Math.min(piece.length - off, cap - filled);
        win.set(piece.subarray(off, off + take), filled);
        filled += take;
        off += take;
        plaintextRead += take;
        // Stripe s is full and not the last once a byte past the last chunk it touches has arrived.
        for (;;) {
          const e = (s + 1) * kB;
          const hi = Math.ceil((e - H) / U); // chunks [.., hi) touch the stripe
          if (plaintextRead <= hi * C) break;
          await submitStripe(s, e, B, -1, plaintextRead, Number.MAX_SAFE_INTEGER);
          s++;
        }
      }
    }

    // End of input: the remaining stripes follow from the final length.
    const P = plaintextRead;
    const ctLen = getCiphertextLength(P, C);
    const { layout } = planLayout(k, n, B, ctLen);
    const finalChunk = Math.max(1, Math.ceil(P / C)) - 1;
    for (; s < layout.stripeCount; s++) {
      const last = s === layout.stripeCount - 1;
      await submitStripe(
        s,
        last ? ctLen : (s + 1) * kB,
        last ? layout.lastBlockSize : B,
        finalChunk,
        P,
        ctLen,
      );
    }
    while (inflight.length > 0) await writeOldest();
    await Promise.all(sinks.map((x) => x.close?.()));

    const shards: ShardInfo[] = [];
    for (let i = 0; i < n; i++) {
      const tree = trees[i]!.finish();
      shards.push({
        index: i,
        size: layout.shardSize,
        cid: cids[i]!.finish().cid.toString(),
        merkleRoot: toHex(tree.root),
        leafCount: tree.leafCount,
      });
    }
    options.onProgress?.({ phase: "done", plaintextBytes: P, shardBytes, stripes: stripesDone });
    return {
      key,
      header,
      chunkSize: C,
      plaintextLength: P,
      ciphertextLength: ctLen,
      dataShards: k,
      totalShards: n,
      blockSize: B,
      stripeCount: layout.stripeCount,
      shardSize: layout.shardSize,
      shards,
    };
  } catch (err) {
    await Promise.allSettled(inflight.splice(0));
    await Promise.allSettled(sinks.map(async (x) => x.abort?.(err)));
    throw err;
  } finally {
    fileKey.fill(0);
    session.dispose();
    if (owned) await runner.close();
  }
}
