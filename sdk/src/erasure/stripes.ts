// Stripe layout: how a byte stream (the file's ciphertext) is cut into stripes of k blocks and
// how the n shards are laid out. Specified in docs/protocol.md ("Erasure coding").
import { InvalidParametersError, NotEnoughShardsError, ShardMismatchError } from "../errors.ts";
import { createReedSolomon, type ReedSolomon, type ReedSolomonOptions } from "./reed-solomon.ts";

/** Block sizes are multiples of this (the segment size), so blocks start on segment boundaries. */
export const BLOCK_ALIGNMENT = 512;
/**
 * Default block size: 1 MiB, the UnixFS chunk size, so that block s of a shard is exactly
 * UnixFS leaf s of that shard (a stripe is fetched as one leaf from each of k shards).
 */
export const DEFAULT_BLOCK_SIZE = 1024 * 1024;
/** Largest block size accepted. */
export const MAX_BLOCK_SIZE = 64 * 1024 * 1024;

export interface StripeLayoutOptions extends ReedSolomonOptions {
  /** Bytes of the data stream (the ciphertext) before padding. */
  dataLength: number;
  /**
   * Block size B of every full stripe: a power of two from 512 to 64 MiB (512·2^h).
   * @default 1048576
   */
  blockSize?: number;
}

/** Everything that follows from (k, n, B, dataLength); the manifest records those four. */
export interface StripeLayout {
  readonly dataShards: number;
  readonly totalShards: number;
  readonly blockSize: number;
  readonly dataLength: number;
  /** ceil(dataLength / (k·B)); 0 for an empty stream. */
  readonly stripeCount: number;
  /** Block size of the last stripe: ceil(r / (512·k))·512 where r is its data bytes; 0 if none. */
  readonly lastBlockSize: number;
  /** Bytes in every shard: (stripeCount − 1)·B + lastBlockSize; 0 for an empty stream. */
  readonly shardSize: number;
}

/**
 * The one block-size rule of every layout (stripes, pipeline, manifests): a power of two from
 * 512 to 64 MiB, i.e. 512·2^h, so that a full block is exactly one segment subtree of height h
 * and the pipeline can hash it on its own. A multiple of 512 that is not a power of two would
 * split subtrees across blocks; nothing the pipeline writes uses one.
 */
export function isValidBlockSize(blockSize: number): boolean {
  return (
    Number.isInteger(blockSize) &&
    blockSize >= BLOCK_ALIGNMENT &&
    blockSize <= MAX_BLOCK_SIZE &&
    (blockSize & (blockSize - 1)) === 0
  );
}

function checkBlockSize(blockSize: number): void {
  if (!isValidBlockSize(blockSize))
    throw new InvalidParametersError(
      "blockSize",
      blockSize,
      `must be a power of two from ${BLOCK_ALIGNMENT} to ${MAX_BLOCK_SIZE} (512·2^h)`,
    );
}

/** Block size of a (last) stripe that carries `bytes` data bytes (1 ≤ bytes ≤ k·B). */
function blockSizeFor(bytes: number, k: number): number {
  return Math.ceil(bytes / (BLOCK_ALIGNMENT * k)) * BLOCK_ALIGNMENT;
}

/** Computes the layout, validating every parameter (InvalidParametersError). */
export function getStripeLayout(options: StripeLayoutOptions): StripeLayout {
  const { dataShards: k, totalShards: n, dataLength } = options;
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  createReedSolomon({ dataShards: k, totalShards: n }); // validates k, n
  checkBlockSize(blockSize);
  if (!Number.isSafeInteger(dataLength) || dataLength < 0)
    throw new InvalidParametersError("dataLength", dataLength, "must be a safe integer ≥ 0");
  const stripeBytes = k * blockSize;
  const stripeCount = Math.ceil(dataLength / stripeBytes);
  const lastBlockSize =
    stripeCount === 0 ? 0 : blockSizeFor(dataLength - (stripeCount - 1) * stripeBytes, k);
  const shardSize = stripeCount === 0 ? 0 : (stripeCount - 1) * blockSize + lastBlockSize;
  return {
    dataShards: k,
    totalShards: n,
    blockSize,
    dataLength,
    stripeCount,
    lastBlockSize,
    shardSize,
  };
}

/** Where stripe s lives: in every shard, and in the data stream. For ranged reads. */
export interface StripeRange {
  /** Byte offset of the stripe's block in every shard: s·B. */
  shardOffset: number;
  /** Block size of this stripe (B, or `lastBlockSize` for the last). */
  blockSize: number;
  /** Offset of the stripe's first data byte in the data stream: s·k·B. */
  dataOffset: number;
  /** Data bytes the stripe carries (the rest of its k·blockSize bytes is padding). */
  dataBytes: number;
}

/** The shard and stream byte ranges of stripe `stripe` (0 ≤ stripe < stripeCount). */
export function getStripeRange(layout: StripeLayout, stripe: number): StripeRange {
  if (!Number.isSafeInteger(stripe) || stripe < 0 || stripe >= layout.stripeCount)
    throw new InvalidParametersError("stripe", stripe, `must be in [0, ${layout.stripeCount})`);
  const last = stripe === layout.stripeCount - 1;
  const dataOffset = stripe * layout.dataShards * layout.blockSize;
  return {
    shardOffset: stripe * layout.blockSize,
    blockSize: last ? layout.lastBlockSize : layout.blockSize,
    dataOffset,
    dataBytes: last ? layout.dataLength - dataOffset : layout.dataShards * layout.blockSize,
  };
}

/** One stripe of the data stream, zero-padded to k·blockSize bytes. */
export interface Stripe {
  /** Stripe number s; its blocks sit at byte s·B of every shard. */
  index: number;
  /** Block size of this stripe (B, or smaller for the last stripe). */
  blockSize: number;
  /** True data bytes in `data` (the rest is zero padding). */
  dataBytes: number;
  /** k·blockSize bytes: data block j is `data[j·blockSize, (j+1)·blockSize)`. */
  data: Uint8Array;
}

/**
 * Cuts a byte stream, fed in chunks of any size, into stripes. A full stripe is released only
 * once a later byte arrives, because the last stripe (which may be full) is special: it is
 * shrunk to the smallest 512-aligned block size that holds it.
 */
export class StripeSplitter {
  readonly dataShards: number;
  readonly blockSize: number;
  #buffer: Uint8Array;
  #filled = 0;
  #index = 0;
  #finished = false;

  constructor(options: { dataShards: number; blockSize?: number }) {
    const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
    createReedSolomon({ dataShards: options.dataShards, totalShards: options.dataShards });
    checkBlockSize(blockSize);
    this.dataShards = options.dataShards;
    this.blockSize = blockSize;
    this.#buffer = new Uint8Array(this.dataShards * blockSize);
  }

  /** Adds bytes; returns the stripes completed by them (each a fresh buffer the caller owns). */
  push(chunk: Uint8Array): Stripe[] {
    if (this.#finished)
      throw new InvalidParametersError("chunk", chunk.length, "pushed after finish()");
    const out: Stripe[] = [];
    const size = this.#buffer.length;
    let off = 0;
    while (off < chunk.length) {
      if (this.#filled === size) {
        out.push({
          index: this.#index++,
          blockSize: this.blockSize,
          dataBytes: size,
          data: this.#buffer,
        });
        this.#buffer = new Uint8Array(size);
        this.#filled = 0;
      }
      const n = Math.min(size - this.#filled, chunk.length - off);
      this.#buffer.set(chunk.subarray(off, off + n), this.#filled);
      this.#filled += n;
      off += n;
    }
    return out;
  }

  /** Ends the stream; returns the last stripe, or nothing for an empty stream (or a second call). */
  finish(): Stripe | undefined {
    if (this.#finished) return undefined;
    this.#finished = true;
    if (this.#filled === 0) return undefined;
    const b = blockSizeFor(this.#filled, this.dataShards);
    // The buffer is zero beyond #filled (fresh), so a prefix of it is the padded stripe.
    const data = this.#buffer.subarray(0, this.dataShards * b);
    return { index: this.#index++, blockSize: b, dataBytes: this.#filled, data };
  }
}

/** The n blocks of a stripe: k data blocks (views into `stripe.data`) and the n−k parity blocks. */
export function encodeStripe(codec: ReedSolomon, stripe: Stripe): Uint8Array[] {
  const k = codec.dataShards;
  const b = stripe.blockSize;
  if (stripe.data.length !== k * b)
    throw new InvalidParametersError(
      "stripe.data",
      stripe.data.length,
      `must be k·blockSize = ${k * b}`,
    );
  const data = Array.from({ length: k }, (_, j) => stripe.data.subarray(j * b, (j + 1) * b));
  const parityBuffer = new Uint8Array(codec.parityShards * b);
  const parity = Array.from({ length: codec.parityShards }, (_, j) =>
    parityBuffer.subarray(j * b, (j + 1) * b),
  );
  codec.encode(data, parity);
  return [...data, ...parity];
}

export type ShardSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export interface EncodedStripe extends Stripe {
  /** n blocks of `blockSize` bytes; append block i to shard i. */
  blocks: Uint8Array[];
}

/**
 * Erasure-codes a byte stream stripe by stripe (memory: one stripe of k·B plus its parity).
 * Shard i is the concatenation of `blocks[i]` of the yielded stripes, in order.
 */
export async function* encodeStream(
  source: ShardSource,
  options: ReedSolomonOptions & { blockSize?: number },
): AsyncGenerator<EncodedStripe> {
  const codec = createReedSolomon(options);
  const splitter = new StripeSplitter(options);
  for await (const chunk of source)
    for (const stripe of splitter.push(chunk))
      yield { ...stripe, blocks: encodeStripe(codec, stripe) };
  const last = splitter.finish();
  if (last) yield { ...last, blocks: encodeStripe(codec, last) };
}

/** Reads exact-length pieces from a chunked byte stream. */
class ExactReader {
  readonly shardIndex: number;
  #it: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  #pending: Uint8Array = new Uint8Array(0);
  #consumed = 0;

  constructor(source: ShardSource, shardIndex: number) {
    this.shardIndex = shardIndex;
    this.#it =
      Symbol.asyncIterator in source
        ? (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
        : (source as Iterable<Uint8Array>)[Symbol.iterator]();
  }

  async read(len: number, expectedTotal: number): Promise<Uint8Array> {
    if (this.#pending.length >= len) {
      const out = this.#pending.subarray(0, len);
      this.#pending = this.#pending.subarray(len);
      this.#consumed += len;
      return out;
    }
    const out = new Uint8Array(len);
    let filled = 0;
    while (filled < len) {
      if (this.#pending.length === 0) {
        const r = await this.#it.next();
        if (r.done)
          throw new ShardMismatchError(`shard ${this.shardIndex} ended early`, {
            shardIndex: this.shardIndex,
            expected: expectedTotal,
            actual: this.#consumed + filled,
          });
        this.#pending = r.value;
        continue;
      }
      const n = Math.min(len - filled, this.#pending.length);
      out.set(this.#pending.subarray(0, n), filled);
      this.#pending = this.#pending.subarray(n);
      filled += n;
    }
    this.#consumed += len;
    return out;
  }

  /** Throws if the stream holds more bytes than the layout says. */
  async end(expectedTotal: number): Promise<void> {
    let extra = this.#pending.length;
    for (;;) {
      if (extra > 0)
        throw new ShardMismatchError(`shard ${this.shardIndex} is longer than the layout`, {
          shardIndex: this.shardIndex,
          expected: expectedTotal,
          actual: this.#consumed + extra,
        });
      const r = await this.#it.next();
      if (r.done) return;
      extra += r.value.length;
    }
  }
}

/** Picks the k shards to read: data shards first (no decoding when all are there). */
function pickShards(
  layout: StripeLayout,
  shards: readonly (ShardSource | null | undefined)[],
): ExactReader[] {
  const { dataShards: k, totalShards: n } = layout;
  if (shards.length !== n)
    throw new InvalidParametersError("shards", shards.length, `expected an array of ${n} entries`);
  const present: number[] = [];
  const missing: number[] = [];
  for (let i = 0; i < n; i++) (shards[i] == null ? missing : present).push(i);
  if (present.length < k) throw new NotEnoughShardsError(missing, present.length, k);
  return present.slice(0, k).map((i) => new ExactReader(shards[i] as ShardSource, i));
}

async function* stripesOf(
  layout: StripeLayout,
  shards: readonly (ShardSource | null | undefined)[],
  wanted: readonly number[],
): AsyncGenerator<{ blockSize: number; blocks: Uint8Array[] }> {
  const codec = createReedSolomon(layout);
  const readers = pickShards(layout, shards);
  for (let s = 0; s < layout.stripeCount; s++) {
    const b = s === layout.stripeCount - 1 ? layout.lastBlockSize : layout.blockSize;
    const blocks: (Uint8Array | undefined)[] = new Array(layout.totalShards);
    const read = await Promise.all(readers.map((r) => r.read(b, layout.shardSize)));
    readers.forEach((r, j) => (blocks[r.shardIndex] = read[j]));
    const full = codec.reconstruct(blocks, { wanted });
    yield { blockSize: b, blocks: wanted.map((t) => full[t] as Uint8Array) };
  }
  await Promise.all(readers.map((r) => r.end(layout.shardSize)));
}

/**
 * Rebuilds the data stream from any k of the n shards (`shards[i]` is shard i's bytes as a
 * chunked stream, or `undefined`), stripping the padding. Reads only k shards, data shards
 * first. Throws NotEnoughShardsError naming the missing indexes, ShardMismatchError when a
 * shard is shorter or longer than the layout.
 */
export async function* decodeStream(
  layout: StripeLayout,
  shards: readonly (ShardSource | null | undefined)[],
): AsyncGenerator<Uint8Array> {
  const k = layout.dataShards;
  const wanted = Array.from({ length: k }, (_, j) => j);
  let remaining = layout.dataLength;
  for await (const { blockSize, blocks } of stripesOf(layout, shards, wanted)) {
    for (const block of blocks) {
      if (remaining === 0) break;
      const take = Math.min(remaining, blockSize);
      yield take === block.length ? block : block.subarray(0, take);
      remaining -= take;
    }
  }
}

/**
 * Rebuilds whole shards (data or parity) from any k others, stripe by stripe, without any
 * key: what a repairing provider does. Yields, per stripe, the blocks of the `wanted` shards
 * in the order given; shard t is the concatenation of its blocks.
 */
export async function* rebuildShards(
  layout: StripeLayout,
  shards: readonly (ShardSource | null | undefined)[],
  wanted: readonly number[],
): AsyncGenerator<Uint8Array[]> {
  for (const t of wanted)
    if (!Number.isInteger(t) || t < 0 || t >= layout.totalShards)
      throw new InvalidParametersError(
        "wanted",
        t,
        `shard index must be in [0, ${layout.totalShards})`,
      );
  for await (const { blocks } of stripesOf(layout, shards, wanted)) yield blocks;
}
