// Worker thread of LeafHashers: takes one full 1 MiB UnixFS leaf at a time, read in place from
// the shared buffer the main thread filled, writes it to its file and hashes it: the
// segment-tree nodes at the asked height (what the main thread's SegmentTreeBuilder takes as
// complete subtrees) and the leaf's SHA-256 (its CID).
import { parentPort } from "node:worker_threads";

import { writeAndHashLeaf, type LeafHashReply, type LeafHashRequest } from "./leaf-hashers.ts";

const port = parentPort;
if (port === null) throw new Error("leaf-hash-worker.ts must run in a worker thread");
port.on("message", (m: LeafHashRequest) => {
  let reply: LeafHashReply;
  try {
    const bytes = new Uint8Array(m.buffer, 0, m.length);
    reply = { id: m.id, ...writeAndHashLeaf(bytes, m.path, m.height) };
  } catch (e) {
    reply = { id: m.id, error: (e as Error).message, code: (e as NodeJS.ErrnoException).code };
  }
  port.postMessage(reply);
});
