// The pipeline's edges on a tiny layout (k = 2, n = 3, 512-byte blocks, 64-byte chunks), fast
// enough to run once per mutant: option errors in words, every source and sink shape a caller
// may bring (BYOB sources, reader-only streams, WritableStreams), shard sources that end early or
// run long, progress, cancellation, and the worker-count option.
import { randomBytes } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { parseStreamHeader } from "../src/crypto/format.ts";
import { getDefaultRunner } from "../src/pipeline/pool.ts";
import { transferablesOf, type Task, type TaskResult } from "../src/pipeline/tasks.ts";
import { InvalidParametersError, ShardMismatchError } from "../src/errors.ts";
import {
  createInlineRunner,
  decodeFile,
  decodeFileStream,
  encodeFile,
  type ByobSource,
  type DecodeFileOptions,
  type EncodeFileOptions,
  type EncodeFileResult,
  type PipelineProgress,
  type ShardInputs,
  type TaskRunner,
} from "../src/pipeline/index.ts";

const geo = { dataShards: 2, totalShards: 3, blockSize: 512, chunkSize: 64 } as const;

interface Encoded {
  result: EncodeFileResult;
  shards: Uint8Array[];
  data: Uint8Array;
}

async function encode(size: number, options: EncodeFileOptions = {}): Promise<Encoded> {
  const data = randomBytes(size);
  const parts: Uint8Array[][] = [[], [], []];
  const result = await encodeFile(data, {
    workers: "inline",
    ...geo,
    ...options,
    sinks: parts.map((p) => ({ write: (b: Uint8Array) => void p.push(b.slice()) })),
  });
  return { result, shards: parts.map((p) => Buffer.concat(p)), data };
}

async function decode(shards: ShardInputs, options: DecodeFileOptions): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const p of decodeFile(shards, { workers: "inline", ...options })) out.push(p);
  return Buffer.concat(out);
}

async function failure(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error("expected a rejection");
}

/** A BYOB source over `bytes`, at most `maxRead` bytes per read; counts reads and closes. */
function byob(
  bytes: Uint8Array,
  maxRead = Infinity,
): ByobSource & { closes: number; sizes: number[] } {
  let off = 0;
  const src = {
    closes: 0,
    sizes: [] as number[],
    async read(dst: Uint8Array): Promise<number> {
      src.sizes.push(dst.length);
      const n = Math.min(dst.length, bytes.length - off, maxRead);
      dst.set(bytes.subarray(off, off + n));
      off += n;
      return n;
    },
    close() {
      src.closes++;
    },
  };
  return src;
}

describe("decodeFile: caller errors, in words, before any read", () => {
  let e: Encoded;
  it("setup", async () => {
    e = await encode(3000);
  });

  it("options that are not an object", async () => {
    const err = await failure(decodeFile(e.shards, null as unknown as DecodeFileOptions).next());
    expect(err).toBeInstanceOf(InvalidParametersError);
    expect(err).toMatchObject({ parameter: "options", value: "null" });
    expect(err.message).toBe("options = null: must be an object");
  });

  it("a header option that is not a header names what was given", async () => {
    const long = `0x${"ab".repeat(60)}`;
    const cases: [unknown, string][] = [
      [long, `${long.slice(0, 90)}…`],
      [null, "null"],
      [{}, "an object"],
      [7, "7"],
      [new Uint8Array(40), "40 bytes"],
    ];
    for (const [header, value] of cases) {
      const err = await failure(decode(e.shards, { ...e.result, header: header as Uint8Array }));
      expect(err).toBeInstanceOf(InvalidParametersError);
      expect(err).toMatchObject({ parameter: "header", value });
      expect(err.message).toMatch(/must be the file's 41-byte STREAM header/);
    }
  });

  it("41 bytes that do not parse as a header: the parser's words", async () => {
    const bogus = new Uint8Array(41);
    let words = "";
    try {
      parseStreamHeader(bogus);
    } catch (err) {
      words = (err as Error).message;
    }
    expect(words).not.toBe("");
    const err = await failure(decode(e.shards, { ...e.result, header: bogus }));
    expect(err).toBeInstanceOf(InvalidParametersError);
    expect(err).toMatchObject({ parameter: "header", value: "41 bytes" });
    expect(err.message).toBe(`header = 41 bytes: ${words}`);
  });

  it("expected: not an array, a shard named twice, a root of the wrong length", async () => {
    const notArray = await failure(
      decode(e.shards, { ...e.result, expected: "roots" as unknown as [] }),
    );
    expect(notArray).toMatchObject({ parameter: "expected", value: "roots" });
    expect(notArray.message).toBe("expected = roots: must be an array");

    const twice = await failure(decode(e.shards, { ...e.result, expected: [{}, { index: 0 }] }));
    expect(twice).toMatchObject({ parameter: "expected[1].index", value: 0 });
    expect(twice.message).toBe("expected[1].index = 0: names a shard a second time");

    const short = await failure(
      decode(e.shards, { ...e.result, expected: [{ merkleRoot: new Uint8Array(31) }] }),
    );
    expect(short).toMatchObject({ parameter: "expected[0].merkleRoot", value: "31 bytes" });
  });

  it("expected roots as 32 bytes are checked like hex ones", async () => {
    const bytes = e.result.shards.map((s) => ({
      merkleRoot: Uint8Array.from(Buffer.from(s.merkleRoot.slice(2), "hex")),
    }));
    expect((await decode(e.shards, { ...e.result, expected: bytes })).equals(e.data)).toBe(true);
    const wrong = bytes.map((x, i) => (i === 1 ? { merkleRoot: new Uint8Array(32) } : x));
    const err = await failure(decode(e.shards, { ...e.result, expected: wrong }));
    expect(err).toBeInstanceOf(ShardMismatchError);
    expect(err.shardIndex).toBe(1);
  });

  it("a ciphertext length with no stripe", async () => {
    const err = await failure(decode(e.shards, { ...e.result, ciphertextLength: 0 }));
    expect(err).toMatchObject({ parameter: "ciphertextLength", value: 0 });
    expect(err.message).toBe("ciphertextLength = 0: a STREAM ciphertext is at least 57 bytes");
  });

  it("shards: not an array or Map, more than n, Map keys outside 0..n-1", async () => {
    const notList = await failure(decode("abc" as unknown as ShardInputs, e.result));
    expect(notList).toMatchObject({ parameter: "shards", value: "abc" });
    expect(notList.message).toBe("shards = abc: must be an array or a Map");

    const four = await failure(decode([...e.shards, e.shards[0]!], e.result));
    expect(four).toMatchObject({ parameter: "shards", value: 4 });
    expect(four.message).toBe("shards = 4: at most 3 shards");

    for (const bad of [-1, 3, 1.5]) {
      const map = new Map<number, Uint8Array>([
        [0, e.shards[0]!],
        [bad, e.shards[1]!],
        [2, e.shards[2]!],
      ]);
      const err = await failure(decode(map, e.result));
      expect(err).toBeInstanceOf(InvalidParametersError);
      expect(err).toMatchObject({ parameter: "shards", value: bad });
      expect(err.message).toBe(`shards = ${bad}: shard indexes are 0..2`);
    }
    // The first and the last index are fine.
    const ends = new Map([
      [0, e.shards[0]!],
      [2, e.shards[2]!],
    ]);
    expect((await decode(ends, e.result)).equals(e.data)).toBe(true);
  });
});

describe("decodeFile: progress, shard sources, streams", () => {
  let e: Encoded;
  it("setup", async () => {
    e = await encode(5000);
    expect(e.result.stripeCount).toBeGreaterThan(3);
  });

  it("reports each stripe and the end", async () => {
    const events: PipelineProgress[] = [];
    const out = await decode(e.shards, { ...e.result, onProgress: (p) => events.push({ ...p }) });
    expect(out.equals(e.data)).toBe(true);
    const stripes = events.filter((p) => p.phase === "decode");
    expect(stripes).toHaveLength(e.result.stripeCount);
    expect(stripes.map((p) => p.stripes)).toEqual(stripes.map((_, i) => i + 1));
    for (let i = 1; i < stripes.length; i++)
      expect(stripes[i]!.plaintextBytes).toBeGreaterThan(stripes[i - 1]!.plaintextBytes);
    expect(stripes.at(-1)!.plaintextBytes).toBe(e.data.length);
    expect(events.at(-1)).toEqual({
      phase: "done",
      plaintextBytes: e.data.length,
      shardBytes: 2 * e.result.shardSize,
      stripes: e.result.stripeCount,
    });
  });

  it("an empty file: one stripe, no piece (not even an empty one), then the end", async () => {
    const empty = await encode(0);
    expect(empty.result.stripeCount).toBe(1);
    const pieces: Uint8Array[] = [];
    const events: PipelineProgress[] = [];
    for await (const p of decodeFile(empty.shards, {
      ...empty.result,
      workers: "inline",
      onProgress: (x) => events.push({ ...x }),
    }))
      pieces.push(p);
    expect(pieces).toEqual([]);
    expect(events.map((x) => [x.phase, x.plaintextBytes])).toEqual([
      ["decode", 0],
      ["done", 0],
    ]);
  });

  it("BYOB shard sources: read into the stripe buffers, closed at the end", async () => {
    const sources = e.shards.map((s) => byob(s, 100));
    expect((await decode([sources[0], undefined, sources[2]], e.result)).equals(e.data)).toBe(true);
    expect(sources.map((s) => s.closes > 0)).toEqual([true, false, true]);
  });

  it("a BYOB shard that ends early or runs long: ShardMismatchError with the sizes", async () => {
    const size = e.result.shardSize;
    const short = await failure(
      decode([e.shards[0], byob(e.shards[1]!.subarray(0, size - 100))], e.result),
    );
    expect(short).toBeInstanceOf(ShardMismatchError);
    expect(short.message).toBe("shard 1 ended early");
    expect(short).toMatchObject({ shardIndex: 1, expected: size, actual: size - 100 });

    const long = await failure(
      decode(
        [e.shards[0], undefined, byob(Buffer.concat([e.shards[2]!, new Uint8Array(3)]))],
        e.result,
      ),
    );
    expect(long).toBeInstanceOf(ShardMismatchError);
    expect(long.message).toBe("shard 2 is longer than expected");
    expect(long).toMatchObject({ shardIndex: 2, expected: size, actual: size + 1 });
  });

  it("an iterable shard with a piece past its end: the bytes found", async () => {
    const size = e.result.shardSize;
    const err = await failure(decode([e.shards[0], [e.shards[1]!, new Uint8Array(5)]], e.result));
    expect(err).toBeInstanceOf(ShardMismatchError);
    expect(err).toMatchObject({ shardIndex: 1, expected: size, actual: size + 5 });
  });

  it("an iterable shard too short, or with extra bytes in its last piece: the sizes", async () => {
    const size = e.result.shardSize;
    const s1 = e.shards[1]!;
    const short = await failure(
      decode([e.shards[0], [s1.subarray(0, 1000), s1.subarray(1000, size - 100)]], e.result),
    );
    expect(short.message).toBe("shard 1 ended early");
    expect(short).toMatchObject({ shardIndex: 1, expected: size, actual: size - 100 });
    const long = await failure(
      decode(
        [e.shards[0], [s1.subarray(0, 700), Buffer.concat([s1.subarray(700), new Uint8Array(3)])]],
        e.result,
      ),
    );
    expect(long.message).toBe("shard 1 is longer than expected");
    expect(long).toMatchObject({ shardIndex: 1, expected: size, actual: size + 3 });
  });

  it("generator shard sources are returned (their finally runs) when a decode fails", async () => {
    const shards = e.shards.map((s) => Uint8Array.from(s));
    shards[1]![700]! ^= 1;
    const finished = [false, false];
    const source = function* (i: number): Generator<Uint8Array> {
      try {
        for (let off = 0; off < shards[i]!.length; off += 256)
          yield shards[i]!.subarray(off, off + 256);
      } finally {
        finished[i] = true;
      }
    };
    const err = await failure(decode([source(0), source(1)], e.result));
    expect(err.name).toBe("TamperedDataError");
    expect(finished).toEqual([true, true]);
  });

  it("Node Readable streams (async iterables that also have read()) as shards and as input", async () => {
    const { Readable } = await import("node:stream");
    const out = await decode(
      [Readable.from([e.shards[0]!]), undefined, Readable.from([e.shards[2]!])],
      e.result,
    );
    expect(out.equals(e.data)).toBe(true);
    const data = randomBytes(2000);
    const parts: Uint8Array[][] = [[], [], []];
    const r = await encodeFile(Readable.from([data.subarray(0, 500), data.subarray(500)]), {
      ...geo,
      workers: "inline",
      sinks: parts.map((p) => ({ write: (b: Uint8Array) => void p.push(b.slice()) })),
    });
    expect(
      (
        await decode(
          parts.map((p) => Buffer.concat(p)),
          r,
        )
      ).equals(data),
    ).toBe(true);
  });

  it("decodeFileStream: an error rejects the read, a cancel closes the shard sources", async () => {
    const stream = decodeFileStream(e.shards, { ...e.result, key: new Uint8Array(5) });
    const read = stream.getReader().read();
    const hung = new Promise((resolve) => setTimeout(() => resolve("hung"), 2000));
    const err = await failure(Promise.race([read, hung]));
    expect(err).toBeInstanceOf(InvalidParametersError);
    expect(err.parameter).toBe("key");

    const sources = e.shards.map((s) => byob(s));
    const reader = decodeFileStream(sources, { ...e.result, workers: "inline" }).getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    await reader.cancel();
    expect(sources.map((s) => s.closes > 0)).toEqual([true, true, false]);
  });
});

describe("encodeFile: sources and sinks", () => {
  it("a BYOB source is read in 1 MiB buffers until it returns 0, then closed", async () => {
    const data = randomBytes(3000);
    const src = byob(data, 700);
    const parts: Uint8Array[][] = [[], [], []];
    const result = await encodeFile(src, {
      workers: "inline",
      ...geo,
      sinks: parts.map((p) => ({ write: (b: Uint8Array) => void p.push(b.slice()) })),
    });
    expect(result.plaintextLength).toBe(3000);
    expect(src.sizes).toEqual([1048576, 1048576, 1048576, 1048576, 1048576, 1048576]);
    expect(src.closes).toBe(1);
    const shards = parts.map((p) => Buffer.concat(p));
    expect((await decode(shards, result)).equals(data)).toBe(true);
    // A source without close() is fine too.
    const bare = byob(data) as ByobSource;
    delete bare.close;
    expect((await encodeFile(bare, { workers: "inline", ...geo })).plaintextLength).toBe(3000);
  });

  it("plaintext ending exactly where stripe 0's last chunk ends, a byte before or after, in pieces of any size", async () => {
    // Stripe 0 holds ciphertext [0, 1024): chunks 0..12 touch it, plaintext up to 13 · 64 = 832.
    for (const size of [831, 832, 833]) {
      const data = randomBytes(size);
      for (const step of [1, 64, 832, size]) {
        const pieces: Uint8Array[] = [];
        for (let off = 0; off < size; off += step) pieces.push(data.subarray(off, off + step));
        const parts: Uint8Array[][] = [[], [], []];
        const r = await encodeFile(pieces, {
          ...geo,
          workers: "inline",
          sinks: parts.map((p) => ({ write: (b: Uint8Array) => void p.push(b.slice()) })),
        });
        const shards = parts.map((p) => Buffer.concat(p));
        const out = await decode([undefined, shards[1], shards[2]], r);
        expect(out.equals(data), `${size} bytes in pieces of ${step}`).toBe(true);
      }
    }
  });

  it("chunks a byte shorter than a stripe: stripes without a whole chunk, then one with (chunk 40), bytes intact", async () => {
    // Sealed chunks are 1023 bytes over 1024-byte stripes after the 41-byte header: stripes 0..39
    // hold no whole chunk (their tasks get no plaintext window), stripe 40 holds all of chunk 40.
    const { result, shards, data } = await encode(48 * 1024, { chunkSize: 1024 - 17 });
    expect(await decode([undefined, shards[1], shards[2]], result)).toEqual(Buffer.from(data));
  });

  it("a stream that only offers getReader() is read to its end and its lock released", async () => {
    const data = randomBytes(2500);
    const stream = new Blob([data.subarray(0, 1000), data.subarray(1000)]).stream();
    const readerOnly = { getReader: () => stream.getReader() } as unknown as ReadableStream;
    const e = await encodeFile(readerOnly, { workers: "inline", ...geo });
    expect(e.plaintextLength).toBe(2500);
    expect(stream.locked).toBe(false);
  });

  it("a source yielding something other than bytes", async () => {
    const err = await failure(
      encodeFile(["text"] as unknown as Uint8Array[], { workers: "inline", ...geo }),
    );
    expect(err).toMatchObject({ parameter: "source", value: "string" });
    expect(err.message).toBe("source = string: must yield Uint8Array pieces");
  });

  it("WritableStream sinks get every byte, are closed, and are aborted on failure", async () => {
    const data = randomBytes(4000);
    const parts: Uint8Array[][] = [[], [], []];
    let closed = 0;
    const sinks = parts.map(
      (p) =>
        new WritableStream<Uint8Array>({
          write: (b) => void p.push(b.slice()),
          close: () => void closed++,
        }),
    );
    const result = await encodeFile(data, { workers: "inline", ...geo, sinks });
    expect(closed).toBe(3);
    const shards = parts.map((p) => Buffer.concat(p));
    for (const s of shards) expect(s.length).toBe(result.shardSize);
    expect((await decode(shards, result)).equals(data)).toBe(true);

    const reasons: unknown[] = [];
    const broken = new Error("source broke");
    async function* source(): AsyncGenerator<Uint8Array> {
      yield data;
      throw broken;
    }
    const err = await failure(
      encodeFile(source(), {
        workers: "inline",
        ...geo,
        sinks: [0, 1, 2].map(
          () => new WritableStream<Uint8Array>({ abort: (r) => void reasons.push(r) }),
        ),
      }),
    );
    expect(err).toBe(broken);
    expect(reasons).toEqual([broken, broken, broken]);
  });

  it("sinks that are not sinks, or not n of them", async () => {
    const sink = { write() {} };
    const nul = await failure(
      encodeFile(new Uint8Array(10), { ...geo, workers: "inline", sinks: [sink, null!, sink] }),
    );
    expect(nul).toMatchObject({ parameter: "sinks[1]", value: "null" });
    expect(nul.message).toBe(
      "sinks[1] = null: must be a sink (an object with write()) or a WritableStream, or a promise of one",
    );
    const fn = Object.assign(() => {}, { write() {} });
    const notObject = await failure(
      encodeFile(new Uint8Array(10), { ...geo, workers: "inline", sinks: [sink, sink, fn] }),
    );
    expect(notObject).toMatchObject({ parameter: "sinks[2]", value: "function" });

    const str = await failure(
      encodeFile(new Uint8Array(10), { ...geo, workers: "inline", sinks: "x" as unknown as [] }),
    );
    expect(str).toMatchObject({ parameter: "sinks", value: "string" });
    expect(str.message).toBe("sinks = string: must be an array or a function");

    const two = await failure(
      encodeFile(new Uint8Array(10), { ...geo, workers: "inline", sinks: [sink, sink] }),
    );
    expect(two).toMatchObject({ parameter: "sinks", value: 2 });
    expect(two.message).toBe("sinks = 2: expected 3 sinks");
  });

  it("a sink factory that rejects: the call rejects with its reason, the other sinks are aborted", async () => {
    const full = new Error("disk full");
    const aborted: unknown[] = [];
    const err = await failure(
      encodeFile(new Uint8Array(10), {
        ...geo,
        workers: "inline",
        sinks: async (i) => {
          if (i === 1) throw full;
          return { write() {}, abort: (r: unknown) => void aborted.push(r) };
        },
      }),
    );
    expect(err).toBe(full);
    expect(aborted).toEqual([full, full]);
  });

  it("a signal already aborted without a reason: rejects with 'aborted'", async () => {
    const signal = { aborted: true, reason: undefined } as unknown as AbortSignal;
    const err = await failure(
      encodeFile(new Uint8Array(10), { ...geo, workers: "inline", signal }),
    );
    expect(err.message).toBe("aborted");
  });
});

describe("the workers option", () => {
  it("an implementation that does not exist", async () => {
    const err = await failure(
      encodeFile(new Uint8Array(10), {
        ...geo,
        workers: "inline",
        implementation: "fast" as "native",
      }),
    );
    expect(err).toMatchObject({ parameter: "implementation", value: "fast" });
    expect(err.message).toBe('implementation = fast: must be "auto", "native" or "portable"');
  });

  it('implementation "auto" is taken, as leaving it out is', async () => {
    const e = await encode(2000, { implementation: "auto" });
    const out = await decode(e.shards, { ...e.result, implementation: "auto" });
    expect(out.equals(e.data)).toBe(true);
  });

  it("a worker count: a pool of the call's own; not a count ≥ 0: refused", async () => {
    const e = await encode(2000, { workers: 1 });
    expect((await decode(e.shards, { ...e.result, workers: 1 })).equals(e.data)).toBe(true);
    for (const workers of [-1, 1.5]) {
      const err = await failure(encodeFile(new Uint8Array(10), { ...geo, workers }));
      expect(err).toMatchObject({ parameter: "workers", value: workers });
      expect(err.message).toBe(
        `workers = ${workers}: must be an integer ≥ 0, a runner or "inline"`,
      );
    }
  });

  it("the shared default runner serves call after call (a call does not close it)", async () => {
    // Closing it would stop the shared pool's workers under every later call (in mutation runs
    // the default runner is inline, whose close() does nothing: hence the spy).
    const close = vi.spyOn(getDefaultRunner(), "close");
    try {
      const a = await encode(1500, { workers: undefined }); // undefined: the default runner
      const b = await encodeFile(a.data, { ...geo, key: a.result.key });
      expect(b.plaintextLength).toBe(1500);
      expect(b.shards.map((s) => s.size)).toEqual(a.result.shards.map((s) => s.size));
      const out = await decode(a.shards, { ...a.result, workers: undefined });
      expect(out.equals(a.data)).toBe(true);
      expect(close).not.toHaveBeenCalled();
    } finally {
      close.mockRestore();
    }
  });

  it("a runner the caller passes is the caller's to close; the call never closes it", async () => {
    const inner = createInlineRunner();
    let runs = 0;
    let closes = 0;
    const runner: TaskRunner = {
      concurrency: 1,
      run: (task) => (runs++, inner.run(task)),
      close: async () => void closes++,
    };
    const e = await encode(2000, { workers: runner });
    expect((await decode(e.shards, { ...e.result, workers: runner })).equals(e.data)).toBe(true);
    expect(runs).toBe(2 * e.result.stripeCount);
    expect(closes).toBe(0);
  });

  it("a task that fails while an earlier one runs: the call rejects with its error, nothing unhandled", async () => {
    const inner = createInlineRunner();
    const dying: TaskRunner = {
      concurrency: 2,
      async run(task) {
        if (task.id === 1) throw new Error("worker died");
        await new Promise((r) => setTimeout(r, 20));
        return inner.run(task);
      },
      close: async () => {},
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const e = await encode(3000);
      const dec = await failure(decode(e.shards, { ...e.result, workers: dying }));
      expect(dec.message).toBe("worker died");
      const enc = await failure(
        encodeFile(randomBytes(3000), { ...geo, workers: dying, maxStripesInFlight: 3 }),
      );
      expect(enc.message).toBe("worker died");
      await new Promise((r) => setTimeout(r, 10));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("the encode module alone, without the pool factory the index registers", async () => {
    vi.resetModules();
    const { encodeFile: bare } = await import("../src/pipeline/encode.ts");
    const err = await failure(bare(new Uint8Array(10), { ...geo, workers: 2 }));
    expect(err.message).toBe("pipeline pool factory not registered");
  });
});

/** A runner whose results are rewritten: what a faulty custom runner would hand back. */
function faulty(rewrite: (r: Record<string, unknown>) => void): TaskRunner {
  const inner = createInlineRunner();
  return {
    concurrency: 1,
    async run(task) {
      const r = (await inner.run(task)) as unknown as Record<string, unknown>;
      rewrite(r);
      return r as never;
    },
    close: () => inner.close(),
  };
}

describe("decodeFile: a runner whose results do not fit together is refused, not trusted", () => {
  // Stripes of 2 × 512 ciphertext bytes in chunks of 80 (64 + tag) after the 41-byte header:
  // chunk 12 spans stripes 0 and 1, so stripe 1 opens with its rest and then chunk 13 onwards.
  let e: Encoded;
  it("setup", async () => {
    e = await encode(3000);
  });
  const run = (rewrite: (r: Record<string, unknown>) => void): Promise<unknown> =>
    decode(e.shards, { ...e.result, workers: faulty(rewrite) });

  it("the rest of another chunk", async () => {
    const err = await failure(run((r) => void (r.id === 1 && (r.headChunk = 99))));
    expect(err.message).toBe("decode: stripe 1 continues chunk 99, not 12");
  });

  it("a chunk's rest longer than the chunk", async () => {
    const err = await failure(
      run((r) => void (r.id === 1 && (r.head = new Uint8Array((r.head as Uint8Array).length + 1)))),
    );
    expect(err.message).toBe("decode: chunk 12 assembled past its 80 bytes");
  });

  it("whole chunks that do not follow the open one", async () => {
    const err = await failure(run((r) => void (r.id === 1 && (r.firstFullChunk = 50))));
    expect(err.message).toBe("decode: stripe 1 starts chunk 50 while chunk 13 is open");
  });

  it("plaintext that goes missing", async () => {
    const err = await failure(
      run((r) => void (r.id === 0 && (r.plaintext = (r.plaintext as Uint8Array).subarray(1)))),
    );
    expect(err.message).toBe("decode: 2999 of 3000 plaintext bytes came out");
  });
});

describe("a last stripe of shorter blocks (k = 2, B = 2048)", () => {
  it("round-trips from any 2 of 3 shards with roots and CIDs checked; an altered short block is named", async () => {
    const data = randomBytes(5000); // 6305 ciphertext bytes: a full stripe, then blocks of 1536
    const parts: Uint8Array[][] = [[], [], []];
    const r = await encodeFile(data, {
      ...geo,
      blockSize: 2048,
      workers: "inline",
      sinks: parts.map((p) => ({ write: (b: Uint8Array) => void p.push(b.slice()) })),
    });
    expect(r.shardSize).toBe(2048 + 1536);
    const shards = parts.map((p) => Buffer.concat(p));
    for (const use of [
      [0, 1],
      [0, 2],
      [1, 2],
    ]) {
      const inputs = shards.map((s, i) => (use.includes(i) ? s : undefined));
      for (const expected of [r.shards, r.shards.map(({ cid }) => ({ cid }))]) {
        const events: PipelineProgress[] = [];
        const out = await decode(inputs, {
          ...r,
          expected,
          maxStripesInFlight: 1, // the full stripe's buffer is free before the last is read
          onProgress: (p) => events.push(p),
        });
        expect(out.equals(data), `from ${use.join(",")}`).toBe(true);
        expect(events.at(-1)!.shardBytes).toBe(2 * r.shardSize);
      }
    }
    const altered = shards.map((s) => Uint8Array.from(s));
    altered[2]![2048 + 100]! ^= 1;
    for (const expected of [r.shards, r.shards.map(({ cid }) => ({ cid }))]) {
      const err = await failure(decode([shards[0], undefined, altered[2]], { ...r, expected }));
      expect(err).toMatchObject({ name: "ShardMismatchError", shardIndex: 2 });
    }
  });
});

describe("chunks longer than a stripe (C = 4096 over stripes of 2 × 512)", () => {
  it("round-trip, with a chunk assembled from five stripes, from data or parity", async () => {
    for (const size of [1, 4096, 10_000]) {
      const data = randomBytes(size);
      const parts: Uint8Array[][] = [[], [], []];
      const pieces = [data.subarray(0, 700), data.subarray(700, 5000), data.subarray(5000)];
      const r = await encodeFile(pieces, {
        ...geo,
        chunkSize: 4096,
        workers: "inline",
        sinks: parts.map((p) => ({ write: (b: Uint8Array) => void p.push(b.slice()) })),
      });
      const shards = parts.map((p) => Buffer.concat(p));
      for (const use of [
        [0, 1],
        [1, 2],
      ]) {
        const inputs = shards.map((s, i) => (use.includes(i) ? s : undefined));
        const out = await decode(inputs, { ...r, expected: r.shards });
        expect(out.equals(data), `${size} bytes from ${use.join(",")}`).toBe(true);
      }
    }
  });
});

describe("a chunk that starts exactly at a stripe boundary (C = 967: 41 + 983 = 1024)", () => {
  it("round-trips", async () => {
    const data = randomBytes(2000);
    const parts: Uint8Array[][] = [[], [], []];
    const r = await encodeFile(data, {
      ...geo,
      chunkSize: 967,
      workers: "inline",
      sinks: parts.map((p) => ({ write: (b: Uint8Array) => void p.push(b.slice()) })),
    });
    const shards = parts.map((p) => Buffer.concat(p));
    const out = await decode([undefined, shards[1], shards[2]], { ...r, expected: r.shards });
    expect(out.equals(data)).toBe(true);
  });
});

describe("a runner that transfers buffers as a worker does", () => {
  // Tasks and results cross a structured clone with their buffers transferred (detached on the
  // sending side), as with worker threads: the pipeline must never touch a buffer it handed over.
  const transferring = (): TaskRunner => {
    const inner = createInlineRunner();
    return {
      concurrency: 2,
      async run(task) {
        const sent = structuredClone(task, { transfer: transferablesOf(task as Task) });
        const r = await inner.run(sent);
        return structuredClone(r, { transfer: transferablesOf(r as TaskResult) });
      },
      close: async () => {},
    };
  };
  it("gives the same shards and plaintext, for chunks shorter and longer than a stripe", async () => {
    for (const [chunkSize, size] of [
      [64, 5000],
      [967, 2000],
      [4096, 10_000],
    ]) {
      const data = randomBytes(size!);
      const key = randomBytes(32);
      const parts: Uint8Array[][] = [[], [], []];
      const r = await encodeFile([data.subarray(0, 1000), data.subarray(1000)], {
        ...geo,
        key,
        chunkSize,
        workers: transferring(),
        sinks: parts.map((p) => ({ write: (b: Uint8Array) => void p.push(b.slice()) })),
      });
      const shards = parts.map((p) => Buffer.concat(p));
      const out = await decode([undefined, shards[1], shards[2]], {
        ...r,
        expected: r.shards,
        workers: transferring(),
      });
      expect(out.equals(data), `C = ${chunkSize}`).toBe(true);
    }
  });
});

describe("decodeFile: every refusal in words", () => {
  let e: Encoded;
  let words: (change: Partial<DecodeFileOptions>) => Promise<string>;
  it("setup", async () => {
    e = await encode(3000);
    words = async (change) => (await failure(decode(e.shards, { ...e.result, ...change }))).message;
  });

  it("options before any read", async () => {
    const size = e.result.shardSize;
    const leaves = Math.ceil(size / 512);
    expect(await words({ key: new Uint8Array(31) })).toBe("key = 31 bytes: must be 32 bytes");
    expect(await words({ header: new Uint8Array(40) })).toBe(
      "header = 40 bytes: must be the file's 41-byte STREAM header (bytes or 0x hex), as the manifest pins it",
    );
    expect(await words({ ciphertextLength: 41 + 80 + 16 })).toBe(
      "ciphertextLength = 137: no plaintext in chunks of 64 bytes (the header's) encrypts to this length",
    );
    expect(await words({ expected: [{ index: 3 }] })).toBe(
      "expected[0].index = 3: must be a shard index below 3",
    );
    expect(await words({ expected: [{ merkleRoot: "0x12" }] })).toBe(
      "expected[0].merkleRoot = 0x12: must be 32 bytes or 0x and 64 hex digits",
    );
    expect(await words({ expected: [{ cid: "hello" }] })).toBe(
      "expected[0].cid = hello: is not a CID",
    );
    expect(await words({ expected: [{ cid: 5 as unknown as string }] })).toBe(
      "expected[0].cid = 5: is not a CID",
    );
    expect(await words({ expected: [null, { size: size + 1 }] })).toBe(
      `expected[1].size = ${size + 1}: the layout's shards are ${size} bytes`,
    );
    expect(await words({ expected: [{ leafCount: leaves - 1 }] })).toBe(
      `expected[0].leafCount = ${leaves - 1}: the layout's shards have ${leaves} segments`,
    );
    expect(await words({ maxMemory: 0 })).toBe("maxMemory = 0: must be a positive integer");
    expect(await words({ maxMemory: 1.5 })).toBe("maxMemory = 1.5: must be a positive integer");
    expect(await words({ maxStripesInFlight: 0 })).toBe(
      "maxStripesInFlight = 0: must be an integer ≥ 1",
    );
    expect(await words({ maxStripesInFlight: 1.5 })).toBe(
      "maxStripesInFlight = 1.5: must be an integer ≥ 1",
    );
    expect(await words({ key: new Uint8Array(32) })).toBe(
      "wrong key: the key does not match the file's header (it is not this file's key)",
    );
  });

  it("a root string must be 0x and exactly 64 hex digits, nothing around them", async () => {
    const root = e.result.shards[1]!.merkleRoot;
    for (const bad of [
      `${root}0`,
      `x${root}`,
      ` ${root}`,
      `${root} `,
      `${root.slice(0, -1)}g`,
      root.slice(2),
      `0X${root.slice(2)}`,
    ]) {
      const err = await failure(
        decode(e.shards, { ...e.result, expected: [null, { merkleRoot: bad }] }),
      );
      expect(err).toBeInstanceOf(InvalidParametersError);
      expect(err).toMatchObject({ parameter: "expected[1].merkleRoot", value: bad });
    }
    const hex = `0x${Buffer.from(e.result.header).toString("hex")}`;
    for (const bad of [`${hex}00`, `00${hex}`, `${hex.slice(0, -1)}z`]) {
      const err = await failure(decode(e.shards, { ...e.result, header: bad as `0x${string}` }));
      expect(err).toMatchObject({ parameter: "header" });
    }
    const upper = `0x${Buffer.from(e.result.header).toString("hex").toUpperCase()}` as const;
    expect((await decode(e.shards, { ...e.result, header: upper })).equals(e.data)).toBe(true);
  });

  it("the limits' edges: the last valid values are taken", async () => {
    const size = e.result.shardSize;
    const sizes = [{ index: 2, size, leafCount: Math.ceil(size / 512) }];
    const root = e.result.shards[1]!.merkleRoot.toUpperCase().replace("0X", "0x");
    for (const change of [
      { expected: sizes },
      { expected: [null, { merkleRoot: root }] },
      { maxStripesInFlight: 1 },
    ] as Partial<DecodeFileOptions>[])
      expect((await decode(e.shards, { ...e.result, ...change })).equals(e.data)).toBe(true);
  });

  it("memory: one stripe (4·k·B) plus two sealed chunks fits exactly; a byte less does not", async () => {
    const need = 4 * 2 * 512 + 2 * (64 + 16);
    expect((await decode(e.shards, { ...e.result, maxMemory: need })).equals(e.data)).toBe(true);
    const err = await failure(decode(e.shards, { ...e.result, maxMemory: need - 1 }));
    expect(err).toMatchObject({ name: "MemoryLimitError", required: need, limit: need - 1 });
    expect(err.message).toBe(
      `decoding k = 2 blocks of 512 bytes in chunks of 64 needs ${need} bytes at least, more than maxMemory = ${need - 1}`,
    );
    const err1 = await failure(decode(e.shards, { ...e.result, maxMemory: 1 }));
    expect(err1.name).toBe("MemoryLimitError");
  });

  it("memory decides how many stripes are in flight", async () => {
    const stripe = 4 * 2 * 512;
    const chunks = 2 * (64 + 16);
    const inFlight = async (change: Partial<DecodeFileOptions>): Promise<number> => {
      const inner = createInlineRunner();
      let running = 0;
      let most = 0;
      const counting: TaskRunner = {
        concurrency: 2,
        async run(task) {
          running++;
          most = Math.max(most, running);
          await new Promise((r) => setTimeout(r, 1));
          try {
            return await inner.run(task);
          } finally {
            running--;
          }
        },
        close: async () => {},
      };
      const out = await decode(e.shards, { ...e.result, workers: counting, ...change });
      expect(out.equals(e.data)).toBe(true);
      return most;
    };
    expect(await inFlight({ maxMemory: 2 * stripe + chunks })).toBe(2);
    expect(await inFlight({ maxMemory: 2 * stripe + chunks - 1 })).toBe(1);
    expect(await inFlight({ maxMemory: 3 * stripe + chunks })).toBe(3);
    expect(e.result.stripeCount).toBeGreaterThan(3);
    expect(await inFlight({})).toBe(3); // the runner's concurrency + 1
    expect(await inFlight({ maxStripesInFlight: 2 })).toBe(2);
  });
});

describe("decodeFile: altered shards, named in words", () => {
  let e: Encoded;
  const flip = (shards: Uint8Array[], at: [number, number][]): Uint8Array[] =>
    shards.map((s, i) => {
      const t = Uint8Array.from(s);
      for (const [shard, offset] of at) if (shard === i) t[offset]! ^= 1;
      return t;
    });
  it("setup", async () => {
    e = await encode(3000);
  });

  it("no commitments: the chunk, and the shards one of which was altered", async () => {
    // Shard 1 offset 700 is ciphertext byte 1724, inside chunk 21 (opened by the stripe's task);
    // offset 500 is byte 1012, inside chunk 12, which spans stripes 0 and 1 (opened here).
    for (const [offset, chunk] of [
      [700, 21],
      [500, 12],
    ]) {
      const err = await failure(decode(flip(e.shards, [[1, offset!]]).slice(0, 2), e.result));
      expect(err.name).toBe("TamperedDataError");
      expect(err.chunkIndex).toBe(chunk);
      expect(err.part).toBe("chunk");
      expect(err.message).toBe(
        `chunk ${chunk} does not authenticate; one of shards 0, 1 was altered (pass expected roots to find which)`,
      );
    }
  });

  it("a stripe 0 with another header", async () => {
    // Shard 0 begins with the header; the roots name it, without them the header is refused.
    const err = await failure(
      decode([flip(e.shards, [[0, 30]])[0], undefined, e.shards[2]], e.result),
    );
    expect(err.name).toBe("TamperedDataError");
    expect(err.message).toBe(
      "stripe 0 does not carry the file's header: the shards are another stream's, or were altered; one of shards 0, 2 was altered (pass expected roots to find which)",
    );
    expect(err).toMatchObject({ part: "header", chunkIndex: undefined });
  });

  it("another stream's shards under the same key, roots matching them: refused as another stream", async () => {
    const other = await encode(3000, { key: e.result.key });
    const err = await failure(
      decode(other.shards, {
        ...other.result,
        header: e.result.header,
        expected: other.result.shards,
      }),
    );
    expect(err).toMatchObject({ name: "TamperedDataError", part: "header" });
    expect(err.message).toBe(
      "stripe 0 does not carry the file's header: the shards are another stream's, or were altered",
    );
  });

  it("roots given: one shard named with its roots, two named together", async () => {
    const one = await failure(
      decode(flip(e.shards, [[1, 700]]), { ...e.result, expected: e.result.shards }),
    );
    expect(one.name).toBe("ShardMismatchError");
    expect(one.message).toBe("shard 1 does not match its expected commitment (altered data)");
    expect(one).toMatchObject({ shardIndex: 1, expected: e.result.shards[1]!.merkleRoot });
    expect(one.actual).toMatch(/^0x[0-9a-f]{64}$/);
    expect(one.actual).not.toBe(one.expected);
    expect((one.cause as Error).name).toBe("TamperedDataError");

    const two = await failure(
      decode(
        flip(e.shards, [
          [0, 700],
          [1, 700],
        ]),
        { ...e.result, expected: e.result.shards },
      ),
    );
    expect(two.message).toBe("shards 0, 1 do not match their expected commitment (altered data)");
    expect(two.shardIndex).toBe(0);
  });

  it("altered padding: named by its root though every chunk opens, with no cause", async () => {
    const size = e.result.shardSize;
    const shards = flip(e.shards, [[1, size - 1]]);
    expect((await decode(shards, e.result)).equals(e.data)).toBe(true);
    const err = await failure(decode(shards, { ...e.result, expected: e.result.shards }));
    expect(err.message).toBe("shard 1 does not match its expected commitment (altered data)");
    expect(Object.hasOwn(err, "cause")).toBe(false);
  });

  it("a CID that is another shard's, and a root and CID both wrong: one entry per shard", async () => {
    const cids = e.result.shards.map(({ cid }) => ({ cid }));
    const swapped = [cids[0], cids[0]];
    const err = await failure(decode(e.shards, { ...e.result, expected: swapped }));
    expect(err).toMatchObject({
      name: "ShardMismatchError",
      shardIndex: 1,
      expected: e.result.shards[0]!.cid,
      actual: e.result.shards[1]!.cid,
    });
    const right = await decode(e.shards, { ...e.result, expected: [null, cids[1]] });
    expect(right.equals(e.data)).toBe(true);
    const oneCid = await failure(decode(e.shards, { ...e.result, expected: [null, cids[0]] }));
    expect(oneCid).toMatchObject({ name: "ShardMismatchError", shardIndex: 1 });
    const rootsOnly = e.result.shards.map(({ merkleRoot }) => ({ merkleRoot }));
    const tampered = e.shards.map((s) => Uint8Array.from(s));
    tampered[1]![700]! ^= 1;
    const named = await failure(decode(tampered, { ...e.result, expected: rootsOnly }));
    expect(named).toMatchObject({ name: "ShardMismatchError", shardIndex: 1 });
    const both = [
      null,
      { merkleRoot: e.result.shards[0]!.merkleRoot, cid: e.result.shards[0]!.cid },
    ];
    const err2 = await failure(decode(e.shards, { ...e.result, expected: both }));
    expect(err2.message).toBe("shard 1 does not match its expected commitment (altered data)");
    expect(err2.expected).toBe(e.result.shards[0]!.merkleRoot);
  });
});

describe("encodeFile: memory reuse, stripes in flight, progress, cancellation", () => {
  /** A runner counting tasks and the most at once (each task waits a millisecond). */
  function counting(concurrency: number): TaskRunner & { runs: number; most: number } {
    const inner = createInlineRunner();
    let running = 0;
    const r = {
      concurrency,
      runs: 0,
      most: 0,
      async run(task: Parameters<TaskRunner["run"]>[0]) {
        r.runs++;
        running++;
        r.most = Math.max(r.most, running);
        await new Promise((done) => setTimeout(done, 1));
        try {
          return await inner.run(task);
        } finally {
          running--;
        }
      },
      close: async () => {},
    };
    return r;
  }

  it("sinks that keep the bytes they get (no releasesBytes) never see them overwritten", async () => {
    const data = randomBytes(6000);
    // Shard 0's sink says it is done with each write's bytes; the others keep them: no reuse.
    for (const released of [
      [false, false, false],
      [true, false, false],
    ]) {
      const kept: Uint8Array[][] = [[], [], []];
      const result = await encodeFile(data, {
        ...geo,
        workers: "inline",
        sinks: kept.map((p, i) => ({
          releasesBytes: released[i],
          write: (b: Uint8Array) => void p.push(released[i] ? b.slice() : b),
        })),
      });
      const shards = kept.map((p) => Buffer.concat(p));
      expect((await decode(shards, { ...result, expected: result.shards })).equals(data)).toBe(
        true,
      );
    }
  });

  it("maxStripesInFlight: refused below 1 or fractional, 1 is taken; the default is the runner's concurrency + 1", async () => {
    for (const bad of [0, 1.5]) {
      const err = await failure(
        encodeFile(new Uint8Array(10), { ...geo, workers: "inline", maxStripesInFlight: bad }),
      );
      expect(err).toMatchObject({ parameter: "maxStripesInFlight", value: bad });
      expect(err.message).toBe(`maxStripesInFlight = ${bad}: must be an integer ≥ 1`);
    }
    const data = randomBytes(8000);
    for (const [max, concurrency, most] of [
      [1, 4, 1],
      [undefined, 2, 3],
      [undefined, 0, 1],
    ] as const) {
      const runner = counting(concurrency);
      const r = await encodeFile(data, {
        ...geo,
        workers: runner,
        maxStripesInFlight: max,
      });
      expect(r.plaintextLength).toBe(8000);
      expect(runner.most).toBe(most);
    }
  });

  it("progress: each stripe written, then the end", async () => {
    const data = randomBytes(5000);
    const events: PipelineProgress[] = [];
    const r = await encodeFile([data.subarray(0, 2000), data.subarray(2000)], {
      ...geo,
      workers: "inline",
      onProgress: (p) => events.push({ ...p }),
    });
    const stripes = events.filter((p) => p.phase === "encode");
    expect(stripes).toHaveLength(r.stripeCount);
    expect(events).toHaveLength(r.stripeCount + 1);
    expect(stripes.map((p) => p.stripes)).toEqual(stripes.map((_, i) => i + 1));
    expect(stripes.map((p) => p.shardBytes)).toEqual(
      stripes.map((_, i) => 3 * Math.min((i + 1) * 512, r.shardSize)),
    );
    for (const p of stripes) expect(p.plaintextBytes).toBeLessThanOrEqual(5000);
    expect(events.at(-1)).toEqual({
      phase: "done",
      plaintextBytes: 5000,
      shardBytes: 3 * r.shardSize,
      stripes: r.stripeCount,
    });
  });

  it("an abort during a write hands out no further stripe and writes nothing more", async () => {
    const controller = new AbortController();
    const reason = new Error("stop");
    const runner = counting(1);
    let writes = 0;
    const err = await failure(
      encodeFile(randomBytes(6000), {
        ...geo,
        workers: runner,
        maxStripesInFlight: 1,
        signal: controller.signal,
        sinks: [0, 1, 2].map(() => ({
          write() {
            writes++;
            controller.abort(reason);
          },
        })),
      }),
    );
    expect(err).toBe(reason);
    expect(runner.runs).toBe(1);
    expect(writes).toBe(3);
  });

  it("an abort after every stripe was handed out still stops the writes", async () => {
    const controller = new AbortController();
    let writes = 0;
    const err = await failure(
      encodeFile(randomBytes(3000), {
        ...geo,
        workers: "inline",
        maxStripesInFlight: 16,
        signal: controller.signal,
        sinks: [0, 1, 2].map(() => ({
          write() {
            writes++;
            controller.abort(new Error("stop"));
          },
        })),
      }),
    );
    expect(err.message).toBe("stop");
    expect(writes).toBe(3);
  });

  it("an abort between pieces of the input stops the reading", async () => {
    const controller = new AbortController();
    let pulled = 0;
    function* pieces(): Generator<Uint8Array> {
      for (let i = 0; i < 10; i++) {
        pulled++;
        if (i === 2) controller.abort(new Error("stop"));
        yield new Uint8Array(10);
      }
    }
    const err = await failure(
      encodeFile(pieces(), { ...geo, workers: "inline", signal: controller.signal }),
    );
    expect(err.message).toBe("stop");
    expect(pulled).toBe(3);
  });
});

describe("decodeFile: cancellation and clean-up", () => {
  let e: Encoded;
  it("setup", async () => {
    e = await encode(3000);
  });

  it("a signal aborted before the call: its reason, and no shard read", async () => {
    const controller = new AbortController();
    controller.abort(new Error("early"));
    const sources = e.shards.map((s) => byob(s));
    const err = await failure(decode(sources, { ...e.result, signal: controller.signal }));
    expect(err.message).toBe("early");
    expect(sources.map((s) => s.sizes.length)).toEqual([0, 0, 0]);
  });

  it("an abort once every stripe was read still stops the output", async () => {
    const controller = new AbortController();
    const pieces: Uint8Array[] = [];
    const err = await failure(
      (async () => {
        for await (const p of decodeFile(e.shards, {
          ...e.result,
          workers: "inline",
          maxStripesInFlight: 16,
          signal: controller.signal,
        })) {
          pieces.push(p);
          controller.abort(new Error("enough"));
        }
      })(),
    );
    expect(err.message).toBe("enough");
    expect(pieces).toHaveLength(1);
  });

  it("a failed decode closes its shard sources", async () => {
    const shards = e.shards.map((s) => Uint8Array.from(s));
    shards[1]![700]! ^= 1;
    const sources = shards.map((s) => byob(s));
    const err = await failure(decode([sources[0], sources[1]], e.result));
    expect(err.name).toBe("TamperedDataError");
    expect(sources.map((s) => s.closes > 0)).toEqual([true, true, false]);
  });
});
