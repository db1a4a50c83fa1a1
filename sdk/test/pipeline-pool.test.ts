// The pipeline's worker pool, driven on the test thread: its scheduling (how many tasks each
// worker holds, queueing, results handed back to their callers, a worker that fails or crashes,
// close), the worker_threads and Web Worker adapters behind stand-in Worker classes, and the
// workers' message loop. No real thread is started, so mutation runs (which hide worker_threads
// and can only switch mutants on in the test's own thread) test all of it.
import { availableParallelism } from "node:os";
import { afterEach, describe, expect, it, vi } from "vitest";

import { createStreamHeader, generateFileKey } from "../src/crypto/index.ts";
import {
  createPipelinePool,
  createWorkerPool,
  encodeFile,
  getWebWorkerFactory,
  type TaskRunner,
  type WorkerFactory,
  type WorkerHandle,
} from "../src/pipeline/index.ts";
import {
  runTask,
  transferablesOf,
  type DecodeResult,
  type DecodeTask,
  type EncodeResult,
  type EncodeTask,
  type Task,
} from "../src/pipeline/tasks.ts";
import { handleTask, type WorkerReply } from "../src/pipeline/workers/serve.ts";

const KEY = generateFileKey();
const HEADER = createStreamHeader(KEY, { chunkSize: 64 }).bytes;
const BAD_HEADER = HEADER.slice();
BAD_HEADER[0] ^= 1;

/** Plaintext of task `i`: its first byte says which task it is. */
const plain = (i: number): Uint8Array => Uint8Array.from({ length: 10 + i }, (_, j) => i + j);

/** A stripe of one 64-byte chunk (k = 1, n = 2, B = 512) holding `plaintext`. */
function encodeTask(
  id: number,
  plaintext: Uint8Array,
  extra: Partial<EncodeTask> = {},
): EncodeTask {
  return {
    type: "encode",
    id,
    key: new Uint8Array(KEY),
    header: HEADER,
    stripeOffset: 0,
    dataBytes: 41 + plaintext.length + 16,
    blockSize: 512,
    dataShards: 1,
    totalShards: 2,
    blockRoots: true,
    cidChunkSize: 256,
    finalChunk: 0,
    implementation: "native",
    prefix: new Uint8Array(0),
    plaintext,
    firstChunk: 0,
    chunkCount: 1,
    suffix: new Uint8Array(0),
    output: undefined,
    ...extra,
  };
}

/** The decode task of stripe `parity` (the parity block of an encodeTask stripe) alone. */
function decodeTask(id: number, parity: Uint8Array, extra: Partial<DecodeTask> = {}): DecodeTask {
  return {
    type: "decode",
    id,
    key: new Uint8Array(KEY),
    header: HEADER,
    stripeOffset: 0,
    dataBytes: 41 + 10 + 16,
    blockSize: 512,
    dataShards: 1,
    totalShards: 2,
    blockRoots: true,
    cidChunkSize: 256,
    finalChunk: 0,
    implementation: "native",
    present: [1],
    blocks: parity,
    decrypt: true,
    ciphertextLength: 41 + 10 + 16,
    output: undefined,
    ...extra,
  };
}

/** Moves a message as postMessage does: the listed buffers are transferred (detached here), the rest copied. */
const deliver = <T>(message: T, transfer: ArrayBuffer[]): T =>
  structuredClone(message, { transfer });

/** Lets timers and promise callbacks queued so far run. */
const turn = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** The promise's outcome, or a failure after `ms`: a pool that loses a task fails the test, not hangs it. */
function within<T>(p: Promise<T>, ms = 2000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** How the promise stands once queued callbacks ran. */
async function state(p: Promise<unknown>): Promise<"pending" | "resolved" | "rejected"> {
  let s: "pending" | "resolved" | "rejected" = "pending";
  p.then(
    () => (s = "resolved"),
    () => (s = "rejected"),
  );
  await turn();
  return s;
}

/**
 * A worker that runs its tasks on this thread, through the workers' own message loop
 * (handleTask), answering on a later turn; with `hold` it keeps them until answer() is called.
 */
class SameThreadWorker implements WorkerHandle {
  /** Tasks received and not answered yet. */
  readonly tasks: Task[] = [];
  received = 0;
  busy = false;
  terminated = 0;
  onReply: (reply: WorkerReply) => void = () => {};
  onFailure: (error: Error) => void = () => {};
  readonly hold: boolean;
  constructor(hold: boolean) {
    this.hold = hold;
  }
  postMessage(message: Task, transfer: ArrayBuffer[]): void {
    this.tasks.push(deliver(message, transfer));
    this.received++;
    if (!this.hold) setTimeout(() => this.answer());
  }
  listen(onReply: (reply: WorkerReply) => void, onFailure: (error: Error) => void): void {
    this.onReply = onReply;
    this.onFailure = onFailure;
  }
  setBusy(busy: boolean): void {
    this.busy = busy;
  }
  terminate(): void {
    this.terminated++;
  }
  /** Answers the oldest task it holds. */
  answer(): void {
    const task = this.tasks.shift();
    if (task === undefined) return;
    const { reply, transfer } = handleTask(task);
    this.onReply(deliver(reply, transfer));
  }
}

function sameThreadFactory(hold = false): { factory: WorkerFactory; workers: SameThreadWorker[] } {
  const workers: SameThreadWorker[] = [];
  const factory: WorkerFactory = () => {
    const w = new SameThreadWorker(hold);
    workers.push(w);
    return w;
  };
  return { factory, workers };
}

/** Workers on this thread whose postMessage throws (a buffer that cannot be cloned) while refuse.on. */
function refusingFactory(hold = false): {
  factory: WorkerFactory;
  workers: SameThreadWorker[];
  refuse: { on: boolean };
} {
  const { factory, workers } = sameThreadFactory(hold);
  const refuse = { on: false };
  const refusing: WorkerFactory = () => {
    const w = factory() as SameThreadWorker;
    const post = w.postMessage.bind(w);
    w.postMessage = (m, t) => {
      if (refuse.on) throw new DOMException("could not be cloned", "DataCloneError");
      post(m, t);
    };
    return w;
  };
  return { factory: refusing, workers, refuse };
}

const firstBytes = (w: SameThreadWorker): number[] =>
  w.tasks.map((t) => (t as EncodeTask).plaintext[0]!);

describe("createWorkerPool, with workers on this thread", () => {
  it("hands every caller its own result, also when two calls use the same task ids", async () => {
    const { factory, workers } = sameThreadFactory();
    const pool = createWorkerPool({ factory, size: 2 });
    expect(pool.concurrency).toBe(2);
    expect(workers).toHaveLength(0); // started on first use
    // Two pipeline calls sharing the pool, each numbering its tasks 0, 1, 2.
    const results = await within(
      Promise.all([0, 1, 2, 3, 4, 5].map((i) => pool.run(encodeTask(i % 3, plain(i))))),
    );
    results.forEach((r, i) => {
      const inline = runTask(encodeTask(i % 3, plain(i))) as EncodeResult;
      expect(r).toMatchObject({ type: "encode", id: i % 3 });
      expect((r as EncodeResult).stripe).toEqual(inline.stripe);
      expect((r as EncodeResult).roots).toEqual(inline.roots);
      expect((r as EncodeResult).digests).toEqual(inline.digests);
    });
    expect(workers).toHaveLength(2);
    expect(workers.map((w) => w.received)).toEqual([3, 3]);
    await pool.close();
    expect(workers.map((w) => w.terminated)).toEqual([1, 1]);
  });

  it("gives each worker up to 2 tasks, the least busy first, queues the rest, and marks busy workers", async () => {
    const { factory, workers } = sameThreadFactory(true);
    const pool = createWorkerPool({ factory, size: 2 });
    const runs = [0, 1, 2, 3, 4].map((i) => pool.run(encodeTask(i, plain(i))));
    await turn();
    expect(workers.map(firstBytes)).toEqual([
      [0, 2],
      [1, 3],
    ]);
    expect(workers.map((w) => w.busy)).toEqual([true, true]);
    expect(await state(runs[4]!)).toBe("pending");
    // The second worker answers: the queued task goes to it; it stays busy.
    workers[1]!.answer();
    expect(await within(runs[1]!)).toMatchObject({ id: 1 });
    expect(workers.map(firstBytes)).toEqual([
      [0, 2],
      [3, 4],
    ]);
    expect(workers[1]!.busy).toBe(true);
    // The first worker answers one of its two: still busy; then the other: idle.
    workers[0]!.answer();
    expect(await within(runs[0]!)).toMatchObject({ id: 0 });
    expect(workers[0]!.busy).toBe(true);
    workers[0]!.answer();
    expect(await within(runs[2]!)).toMatchObject({ id: 2 });
    expect(workers[0]!.busy).toBe(false);
    workers[1]!.answer();
    workers[1]!.answer();
    expect(await within(Promise.all(runs))).toHaveLength(5);
    expect(workers.map((w) => w.busy)).toEqual([false, false]);
    expect(workers).toHaveLength(2);
    await pool.close();
  });

  it("holds tasksPerWorker tasks per worker when given", async () => {
    const { factory, workers } = sameThreadFactory(true);
    const pool = createWorkerPool({ factory, size: 1, tasksPerWorker: 3 });
    const runs = [0, 1, 2, 3].map((i) => pool.run(encodeTask(i, plain(i))));
    const closed = runs.map((r) => r.catch((e: Error) => e.message));
    await turn();
    expect(workers.map(firstBytes)).toEqual([[0, 1, 2]]);
    workers[0]!.answer();
    await within(runs[0]!);
    expect(workers.map(firstBytes)).toEqual([[1, 2, 3]]);
    await pool.close();
    expect((await within(Promise.all(closed))).slice(1)).toEqual(
      Array(3).fill("worker pool closed"),
    );
  });

  it("fails a task that throws in its worker with the same error name and message; the worker goes on", async () => {
    const { factory, workers } = sameThreadFactory();
    const pool = createWorkerPool({ factory, size: 1 });
    const err = await within(pool.run(encodeTask(0, plain(0), { header: BAD_HEADER }))).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({
      name: "UnsupportedFormatError",
      message: 'encrypted stream: bad magic (expected "CCST")',
    });
    expect(workers[0]!.busy).toBe(false);
    await expect(within(pool.run(encodeTask(1, plain(1))))).resolves.toMatchObject({ id: 1 });
    expect(workers).toHaveLength(1);
    await pool.close();
  });

  it("fails a crashed worker's tasks with its error, replaces it and runs the queued tasks on the new one", async () => {
    const { factory, workers } = sameThreadFactory(true);
    const pool = createWorkerPool({ factory, size: 1, tasksPerWorker: 1 });
    const first = pool.run(encodeTask(0, plain(0)));
    const second = pool.run(encodeTask(1, plain(1)));
    await turn();
    const boom = new Error("worker ran out of memory");
    workers[0]!.onFailure(boom);
    await expect(within(first)).rejects.toBe(boom);
    expect(workers[0]!.terminated).toBe(1);
    expect(workers).toHaveLength(2);
    expect(firstBytes(workers[1]!)).toEqual([1]);
    workers[1]!.answer();
    await expect(within(second)).resolves.toMatchObject({ id: 1 });
    // A late reply from the crashed worker changes nothing.
    const late = handleTask(encodeTask(0, plain(0)));
    expect(() => workers[0]!.onReply(late.reply)).not.toThrow();
    await expect(first).rejects.toBe(boom);
    // A second report of the same crash starts no second replacement.
    workers[0]!.onFailure(new Error("exited"));
    expect(workers).toHaveLength(2);
    const third = pool.run(encodeTask(2, plain(2)));
    await turn();
    workers[1]!.answer();
    await expect(within(third)).resolves.toMatchObject({ id: 2 });
    await pool.close();
  });

  it("replaces the crashed worker wherever it sits in the pool", async () => {
    const { factory, workers } = sameThreadFactory(true);
    const pool = createWorkerPool({ factory, size: 2, tasksPerWorker: 1 });
    const runs = [0, 1].map((i) => pool.run(encodeTask(i, plain(i))));
    await turn();
    workers[1]!.onFailure(new Error("crashed"));
    await expect(within(runs[1]!)).rejects.toThrow("crashed");
    expect(workers).toHaveLength(3);
    const next = pool.run(encodeTask(2, plain(2)));
    await turn();
    expect(firstBytes(workers[2]!)).toEqual([2]);
    workers[2]!.answer();
    workers[0]!.answer();
    await expect(within(Promise.all([runs[0]!, next]))).resolves.toHaveLength(2);
    await pool.close();
  });

  it("a worker failing after close() is not replaced", async () => {
    const { factory, workers } = sameThreadFactory();
    const pool = createWorkerPool({ factory, size: 1 });
    await within(pool.run(encodeTask(0, plain(0))));
    await pool.close();
    workers[0]!.onFailure(new Error("exited with code 1"));
    expect(workers).toHaveLength(1);
  });

  it("fails a task its worker could not be sent, leaves that worker idle and sends it the next", async () => {
    const { factory, workers, refuse } = refusingFactory();
    refuse.on = true;
    const pool = createWorkerPool({ factory, size: 1, tasksPerWorker: 1 });
    await expect(within(pool.run(encodeTask(0, plain(0))))).rejects.toThrow("could not be cloned");
    expect(workers[0]!.busy).toBe(false); // the process is not kept alive for it
    refuse.on = false;
    await expect(within(pool.run(encodeTask(1, plain(1))))).resolves.toMatchObject({ id: 1 });
    await pool.close();
  });

  it("a task that could not be sent to a worker still running another leaves that worker busy", async () => {
    const { factory, workers, refuse } = refusingFactory(true);
    const pool = createWorkerPool({ factory, size: 1 });
    const first = pool.run(encodeTask(0, plain(0)));
    await turn();
    refuse.on = true;
    await expect(within(pool.run(encodeTask(1, plain(1))))).rejects.toThrow("could not be cloned");
    expect(workers[0]!.busy).toBe(true); // its first task still keeps the process alive
    workers[0]!.answer();
    await expect(within(first)).resolves.toMatchObject({ id: 0 });
    expect(workers[0]!.busy).toBe(false);
    await pool.close();
  });

  it("close() fails queued and running tasks, stops every worker and refuses new tasks", async () => {
    const { factory, workers } = sameThreadFactory(true);
    const pool = createWorkerPool({ factory, size: 2, tasksPerWorker: 1 });
    const runs = [0, 1, 2].map((i) => pool.run(encodeTask(i, plain(i))));
    await turn();
    const failures = runs.map((r) => r.catch((e: Error) => e.message));
    await pool.close();
    expect(await within(Promise.all(failures))).toEqual([
      "worker pool closed",
      "worker pool closed",
      "worker pool closed",
    ]);
    expect(workers.map((w) => w.terminated)).toEqual([1, 1]);
    await expect(within(pool.run(encodeTask(3, plain(3))))).rejects.toThrow(
      "worker pool is closed",
    );
    expect(workers).toHaveLength(2);
  });
});

describe("the workers' message loop and what it moves", () => {
  it("a task that throws becomes an error reply with its name and message, moving nothing", () => {
    expect(handleTask(encodeTask(7, plain(0), { header: BAD_HEADER }))).toEqual({
      reply: {
        type: "error",
        id: 7,
        name: "UnsupportedFormatError",
        message: 'encrypted stream: bad magic (expected "CCST")',
      },
      transfer: [],
    });
  });

  it("an encode result moves its stripe, roots, digests and the plaintext's buffer back", () => {
    const { reply, transfer } = handleTask(encodeTask(8, plain(1)));
    const r = reply as EncodeResult;
    expect(r).toMatchObject({ type: "encode", id: 8 });
    expect(r.digests.length).toBe(2 * 2 * 32);
    const expected = [r.stripe.buffer, r.roots.buffer, r.digests.buffer, r.input];
    expect(transfer).toHaveLength(4);
    for (const b of expected) expect(transfer).toContain(b);
  });

  it("a decode result moves its plaintext, roots, digests and the blocks' buffer back", () => {
    const enc = runTask(encodeTask(0, plain(0))) as EncodeResult;
    const { reply, transfer } = handleTask(decodeTask(9, enc.stripe.slice(512)));
    const r = reply as DecodeResult;
    expect(r).toMatchObject({ type: "decode", id: 9, failure: undefined });
    expect(r.plaintext).toEqual(plain(0));
    const expected = [r.plaintext.buffer, r.roots.buffer, r.digests.buffer, r.input];
    expect(transfer).toHaveLength(4);
    for (const b of expected) expect(transfer).toContain(b);
  });

  it("a task moves its key copy, its input and its spare output buffer to the worker", () => {
    const e = encodeTask(0, plain(0), { output: new ArrayBuffer(1024) });
    const te = transferablesOf(e);
    expect(te).toHaveLength(3);
    for (const b of [e.key.buffer, e.plaintext.buffer, e.output]) expect(te).toContain(b);
    const d = decodeTask(0, new Uint8Array(512), { output: new ArrayBuffer(512) });
    const td = transferablesOf(d);
    expect(td).toHaveLength(3);
    for (const b of [d.key.buffer, d.blocks.buffer, d.output]) expect(td).toContain(b);
  });

  it("the Web Worker entry answers each message with the task's result and moves its buffers", async () => {
    const g = globalThis as unknown as {
      onmessage?: ((ev: { data: Task }) => void) | null;
      postMessage?: (m: unknown, t: ArrayBuffer[]) => void;
    };
    const posted: [WorkerReply, ArrayBuffer[]][] = [];
    g.postMessage = (m, t) => void posted.push([m as WorkerReply, t]);
    try {
      vi.resetModules();
      await import("../src/pipeline/workers/web.ts");
      g.onmessage!({ data: encodeTask(5, plain(2)) });
      expect(posted).toHaveLength(1);
      const [reply, transfer] = posted[0]!;
      expect(reply).toMatchObject({ type: "encode", id: 5 });
      expect((reply as EncodeResult).stripe).toEqual(
        (runTask(encodeTask(5, plain(2))) as EncodeResult).stripe,
      );
      expect(transfer).toContain((reply as EncodeResult).stripe.buffer);
    } finally {
      delete g.onmessage;
      delete g.postMessage;
    }
  });

  it("the worker_threads entry answers on its parent port, and refuses to start outside a worker", async () => {
    const posted: [WorkerReply, ArrayBuffer[]][] = [];
    let onMessage: ((task: Task) => void) | undefined;
    const port = {
      on(event: string, cb: (task: Task) => void) {
        if (event === "message") onMessage = cb;
      },
      postMessage: (m: WorkerReply, t: ArrayBuffer[]) => void posted.push([m, t]),
    };
    try {
      vi.resetModules();
      vi.doMock("node:worker_threads", () => ({ parentPort: port }));
      await import("../src/pipeline/workers/node.ts");
      onMessage!(encodeTask(6, plain(3)));
      expect(posted).toHaveLength(1);
      const [reply, transfer] = posted[0]!;
      expect(reply).toMatchObject({ type: "encode", id: 6 });
      expect(transfer).toContain((reply as EncodeResult).stripe.buffer);

      vi.resetModules();
      vi.doMock("node:worker_threads", () => ({ parentPort: null }));
      await expect(import("../src/pipeline/workers/node.ts")).rejects.toThrow(
        "pipeline worker started outside a worker thread",
      );
    } finally {
      vi.doUnmock("node:worker_threads");
      vi.resetModules();
    }
  });
});

describe("tasks", () => {
  it("an encode task whose parts do not fill its stripe fails in words", () => {
    expect(() => runTask(encodeTask(3, plain(0), { dataBytes: 70 }))).toThrow(
      "encode task: stripe 3 laid out 67 of 70 bytes",
    );
  });

  it("a stripe of a layout over 16 MiB (k·B) rebuilt from parity decrypts", () => {
    // Reed-Solomon works byte by byte: the parity of a zero-extended block is the zero-extended parity.
    const enc = runTask(encodeTask(0, plain(0))) as EncodeResult;
    const B = 16 * 1024 * 1024 + 512; // just over (no segment roots asked: any B will do)
    const parity = new Uint8Array(B);
    parity.set(enc.stripe.subarray(512));
    const r = runTask(
      decodeTask(0, parity, { blockSize: B, blockRoots: false, cidChunkSize: 0 }),
    ) as DecodeResult;
    expect(r.failure).toBeUndefined();
    expect(r.plaintext).toEqual(plain(0));
  });

  it("an encode task builds its stripe in a spare buffer big enough, zeroing a last stripe's padding", () => {
    const inline = runTask(encodeTask(0, plain(4))) as EncodeResult;
    const spare = new Uint8Array(2 * 512).fill(0xff).buffer; // a recycled buffer: old bytes
    const r = runTask(encodeTask(0, plain(4), { output: spare })) as EncodeResult;
    expect(r.stripe.buffer).toBe(spare);
    expect(r.stripe).toEqual(inline.stripe);
    const small = new ArrayBuffer(2 * 512 - 1);
    const s = runTask(encodeTask(0, plain(4), { output: small })) as EncodeResult;
    expect(s.stripe.buffer).not.toBe(small);
    expect(s.stripe).toEqual(inline.stripe);
  });

  it("a decode task writes its plaintext into a spare buffer big enough, else into one with room for a stripe", () => {
    const parity = (runTask(encodeTask(0, plain(0))) as EncodeResult).stripe.slice(512);
    const spare = new ArrayBuffer(10);
    const r = runTask(decodeTask(0, parity.slice(), { output: spare })) as DecodeResult;
    expect(r.plaintext.buffer).toBe(spare);
    expect(r.plaintext).toEqual(plain(0));
    const small = new ArrayBuffer(9);
    const s = runTask(decodeTask(0, parity.slice(), { output: small })) as DecodeResult;
    expect(s.plaintext.buffer).not.toBe(small);
    expect(s.plaintext).toEqual(plain(0));
    expect(s.plaintext.buffer.byteLength).toBe(512);
  });

  it("in a browser (no node: builtins, timers that are numbers) the portable tasks give the same bytes", async () => {
    const inline = runTask(encodeTask(0, plain(5))) as EncodeResult;
    vi.resetModules();
    builtins({ "node:crypto": undefined, "node:os": undefined });
    const browser = await import("../src/pipeline/tasks.ts");
    const realSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = (() => 1) as unknown as typeof setTimeout; // a browser's timer id
    try {
      const enc = browser.runTask(
        encodeTask(0, plain(5), { implementation: "portable" }),
      ) as EncodeResult;
      expect(enc.stripe).toEqual(inline.stripe);
      expect(enc.roots).toEqual(inline.roots);
      expect(enc.digests).toEqual(inline.digests);
      const dec = browser.runTask(
        decodeTask(0, enc.stripe.slice(512), {
          implementation: "portable",
          dataBytes: 41 + 15 + 16,
          ciphertextLength: 41 + 15 + 16,
        }),
      ) as DecodeResult;
      expect(dec.plaintext).toEqual(plain(5));
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
  });

  it("a thread keeps the sessions of its 8 most recently used streams", async () => {
    vi.resetModules();
    const fresh = await import("../src/pipeline/tasks.ts");
    const headers = Array.from(
      { length: 9 },
      () => createStreamHeader(KEY, { chunkSize: 64 }).bytes,
    );
    const use = (h: Uint8Array): unknown => fresh.runTask(encodeTask(0, plain(0), { header: h }));
    const kept = (h: Uint8Array): boolean =>
      fresh.cachedSessionIds().some((id) => id.includes(Buffer.from(h).toString("hex")));
    for (const h of headers.slice(0, 8)) use(h);
    expect(fresh.cachedSessionIds()).toHaveLength(8);
    use(headers[0]!); // the first stream again: now the most recently used
    expect(fresh.cachedSessionIds()).toHaveLength(8);
    use(headers[8]!); // a ninth pushes out the least recently used: the second
    expect(fresh.cachedSessionIds()).toHaveLength(8);
    expect(headers.map(kept)).toEqual([true, false, true, true, true, true, true, true, true]);
  });

  it("a thread drops a stream's session once idle for SESSION_IDLE_MS, keeping those used since", async () => {
    vi.useFakeTimers();
    try {
      vi.resetModules();
      const fresh = await import("../src/pipeline/tasks.ts");
      const idle = fresh.SESSION_IDLE_MS;
      const [a, b] = [0, 1].map(() => createStreamHeader(KEY, { chunkSize: 64 }).bytes);
      const kept = (): boolean[] =>
        [a!, b!].map((h) =>
          fresh.cachedSessionIds().some((id) => id.includes(Buffer.from(h).toString("hex"))),
        );
      fresh.runTask(encodeTask(0, plain(0), { header: a }));
      await vi.advanceTimersByTimeAsync(idle / 2);
      fresh.runTask(encodeTask(0, plain(0), { header: b }));
      expect(kept()).toEqual([true, true]);
      await vi.advanceTimersByTimeAsync(idle / 2); // the sweep: a idle for SESSION_IDLE_MS, b half that
      expect(kept()).toEqual([false, true]);
      await vi.advanceTimersByTimeAsync(idle);
      expect(kept()).toEqual([false, false]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("stripes rebuilt from parity decrypt when a later one is larger than any before", async () => {
    vi.resetModules();
    const fresh = await import("../src/pipeline/tasks.ts");
    const enc = fresh.runTask(encodeTask(0, plain(0))) as EncodeResult;
    for (const B of [512, 8192]) {
      const parity = new Uint8Array(B);
      parity.set(enc.stripe.subarray(512));
      const r = fresh.runTask(
        decodeTask(0, parity, { blockSize: B, blockRoots: false, cidChunkSize: 0 }),
      ) as DecodeResult;
      expect(r.plaintext).toEqual(plain(0));
    }
  });
});

// Stand-ins for node:worker_threads (reached through process.getBuiltinModule) and the browser's
// Worker: each runs its tasks on this thread through the workers' message loop.
const realGetBuiltin = process.getBuiltinModule;
afterEach(() => {
  process.getBuiltinModule = realGetBuiltin;
  vi.unstubAllGlobals();
});

class FakeNodeWorker {
  static made: FakeNodeWorker[] = [];
  readonly listeners = new Map<string, ((x: never) => void)[]>();
  /** Whether it keeps the process alive (a new Worker does; a "message" listener refs it again). */
  refed = true;
  terminated = false;
  hold = false;
  readonly tasks: Task[] = [];
  readonly url: URL;
  readonly options: unknown;
  constructor(url: URL, options: unknown) {
    this.url = url;
    this.options = options;
    FakeNodeWorker.made.push(this);
  }
  on(event: string, cb: (x: never) => void): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), cb]);
    if (event === "message") this.refed = true;
  }
  emit(event: string, x: unknown): void {
    for (const cb of this.listeners.get(event) ?? []) cb(x as never);
  }
  postMessage(m: Task, t: ArrayBuffer[]): void {
    this.tasks.push(deliver(m, t));
    if (!this.hold) setTimeout(() => this.answer());
  }
  answer(): void {
    const task = this.tasks.shift();
    if (task === undefined) return;
    const { reply, transfer } = handleTask(task);
    this.emit("message", deliver(reply, transfer));
  }
  ref(): void {
    this.refed = true;
  }
  unref(): void {
    this.refed = false;
  }
  terminate(): Promise<number> {
    this.terminated = true;
    setTimeout(() => this.emit("exit", 1));
    return Promise.resolve(1);
  }
}

/** Makes process.getBuiltinModule give `modules[id]` for the ids listed (undefined: absent). */
function builtins(modules: Record<string, unknown>): void {
  const real = realGetBuiltin.bind(process);
  process.getBuiltinModule = ((id: string) =>
    id in modules ? modules[id] : real(id)) as typeof process.getBuiltinModule;
}

function fakeWorkerThreads(hold = false): FakeNodeWorker[] {
  FakeNodeWorker.made = [];
  class Worker extends FakeNodeWorker {
    constructor(url: URL, options: unknown) {
      super(url, options);
      this.hold = hold;
    }
  }
  builtins({ "node:worker_threads": { Worker } });
  return FakeNodeWorker.made;
}

describe("the worker_threads pool", () => {
  it("a worker count starts that many workers of workers/node.ts, encode's with a 24 MB heap cap", async () => {
    const made = fakeWorkerThreads();
    const data = Uint8Array.from({ length: 300_000 }, (_, i) => i % 251);
    const sinks = Array.from({ length: 3 }, () => ({ write: () => {} }));
    const r = await within(
      encodeFile(data, {
        dataShards: 2,
        totalShards: 3,
        workers: 3,
        sinks,
      }),
      5000,
    );
    expect(r.shards).toHaveLength(3);
    expect(made).toHaveLength(3);
    for (const w of made) {
      expect(w.url.href).toBe(new URL("../src/pipeline/workers/node.ts", import.meta.url).href);
      expect(w.options).toEqual({
        resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 24 },
      });
      expect(w.terminated).toBe(true); // the call's own pool is closed after it
    }
  });

  it("a worker keeps the process alive only while it has tasks", async () => {
    const made = fakeWorkerThreads(true);
    const pool = createPipelinePool({ size: 2 });
    const run = pool.run(encodeTask(0, plain(0)));
    await turn();
    expect(made.map((w) => w.refed)).toEqual([true, false]);
    expect(made[0]!.options).toEqual({
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: undefined },
    });
    made[0]!.answer();
    await expect(within(run)).resolves.toMatchObject({ id: 0 });
    expect(made.map((w) => w.refed)).toEqual([false, false]);
    await pool.close();
  });

  it("a worker that fails or exits by itself fails its tasks in words; one stopped by close() does not", async () => {
    const made = fakeWorkerThreads(true);
    const pool = createPipelinePool({ size: 1 });
    const first = pool.run(encodeTask(0, plain(0)));
    await turn();
    made[0]!.emit("exit", 134);
    await expect(within(first)).rejects.toThrow("pipeline worker exited with code 134");
    const second = pool.run(encodeTask(1, plain(1)));
    await turn();
    const boom = new Error("uncaught in worker");
    made[1]!.emit("error", boom);
    await expect(within(second)).rejects.toBe(boom);
    expect(made).toHaveLength(3);
    const third = pool.run(encodeTask(2, plain(2)));
    await turn();
    made[2]!.answer();
    await expect(within(third)).resolves.toMatchObject({ id: 2 });
    await pool.close();
    expect(made.map((w) => w.terminated)).toEqual([true, true, true]);
  });

  it("without worker_threads a pool runs inline", async () => {
    builtins({ "node:worker_threads": undefined });
    const pool = createPipelinePool({ size: 4 });
    expect(pool.concurrency).toBe(1);
    await expect(within(pool.run(encodeTask(0, plain(0))))).resolves.toMatchObject({ id: 0 });
    await pool.close();
  });
});

describe("pool sizes and the default runner", () => {
  const factory = sameThreadFactory().factory;

  it("a pool with a factory has one worker per core by default, or the size given", async () => {
    const sized = createPipelinePool({ size: 2, factory });
    expect(sized.concurrency).toBe(2);
    await expect(within(sized.run(encodeTask(0, plain(0))))).resolves.toMatchObject({ id: 0 });
    await sized.close();
    vi.stubGlobal("navigator", { hardwareConcurrency: availableParallelism() + 5 });
    expect(createPipelinePool({ factory }).concurrency).toBe(availableParallelism());
  });

  it("size 0 runs tasks on the calling thread and never starts a worker", async () => {
    const started = vi.fn(factory);
    const inline = createPipelinePool({ size: 0, factory: started });
    expect(inline.concurrency).toBe(1);
    await expect(within(inline.run(encodeTask(0, plain(0))))).resolves.toMatchObject({ id: 0 });
    expect(started).not.toHaveBeenCalled();
  });

  it("without node:os, the browser's hardwareConcurrency, else 1", () => {
    builtins({ "node:os": undefined });
    vi.stubGlobal("navigator", { hardwareConcurrency: 6 });
    expect(createPipelinePool({ factory }).concurrency).toBe(6);
    vi.stubGlobal("navigator", { hardwareConcurrency: 0 });
    expect(createPipelinePool({ factory }).concurrency).toBe(1);
    vi.stubGlobal("navigator", undefined);
    expect(createPipelinePool({ factory }).concurrency).toBe(1);
    builtins({ "node:os": {} }); // a Node before os.availableParallelism
    vi.stubGlobal("navigator", { hardwareConcurrency: 3 });
    expect(createPipelinePool({ factory }).concurrency).toBe(3);
  });

  async function freshDefaultRunner(): Promise<() => TaskRunner> {
    vi.resetModules();
    return (await import("../src/pipeline/pool.ts")).getDefaultRunner;
  }

  it("the default runner is one shared worker_threads pool of one worker per core", async () => {
    const made = fakeWorkerThreads();
    const getDefaultRunner = await freshDefaultRunner();
    const runner = getDefaultRunner();
    expect(getDefaultRunner()).toBe(runner);
    expect(runner.concurrency).toBe(availableParallelism());
    await expect(within(runner.run(encodeTask(0, plain(0))))).resolves.toMatchObject({ id: 0 });
    expect(made).toHaveLength(availableParallelism());
    await runner.close();
  });

  it("without worker_threads the default runner is inline", async () => {
    builtins({ "node:worker_threads": undefined });
    const getDefaultRunner = await freshDefaultRunner();
    const runner = getDefaultRunner();
    expect(runner.concurrency).toBe(1);
    expect(getDefaultRunner()).toBe(runner);
    await expect(within(runner.run(encodeTask(0, plain(0))))).resolves.toMatchObject({ id: 0 });
  });
});

describe("the Web Worker pool", () => {
  class FakeWebWorker {
    static made: FakeWebWorker[] = [];
    onmessage: ((ev: { data: WorkerReply }) => void) | null = null;
    onerror: ((ev: { message?: string }) => void) | null = null;
    terminated = false;
    readonly url: URL | string;
    readonly options: unknown;
    constructor(url: URL | string, options: unknown) {
      this.url = url;
      this.options = options;
      FakeWebWorker.made.push(this);
    }
    postMessage(m: Task, t: ArrayBuffer[]): void {
      const task = deliver(m, t);
      setTimeout(() => {
        const { reply, transfer } = handleTask(task);
        this.onmessage?.({ data: deliver(reply, transfer) });
      });
    }
    terminate(): void {
      this.terminated = true;
    }
  }

  it("runs tasks on module workers of the given URL", async () => {
    FakeWebWorker.made = [];
    vi.stubGlobal("Worker", FakeWebWorker);
    const url = "https://app.example/assets/web-worker.js";
    const pool = createWorkerPool({ factory: getWebWorkerFactory(url), size: 2 });
    const results = await within(
      Promise.all([0, 1, 2].map((i) => pool.run(encodeTask(i, plain(i))))),
    );
    expect(results.map((r) => r.id)).toEqual([0, 1, 2]);
    expect((results[2] as EncodeResult).stripe).toEqual(
      (runTask(encodeTask(2, plain(2))) as EncodeResult).stripe,
    );
    expect(FakeWebWorker.made.map((w) => [w.url, w.options])).toEqual([
      [url, { type: "module" }],
      [url, { type: "module" }],
    ]);
    await pool.close();
    expect(FakeWebWorker.made.map((w) => w.terminated)).toEqual([true, true]);
  });

  it("a worker's error fails its task with the error's message, or in words when it has none", async () => {
    FakeWebWorker.made = [];
    vi.stubGlobal("Worker", FakeWebWorker);
    const pool = createWorkerPool({ factory: getWebWorkerFactory("/w.js"), size: 1 });
    const first = pool.run(encodeTask(0, plain(0)));
    FakeWebWorker.made[0]!.onerror!({ message: "Uncaught RangeError: out of memory" });
    await expect(within(first)).rejects.toThrow("Uncaught RangeError: out of memory");
    const second = pool.run(encodeTask(1, plain(1)));
    FakeWebWorker.made[1]!.onerror!({});
    await expect(within(second)).rejects.toThrow("pipeline worker failed");
    await pool.close();
  });

  it("is refused where there are no Web Workers", () => {
    vi.stubGlobal("Worker", undefined);
    expect(() => getWebWorkerFactory("/w.js")).toThrow("Web Workers are not available here");
  });
});
