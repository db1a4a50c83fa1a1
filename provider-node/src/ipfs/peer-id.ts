// The node's libp2p identity without starting it: the key Helia keeps in the datastore (created
// on first use), so `init` and `register` know the PeerId before the node ever runs.
import { join } from "node:path";

import { loadOrCreateSelfKey } from "@libp2p/config";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { FsDatastore } from "datastore-fs";

/** Folders of the stores inside the data folder. */
export function ipfsPaths(dataDir: string): { blocks: string; datastore: string } {
  return { blocks: join(dataDir, "blocks"), datastore: join(dataDir, "datastore") };
}

/** The node's PeerId, created with its key on first use and kept in the datastore. */
export async function loadPeerId(dataDir: string): Promise<string> {
  const ds = new FsDatastore(ipfsPaths(dataDir).datastore);
  await ds.open();
  try {
    return peerIdFromPrivateKey(await loadOrCreateSelfKey(ds)).toString();
  } finally {
    await ds.close();
  }
}
