// Where put keeps the encoded shards between encoding and upload (and the journal that lets an
// interrupted put resume). Browsers and small files: memory; Node: a folder (sdk/src/node/staging.ts).
import type { ShardSink } from "../pipeline/index.ts";
import { concatBytes } from "../pipeline/io.ts";
import type { PutJournal } from "./put.ts";

/** Staged shards of one put, plus its journal. */
export interface ShardStaging {
  /** Where encodeFile writes shard `index` (a sink, or a promise of one). */
  sink(index: number): ShardSink | Promise<ShardSink>;
  /** Shard `index`'s bytes, for one upload attempt (called again for each retry). */
  open(index: number): Promise<ReadableStream<Uint8Array> | Uint8Array>;
  /** Records the journal (plain JSON, never a key); called whenever it changes. */
  saveJournal(journal: PutJournal): Promise<void>;
  /** The last journal saved, if any. */
  loadJournal(): Promise<PutJournal | undefined>;
  /** Deletes the staged shards and the journal (once every shard is accepted). */
  clear(): Promise<void>;
}

/** Shards staged in memory: for browsers and small files (holds n × shard size bytes). */
export function createMemoryStaging(): ShardStaging {
  const shards = new Map<number, Uint8Array[]>();
  let journal: string | undefined;
  return {
    sink(index) {
      const parts: Uint8Array[] = [];
      shards.set(index, parts);
      return { write: (bytes) => void parts.push(new Uint8Array(bytes)) };
    },
    async open(index) {
      const parts = shards.get(index);
      if (parts === undefined) throw new Error(`shard ${index} is not staged`);
      return concatBytes(parts);
    },
    async saveJournal(j) {
      journal = JSON.stringify(j);
    },
    async loadJournal() {
      return journal === undefined ? undefined : (JSON.parse(journal) as PutJournal);
    },
    async clear() {
      shards.clear();
      journal = undefined;
    },
  };
}
