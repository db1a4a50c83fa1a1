// Node-only helpers (node:fs): shard files as sinks and sources. Import from
// "@coop-cloud/sdk/pipeline/node.ts"; the rest of the pipeline stays browser-safe.
import { open, type FileHandle } from "node:fs/promises";
import type { ByobSource, ShardSink } from "./io.ts";

/** A sink writing one shard to a file (created or truncated). Done with each write's bytes when it settles. */
export async function createFileSink(path: string): Promise<ShardSink> {
  const fh = await open(path, "w");
  return {
    releasesBytes: true,
    async write(bytes) {
      let off = 0;
      while (off < bytes.length)
        off += (await fh.write(bytes, off, bytes.length - off)).bytesWritten;
    },
    close: () => fh.close(),
    abort: () => fh.close(),
  };
}

/**
 * A shard file as a byte source for decodeFile: read straight into the pipeline's stripe
 * buffers (no allocation per read). Opened on first read, closed at the end.
 */
export function readShardFile(path: string): ByobSource {
  let fh: FileHandle | undefined;
  let closed = false;
  return {
    async read(dst) {
      if (closed) return 0;
      fh ??= await open(path, "r");
      return (await fh.read(dst, 0, dst.length, null)).bytesRead;
    },
    async close() {
      closed = true;
      await fh?.close();
      fh = undefined;
    },
  };
}
