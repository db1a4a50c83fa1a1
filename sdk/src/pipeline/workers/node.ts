// worker_threads entry of the pipeline pool (Node, Deno, Bun).
import { parentPort } from "node:worker_threads";
import type { Task } from "../tasks.ts";
import { handleTask } from "./serve.ts";

const port = parentPort;
if (port === null) throw new Error("pipeline worker started outside a worker thread");
port.on("message", (task: Task) => {
  const { reply, transfer } = handleTask(task);
  port.postMessage(reply, transfer);
});
