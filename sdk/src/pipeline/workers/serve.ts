// The message loop of a pipeline worker, independent of the host: Node's worker_threads entry
// (node.ts) and the browser's Web Worker entry (web.ts) each wire it to their own port.
import { runTask, transferablesOf, type Task, type TaskResult } from "../tasks.ts";

/** What a worker sends back when a task throws: the error's name and message survive the trip. */
export interface TaskError {
  type: "error";
  id: number;
  name: string;
  message: string;
}

export type WorkerReply = TaskResult | TaskError;

/** Runs one task message; never throws (errors become a TaskError reply). */
export function handleTask(task: Task): { reply: WorkerReply; transfer: ArrayBuffer[] } {
  try {
    const reply = runTask(task);
    return { reply, transfer: transferablesOf(reply) };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return {
      reply: { type: "error", id: task.id, name: e.name, message: e.message },
      transfer: [],
    };
  }
}
