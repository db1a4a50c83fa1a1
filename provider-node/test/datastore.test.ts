// The node's datastore (LevelDB): a data folder made when the datastore was one file per key is
// moved over on first start with nothing lost (the PeerId a member registered on-chain, the pins
// that keep its shards from gc), also when that move was cut short; and a running node holds the
// datastore, so `register` beside it reads the PeerId the node wrote, and anything else that
// opens it is told in words.
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { loadOrCreateSelfKey } from "@libp2p/config";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { FsBlockstore } from "blockstore-fs";
import { NextToLast } from "blockstore-fs/sharding";
import { FsDatastore } from "datastore-fs";
import { createHeliaLight } from "helia";
import { Level } from "level";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { afterEach, describe, expect, it } from "vitest";

import { configSchema } from "../src/config.ts";
import { DatastoreInUseError, ipfsPaths, openDatastore } from "../src/ipfs/datastore.ts";
import { startIpfsNode, type IpfsNode } from "../src/ipfs/node.ts";
import { loadPeerId } from "../src/ipfs/peer-id.ts";
import { freePort } from "./fixtures/provider.ts";

const dirs: string[] = [];
const nodes: IpfsNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "coop-datastore-"));
  dirs.push(d);
  return d;
};

async function start(dataDir: string): Promise<IpfsNode> {
  const config = configSchema.parse({
    dataDir,
    chain: { rpcUrl: "http://127.0.0.1:1", market: `0x${"11".repeat(20)}` },
    ipfs: { tcpPort: await freePort(), wsPort: await freePort() },
  });
  const node = await startIpfsNode(config);
  nodes.push(node);
  return node;
}

/** A data folder as nodes wrote it before LevelDB: a libp2p key and a pinned block, in files. */
async function oldDataFolder(dir: string): Promise<{ peerId: string; block: CID }> {
  const paths = ipfsPaths(dir);
  mkdirSync(paths.blocks, { recursive: true });
  const datastore = new FsDatastore(paths.datastore);
  await datastore.open();
  const peerId = peerIdFromPrivateKey(await loadOrCreateSelfKey(datastore)).toString();
  const helia = await createHeliaLight({
    blockstore: new FsBlockstore(paths.blocks, { shardingStrategy: new NextToLast() }),
    datastore,
  });
  const bytes = new TextEncoder().encode("a shard's leaf");
  const block = CID.createV1(raw.code, await sha256.digest(bytes));
  await helia.blockstore.put(block, bytes);
  for await (const _ of helia.pins.add(block));
  await helia.stop();
  await datastore.close();
  return { peerId, block };
}

describe("a data folder from before LevelDB", () => {
  it("keeps its PeerId and pins: the node starts as the same peer and gc keeps the pinned block", async () => {
    const dir = tempDir();
    const old = await oldDataFolder(dir);
    const node = await start(dir);
    expect(node.helia.libp2p.peerId.toString()).toBe(old.peerId);
    expect(await node.helia.pins.isPinned(old.block)).toBe(true);
    await node.helia.gc();
    expect(await node.helia.blockstore.has(old.block)).toBe(true);
    expect(existsSync(`${ipfsPaths(dir).datastore}.files`)).toBe(false);
    expect(existsSync(join(ipfsPaths(dir).datastore, "CURRENT"))).toBe(true);
  });

  it("finishes a move that was cut short (old files and a part-filled LevelDB both there)", async () => {
    const dir = tempDir();
    const old = await oldDataFolder(dir);
    const path = ipfsPaths(dir).datastore;
    // As if the first move stopped after creating the LevelDB and copying one entry.
    renameSync(path, `${path}.files`);
    const db = new Level<string, Uint8Array>(path, { valueEncoding: "view" });
    await db.put("/copied-before-the-stop", new Uint8Array([1]));
    await db.close();
    const again = await openDatastore(dir);
    await again.close();
    expect(existsSync(`${path}.files`)).toBe(false);
    expect(await loadPeerId(dir)).toBe(old.peerId);
    const ds = await openDatastore(dir);
    try {
      const pins = [];
      for await (const key of ds.queryKeys({ prefix: "/pin/" })) pins.push(key.toString());
      expect(pins).toHaveLength(1);
    } finally {
      await ds.close();
    }
  });
});

describe("a running node's datastore", () => {
  it("register beside the node gets its PeerId; opening the datastore says the node holds it", async () => {
    const dir = tempDir();
    const before = await loadPeerId(dir); // `init`: creates the key before the node ever runs
    const node = await start(dir);
    expect(node.helia.libp2p.peerId.toString()).toBe(before);
    expect(await loadPeerId(dir)).toBe(before);
    const opening = openDatastore(dir);
    await expect(opening).rejects.toBeInstanceOf(DatastoreInUseError);
    await expect(opening).rejects.toThrow(/in use by another process \(a running node\): stop it/);
  });
});
