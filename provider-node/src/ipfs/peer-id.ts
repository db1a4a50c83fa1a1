// The node's libp2p identity without starting it: the key Helia keeps in the datastore (created
// on first use), so `init` and `register` know the PeerId before the node ever runs. A running
// node holds the datastore's lock and writes its PeerId to `<dataDir>/peer-id` (public, not the
// key), which `register` reads while the node runs.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { loadOrCreateSelfKey } from "@libp2p/config";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";

import { DatastoreInUseError, openDatastore } from "./datastore.ts";

const peerIdFile = (dataDir: string) => join(dataDir, "peer-id");

/** Records a running node's PeerId for commands run beside it. */
export function writePeerIdFile(dataDir: string, peerId: string): void {
  writeFileSync(peerIdFile(dataDir), `${peerId}\n`);
}

/** The node's PeerId, created with its key on first use and kept in the datastore. */
export async function loadPeerId(dataDir: string): Promise<string> {
  let ds;
  try {
    ds = await openDatastore(dataDir);
  } catch (e) {
    if (!(e instanceof DatastoreInUseError)) throw e;
    try {
      return readFileSync(peerIdFile(dataDir), "utf8").trim();
    } catch {
      throw e;
    }
  }
  try {
    return peerIdFromPrivateKey(await loadOrCreateSelfKey(ds)).toString();
  } finally {
    await ds.close();
  }
}
