// Runs the pipeline's Web Worker entry (workers/web.ts) inside a worker thread made to look like
// a browser worker: `onmessage`/`postMessage` globals, and no way to reach node: builtins
// (`process.getBuiltinModule` removed), so only the portable code paths can run.
import { parentPort } from "node:worker_threads";

const port = parentPort!;
const g = globalThis as unknown as {
  process: { getBuiltinModule?: unknown };
  postMessage: (m: unknown, t: ArrayBuffer[]) => void;
  onmessage: ((ev: { data: unknown }) => void) | null;
};
g.process.getBuiltinModule = undefined;
g.postMessage = (m, t) => port.postMessage(m, t);
await import("../src/pipeline/workers/web.ts");
port.on("message", (data) => g.onmessage?.({ data }));
