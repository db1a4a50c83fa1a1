"use client";
// Pools of Web Workers for the sdk's pipeline (encode on upload, decode on download), so the page
// stays responsive while files are encrypted, erasure-coded and hashed. One pool per operation,
// closed when it ends (idle workers hold their heaps).
import {
  createWorkerPool,
  type TaskRunner,
  type WorkerFactory,
} from "@coop-cloud/sdk/pipeline/pool.ts";

// `new Worker(new URL(…, import.meta.url))` written out here, so the bundler sees the worker
// entry and builds it as a chunk of its own.
const factory: WorkerFactory = () => {
  const w = new Worker(new URL("../workers/pipeline.worker.ts", import.meta.url), {
    type: "module",
    name: "coop-pipeline",
  });
  return {
    postMessage: (m, t) => w.postMessage(m, t),
    listen(onReply, onFailure) {
      w.onmessage = (ev) => onReply(ev.data);
      w.onerror = (ev) => {
        ev.preventDefault();
        onFailure(new Error(ev.message || "a pipeline worker failed to start"));
      };
    },
    setBusy() {},
    terminate: () => w.terminate(),
  };
};

/** Workers to use: the cores the browser reports, at most 4 (memory), at least 1. */
export function pipelineWorkers(): number {
  const cores = typeof navigator === "undefined" ? 1 : (navigator.hardwareConcurrency ?? 1);
  return Math.max(1, Math.min(4, cores));
}

/** A fresh pool of Web Workers; close it when the operation ends. */
export function createBrowserPipeline(size = pipelineWorkers()): TaskRunner {
  return createWorkerPool({ factory, size });
}
