// Worker-thread body for erasure-worker.test.ts: plain Node 24 (type stripping, no bundler)
// running the SDK sources on a transferred stripe, as the pipeline's workers will.
import { parentPort } from "node:worker_threads";
import { createReedSolomon, encodeStripe } from "../src/erasure/index.ts";
import { SegmentTreeBuilder } from "../src/merkle/index.ts";
import { UnixfsCidBuilder } from "../src/cid/index.ts";

const port = parentPort!;
port.on("message", (msg: { data: Uint8Array; blockSize: number; k: number; n: number }) => {
  const codec = createReedSolomon({ dataShards: msg.k, totalShards: msg.n });
  const blocks = encodeStripe(codec, {
    index: 0,
    blockSize: msg.blockSize,
    dataBytes: msg.data.length,
    data: msg.data,
  });
  const roots = blocks.map((b) => {
    const t = new SegmentTreeBuilder();
    t.update(b);
    return t.finish().root;
  });
  const cids = blocks.map((b) => {
    const c = new UnixfsCidBuilder();
    c.update(b);
    return c.finish().cid.toString();
  });
  const parity = blocks.slice(msg.k).map((b) => b.slice());
  port.postMessage(
    { parity, roots, cids },
    parity.map((p) => p.buffer),
  );
});
