// The block store's garbage collection against an import under way: a shard's blocks are
// written before its pin records, and another shard's drop runs gc, which deletes every block
// not pinned. A gc must wait for imports in flight, or it deletes a shard being accepted.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { configSchema } from "../src/config.ts";
import { startIpfsNode, type IpfsNode } from "../src/ipfs/node.ts";
import { receiveShard } from "../src/store/ingest.ts";
import { ShardStore } from "../src/store/shards.ts";
import { freePort } from "./fixtures/provider.ts";

const MiB = 2 ** 20;
let dir: string;
let ipfs: IpfsNode;
let store: ShardStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "coop-store-gc-"));
  const config = configSchema.parse({
    dataDir: dir,
    chain: { rpcUrl: "http://127.0.0.1:1", market: `0x${"11".repeat(20)}` },
    ipfs: { tcpPort: await freePort(), wsPort: await freePort() },
  });
  ipfs = await startIpfsNode(config);
  store = new ShardStore(dir, ipfs);
});

afterAll(async () => {
  await ipfs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("gc during an import", () => {
  it("keeps every block of the shard being imported, and still deletes what is unpinned", async () => {
    // A stray unpinned block: gc must still remove it.
    const stray = await receiveShard([randomBytes(MiB)], join(store.tmpDir, "stray"), {
      maxBytes: MiB,
      cacheLevel: 6,
      hashWorkers: 0,
    });
    await ipfs.helia.blockstore.put(stray.cid, randomBytes(16));
    for (let round = 1; round <= 3; round++) {
      const data = randomBytes(32 * MiB);
      const tmp = join(store.tmpDir, `upload-${round}`);
      const got = await receiveShard([data], tmp, {
        maxBytes: data.length,
        cacheLevel: 6,
        hashWorkers: 0,
      });
      const importing = store.importShard(BigInt(round), 0, tmp, got);
      await new Promise((r) => setImmediate(r)); // the import has started writing blocks
      await Promise.all([importing, store.gc()]);
      const blocks = [got.cid, ...got.nodes.map((n) => n.cid), ...got.leaves];
      const missing = [];
      for (const c of blocks) if (!(await ipfs.blockstore.has(c))) missing.push(c.toString());
      expect(missing, `round ${round}: ${missing.length} of ${blocks.length} blocks gone`).toEqual(
        [],
      );
    }
    expect(await ipfs.blockstore.has(stray.cid)).toBe(false);
  });
});
