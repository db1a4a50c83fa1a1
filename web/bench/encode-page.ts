// The browser side of the encode benchmark (bundled by web.bench.ts with esbuild): the sdk's
// encodeFile over a pool of Web Workers running the sdk's worker entry, on data generated in the
// page, shards to null sinks. window.runEncode(mib) → { ms, workers }.
import { encodeFile } from "@coop-cloud/sdk/pipeline/encode.ts";
import { createWorkerPool, getWebWorkerFactory } from "@coop-cloud/sdk/pipeline/pool.ts";

const MiB = 1024 * 1024;

/** `total` bytes in 1 MiB pieces from a 16 MiB random pool, a counter stamped in each piece. */
function* pieces(total: number): Generator<Uint8Array> {
  const poolSize = 16 * MiB;
  const pool = new Uint8Array(poolSize + MiB);
  for (let o = 0; o < pool.length; o += 65536) crypto.getRandomValues(pool.subarray(o, o + 65536));
  const view = new DataView(pool.buffer);
  let counter = 0;
  for (let off = 0; off < total; off += MiB) {
    const at = (off % poolSize) & ~7;
    view.setFloat64(at, counter++);
    yield pool.subarray(at, at + Math.min(MiB, total - off));
  }
}

async function runEncode(mib: number): Promise<{ ms: number; workers: number }> {
  const workers = navigator.hardwareConcurrency || 1;
  const pool = createWorkerPool({
    factory: getWebWorkerFactory(new URL("./worker.js", location.href)),
    size: workers,
  });
  try {
    await encodeFile(pieces(16 * MiB), { workers: pool }); // warm-up: workers up, code compiled
    const t0 = performance.now();
    await encodeFile(pieces(mib * MiB), { workers: pool });
    return { ms: performance.now() - t0, workers };
  } finally {
    await pool.close();
  }
}

(window as unknown as { runEncode: typeof runEncode }).runEncode = runEncode;
