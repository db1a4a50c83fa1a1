// The member's Helia node: persistent FsBlockstore + LevelDB datastore under the data folder (the
// libp2p key lives in the datastore, so the PeerId survives restarts), TCP + WebSockets, Noise,
// Yamux, identify and bitswap. Local mode dials only the peers it is given (registered
// multiaddrs); public mode also bootstraps into the IPFS network, runs autoNAT and a DHT client
// that announces the CIDs it holds.
import { mkdirSync } from "node:fs";

import { ipfsPaths, openDatastore } from "./datastore.ts";
import { writePeerIdFile } from "./peer-id.ts";
import { join } from "node:path";

import { autoNAT } from "@libp2p/autonat";
import { bootstrap } from "@libp2p/bootstrap";
import { withBitswap } from "@helia/bitswap";
import { withLibp2pLight, type HeliaWithLibp2p } from "@helia/libp2p";
import { identify } from "@libp2p/identify";
import { kadDHT, passthroughMapper, removePrivateAddressesMapper } from "@libp2p/kad-dht";
import { noise } from "@libp2p/noise";
import { ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { webSockets } from "@libp2p/websockets";
import { yamux } from "@libp2p/yamux";
import { multiaddr } from "@multiformats/multiaddr";
import { FsBlockstore } from "blockstore-fs";
import { NextToLast } from "blockstore-fs/sharding";
import { createHeliaLight } from "helia";
import type { ServiceMap } from "@libp2p/interface";
import type { ServiceFactoryMap } from "libp2p";
import { CID } from "multiformats/cid";

import type { ProviderConfig } from "../config.ts";
import { createLogger } from "../log.ts";

/** kubo's default bootstrap peers (what @helia/libp2p uses). */
export const PUBLIC_BOOTSTRAP = [
  "/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
  "/dnsaddr/bootstrap.libp2p.io/p2p/QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb",
  "/dnsaddr/bootstrap.libp2p.io/p2p/QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt",
  "/dnsaddr/va1.bootstrap.libp2p.io/p2p/12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8",
  "/ip4/104.131.131.82/tcp/4001/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
];

export interface IpfsNode {
  helia: HeliaWithLibp2p<ServiceMap>;
  blockstore: FsBlockstore;
  /** Absolute path of the file holding a block (for positioned reads of shard leaves). */
  blockPath(cid: CID): string;
  /** Multiaddrs to register on-chain: announce list, else the listen addresses, with /p2p/. */
  multiaddrs(): string[];
  /** Public mode: announces a held root CID on the DHT (re-announced every 12 h); local: no-op. */
  announce(cid: CID): void;
  /** Dials a peer's registered multiaddrs (local mode has no discovery). */
  dial(addrs: string[]): Promise<void>;
  stop(): Promise<void>;
}

export { ipfsPaths } from "./datastore.ts";
export { loadPeerId } from "./peer-id.ts";

/** Starts the Helia node of a data folder. */
export async function startIpfsNode(config: ProviderConfig): Promise<IpfsNode> {
  const log = createLogger("provider:ipfs");
  const paths = ipfsPaths(config.dataDir);
  mkdirSync(paths.blocks, { recursive: true });
  const sharding = new NextToLast();
  const blockstore = new FsBlockstore(paths.blocks, { shardingStrategy: sharding });
  const datastore = await openDatastore(config.dataDir);
  const { host, tcpPort, wsPort, mode } = config.ipfs;
  const ip = host.includes(":") ? "ip6" : "ip4";
  const isPublic = mode === "public";
  const helia = withBitswap(
    withLibp2pLight(createHeliaLight({ blockstore, datastore }), {
      addresses: {
        listen: [`/${ip}/${host}/tcp/${tcpPort}`, `/${ip}/${host}/tcp/${wsPort}/ws`],
        ...(config.ipfs.announce.length ? { announce: config.ipfs.announce } : {}),
      },
      transports: [tcp(), webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      ...(isPublic
        ? {
            peerDiscovery: [
              bootstrap({
                list: config.ipfs.bootstrap.length ? config.ipfs.bootstrap : PUBLIC_BOOTSTRAP,
              }),
            ],
          }
        : {}),
      // Typed per branch: libp2p infers component needs (the DHT wants ping) from the map.
      services: (isPublic
        ? {
            identify: identify(),
            ping: ping(),
            autoNAT: autoNAT(),
            // The mapper also decides which peers enter the routing table: one left with no
            // address after it is never added, so with private addresses dropped a DHT of
            // loopback or LAN peers stays empty and nothing is announced.
            dht: kadDHT({
              clientMode: true,
              peerInfoMapper: config.ipfs.dhtPrivateAddresses
                ? passthroughMapper
                : removePrivateAddressesMapper,
            }),
          }
        : { identify: identify() }) as unknown as ServiceFactoryMap<ServiceMap>,
    }),
  );
  try {
    await helia.start();
  } catch (e) {
    await datastore.close();
    throw e;
  }
  const peerId = helia.libp2p.peerId.toString();
  writePeerIdFile(config.dataDir, peerId);
  // Provider records expire (48 h on the public DHT): re-announce what is held.
  const announced = new Set<string>();
  const reannounce = setInterval(
    () => {
      for (const c of announced)
        helia.routing
          .provide(CID.parse(c), { signal: AbortSignal.timeout(120_000) })
          .catch(() => undefined);
    },
    12 * 3600 * 1000,
  );
  reannounce.unref();
  log.info({ peerId, addrs: helia.libp2p.getMultiaddrs().map(String), mode }, "IPFS node started");
  return {
    helia,
    blockstore,
    blockPath(cid) {
      const { dir, file } = sharding.encode(cid);
      return join(blockstore.path, dir, file);
    },
    multiaddrs() {
      if (config.ipfs.announce.length)
        return config.ipfs.announce.map((a) => (a.includes("/p2p/") ? a : `${a}/p2p/${peerId}`));
      return helia.libp2p.getMultiaddrs().map(String);
    },
    announce(cid) {
      if (!isPublic) return;
      announced.add(cid.toString());
      helia.routing
        .provide(cid, { signal: AbortSignal.timeout(120_000) })
        .then(() => log.debug({ cid: cid.toString() }, "announced on the DHT"))
        .catch((e: Error) =>
          log.info({ cid: cid.toString(), err: e.message }, "DHT announce failed"),
        );
    },
    async dial(addrs) {
      for (const a of addrs) {
        try {
          await helia.libp2p.dial(multiaddr(a), { signal: AbortSignal.timeout(5000) });
          return;
        } catch (e) {
          log.debug({ addr: a, err: (e as Error).message }, "dial failed");
        }
      }
    },
    async stop() {
      clearInterval(reannounce);
      await helia.stop();
      await datastore.close();
      log.info("IPFS node stopped");
    },
  };
}
