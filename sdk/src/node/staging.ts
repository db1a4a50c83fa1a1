// Shards staged in a folder (Node): what the CLI uses, so a put of any size holds no shard in
// memory and an interrupted put resumes from the folder's journal.json.
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";

import type { ShardStaging } from "../client/staging.ts";
import type { PutJournal } from "../client/put.ts";
import { createFileSink } from "../pipeline/node.ts";

/**
 * Stages shards as files `shard-<i>` in `dir` (created if missing) beside `journal.json`.
 * `clear()` removes the folder.
 */
export function createFolderStaging(dir: string): ShardStaging {
  const shardPath = (i: number) => join(dir, `shard-${i}`);
  const journalPath = join(dir, "journal.json");
  let saving: Promise<unknown> = Promise.resolve();
  return {
    async sink(index) {
      await mkdir(dir, { recursive: true });
      return createFileSink(shardPath(index));
    },
    async open(index) {
      const stream = createReadStream(shardPath(index), { highWaterMark: 1 << 18 });
      await new Promise<void>((resolve, reject) => {
        stream.once("open", () => resolve());
        stream.once("error", (e) =>
          reject(new Error(`shard ${index} is not staged in ${dir}: ${e.message}`)),
        );
      });
      return Readable.toWeb(stream) as ReadableStream<Uint8Array>;
    },
    saveJournal(journal: PutJournal) {
      // One write at a time, each whole (temporary file + rename), in the order asked.
      const text = JSON.stringify(journal, null, 2);
      const write = saving.then(async () => {
        await mkdir(dir, { recursive: true });
        const tmp = `${journalPath}.tmp`;
        await writeFile(tmp, text);
        await rename(tmp, journalPath);
      });
      saving = write.catch(() => undefined);
      return write;
    },
    async loadJournal() {
      try {
        return JSON.parse(await readFile(journalPath, "utf8")) as PutJournal;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
      }
    },
    async clear() {
      await saving;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
