// Bitswap as the second way to a shard (Node): when a provider's HTTP gateway fails, getFile
// asks the same provider's libp2p node for the shard's blocks by CID. Each fetch runs its own
// light Helia node that listens nowhere, dials the holder's registered multiaddrs and keeps no
// blocks: each block is checked against its CID by Helia as it arrives, handed on, and
// forgotten, so a 4 GiB shard costs no more memory than a small one. One node per fetch, with a
// fresh peer id, because a peer that asks again for a block it was already sent gets no answer
// (seen with Helia 7's bitswap: the second fetch of a CID by the same node times out), and a get
// that restarts its decode asks again. Helia and libp2p load on the first fetch only: most gets
// never need them, and loaded they hold ~60 MB of a `coop get`'s memory.
import type { ServiceMap } from "@libp2p/interface";
import type { ServiceFactoryMap } from "libp2p";
import { CID } from "multiformats/cid";

import type { ShardFallback } from "../client/get.ts";

/** Helia, libp2p and a blockstore that holds nothing, loaded once, on the first fetch. */
let modules: ReturnType<typeof loadModules> | undefined;
async function loadModules() {
  const [bitswap, heliaLibp2p, fs, identify, noise, tcp, ws, yamux, ma, blocks, data, helia] =
    await Promise.all([
      import("@helia/bitswap"),
      import("@helia/libp2p"),
      import("@helia/unixfs"),
      import("@libp2p/identify"),
      import("@libp2p/noise"),
      import("@libp2p/tcp"),
      import("@libp2p/websockets"),
      import("@libp2p/yamux"),
      import("@multiformats/multiaddr"),
      import("blockstore-core"),
      import("datastore-core"),
      import("helia"),
    ]);
  /** Helia fetches every block from the network and passes it on; nothing is kept. */
  class PassThroughBlockstore extends blocks.MemoryBlockstore {
    override has(): boolean {
      return false;
    }
    override put(key: CID): CID {
      return key;
    }
  }
  const start = async () => {
    const node = bitswap.withBitswap(
      heliaLibp2p.withLibp2pLight(
        helia.createHeliaLight({
          blockstore: new PassThroughBlockstore(),
          datastore: new data.MemoryDatastore(),
        }),
        {
          addresses: { listen: [] },
          transports: [tcp.tcp(), ws.webSockets()],
          connectionEncrypters: [noise.noise()],
          streamMuxers: [yamux.yamux()],
          services: { identify: identify.identify() } as unknown as ServiceFactoryMap<ServiceMap>,
        },
      ),
    );
    await node.start();
    return node;
  };
  return { start, unixfs: fs.unixfs, multiaddr: ma.multiaddr };
}

export interface BitswapFallbackOptions {
  /** Milliseconds to wait for one dial. @default 5000 */
  dialTimeoutMs?: number;
}

/** A shard source over bitswap for getFile's `fallback` option; `close()` it when done. */
export function createBitswapFallback(options: BitswapFallbackOptions = {}): ShardFallback & {
  close(): Promise<void>;
} {
  const running = new Set<{ stop(): Promise<unknown> }>();
  return {
    name: "bitswap",
    async *fetchShard(cid, peers, { signal, onBytes } = {}) {
      const { start, unixfs, multiaddr } = await (modules ??= loadModules());
      const helia = await start();
      running.add(helia);
      try {
        let reached = 0;
        for (const a of peers) {
          try {
            await helia.libp2p.dial(multiaddr(a), {
              signal: AbortSignal.any([
                AbortSignal.timeout(options.dialTimeoutMs ?? 5000),
                ...(signal ? [signal] : []),
              ]),
            });
            reached++;
          } catch {
            // another address of the holder may answer
          }
        }
        if (reached === 0)
          throw new Error(
            `no libp2p address of the holder answered (${peers.join(", ") || "none registered"})`,
          );
        let bytes = 0;
        for await (const chunk of unixfs(helia).cat(CID.parse(cid), { signal })) {
          bytes += chunk.length;
          onBytes?.(bytes);
          yield chunk;
        }
      } finally {
        running.delete(helia);
        await helia.stop();
      }
    },
    /** Stops the nodes of fetches still running (a fetch stops its own node when it ends). */
    async close() {
      await Promise.all([...running].map((h) => h.stop()));
      running.clear();
    },
  };
}
