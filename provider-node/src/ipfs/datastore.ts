// Where the node's stores live in its data folder, and the datastore: LevelDB, as in kubo (blocks
// in files, sharded next-to-last; pins, the libp2p key and peer records in LevelDB). A pin writes
// one record per block, and LevelDB takes each in microseconds where one file per record took
// about a millisecond: a 1 GiB shard's 1,025 records were ~1 s of every upload.
// Data folders made before LevelDB kept the datastore as one file per key (datastore-fs): the
// first open copies those entries over (restartable: the old folder goes only after the copy).
import { existsSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";

import { LevelDatastore } from "datastore-level";
import { FsDatastore } from "datastore-fs";
import { Level } from "level";

import { createLogger } from "../log.ts";

/** Folders of the stores inside the data folder. */
export function ipfsPaths(dataDir: string): { blocks: string; datastore: string } {
  return { blocks: join(dataDir, "blocks"), datastore: join(dataDir, "datastore") };
}

/** The data folder's datastore is held by another process (a running node). */
export class DatastoreInUseError extends Error {
  override name = "DatastoreInUseError";
}

/** Opens (creating, or migrating from files) the data folder's datastore. Close it when done. */
export async function openDatastore(dataDir: string): Promise<LevelDatastore> {
  const path = ipfsPaths(dataDir).datastore;
  const old = `${path}.files`;
  // A datastore-fs folder has no LevelDB CURRENT file; an empty folder is a fresh LevelDB.
  if (
    existsSync(path) &&
    !existsSync(join(path, "CURRENT")) &&
    readdirSync(path).length > 0 &&
    !existsSync(old)
  )
    renameSync(path, old);
  const db = new Level<string, Uint8Array>(path, { keyEncoding: "utf8", valueEncoding: "view" });
  try {
    await db.open({ createIfMissing: true, compression: false });
  } catch (e) {
    if ((e as { cause?: { code?: string } }).cause?.code === "LEVEL_LOCKED")
      throw new DatastoreInUseError(
        `the datastore in ${dataDir} is in use by another process (a running node): stop it first`,
        { cause: e },
      );
    throw e;
  }
  const ds = new LevelDatastore(db);
  if (existsSync(old)) {
    try {
      const files = new FsDatastore(old, { createIfMissing: false });
      let n = 0;
      for await (const { key, value } of files.query({})) {
        await ds.put(key, value);
        n++;
      }
      rmSync(old, { recursive: true, force: true });
      createLogger("provider:ipfs").info({ entries: n }, "datastore moved from files to LevelDB");
    } catch (e) {
      await db.close(); // the old folder stays: the next start copies again
      throw e;
    }
  }
  return ds;
}
