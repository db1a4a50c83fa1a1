// Byte sources and shard sinks of the pipeline: the shapes callers bring (async iterables,
// WHATWG streams, Blobs, arrays) reduced to two small interfaces.
import { InvalidParametersError, ShardMismatchError } from "../errors.ts";

/**
 * A source that reads straight into the caller's buffer (no per-read allocation), e.g. a file.
 * `read` fills `dst` from the current position and returns how many bytes it wrote (0 at the end).
 */
export interface ByobSource {
  read(dst: Uint8Array): Promise<number>;
  close?(): unknown;
}

/** Plaintext or shard bytes: an (async) iterable of pieces, a ReadableStream, a Blob, one array, or a ByobSource (shards). */
export type ByteInput =
  | ByobSource
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>
  | ReadableStream<Uint8Array>
  | Blob
  | Uint8Array;

/** Where the bytes of one shard go. `write` may return a promise: the pipeline waits for it (backpressure). */
export interface ShardSink {
  /**
   * Receives the next bytes of the shard. Unless `releasesBytes` is set, the pipeline never
   * reuses or modifies them afterwards, so the sink may keep them.
   */
  write(bytes: Uint8Array): unknown;
  /**
   * Set when the sink is done with the bytes once `write` has settled (it wrote or copied them
   * and keeps no reference, like a file writer). When every sink says so, the pipeline reuses
   * stripe memory: less garbage, lower peak memory. Leave unset for sinks that queue the bytes
   * (e.g. a TransformStream feeding an upload).
   * @default false
   */
  readonly releasesBytes?: boolean;
  /** Called once after the last write. */
  close?(): unknown;
  /** Called instead of `close` when the pipeline fails. */
  abort?(reason: unknown): unknown;
}

/** A sink or a WHATWG WritableStream (e.g. an HTTP request body, a file stream). */
export type ShardSinkLike = ShardSink | WritableStream<Uint8Array>;

/** A sink that drops every byte (benchmarks, or when only CIDs and roots are wanted). */
export const nullSink: ShardSink = { write() {}, releasesBytes: true };

/** Wraps a WritableStream in the sink interface, waiting for each write (strict backpressure). */
export function toShardSink(sink: ShardSinkLike): ShardSink {
  if (typeof (sink as WritableStream).getWriter !== "function") return sink as ShardSink;
  const writer = (sink as WritableStream<Uint8Array>).getWriter();
  return {
    async write(bytes) {
      await writer.ready;
      await writer.write(bytes);
    },
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason),
  };
}

/** Iterates any {@link ByteInput} as Uint8Array pieces. */
export async function* iterateBytes(input: ByteInput): AsyncGenerator<Uint8Array> {
  if (isByob(input)) {
    try {
      for (;;) {
        const buf = new Uint8Array(1024 * 1024);
        const got = await input.read(buf);
        if (got === 0) return;
        yield buf.subarray(0, got);
      }
    } finally {
      await input.close?.();
    }
  }
  if (input instanceof Uint8Array) {
    yield input;
    return;
  }
  if (typeof Blob !== "undefined" && input instanceof Blob) {
    yield* iterateBytes(input.stream());
    return;
  }
  if (Symbol.asyncIterator in input || Symbol.iterator in input) {
    for await (const piece of input as AsyncIterable<Uint8Array>) {
      if (!(piece instanceof Uint8Array))
        throw new InvalidParametersError("source", typeof piece, "must yield Uint8Array pieces");
      yield piece;
    }
    return;
  }
  const reader = (input as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    reader.releaseLock();
  }
}

function isByob(x: unknown): x is ByobSource {
  return typeof (x as ByobSource).read === "function" && !(Symbol.asyncIterator in (x as object));
}

/** Reads exact-length pieces of one shard into caller buffers. */
export class ShardReader {
  readonly shardIndex: number;
  readonly #byob: ByobSource | undefined;
  readonly #it: AsyncIterator<Uint8Array>;
  #pending: Uint8Array = new Uint8Array(0);
  #consumed = 0;

  constructor(shardIndex: number, input: ByteInput) {
    this.shardIndex = shardIndex;
    this.#byob = isByob(input) ? input : undefined;
    this.#it = iterateBytes(input)[Symbol.asyncIterator]();
  }

  /** Fills `dst` entirely; ShardMismatchError if the shard ends first. */
  async readInto(dst: Uint8Array, expectedSize: number): Promise<void> {
    let filled = 0;
    while (this.#byob !== undefined && filled < dst.length) {
      const got = await this.#byob.read(dst.subarray(filled));
      if (got === 0)
        throw new ShardMismatchError(`shard ${this.shardIndex} ended early`, {
          shardIndex: this.shardIndex,
          expected: expectedSize,
          actual: this.#consumed + filled,
        });
      filled += got;
    }
    while (filled < dst.length) {
      if (this.#pending.length === 0) {
        const r = await this.#it.next();
        if (r.done)
          throw new ShardMismatchError(`shard ${this.shardIndex} ended early`, {
            shardIndex: this.shardIndex,
            expected: expectedSize,
            actual: this.#consumed + filled,
          });
        this.#pending = r.value;
        continue;
      }
      const n = Math.min(dst.length - filled, this.#pending.length);
      dst.set(this.#pending.subarray(0, n), filled);
      this.#pending = this.#pending.subarray(n);
      filled += n;
    }
    this.#consumed += filled;
  }

  /** ShardMismatchError if the shard holds more bytes than expected. */
  async end(expectedSize: number): Promise<void> {
    if (this.#byob !== undefined) {
      const probe = new Uint8Array(1);
      const extra = await this.#byob.read(probe);
      await this.cancel();
      if (extra === 0) return;
      throw new ShardMismatchError(`shard ${this.shardIndex} is longer than expected`, {
        shardIndex: this.shardIndex,
        expected: expectedSize,
        actual: this.#consumed + extra,
      });
    }
    let extra = this.#pending.length;
    while (extra === 0) {
      const r = await this.#it.next();
      if (r.done) return;
      extra += r.value.length;
    }
    await this.cancel();
    throw new ShardMismatchError(`shard ${this.shardIndex} is longer than expected`, {
      shardIndex: this.shardIndex,
      expected: expectedSize,
      actual: this.#consumed + extra,
    });
  }

  /** Stops reading (closes the underlying stream). */
  async cancel(): Promise<void> {
    if (this.#byob !== undefined) await this.#byob.close?.();
    else await this.#it.return?.(undefined);
  }
}

/** The parts joined into one array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A ReadableStream pulling from an async iterator; cancelling it returns the iterator. */
export function iteratorToStream(it: AsyncIterator<Uint8Array>): ReadableStream<Uint8Array> {
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
    async cancel() {
      await it.return?.(undefined);
    },
  });
}
