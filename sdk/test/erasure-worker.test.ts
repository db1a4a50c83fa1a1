import { randomBytes } from "node:crypto";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { createReedSolomon, encodeStripe } from "../src/erasure/index.ts";
import { computeSegmentTree } from "../src/merkle/index.ts";
import { computeUnixfsCid } from "../src/cid/index.ts";

describe("in a worker thread", () => {
  it("erasure, segment tree and CID run from the .ts sources on a transferred stripe", async () => {
    const [k, n, blockSize] = [4, 6, 64 * 1024];
    const data = new Uint8Array(randomBytes(k * blockSize));
    const expected = encodeStripe(createReedSolomon({ dataShards: k, totalShards: n }), {
      index: 0,
      blockSize,
      dataBytes: data.length,
      data: data.slice(),
    });
    const worker = new Worker(new URL("./erasure-worker.fixture.ts", import.meta.url));
    try {
      const reply = await new Promise<{
        parity: Uint8Array[];
        roots: Uint8Array[];
        cids: string[];
      }>((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
        worker.postMessage({ data, blockSize, k, n }, [data.buffer]);
      });
      expect(data.byteLength).toBe(0); // transferred, not copied
      expect(reply.parity.map((p) => new Uint8Array(p))).toEqual(expected.slice(k));
      for (let i = 0; i < n; i++) {
        expect(new Uint8Array(reply.roots[i])).toEqual(computeSegmentTree(expected[i]).root);
        expect(reply.cids[i]).toBe((await computeUnixfsCid([expected[i]])).cid.toString());
      }
    } finally {
      await worker.terminate();
    }
  });
});
