// decodeFile: any k shards in → plaintext out, verifying as it goes (docs/protocol.md, "Pipeline").
// Workers hash the shard blocks, rebuild missing data blocks and open every chunk that lies
// wholly inside a stripe; the calling thread opens the one chunk per stripe boundary.
import { createChunkSession, type ChunkSession } from "../crypto/backend.ts";
import {
  STREAM_HEADER_LENGTH,
  TAG_LENGTH,
  chunkNonceTail,
  getPlaintextLength,
  parseStreamHeader,
} from "../crypto/format.ts";
import {
  InvalidParametersError,
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
import { getSegmentHasher } from "./hash.ts";
import { ShardReader, type ByteInput } from "./io.ts";
import type { DecodeResult, DecodeTask } from "./tasks.ts";
import { UnixfsCidBuilder } from "../cid/unixfs.ts";

/**
 * What a shard is committed to: a manifest's `shards[i]`, an encodeFile result's `shards[i]`, or
 * just a root. Given as an array, entry i is shard i unless it names its `index`.
 */
export interface ExpectedShardCommitment {
  /** Shard index. @default its position in the array */
  index?: number;
  /** Segment Merkle root (0x hex or 32 bytes). */
  merkleRoot?: string | Uint8Array;
  /** UnixFS CID (string form). */
  cid?: string;
}

export interface DecodeFileOptions extends PipelineOptions, EncodedLayout {
  /** The file key (32 bytes). */
  key: Uint8Array;
  /**
   * Expected roots/CIDs of the shards. With them each shard read is checked against its root
   * (and CID), and when a chunk fails to authenticate the altered shard is named
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

function hexOf(root: string | Uint8Array): string {
  return typeof root === "string" ? root.toLowerCase() : toHex(root);
}

/**
 * Decrypts a file from any k of its n shards, stripe by stripe, yielding plaintext as it is
 * authenticated: every STREAM chunk is opened (XChaCha20-Poly1305), so altered, reordered,
 * truncated or extended data never comes out. Reads k shards (data shards first, so no
 * decoding when they are all there). Errors: NotEnoughShardsError (naming the missing
 * indexes), WrongKeyError, TamperedDataError, ShardMismatchError (a shard of the wrong length,
 * or whose bytes do not match its expected root/CID: names the shard).
 */
export async function* decodeFile(
  shards: ShardInputs,
  options: DecodeFileOptions,
): AsyncGenerator<Uint8Array> {
  const {
    dataShards: k,
    totalShards: n,
    blockSize: B,
    ciphertextLength: ctLen,
    key,
    signal,
  } = options;
  const { layout, blockHeight, cidChunkSize: alignedCid } = planLayout(k, n, B, ctLen);
  if (layout.stripeCount === 0)
    throw new InvalidParametersError(
      "ciphertextLength",
      ctLen,
      "a STREAM ciphertext is at least 57 bytes",
    );
  const implementation = resolveImplementation(options.implementation);
  if (!(shards instanceof Map) && (shards as readonly unknown[]).length > n)
    throw new InvalidParametersError(
      "shards",
      (shards as readonly unknown[]).length,
      `at most ${n} shards`,
    );

  const present: number[] = [];
  const missing: number[] = [];
  for (let i = 0; i < n; i++) (shardInput(shards, i) === undefined ? missing : present).push(i);
  if (present.length < k) throw new NotEnoughShardsError(missing, present.length, k);
  const used = present.slice(0, k);

  const expectedRoot = new Map<number, string>();
  const expectedCid = new Map<number, string>();
  (options.expected ?? []).forEach((e, position) => {
    if (e == null) return;
    const index = e.index ?? position;
    if (e.merkleRoot !== undefined) expectedRoot.set(index, hexOf(e.merkleRoot));
    if (e.cid !== undefined) expectedCid.set(index, e.cid);
  });
  const verifyRoots = used.some((i) => expectedRoot.has(i));
  const verifyCids = alignedCid > 0 && used.some((i) => expectedCid.has(i));
  const cidChunkSize = verifyCids ? alignedCid : 0;

  const hasher = getSegmentHasher(implementation === "native" ? "native" : "portable");
  const trees = used.map(() => new SegmentTreeBuilder({ hasher }));
  const cids = used.map(() => new UnixfsCidBuilder({ sha256: cidSha256(implementation) }));

  const readers = used.map((i) => new ShardReader(i, shardInput(shards, i)!));
  const { runner, owned } = resolveRunner(options.workers);
  const maxInFlight = Math.max(1, options.maxStripesInFlight ?? runner.concurrency + 1);

  const H = STREAM_HEADER_LENGTH;
  const kB = k * B;
  let header: Uint8Array | undefined;
  let session: ChunkSession | undefined;
  let U = 0;
  let finalChunk = -1;
  let plaintextLength = 0;

  let nextStripe = 0;
  let nextId = 0;
  let draining = false; // after a failed chunk: only hash the rest, to name the altered shard
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
      id: nextId++,
      key,
      header,
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

  /** Feeds a stripe's block roots and leaf digests to the per-shard combiners. */
  const absorb = (r: DecodeResult): void => {
    const b = r.id === layout.stripeCount - 1 ? layout.lastBlockSize : B; // task id = stripe index
    const per = cidChunkSize > 0 ? r.digests.length / 32 / k : 0;
    for (let j = 0; j < k; j++) {
      // Full blocks come back as subtree roots; a shorter last block is hashed here, from the
      // read buffer the task hands back.
      if (verifyRoots)
        if (r.roots.length > 0)
          trees[j]!.pushSubtree(r.roots.subarray(j * 32, j * 32 + 32), blockHeight);
        else trees[j]!.update(new Uint8Array(r.input!, j * b, b));
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
      const want = expectedRoot.get(i);
      if (verifyRoots && want !== undefined) {
        const got = toHex(trees[j]!.finish().root);
        if (got !== want) bad.push({ index: i, expected: want, actual: got });
      }
      const wantCid = expectedCid.get(i);
      if (cidChunkSize > 0 && wantCid !== undefined && bad.every((x) => x.index !== i)) {
        const got = cids[j]!.finish().cid.toString();
        if (got !== wantCid) bad.push({ index: i, expected: wantCid, actual: got });
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
    if (!verifyRoots && cidChunkSize === 0) {
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
    const bad = mismatches();
    if (bad.length === 0) throw tampered;
    throw shardError(bad, tampered);
  };

  // Chunk assembled across stripe boundaries.
  let pendingIndex = 0;
  let pendingParts: Uint8Array[] = [];
  let pendingLength = 0;
  const chunkLength = (j: number): number => Math.min(H + (j + 1) * U, ctLen) - (H + j * U);

  try {
    // Stripe 0 first: it carries the header, which every other stripe's task needs.
    await readStripe();
    for (;;) {
      if (inflight.length === 0) break;
      const r = await inflight.shift()!;
      throwIfAborted(signal);
      if (r.header !== undefined && header === undefined) {
        header = r.header;
        if (r.failure === undefined) {
          const parsed = parseStreamHeader(header);
          U = parsed.chunkSize + TAG_LENGTH;
          const P = getPlaintextLength(ctLen, parsed.chunkSize);
          if (P === undefined)
            throw new InvalidParametersError(
              "ciphertextLength",
              ctLen,
              `no plaintext of chunk size ${parsed.chunkSize} encrypts to this length`,
            );
          plaintextLength = P;
          finalChunk = Math.max(1, Math.ceil(P / parsed.chunkSize)) - 1;
          session = createChunkSession(
            key,
            parsed.noncePrefix,
            parsed.aad,
            implementation === "native" ? "native" : "noble",
          );
        }
      }
      // Hashes first: a failed stripe's blocks still count when naming the altered shard.
      absorb(r);
      if (r.input !== undefined && r.input.byteLength === k * B && freeBlocks.length < 4)
        freeBlocks.push(r.input);
      stripesDone++;
      if (r.failure !== undefined) {
        if (r.failure.kind === "wrong-key") throw new WrongKeyError("encrypted stream");
        const tampered =
          r.failure.kind === "tampered"
            ? new TamperedDataError(
                "chunk",
                r.failure.chunkIndex,
                `chunk ${r.failure.chunkIndex} does not authenticate`,
              )
            : new TamperedDataError("header", undefined, `stream header: ${r.failure.message}`);
        await failTampered(tampered);
      }
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
          const pt = session!.open(
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
    if (plaintextOut !== plaintextLength)
      throw new TamperedDataError(
        "chunk",
        pendingIndex,
        `stream ended inside chunk ${pendingIndex}`,
      );
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
  const it = decodeFile(shards, options);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const r = await it.next();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      } catch (err) {
        controller.error(err);
      }
    },
    async cancel(reason) {
      await it.return?.(undefined);
      void reason;
    },
  });
}
