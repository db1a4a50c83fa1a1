import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { computeUnixfsCid } from "../src/cid/index.ts";
import { decryptBytes } from "../src/crypto/index.ts";
import { computeSegmentTree } from "../src/merkle/index.ts";
import {
  createPipelinePool,
  createWorkerPool,
  decodeFile,
  decodeFileStream,
  encodeFile,
  type EncodeFileOptions,
  type EncodeFileResult,
  type PipelineProgress,
  type WorkerFactory,
} from "../src/pipeline/index.ts";
import { withNoncePrefix } from "./fixed-nonce.ts";

const MiB = 1024 * 1024;
const C = 65536;
/** Plaintext bytes whose ciphertext (41-byte header + 16-byte tag per chunk) fills exactly one 4 MiB stripe. */
const STRIPE_PLAIN = 4 * MiB - 41 - 16 * 64;

const pool = createPipelinePool({ size: 2 });
afterAll(() => pool.close());

interface Encoded {
  result: EncodeFileResult;
  shards: Uint8Array[];
}

/** encodeFile to memory; `noncePrefix` fixes the STREAM prefix so that two runs compare byte for byte. */
async function encodeToMemory(
  data: Uint8Array,
  { noncePrefix, ...options }: EncodeFileOptions & { noncePrefix?: Uint8Array } = {},
): Promise<Encoded> {
  const n = options.totalShards ?? 6;
  const parts: Uint8Array[][] = Array.from({ length: n }, () => []);
  // Feed in uneven pieces so window handling is exercised.
  const pieces: Uint8Array[] = [];
  for (let off = 0, step = 1; off < data.length; off += step, step = (step * 7 + 3) % 200_003 || 1)
    pieces.push(data.subarray(off, Math.min(data.length, off + step)));
  const run = (): Promise<EncodeFileResult> =>
    encodeFile(pieces, {
      workers: pool,
      ...options,
      sinks: Array.from({ length: n }, (_, i) => ({
        write: (b: Uint8Array) => void parts[i]!.push(b.slice()),
      })),
    });
  const result = await (noncePrefix === undefined ? run() : withNoncePrefix(noncePrefix, run));
  return { result, shards: parts.map((p) => Buffer.concat(p)) };
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const p of it) out.push(p);
  return Buffer.concat(out);
}

function pick(shards: Uint8Array[], indexes: number[]): (Uint8Array[] | undefined)[] {
  // Each shard as a stream of 100 KiB pieces (not aligned to blocks).
  return shards.map((s, i) => {
    if (!indexes.includes(i)) return undefined;
    const pieces: Uint8Array[] = [];
    for (let off = 0; off < s.length; off += 100_000) pieces.push(s.subarray(off, off + 100_000));
    return pieces;
  });
}

async function catchError(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error("expected a rejection");
}

describe("encodeFile / decodeFile round trips (k=4, n=6, 1 MiB blocks)", () => {
  const sizes: [string, number][] = [
    ["0", 0],
    ["1", 1],
    ["chunk-1", C - 1],
    ["chunk", C],
    ["chunk+1", C + 1],
    ["stripe-1", STRIPE_PLAIN - 1],
    ["stripe", STRIPE_PLAIN],
    ["stripe+1", STRIPE_PLAIN + 1],
    ["3 stripes + 12345", 3 * STRIPE_PLAIN + 12345],
  ];
  for (const [name, size] of sizes) {
    it(`size ${name} (${size} bytes): shards are the STREAM ciphertext, any 4 rebuild it`, async () => {
      const data = randomBytes(size);
      const { result, shards } = await encodeToMemory(data);
      expect(result.plaintextLength).toBe(size);
      expect(result.shards).toHaveLength(6);
      for (const s of shards) expect(s.length).toBe(result.shardSize);
      // The data shards, concatenated per stripe, are exactly the STREAM ciphertext.
      const ct = new Uint8Array(result.stripeCount * 4 * MiB);
      let off = 0;
      for (let st = 0; st < result.stripeCount; st++) {
        const b = st === result.stripeCount - 1 ? result.shardSize - st * MiB : MiB;
        for (let i = 0; i < 4; i++) {
          ct.set(shards[i]!.subarray(st * MiB, st * MiB + b), off);
          off += b;
        }
      }
      expect(
        Buffer.from(decryptBytes(ct.subarray(0, result.ciphertextLength), result.key)).equals(data),
      ).toBe(true);
      // All data shards; two data shards lost; only parity plus two data shards.
      for (const use of [
        [0, 1, 2, 3],
        [2, 3, 4, 5],
        [0, 2, 4, 5],
      ]) {
        const out = await collect(
          decodeFile(pick(shards, use), { ...result, workers: pool, expected: result.shards }),
        );
        expect(out.equals(data)).toBe(true);
      }
    });
  }

  it("reports progress and accepts ReadableStream input and output", async () => {
    const data = randomBytes(2 * STRIPE_PLAIN);
    const events: PipelineProgress[] = [];
    const result = await encodeFile(new Blob([data]).stream(), {
      workers: pool,
      onProgress: (e) => events.push(e),
    });
    expect(events.at(-1)).toEqual({
      phase: "done",
      plaintextBytes: data.length,
      shardBytes: 6 * result.shardSize,
      stripes: result.stripeCount,
    });
    expect(events.filter((e) => e.phase === "encode")).toHaveLength(result.stripeCount);
    const { shards } = await encodeToMemory(data, {
      key: result.key,
      noncePrefix: result.header.subarray(9, 25),
    });
    const stream = decodeFileStream(
      shards.map((s, i) => (i === 1 ? undefined : new Blob([Uint8Array.from(s)]))),
      { ...result, workers: pool },
    );
    const reader = stream.getReader();
    const out: Uint8Array[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) out.push(r.value);
    expect(Buffer.concat(out).equals(data)).toBe(true);
  });

  it("waits for each sink write (backpressure) and closes every sink", async () => {
    const data = randomBytes(3 * STRIPE_PLAIN);
    let active = 0;
    let maxActive = 0;
    let closed = 0;
    const sinks = Array.from({ length: 6 }, () => ({
      async write() {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
      },
      close: () => void closed++,
    }));
    await encodeFile(data, { workers: pool, sinks });
    expect(maxActive).toBeLessThanOrEqual(6); // one stripe's writes at a time
    expect(closed).toBe(6);
  });
});

describe("memory reuse and cancellation", () => {
  it("sinks that release their bytes get the same shards while stripe memory is reused", async () => {
    const data = randomBytes(5 * STRIPE_PLAIN + 99);
    const key = randomBytes(32);
    const noncePrefix = randomBytes(16);
    const plain = await encodeToMemory(data, { key, noncePrefix });
    for (const workers of [pool, "inline"] as const) {
      const parts: Uint8Array[][] = Array.from({ length: 6 }, () => []);
      const sinks = parts.map((p) => ({
        releasesBytes: true,
        write: (b: Uint8Array) => void p.push(b.slice()),
      }));
      const result = await withNoncePrefix(noncePrefix, () =>
        encodeFile(data, { key, workers, sinks }),
      );
      expect(result.shards).toEqual(plain.result.shards);
      parts.forEach((p, i) => expect(Buffer.concat(p).equals(plain.shards[i]!)).toBe(true));
    }
  });

  it("recycleOutput: a consumer done with each piece when it asks for the next gets the same plaintext", async () => {
    const data = randomBytes(6 * STRIPE_PLAIN + 5);
    const { result, shards } = await encodeToMemory(data);
    for (const use of [
      [0, 1, 2, 3],
      [1, 2, 4, 5],
    ]) {
      const h = createHash("sha256");
      let pieces = 0;
      for await (const p of decodeFile(pick(shards, use), {
        ...result,
        workers: pool,
        recycleOutput: true,
      })) {
        h.update(p);
        pieces++;
      }
      expect(pieces).toBeGreaterThan(6);
      expect(h.digest("hex")).toBe(createHash("sha256").update(data).digest("hex"));
    }
  });

  it("concurrent calls share one pool", async () => {
    const inputs = [
      randomBytes(2 * STRIPE_PLAIN + 1),
      randomBytes(STRIPE_PLAIN + 3),
      randomBytes(3 * STRIPE_PLAIN),
    ];
    const encoded = await Promise.all(inputs.map((d) => encodeToMemory(d)));
    const decoded = await Promise.all(
      encoded.map((e) =>
        collect(decodeFile(pick(e.shards, [0, 2, 3, 5]), { ...e.result, workers: pool })),
      ),
    );
    decoded.forEach((d, i) => expect(d.equals(inputs[i]!)).toBe(true));
  });

  it("an aborted encode rejects with the signal's reason and aborts the sinks", async () => {
    const controller = new AbortController();
    let aborted = 0;
    const sinks = Array.from({ length: 6 }, () => ({
      write() {
        controller.abort(new Error("stop"));
      },
      abort: () => void aborted++,
    }));
    const err = await catchError(
      encodeFile(randomBytes(3 * STRIPE_PLAIN), {
        workers: pool,
        sinks,
        signal: controller.signal,
      }),
    );
    expect(err.message).toBe("stop");
    expect(aborted).toBe(6);
  });
});

describe("small geometry: every k-subset rebuilds", () => {
  for (const [k, n, B, size] of [
    [3, 5, 512, 5000],
    [2, 4, 1024, 9001],
    [1, 3, 512, 700],
    [4, 4, 512, 3000],
  ] as const) {
    it(`k=${k} n=${n} B=${B}, ${size} bytes, 64-byte chunks`, async () => {
      const data = randomBytes(size);
      const opts = { dataShards: k, totalShards: n, blockSize: B, chunkSize: 64 };
      const { result, shards } = await encodeToMemory(data, { ...opts, workers: "inline" });
      const subsets: number[][] = [];
      const rec = (start: number, acc: number[]): void => {
        if (acc.length === k) return void subsets.push(acc);
        for (let i = start; i < n; i++) rec(i + 1, [...acc, i]);
      };
      rec(0, []);
      for (const use of subsets) {
        const out = await collect(
          decodeFile(pick(shards, use), { ...result, workers: "inline", expected: result.shards }),
        );
        expect(out.equals(data), `subset ${use.join(",")}`).toBe(true);
      }
    });
  }
});

describe("errors", () => {
  let enc: Encoded;
  const data = randomBytes(2 * STRIPE_PLAIN + 777);
  it("setup", async () => {
    enc = await encodeToMemory(data);
  });

  it("fewer than k shards: NotEnoughShardsError naming the missing ones", async () => {
    const err = await catchError(
      collect(decodeFile(pick(enc.shards, [0, 3, 5]), { ...enc.result, workers: pool })),
    );
    expect(err.name).toBe("NotEnoughShardsError");
    expect(err.missing).toEqual([1, 2, 4]);
    expect(err.have).toBe(3);
    expect(err.need).toBe(4);
  });

  it("wrong key: WrongKeyError", async () => {
    const err = await catchError(
      collect(
        decodeFile(pick(enc.shards, [0, 1, 2, 3]), {
          ...enc.result,
          key: randomBytes(32),
          workers: pool,
        }),
      ),
    );
    expect(err.name).toBe("WrongKeyError");
  });

  const tamper = (shard: number, offset: number): Uint8Array[] =>
    enc.shards.map((s, i) => {
      if (i !== shard) return s;
      const t = Uint8Array.from(s);
      t[offset]! ^= 0x40;
      return t;
    });

  for (const [where, shard, offset, use] of [
    ["a data shard, middle of stripe 1", 2, MiB + 5000, [0, 1, 2, 3]],
    ["a parity shard used to rebuild", 4, 300_000, [0, 2, 4, 5]],
    ["a data shard, the stream header", 0, 20, [0, 1, 2, 3]],
    ["a rebuilt stripe's boundary chunk", 3, MiB - 1, [1, 2, 3, 5]],
  ] as const) {
    it(`one flipped byte in ${where}: ShardMismatchError naming shard ${shard} (roots given), TamperedDataError (none)`, async () => {
      const shards = tamper(shard, offset);
      const named = await catchError(
        collect(
          decodeFile(pick(shards, [...use]), {
            ...enc.result,
            workers: pool,
            expected: enc.result.shards,
          }),
        ),
      );
      expect(named.name).toBe("ShardMismatchError");
      expect(named.shardIndex).toBe(shard);
      const plain = await catchError(
        collect(decodeFile(pick(shards, [...use]), { ...enc.result, workers: pool })),
      );
      expect(["TamperedDataError", "WrongKeyError"]).toContain(plain.name);
      if (offset !== 20) expect(plain.name).toBe("TamperedDataError");
    });
  }

  it("a flip in only the stripe-boundary chunk, all data shards, no commitments: TamperedDataError for that chunk", async () => {
    // Ciphertext byte 4 MiB − 1 (shard 3, offset MiB − 1) is the last byte of stripe 0, inside
    // chunk 63 = floor((4 MiB − 1 − 41) / (64 KiB + 16)), the chunk that spans stripes 0 and 1.
    // Nothing is rebuilt, so no other chunk is touched: only the boundary path can catch it.
    const err = await catchError(
      collect(decodeFile(pick(tamper(3, MiB - 1), [0, 1, 2, 3]), { ...enc.result, workers: pool })),
    );
    expect(err.name).toBe("TamperedDataError");
    expect(err.part).toBe("chunk");
    expect(err.chunkIndex).toBe(63);
  });

  it("roots only, a parity shard in the set and altered: ShardMismatchError naming it", async () => {
    const expected = enc.result.shards.map(({ merkleRoot }) => ({ merkleRoot }));
    const err = await catchError(
      collect(
        decodeFile(pick(tamper(4, 300_000), [0, 2, 4, 5]), {
          ...enc.result,
          workers: pool,
          expected,
        }),
      ),
    );
    expect(err.name).toBe("ShardMismatchError");
    expect(err.shardIndex).toBe(4);
  });

  it("altered zero padding (not covered by the AEAD) is caught by the root check", async () => {
    const shards = tamper(3, enc.result.shardSize - 1); // shard 3's last block is all padding
    const out = decodeFile(pick(shards, [0, 1, 2, 3]), {
      ...enc.result,
      workers: pool,
      expected: enc.result.shards,
    });
    const err = await catchError(collect(out));
    expect(err.name).toBe("ShardMismatchError");
    expect(err.shardIndex).toBe(3);
  });

  it("a shard of the wrong length: ShardMismatchError", async () => {
    const shards = enc.shards.map((s, i) => (i === 1 ? s.subarray(0, s.length - 512) : s));
    const err = await catchError(
      collect(decodeFile(pick(shards, [0, 1, 2, 3]), { ...enc.result, workers: pool })),
    );
    expect(err.name).toBe("ShardMismatchError");
    expect(err.shardIndex).toBe(1);
    const longer = enc.shards.map((s, i) => (i === 2 ? Buffer.concat([s, new Uint8Array(1)]) : s));
    const err2 = await catchError(
      collect(decodeFile(pick(longer, [0, 1, 2, 3]), { ...enc.result, workers: pool })),
    );
    expect(err2.name).toBe("ShardMismatchError");
    expect(err2.shardIndex).toBe(2);
  });

  it("invalid parameters: InvalidParametersError", async () => {
    for (const bad of [
      { dataShards: 0 },
      { totalShards: 33 },
      { blockSize: 1536 },
      { blockSize: 100 },
      { maxStripesInFlight: Number.NaN },
      { maxStripesInFlight: 0 },
    ]) {
      const err = await catchError(encodeFile(new Uint8Array(10), { workers: "inline", ...bad }));
      expect(err.name).toBe("InvalidParametersError");
    }
  });
});

describe("commitments equal the standalone merkle and cid modules", () => {
  it("roots and CIDs of every shard (single-stripe, multi-stripe, small-block files)", async () => {
    for (const [size, opts] of [
      [1000, {}],
      [STRIPE_PLAIN - 600_000, {}],
      [3 * STRIPE_PLAIN + 999, {}],
      [20_000, { blockSize: 1024, dataShards: 3, totalShards: 5, chunkSize: 256 }],
    ] as const) {
      const { result, shards } = await encodeToMemory(randomBytes(size), opts);
      for (const [i, s] of shards.entries()) {
        const tree = computeSegmentTree(s);
        expect(result.shards[i]!.merkleRoot).toBe(`0x${Buffer.from(tree.root).toString("hex")}`);
        expect(result.shards[i]!.leafCount).toBe(tree.leafCount);
        expect(result.shards[i]!.cid).toBe((await computeUnixfsCid([s])).cid.toString());
        expect(result.shards[i]!.size).toBe(s.length);
      }
    }
  });

  it("blocks of several 1 MiB UnixFS leaves (2 MiB blocks, a 1.5 MiB last one): CIDs of every shard", async () => {
    const { result, shards } = await encodeToMemory(randomBytes(3.5 * MiB), {
      blockSize: 2 * MiB,
      dataShards: 1,
      totalShards: 2,
    });
    expect(result.stripeCount).toBe(2);
    for (const [i, s] of shards.entries())
      expect(result.shards[i]!.cid, `shard ${i}`).toBe(
        (await computeUnixfsCid([s])).cid.toString(),
      );
  });
});

describe("paths give identical bytes", () => {
  it("worker pool, inline, and the portable (browser) implementation", async () => {
    const data = randomBytes(2 * STRIPE_PLAIN + 4321);
    const key = randomBytes(32);
    const noncePrefix = randomBytes(16);
    const runs = [
      await encodeToMemory(data, { key, noncePrefix, workers: pool }),
      await encodeToMemory(data, { key, noncePrefix, workers: "inline" }),
      await encodeToMemory(data, { key, noncePrefix, workers: pool, implementation: "portable" }),
    ];
    const digest = (e: Encoded): string[] =>
      e.shards.map((s) => createHash("sha256").update(s).digest("hex"));
    for (const r of runs.slice(1)) {
      expect(digest(r)).toEqual(digest(runs[0]!));
      expect(r.result.shards).toEqual(runs[0]!.result.shards);
    }
    const out = await collect(
      decodeFile(pick(runs[0]!.shards, [1, 3, 4, 5]), {
        ...runs[0]!.result,
        workers: pool,
        implementation: "portable",
        expected: runs[0]!.result.shards,
      }),
    );
    expect(out.equals(data)).toBe(true);
  });

  it("the Web Worker entry, with node: builtins out of reach (as in a browser), gives the same bytes", async () => {
    const factory: WorkerFactory = () => {
      const w = new Worker(new URL("./pipeline-web-worker.fixture.ts", import.meta.url));
      return {
        postMessage: (m, t) => w.postMessage(m, t),
        listen(onReply, onFailure) {
          w.on("message", onReply);
          w.on("error", onFailure);
        },
        setBusy() {},
        terminate: () => w.terminate(),
      };
    };
    const webPool = createWorkerPool({ factory, size: 2 });
    try {
      const data = randomBytes(STRIPE_PLAIN + 77_777);
      const key = randomBytes(32);
      const noncePrefix = randomBytes(16);
      const native = await encodeToMemory(data, {
        key,
        noncePrefix,
        workers: "inline",
        implementation: "native",
      });
      const web = await encodeToMemory(data, {
        key,
        noncePrefix,
        workers: webPool,
        implementation: "portable",
      });
      expect(web.result.shards).toEqual(native.result.shards);
      web.shards.forEach((s, i) => expect(Buffer.from(s).equals(native.shards[i]!)).toBe(true));
      const out = await collect(
        decodeFile(pick(web.shards, [0, 1, 4, 5]), {
          ...web.result,
          workers: webPool,
          implementation: "portable",
          expected: web.result.shards,
        }),
      );
      expect(out.equals(data)).toBe(true);
    } finally {
      await webPool.close();
    }
  });

  it("nothing the Web Worker entry loads imports a node: module (type-only imports aside)", () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+"([^"]+)";/gms)) {
        const [, typeOnly, spec] = m;
        if (spec!.startsWith("node:")) expect(typeOnly, `${file} imports ${spec}`).toBeDefined();
        else if (spec!.startsWith(".") && !typeOnly) visit(resolvePath(dirname(file), spec!));
      }
    };
    visit(fileURLToPath(new URL("../src/pipeline/workers/web.ts", import.meta.url)));
    visit(fileURLToPath(new URL("../src/pipeline/index.ts", import.meta.url)));
    expect(seen.size).toBeGreaterThan(10);
  });
});
