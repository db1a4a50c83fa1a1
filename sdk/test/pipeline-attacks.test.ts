// decodeFile under attack: providers that serve the wrong bytes, callers that pass wrong
// options, manifests that ask for too much memory. Each case is what a user would see.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStreamHeader, generateFileKey, getCiphertextLength } from "../src/crypto/index.ts";
import {
  InvalidParametersError,
  MemoryLimitError,
  ShardMismatchError,
  TamperedDataError,
  WrongKeyError,
} from "../src/errors.ts";
import {
  createPipelinePool,
  decodeFile,
  encodeFile,
  type DecodeFileOptions,
  type EncodeFileOptions,
  type EncodeFileResult,
  type ShardInputs,
  type TaskRunner,
} from "../src/pipeline/index.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const pool = createPipelinePool({ size: 2 });
afterAll(() => pool.close());

interface Encoded {
  result: EncodeFileResult;
  shards: Uint8Array[];
  data: Uint8Array;
}

async function encode(size: number, options: EncodeFileOptions = {}): Promise<Encoded> {
  const data = randomBytes(size);
  const n = options.totalShards ?? 6;
  const parts: Uint8Array[][] = Array.from({ length: n }, () => []);
  const result = await encodeFile(data, {
    workers: pool,
    ...options,
    sinks: parts.map((p) => ({ write: (b: Uint8Array) => void p.push(b.slice()) })),
  });
  return { result, shards: parts.map((p) => Buffer.concat(p)), data };
}

async function decode(shards: ShardInputs, options: DecodeFileOptions): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const p of decodeFile(shards, { workers: pool, ...options })) out.push(p);
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

/** A shard source that records whether anything read it. */
function watched(bytes: Uint8Array): { source: AsyncIterable<Uint8Array>; read: () => boolean } {
  let read = false;
  return {
    source: {
      async *[Symbol.asyncIterator]() {
        read = true;
        yield bytes;
      },
    },
    read: () => read,
  };
}

const only = (shards: Uint8Array[], use: number[]): (Uint8Array | undefined)[] =>
  shards.map((s, i) => (use.includes(i) ? s : undefined));

describe("a provider cannot pass its bad shard off as a wrong key (11.3)", () => {
  let a: Encoded;
  let b: Encoded;
  beforeAll(async () => {
    a = await encode(3 * MiB + 1234);
    b = await encode(3 * MiB + 1234);
  });

  it("another file's shard 0: ShardMismatchError naming shard 0; the other shards decode", async () => {
    const shards = a.shards.map((s, i) => (i === 0 ? b.shards[0]! : s));
    const err = await failure(decode(shards, { ...a.result, expected: a.result.shards }));
    expect(err).toBeInstanceOf(ShardMismatchError);
    expect(err.shardIndex).toBe(0);
    expect(err.cause).toBeInstanceOf(TamperedDataError);
    // "Retry without the named shard" works.
    const out = await decode(only(shards, [1, 2, 3, 4]), {
      ...a.result,
      expected: a.result.shards,
    });
    expect(out.equals(a.data)).toBe(true);
  });

  it("a flipped key-check byte plus a chunk-0 byte: ShardMismatchError naming shard 0", async () => {
    const shard0 = Uint8Array.from(a.shards[0]!);
    shard0[25]! ^= 0x01; // the header's key check
    shard0[100]! ^= 0x01; // inside chunk 0
    const shards = a.shards.map((s, i) => (i === 0 ? shard0 : s));
    const err = await failure(decode(shards, { ...a.result, expected: a.result.shards }));
    expect(err).toBeInstanceOf(ShardMismatchError);
    expect(err.shardIndex).toBe(0);
    const plain = await failure(decode(shards, a.result));
    expect(plain).toBeInstanceOf(TamperedDataError);
  });

  it("a parity shard that rebuilds stripe 0 with another header is named too", async () => {
    const shards = a.shards.map((s, i) => (i === 4 ? b.shards[4]! : s));
    const err = await failure(
      decode(only(shards, [1, 2, 3, 4]), { ...a.result, expected: a.result.shards }),
    );
    expect(err).toBeInstanceOf(ShardMismatchError);
    expect(err.shardIndex).toBe(4);
  });

  it("WrongKeyError only for a wrong key, and before any shard is read", async () => {
    const sources = a.shards.map(watched);
    const err = await failure(
      decode(
        sources.map((s) => s.source),
        { ...a.result, key: generateFileKey(), expected: a.result.shards },
      ),
    );
    expect(err).toBeInstanceOf(WrongKeyError);
    expect(sources.some((s) => s.read())).toBe(false);
  });
});

describe("the header the manifest pins is checked (11.6)", () => {
  it("another stream under the same key and of the same size is refused, not returned", async () => {
    const key = generateFileKey();
    const a = await encode(MiB + 99, { key });
    const b = await encode(MiB + 99, { key });
    expect(b.result.ciphertextLength).toBe(a.result.ciphertextLength);
    // No commitments: only the pinned header tells the streams apart.
    const err = await failure(decode(b.shards, { ...a.result }));
    expect(err).toBeInstanceOf(TamperedDataError);
    expect(err.part).toBe("header");
    expect(await decode(a.shards, a.result)).toEqual(Buffer.from(a.data));
  });
});

describe("every commitment a caller passes is checked (11.7)", () => {
  // 512 KiB blocks are not whole UnixFS leaves (1 MiB): CIDs are hashed on the calling thread.
  let e: Encoded;
  beforeAll(async () => {
    e = await encode(3 * MiB + 5, { blockSize: 512 * KiB });
  });
  const cidsOnly = (): { cid: string }[] => e.result.shards.map((s) => ({ cid: s.cid }));

  it("CIDs alone, with blocks smaller than a UnixFS leaf, decode and are verified", async () => {
    expect(await decode(e.shards, { ...e.result, expected: cidsOnly() })).toEqual(
      Buffer.from(e.data),
    );
    const wrong = cidsOnly();
    wrong[2] = { cid: e.result.shards[5]!.cid };
    const err = await failure(decode(e.shards, { ...e.result, expected: wrong }));
    expect(err).toBeInstanceOf(ShardMismatchError);
    expect(err.shardIndex).toBe(2);
  });

  it("altered stripe padding, which no chunk covers, is caught by the CID alone", async () => {
    const shard3 = Uint8Array.from(e.shards[3]!);
    shard3[shard3.length - 1]! ^= 0x80; // the last stripe's padding
    const shards = e.shards.map((s, i) => (i === 3 ? shard3 : s));
    const err = await failure(decode(shards, { ...e.result, expected: cidsOnly() }));
    expect(err).toBeInstanceOf(ShardMismatchError);
    expect(err.shardIndex).toBe(3);
  });

  it("a CID in another multibase form is the same CID", async () => {
    const { CID } = await import("multiformats/cid");
    const { base58btc } = await import("multiformats/bases/base58");
    const expected = e.result.shards.map((s) => ({
      cid: CID.parse(s.cid).toString(base58btc),
    }));
    expect(await decode(e.shards, { ...e.result, expected })).toEqual(Buffer.from(e.data));
  });

  it("a size or leaf count that does not fit the layout is refused before any read", async () => {
    for (const bad of [{ size: e.result.shardSize + 512 }, { leafCount: 1 }]) {
      const err = await failure(
        decode(e.shards, { ...e.result, expected: [{ ...e.result.shards[0], ...bad }] }),
      );
      expect(err).toBeInstanceOf(InvalidParametersError);
    }
  });
});

describe("caller errors are caller errors, reported before any read (11.8)", () => {
  let e: Encoded;
  beforeAll(async () => {
    e = await encode(100_000);
  });

  const cases: [string, (o: DecodeFileOptions) => DecodeFileOptions, string][] = [
    ["a 31-byte key", (o) => ({ ...o, key: o.key.subarray(0, 31) }), "key"],
    ["a 33-byte key", (o) => ({ ...o, key: new Uint8Array(33) }), "key"],
    ["a key that is not bytes", (o) => ({ ...o, key: "secret" as never }), "key"],
    ["no header", (o) => ({ ...o, header: undefined as never }), "header"],
    [
      "a header cut short",
      (o) => ({ ...o, header: (o.header as Uint8Array).subarray(0, 40) }),
      "header",
    ],
    ["a malformed hex header", (o) => ({ ...o, header: "0x1234" }), "header"],
    [
      "a length no plaintext encrypts to (a full chunk, then a tag alone)",
      (o) => ({ ...o, ciphertextLength: 41 + (65_536 + 16) + 16 }),
      "ciphertextLength",
    ],
    [
      "a malformed expected root",
      (o) => ({ ...o, expected: [{ merkleRoot: "0x12" }] }),
      "expected[0].merkleRoot",
    ],
    [
      "an expected CID that is no CID",
      (o) => ({ ...o, expected: [{ cid: "hello" }] }),
      "expected[0].cid",
    ],
    [
      "an expected shard index out of range",
      (o) => ({ ...o, expected: [{ index: 6, merkleRoot: new Uint8Array(32) }] }),
      "expected[0].index",
    ],
    ["maxMemory of 0", (o) => ({ ...o, maxMemory: 0 }), "maxMemory"],
    ["maxStripesInFlight of 0", (o) => ({ ...o, maxStripesInFlight: 0 }), "maxStripesInFlight"],
  ];
  for (const [what, change, parameter] of cases) {
    it(`${what}: InvalidParametersError on ${parameter}`, async () => {
      const sources = e.shards.map(watched);
      const options = change({ ...e.result, key: e.result.key.slice() } as DecodeFileOptions);
      const err = await failure(
        decode(
          sources.map((s) => s.source),
          options,
        ),
      );
      expect(err).toBeInstanceOf(InvalidParametersError);
      expect(err.parameter).toBe(parameter);
      expect(sources.some((s) => s.read())).toBe(false);
    });
  }

  it("the header also reads as 0x hex (the manifest's form)", async () => {
    const header = `0x${Buffer.from(e.result.header).toString("hex")}` as const;
    expect(await decode(e.shards, { ...e.result, header })).toEqual(Buffer.from(e.data));
  });
});

describe("memory is bounded by what the client configures (11.4)", () => {
  it("k = n = 32 with 64 MiB blocks (any manifest can say so) is refused before a byte is read", async () => {
    const key = generateFileKey();
    const header = createStreamHeader(key).bytes;
    const before = process.memoryUsage().arrayBuffers;
    const sources = Array.from({ length: 32 }, () => watched(new Uint8Array(0)));
    const err = await failure(
      decode(
        sources.map((s) => s.source),
        {
          key,
          header,
          dataShards: 32,
          totalShards: 32,
          blockSize: 64 * MiB,
          ciphertextLength: getCiphertextLength(32 * 64 * MiB),
        },
      ),
    );
    expect(err).toBeInstanceOf(MemoryLimitError);
    expect(err.required).toBeGreaterThan(2 * 1024 * MiB);
    expect(err.limit).toBe(256 * MiB);
    expect(sources.some((s) => s.read())).toBe(false);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * MiB);
  });

  it("a smaller maxMemory keeps fewer stripes in flight and still decodes", async () => {
    const e = await encode(12 * MiB + 3, { dataShards: 4, blockSize: MiB });
    let running = 0;
    let most = 0;
    const counting: TaskRunner = {
      concurrency: 4,
      async run(task) {
        running++;
        most = Math.max(most, running);
        try {
          return await pool.run(task);
        } finally {
          running--;
        }
      },
      close: async () => {},
    };
    // One stripe costs 4 · 4 · 1 MiB plus two 64 KiB chunks: 34 MiB allows two at once.
    const out = await decode(e.shards, { ...e.result, workers: counting, maxMemory: 34 * MiB });
    expect(out.equals(e.data)).toBe(true);
    expect(most).toBeLessThanOrEqual(2);
    const err = await failure(decode(e.shards, { ...e.result, maxMemory: 16 * MiB }));
    expect(err).toBeInstanceOf(MemoryLimitError);
  });
});

describe("key material in the pipeline", () => {
  it("sessions are cached by header and key check, not key bytes, and dropped when idle; task copies are wiped", async () => {
    const { cachedSessionIds, SESSION_IDLE_MS } = await import("../src/pipeline/tasks.ts");
    const key = Buffer.from(generateFileKey()); // a Buffer: copies must not share its memory
    const keyHex = key.toString("hex");
    const e = await encode(300_000, { key, workers: "inline" });
    expect(key.toString("hex")).toBe(keyHex); // the caller's key is left alone
    const ids = cachedSessionIds();
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(id).not.toContain(keyHex);
    expect(await decode(e.shards, { ...e.result, workers: "inline" })).toEqual(Buffer.from(e.data));
    expect(key.toString("hex")).toBe(keyHex);
    await new Promise((r) => setTimeout(r, 2.5 * SESSION_IDLE_MS));
    expect(cachedSessionIds()).toEqual([]);
  });

  it("a task's copy of the key is wiped once it ran", async () => {
    const { runTask } = await import("../src/pipeline/tasks.ts");
    const key = generateFileKey();
    const header = createStreamHeader(key, { chunkSize: 64 }).bytes;
    const taskKey = new Uint8Array(key);
    runTask({
      type: "encode",
      id: 0,
      key: taskKey,
      header,
      stripeOffset: 0,
      dataBytes: 41 + 10 + 16,
      blockSize: 512,
      dataShards: 1,
      totalShards: 2,
      blockRoots: true,
      cidChunkSize: 0,
      finalChunk: 0,
      implementation: "native",
      prefix: new Uint8Array(0),
      plaintext: new Uint8Array(10),
      firstChunk: 0,
      chunkCount: 1,
      suffix: new Uint8Array(0),
      output: undefined,
    });
    expect(taskKey.every((b) => b === 0)).toBe(true);
  });
});
