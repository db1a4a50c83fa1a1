// Web Worker entry of the pipeline pool: `new Worker(new URL("./web.ts", import.meta.url),
// { type: "module" })` in a bundler; the same tasks as in Node, with the portable
// implementations (no node:crypto in browsers).
import type { Task } from "../tasks.ts";
import { handleTask } from "./serve.ts";

interface WorkerScope {
  onmessage: ((ev: { data: Task }) => void) | null;
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (ev) => {
  const { reply, transfer } = handleTask(ev.data);
  scope.postMessage(reply, transfer);
};
