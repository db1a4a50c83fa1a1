// Runs pipeline tasks: inline on the calling thread, or on a pool of workers (worker_threads in
// Node, Web Workers in browsers) behind one small interface. Buffers are transferred, not copied.
import { runTask, transferablesOf, type Task, type TaskResult } from "./tasks.ts";
import type { WorkerReply } from "./workers/serve.ts";

/** Something that runs stripe tasks and returns their results (in any order of completion). */
export interface TaskRunner {
  /** How many tasks it runs at once; the pipeline keeps about twice that many stripes in flight. */
  readonly concurrency: number;
  run(task: Task): Promise<TaskResult>;
  /** Stops the workers. A closed runner rejects new tasks. */
  close(): Promise<void>;
}

/** The host-specific handle of one worker. */
export interface WorkerHandle {
  postMessage(message: Task, transfer: ArrayBuffer[]): void;
  /** Registers the reply and failure callbacks (called once, right after creation). */
  listen(onReply: (reply: WorkerReply) => void, onFailure: (error: Error) => void): void;
  /** Keeps the process alive while tasks are outstanding (Node); a no-op in browsers. */
  setBusy(busy: boolean): void;
  terminate(): void | Promise<unknown>;
}

/** Creates one worker running workers/node.ts or workers/web.ts. */
export type WorkerFactory = () => WorkerHandle;

/** Runs every task synchronously on the calling thread (no workers): browsers without a pool, tests. */
export function createInlineRunner(): TaskRunner {
  return {
    concurrency: 1,
    async run(task) {
      return runTask(task);
    },
    async close() {},
  };
}

/** Error rebuilt from a worker's reply: keeps the original `name` so callers can branch on it. */
class WorkerTaskError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export interface WorkerPoolOptions {
  /** Creates a worker. */
  factory: WorkerFactory;
  /** Number of workers. */
  size: number;
  /**
   * Tasks queued on each worker at once, so it never waits for the next message.
   * @default 2
   */
  tasksPerWorker?: number;
}

interface Pending {
  /** The caller's task id, restored on the result (ids are only unique per pipeline call). */
  callerId: number;
  resolve: (r: TaskResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: WorkerHandle;
  /** By pool-wide message id. */
  outstanding: Map<number, Pending>;
}

/** A fixed pool of workers; each task goes to the least busy worker, queued beyond that. */
export function createWorkerPool(options: WorkerPoolOptions): TaskRunner {
  const perWorker = options.tasksPerWorker ?? 2;
  const slots: Slot[] = [];
  const queue: { task: Task; resolve: (r: TaskResult) => void; reject: (e: Error) => void }[] = [];
  let closed = false;
  let nextMessageId = 0;

  function spawn(): Slot {
    const slot: Slot = { worker: options.factory(), outstanding: new Map() };
    slot.worker.listen(
      (reply) => {
        const pending = slot.outstanding.get(reply.id);
        if (pending === undefined) return;
        slot.outstanding.delete(reply.id);
        if (slot.outstanding.size === 0) slot.worker.setBusy(false);
        if (reply.type === "error") pending.reject(new WorkerTaskError(reply.name, reply.message));
        else pending.resolve({ ...reply, id: pending.callerId });
        pump();
      },
      (error) => {
        // A crashed worker fails its tasks and is replaced.
        const i = slots.indexOf(slot);
        for (const p of slot.outstanding.values()) p.reject(error);
        slot.outstanding.clear();
        void slot.worker.terminate();
        if (i >= 0 && !closed) slots[i] = spawn();
        pump();
      },
    );
    return slot;
  }

  function pump(): void {
    while (queue.length > 0 && slots.length > 0) {
      let best: Slot | undefined;
      for (const s of slots)
        if (best === undefined || s.outstanding.size < best.outstanding.size) best = s;
      if (best === undefined || best.outstanding.size >= perWorker) return;
      const { task, resolve, reject } = queue.shift()!;
      // Several pipeline calls may share the pool: messages get pool-wide ids.
      const messageId = nextMessageId++;
      best.outstanding.set(messageId, { callerId: task.id, resolve, reject });
      best.worker.setBusy(true);
      try {
        best.worker.postMessage({ ...task, id: messageId }, transferablesOf(task));
      } catch (err) {
        // Not sent (e.g. a buffer that cannot be cloned): the worker must not stay marked busy.
        best.outstanding.delete(messageId);
        if (best.outstanding.size === 0) best.worker.setBusy(false);
        reject(err as Error);
      }
    }
  }

  return {
    concurrency: options.size,
    run(task) {
      if (closed) return Promise.reject(new Error("worker pool is closed"));
      if (slots.length === 0) for (let i = 0; i < options.size; i++) slots.push(spawn());
      return new Promise<TaskResult>((resolve, reject) => {
        queue.push({ task, resolve, reject });
        pump();
      });
    },
    async close() {
      closed = true;
      const err = new Error("worker pool closed");
      for (const q of queue.splice(0)) q.reject(err);
      await Promise.all(
        slots.splice(0).map((s) => {
          for (const p of s.outstanding.values()) p.reject(err);
          return s.worker.terminate();
        }),
      );
    },
  };
}

interface NodeWorker {
  postMessage(value: unknown, transfer?: readonly ArrayBuffer[]): void;
  on(event: "message", cb: (m: WorkerReply) => void): void;
  on(event: "error", cb: (e: Error) => void): void;
  on(event: "exit", cb: (code: number) => void): void;
  ref(): void;
  unref(): void;
  terminate(): Promise<number>;
}
interface WorkerThreadsModule {
  Worker: new (
    url: URL,
    options?: { resourceLimits?: Record<string, number | undefined> },
  ) => NodeWorker;
}

function getBuiltin<T>(id: string): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return proc?.getBuiltinModule?.(id) as T | undefined;
}

/**
 * worker_threads factory, or undefined outside Node. Reached through getBuiltinModule (no static
 * node: import). `maxOldGenerationSizeMb` caps each worker's old generation (V8's default if
 * unset).
 */
export function getNodeWorkerFactory(maxOldGenerationSizeMb?: number): WorkerFactory | undefined {
  const wt = getBuiltin<WorkerThreadsModule>("node:worker_threads");
  if (wt === undefined) return undefined;
  const url = new URL("./workers/node.ts", import.meta.url);
  return () => {
    // A small young generation (the old one keeps V8's default: a small one cost decode ~50%
    // more CPU in garbage collection). A worker's JS garbage is the native cipher's per-chunk
    // buffers, which hold 64 KiB each outside the heap until a scavenge: since the segment
    // trees run in WebAssembly, little else is allocated, scavenges were rare and each worker
    // held ~40 MB of dead buffers. With 2 MB, encoding and decoding 1 GiB peaked at ~255 and
    // ~270 MB of RSS instead of ~330, using ~15% less CPU (December 2026).
    const w = new wt.Worker(url, {
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb },
    });
    let exited = false;
    return {
      postMessage: (m, t) => w.postMessage(m, t),
      listen(onReply, onFailure) {
        w.on("message", onReply);
        w.on("error", onFailure);
        w.on("exit", (code) => {
          if (!exited) onFailure(new Error(`pipeline worker exited with code ${code}`));
        });
        // An idle worker must not keep the process alive. Adding a "message" listener refs the
        // worker's port again, so unref only now that the listeners are on (setBusy refs it
        // while tasks are outstanding).
        w.unref();
      },
      setBusy: (busy) => (busy ? w.ref() : w.unref()),
      terminate: () => {
        exited = true;
        return w.terminate();
      },
    };
  };
}

/** Web Worker factory for browsers (module workers), given the URL of workers/web.ts as bundled. */
export function getWebWorkerFactory(workerUrl: URL | string): WorkerFactory {
  interface WebWorker {
    postMessage(m: unknown, t: ArrayBuffer[]): void;
    onmessage: ((ev: { data: WorkerReply }) => void) | null;
    onerror: ((ev: { message?: string }) => void) | null;
    terminate(): void;
  }
  const Ctor = (
    globalThis as unknown as { Worker?: new (url: URL | string, o: object) => WebWorker }
  ).Worker;
  if (Ctor === undefined) throw new Error("Web Workers are not available here");
  return () => {
    const w = new Ctor(workerUrl, { type: "module" });
    return {
      postMessage: (m, t) => w.postMessage(m, t),
      listen(onReply, onFailure) {
        w.onmessage = (ev) => onReply(ev.data);
        w.onerror = (ev) => onFailure(new Error(ev.message ?? "pipeline worker failed"));
      },
      setBusy() {},
      terminate: () => w.terminate(),
    };
  };
}

/** Cores available to this process (Node), else navigator.hardwareConcurrency, else 1. */
export function getAvailableParallelism(): number {
  const os = getBuiltin<{ availableParallelism?: () => number }>("node:os");
  const n =
    os?.availableParallelism?.() ??
    (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
      ?.hardwareConcurrency ??
    1;
  return Math.max(1, n);
}

let sharedPool: TaskRunner | undefined;

/**
 * The runner used when a call names none: in Node a shared pool of worker threads, one per core
 * (started on first use, idle workers do not keep the process alive); elsewhere inline.
 */
export function getDefaultRunner(): TaskRunner {
  if (sharedPool !== undefined) return sharedPool;
  const factory = getNodeWorkerFactory();
  sharedPool =
    factory === undefined
      ? createInlineRunner()
      : createWorkerPool({ factory, size: getAvailableParallelism() });
  return sharedPool;
}
