// decodeFile: any k shards in → plaintext out, verifying as it goes (docs/protocol.md, "Pipeline").
// Workers hash the shard blocks, rebuild missing data blocks and open every chunk that lies
// wholly inside a stripe; the calling thread opens the chunks that straddle stripe boundaries.
import { CID } from "multiformats/cid";
import { createChunkSession, type ChunkSession } from "../crypto/backend.ts";
import {
  KEY_LENGTH,
  STREAM_HEADER_LENGTH,
  TAG_LENGTH,
  chunkNonceTail,
  getPlaintextLength,
  keyMatchesHeader,
  parseStreamHeader,
  type StreamHeader,
} from "../crypto/format.ts";
import {
  InvalidParametersError,
  MemoryLimitError,
  NotEnoughShardsError,
  ShardMismatchError,
  TamperedDataError,
  WrongKeyError,
} from "../errors.ts";
import {
  cidSha256,
  type EncodedLayout,
  type PipelineOptions,
  planLayout,
  resolveImplementation,
  resolveRunner,
  throwIfAborted,
  toHex,
} from "./common.ts";
import { SegmentTreeBuilder } from "../merkle/tree.ts";
import { SEGMENT_SIZE, getSegmentHasher } from "./hash.ts";
import { ShardReader, iteratorToStream, type ByteInput } from "./io.ts";
import type { DecodeResult, DecodeTask } from "./tasks.ts";
import { UnixfsCidBuilder } from "../cid/unixfs.ts";

/** Default of {@link DecodeFileOptions.maxMemory}: 256 MiB of stripe buffers. */
export const DEFAULT_DECODE_MEMORY = 256 * 1024 * 1024;

/**
 * What a shard is committed to: a manifest's `shards[i]`, an encodeFile result's `shards[i]`, or
 * just a root. Given as an array, entry i is shard i unless it names its `index`. Every value
 * given is checked: root and CID against the bytes read, size and leaf count against the layout.
 */
export interface ExpectedShardCommitment {
  /** Shard index. @default its position in the array */
  index?: number;
  /** Segment Merkle root (0x and 64 hex digits, or 32 bytes). */
  merkleRoot?: string | Uint8Array;
  /** UnixFS CID (any multibase string form of the CID). */
  cid?: string;
  /** Shard bytes: must be the layout's shard size. */
  size?: number;
  /** Segment count: must be the layout's, ceil(size / 512) (at least 1). */
  leafCount?: number;
}

export interface DecodeFileOptions extends PipelineOptions, EncodedLayout {
  /** The file key (32 bytes). */
  key: Uint8Array;
  /**
   * The file's 41-byte STREAM header as the manifest pins it (`encryption.header`, or
   * encodeFile's `header`), as bytes or `0x` hex. The key is checked against it before any
   * shard is read, and stripe 0 must carry exactly these bytes: shards of another stream
   * (even one under the same key) are refused.
   */
  header: Uint8Array | `0x${string}`;
  /**
   * Expected roots/CIDs of the shards. With them each shard read is checked against its root
   * (and CID), and when the data fails to authenticate the altered shard is named
   * (ShardMismatchError) rather than only detected (TamperedDataError).
   * @default none (AEAD authentication of every chunk only)
   */
  expected?: readonly (ExpectedShardCommitment | null | undefined)[];
  /**
   * Set when the caller is done with each yielded piece once it asks for the next (it wrote
   * and awaited it, hashed it, copied it): the pipeline then reuses the piece's memory for later
   * stripes, which keeps garbage and peak memory down. Leave unset to keep the pieces.
   * @default false
   */
  recycleOutput?: boolean;
  /**
   * Bytes of stripe buffers the call may hold: each stripe in flight costs 4 · k · blockSize
   * (its blocks, rebuilt blocks, the reassembled stripe, plaintext), plus twice the chunk size
   * for chunks assembled across stripes. Fewer stripes are kept in flight to stay under it, and
   * a layout whose one stripe exceeds it is refused with MemoryLimitError before any shard is
   * read, whatever the manifest says.
   * @default 268435456 (256 MiB)
   */
  maxMemory?: number;
}

/** Shard i's bytes at position i (missing: undefined/null), or a map from index to bytes. */
export type ShardInputs =
  readonly (ByteInput | null | undefined)[] | ReadonlyMap<number, ByteInput>;

function shardInput(shards: ShardInputs, i: number): ByteInput | undefined {
  const v =
    shards instanceof Map
      ? shards.get(i)
      : (shards as readonly (ByteInput | null | undefined)[])[i];
  return v ?? undefined;
}

function parseHex(text: string, bytes: number): Uint8Array | undefined {
  if (!new RegExp(`^0x[0-9a-fA-F]{${2 * bytes}}$`).test(text)) return undefined;
  return Uint8Array.from(text.slice(2).match(/../g)!, (b) => parseInt(b, 16));
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === "string") return value.length > 90 ? `${value.slice(0, 90)}…` : value;
  return typeof value === "object" ? (value === null ? "null" : "an object") : String(value);
}

/** The header option as a parsed header; InvalidParametersError if it is not one. */
function headerOption(value: unknown): StreamHeader {
  const bytes =
    value instanceof Uint8Array
      ? value
      : typeof value === "string"
        ? parseHex(value, STREAM_HEADER_LENGTH)
        : undefined;
  if (bytes === undefined || bytes.length !== STREAM_HEADER_LENGTH)
    throw new InvalidParametersError(
      "header",
      describe(value),
      `must be the file's ${STREAM_HEADER_LENGTH}-byte STREAM header (bytes or 0x hex), as the manifest pins it`,
    );
  try {
    return parseStreamHeader(bytes);
  } catch (error) {
    throw new InvalidParametersError("header", describe(value), (error as Error).message);
  }
}

interface Expectations {
  roots: Map<number, string>;
  cids: Map<number, CID>;
}

/** Validates `expected` against the layout; every value that can be checked is kept. */
function expectations(
  expected: DecodeFileOptions["expected"],
  n: number,
  shardSize: number,
): Expectations {
  const roots = new Map<number, string>();
  const cids = new Map<number, CID>();
  if (expected === undefined) return { roots, cids };
  if (!Array.isArray(expected))
    throw new InvalidParametersError("expected", describe(expected), "must be an array");
  const seen = new Set<number>();
  const leafCount = Math.max(1, Math.ceil(shardSize / SEGMENT_SIZE));
  expected.forEach((e: ExpectedShardCommitment | null | undefined, position: number) => {
    if (e == null) return;
    const name = `expected[${position}]`;
    const index = e.index ?? position;
    if (!Number.isInteger(index) || index < 0 || index >= n)
      throw new InvalidParametersError(`${name}.index`, index, `must be a shard index below ${n}`);
    if (seen.has(index))
      throw new InvalidParametersError(`${name}.index`, index, "names a shard a second time");
    seen.add(index);
    if (e.merkleRoot !== undefined) {
      const root =
        e.merkleRoot instanceof Uint8Array
          ? e.merkleRoot.length === 32
            ? toHex(e.merkleRoot)
            : undefined
          : typeof e.merkleRoot === "string" && parseHex(e.merkleRoot, 32) !== undefined
            ? e.merkleRoot.toLowerCase()
            : undefined;
      if (root === undefined)
        throw new InvalidParametersError(
          `${name}.merkleRoot`,
          describe(e.merkleRoot),
          "must be 32 bytes or 0x and 64 hex digits",
        );
      roots.set(index, root);
    }
    if (e.cid !== undefined) {
      let cid: CID | undefined;
      try {
        cid = typeof e.cid === "string" ? CID.parse(e.cid) : undefined;
      } catch {
        cid = undefined;
      }
      if (cid === undefined)
        throw new InvalidParametersError(`${name}.cid`, describe(e.cid), "is not a CID");
      cids.set(index, cid);
    }
    if (e.size !== undefined && e.size !== shardSize)
      throw new InvalidParametersError(
        `${name}.size`,
        e.size,
        `the layout's shards are ${shardSize} bytes`,
      );
    if (e.leafCount !== undefined && e.leafCount !== leafCount)
      throw new InvalidParametersError(
        `${name}.leafCount`,
        e.leafCount,
        `the layout's shards have ${leafCount} segments`,
      );
  });
  return { roots, cids };
}

/**
 * Decrypts a file from any k of its n shards, stripe by stripe, yielding plaintext in order as
 * it is authenticated: every STREAM chunk is opened (XChaCha20-Poly1305), so altered, reordered,
 * truncated or extended data never comes out. Reads k shards (data shards first, so no
 * decoding when they are all there). Errors: InvalidParametersError (bad options, before any
 * read), WrongKeyError (the key does not match the pinned header, before any read),
 * MemoryLimitError, NotEnoughShardsError (naming the missing indexes), ShardMismatchError (a
 * shard of the wrong length, or whose bytes do not match its expected root/CID: names the
 * shard), TamperedDataError (altered data, when no commitment names a shard).
 */
export async function* decodeFile(
  shards: ShardInputs,
  options: DecodeFileOptions,
): AsyncGenerator<Uint8Array> {
  // Every caller error is reported here, before a byte is read: a bad option must not look
  // like bad data from a provider.
  if (options === null || typeof options !== "object")
    throw new InvalidParametersError("options", describe(options), "must be an object");
  const {
    dataShards: k,
    totalShards: n,
    blockSize: B,
    ciphertextLength: ctLen,
    key,
    signal,
  } = options;
  if (!(key instanceof Uint8Array) || key.length !== KEY_LENGTH)
    throw new InvalidParametersError("key", describe(key), `must be ${KEY_LENGTH} bytes`);
  const { layout, blockHeight, cidChunkSize: alignedCid } = planLayout(k, n, B, ctLen);
  if (layout.stripeCount === 0)
    throw new InvalidParametersError(
      "ciphertextLength",
      ctLen,
      "a STREAM ciphertext is at least 57 bytes",
    );
  const header = headerOption(options.header);
  const C = header.chunkSize;
  const plaintextLength = getPlaintextLength(ctLen, C);
  if (plaintextLength === undefined)
    throw new InvalidParametersError(
      "ciphertextLength",
      ctLen,
      `no plaintext in chunks of ${C} bytes (the header's) encrypts to this length`,
    );
  const implementation = resolveImplementation(options.implementation);
  const isMap = shards instanceof Map;
  if (!isMap && !Array.isArray(shards))
    throw new InvalidParametersError("shards", describe(shards), "must be an array or a Map");
  if (!isMap && (shards as readonly unknown[]).length > n)
    throw new InvalidParametersError(
      "shards",
      (shards as readonly unknown[]).length,
      `at most ${n} shards`,
    );
  if (isMap)
    for (const i of (shards as ReadonlyMap<number, ByteInput>).keys())
      if (!Number.isInteger(i) || i < 0 || i >= n)
        throw new InvalidParametersError("shards", i, `shard indexes are 0..${n - 1}`);
  const expected = expectations(options.expected, n, layout.shardSize);
  const maxMemory = options.maxMemory ?? DEFAULT_DECODE_MEMORY;
  if (!Number.isSafeInteger(maxMemory) || maxMemory < 1)
    throw new InvalidParametersError("maxMemory", maxMemory, "must be a positive integer");
  if (
    options.maxStripesInFlight !== undefined &&
    (!Number.isInteger(options.maxStripesInFlight) || options.maxStripesInFlight < 1)
  )
    throw new InvalidParametersError(
      "maxStripesInFlight",
      options.maxStripesInFlight,
      "must be an integer ≥ 1",
    );
  // Memory first: the layout comes from a manifest, which anyone with a share link can write.
  const stripeMemory = 4 * k * B; // blocks read, rebuilt blocks, the stripe, its plaintext
  const chunkMemory = 2 * (C + TAG_LENGTH);
  if (stripeMemory + chunkMemory > maxMemory)
    throw new MemoryLimitError(
      stripeMemory + chunkMemory,
      maxMemory,
      `decoding k = ${k} blocks of ${B} bytes in chunks of ${C} needs ${stripeMemory + chunkMemory} bytes at least, more than maxMemory = ${maxMemory}`,
    );
  // The key is checked against the pinned header, never against shard bytes, so no provider
  // can make a right key look wrong.
  if (!keyMatchesHeader(key, header))
    throw new WrongKeyError(
      "encrypted stream",
      "wrong key: the key does not match the file's header (it is not this file's key)",
    );

  const present: number[] = [];
  const missing: number[] = [];
  for (let i = 0; i < n; i++) (shardInput(shards, i) === undefined ? missing : present).push(i);
  if (present.length < k) throw new NotEnoughShardsError(missing, present.length, k);
  const used = present.slice(0, k);

  const verifyRoots = used.some((i) => expected.roots.has(i));
  const verifyCids = used.some((i) => expected.cids.has(i));
  // Blocks that hold whole UnixFS leaves are digested by the tasks; others are hashed here.
  const cidChunkSize = verifyCids ? alignedCid : 0;

  const hasher = getSegmentHasher(implementation === "native" ? "native" : "portable");
  const trees = used.map(() => new SegmentTreeBuilder({ hasher }));
  const cids = used.map(() => new UnixfsCidBuilder({ sha256: cidSha256(implementation) }));

  const readers = used.map((i) => new ShardReader(i, shardInput(shards, i)!));
  const { runner, owned } = resolveRunner(options.workers);
  const maxInFlight = Math.max(
    1,
    Math.min(
      options.maxStripesInFlight ?? runner.concurrency + 1,
      Math.floor((maxMemory - chunkMemory) / stripeMemory),
    ),
  );

  const H = STREAM_HEADER_LENGTH;
  const U = C + TAG_LENGTH;
  const kB = k * B;
  const finalChunk = Math.max(1, Math.ceil(plaintextLength / C)) - 1;
  // The calling thread's copy of the key material, wiped when the call ends.
  const fileKey = new Uint8Array(key); // a copy (Buffer.slice would share the caller's memory)
  let session: ChunkSession | undefined;

  let nextStripe = 0;
  let draining = false; // after a failure: only hash the rest, to name the altered shard
  const inflight: Promise<DecodeResult>[] = [];
  const freeBlocks: ArrayBuffer[] = []; // read buffers handed back by the workers
  const freeOutputs: ArrayBuffer[] = []; // plaintext buffers the caller is done with (recycleOutput)
  let plaintextOut = 0;
  let shardBytesIn = 0;
  let stripesDone = 0;

  const readStripe = async (): Promise<void> => {
    const s = nextStripe++;
    const last = s === layout.stripeCount - 1;
    const b = last ? layout.lastBlockSize : B;
    const spare = b === B ? freeBlocks.pop() : undefined;
    const blocks = spare !== undefined ? new Uint8Array(spare) : new Uint8Array(k * b);
    await Promise.all(
      readers.map((r, j) => r.readInto(blocks.subarray(j * b, (j + 1) * b), layout.shardSize)),
    );
    shardBytesIn += blocks.length;
    const a = s * kB;
    const task: DecodeTask = {
      type: "decode",
      id: s,
      key: new Uint8Array(fileKey), // the task's own copy: transferred to a worker, wiped after use
      header: header.bytes,
      stripeOffset: a,
      dataBytes: (last ? ctLen : a + kB) - a,
      blockSize: b,
      dataShards: k,
      totalShards: n,
      blockRoots: verifyRoots && b === B,
      cidChunkSize,
      finalChunk,
      implementation,
      present: used,
      blocks,
      decrypt: !draining,
      ciphertextLength: ctLen,
      output: freeOutputs.pop(),
    };
    const p = runner.run(task) as Promise<DecodeResult>;
    p.catch(() => {});
    inflight.push(p);
  };

  const fill = async (): Promise<void> => {
    while (inflight.length < maxInFlight && nextStripe < layout.stripeCount) {
      throwIfAborted(signal);
      await readStripe();
    }
  };

  /** Feeds a stripe's block roots, leaf digests or bytes to the per-shard combiners. */
  const absorb = (r: DecodeResult): void => {
    const b = r.id === layout.stripeCount - 1 ? layout.lastBlockSize : B; // task id = stripe index
    const per = cidChunkSize > 0 ? r.digests.length / 32 / k : 0;
    for (let j = 0; j < k; j++) {
      // Full blocks come back as subtree roots; a shorter last block is hashed here, from the
      // read buffer the task hands back; so are CIDs when blocks are not whole UnixFS leaves.
      const block = (): Uint8Array => new Uint8Array(r.input!, j * b, b);
      if (verifyRoots)
        if (r.roots.length > 0)
          trees[j]!.pushSubtree(r.roots.subarray(j * 32, j * 32 + 32), blockHeight);
        else trees[j]!.update(block());
      if (verifyCids && cidChunkSize === 0) cids[j]!.update(block());
      for (let x = 0; x < per; x++)
        cids[j]!.pushLeaf(
          r.digests.subarray((j * per + x) * 32, (j * per + x + 1) * 32),
          Math.min(cidChunkSize, b - x * cidChunkSize),
        );
    }
  };

  /** Compares the used shards' roots/CIDs with the expected ones; the indexes that differ. */
  const mismatches = (): { index: number; expected: string; actual: string }[] => {
    const bad: { index: number; expected: string; actual: string }[] = [];
    used.forEach((i, j) => {
      const want = expected.roots.get(i);
      if (want !== undefined) {
        const got = toHex(trees[j]!.finish().root);
        if (got !== want) bad.push({ index: i, expected: want, actual: got });
      }
      const wantCid = expected.cids.get(i);
      if (wantCid !== undefined && bad.every((x) => x.index !== i)) {
        const got = cids[j]!.finish().cid.toString();
        if (got !== wantCid.toV1().toString())
          bad.push({ index: i, expected: wantCid.toString(), actual: got });
      }
    });
    return bad;
  };

  const shardError = (
    bad: { index: number; expected: string; actual: string }[],
    cause: Error | undefined,
  ): ShardMismatchError => {
    const first = bad[0]!;
    const err = new ShardMismatchError(
      `shard${bad.length > 1 ? "s" : ""} ${bad.map((x) => x.index).join(", ")} ` +
        `do${bad.length > 1 ? "" : "es"} not match ${bad.length > 1 ? "their" : "its"} expected commitment (altered data)`,
      { shardIndex: first.index, expected: first.expected, actual: first.actual },
    );
    if (cause !== undefined) (err as Error & { cause?: unknown }).cause = cause;
    return err;
  };

  /** After an authentication failure: hash the rest of the shards to name the altered one. */
  const failTampered = async (tampered: TamperedDataError): Promise<never> => {
    if (!verifyRoots && !verifyCids) {
      tampered.message += `; one of shards ${used.join(", ")} was altered (pass expected roots to find which)`;
      throw tampered;
    }
    draining = true;
    while (inflight.length > 0 || nextStripe < layout.stripeCount) {
      await fill();
      const r = await inflight.shift()!;
      absorb(r);
      if (r.input !== undefined && r.input.byteLength === k * B && freeBlocks.length < 4)
        freeBlocks.push(r.input);
    }
    await Promise.all(readers.map((r) => r.end(layout.shardSize)));
    const bad = mismatches();
    if (bad.length === 0) throw tampered;
    throw shardError(bad, tampered);
  };

  // The chunk assembled across stripe boundaries.
  let pendingIndex = 0;
  let pendingParts: Uint8Array[] = [];
  let pendingLength = 0;
  const chunkLength = (j: number): number => Math.min(H + (j + 1) * U, ctLen) - (H + j * U);

  try {
    session = createChunkSession(
      fileKey,
      header.noncePrefix,
      header.aad,
      implementation === "native" ? "native" : "noble",
    );
    await fill();
    for (;;) {
      if (inflight.length === 0) break;
      const r = await inflight.shift()!;
      throwIfAborted(signal);
      // Hashes first: a failed stripe's blocks still count when naming the altered shard.
      absorb(r);
      if (r.input !== undefined && r.input.byteLength === k * B && freeBlocks.length < 4)
        freeBlocks.push(r.input);
      stripesDone++;
      if (r.failure !== undefined)
        await failTampered(
          r.failure.kind === "tampered"
            ? new TamperedDataError(
                "chunk",
                r.failure.chunkIndex,
                `chunk ${r.failure.chunkIndex} does not authenticate`,
              )
            : new TamperedDataError(
                "header",
                undefined,
                "stripe 0 does not carry the file's header: the shards are another stream's, or were altered",
              ),
        );
      // The stripe's parts in stream order: the rest of the chunk begun in earlier stripes (opened
      // here once complete), the chunks opened by the task, the start of the next chunk.
      if (r.head.length > 0) {
        if (pendingLength === 0 || r.headChunk !== pendingIndex)
          throw new Error(
            `decode: stripe ${r.id} continues chunk ${r.headChunk}, not ${pendingIndex}`,
          );
        pendingParts.push(r.head);
        pendingLength += r.head.length;
        const need = chunkLength(pendingIndex);
        if (pendingLength > need)
          throw new Error(`decode: chunk ${pendingIndex} assembled past its ${need} bytes`);
        if (pendingLength === need) {
          const sealed =
            pendingParts.length === 1 ? pendingParts[0]! : concat(pendingParts, pendingLength);
          const pt = session.open(
            chunkNonceTail(pendingIndex, pendingIndex === finalChunk),
            sealed,
          );
          if (pt === undefined)
            await failTampered(
              new TamperedDataError(
                "chunk",
                pendingIndex,
                `chunk ${pendingIndex} does not authenticate`,
              ),
            );
          pendingParts = [];
          pendingLength = 0;
          pendingIndex++;
          if (pt!.length > 0) {
            plaintextOut += pt!.length;
            yield pt!;
          }
        }
      }
      if (r.fullChunks > 0 || r.tail.length > 0) {
        if (pendingLength !== 0 || r.firstFullChunk !== pendingIndex)
          throw new Error(
            `decode: stripe ${r.id} starts chunk ${r.firstFullChunk} while chunk ${pendingIndex} is open`,
          );
        pendingIndex += r.fullChunks;
        if (r.tail.length > 0) {
          pendingParts = [r.tail];
          pendingLength = r.tail.length;
        }
      }
      // Keep the workers busy before handing plaintext to the consumer.
      await fill();
      options.onProgress?.({
        phase: "decode",
        plaintextBytes: plaintextOut + r.plaintext.length,
        shardBytes: shardBytesIn,
        stripes: stripesDone,
      });
      if (r.plaintext.length > 0) {
        plaintextOut += r.plaintext.length;
        yield r.plaintext;
        // The caller asked for more: with recycleOutput it is done with this piece.
        const buf = r.plaintext.buffer;
        if (
          options.recycleOutput === true &&
          buf instanceof ArrayBuffer &&
          buf.byteLength >= kB &&
          freeOutputs.length < 4
        )
          freeOutputs.push(buf);
      }
    }
    if (plaintextOut !== plaintextLength || pendingLength !== 0)
      throw new Error(`decode: ${plaintextOut} of ${plaintextLength} plaintext bytes came out`);
    await Promise.all(readers.map((r) => r.end(layout.shardSize)));
    const bad = mismatches();
    if (bad.length > 0) throw shardError(bad, undefined);
    options.onProgress?.({
      phase: "done",
      plaintextBytes: plaintextOut,
      shardBytes: shardBytesIn,
      stripes: stripesDone,
    });
  } finally {
    fileKey.fill(0);
    session?.dispose();
    await Promise.allSettled(inflight.splice(0));
    await Promise.allSettled(readers.map((r) => r.cancel()));
    if (owned) await runner.close();
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** decodeFile as a WHATWG ReadableStream (e.g. for a Response body or a file download). */
export function decodeFileStream(
  shards: ShardInputs,
  options: DecodeFileOptions,
): ReadableStream<Uint8Array> {
  return iteratorToStream(decodeFile(shards, options));
}
