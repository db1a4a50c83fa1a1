// Public mode (ipfs.mode "public") against a stand-in for the IPFS network. The public network
// cannot be reached from the test machine, so two plain libp2p nodes on 127.0.0.1 running
// kad-DHT in server mode play its DHT: A is the provider's only bootstrap peer, B is connected
// to A alone. The stand-ins keep private addresses in their DHT records (passthroughMapper):
// every address here is a loopback one, and a public DHT peer would drop them all.
// - Default public mode drops private addresses (removePrivateAddressesMapper), and kad-dht
//   applies that mapper before a peer enters the routing table: the provider dials A, learns
//   that A speaks the DHT, and still never adds it, so nothing it announces leaves the node.
// - With ipfs.dhtPrivateAddresses (the config for an IPFS network of one's own): a real provider
//   process, a real chain, a shard uploaded and accepted; the provider finds B through A, its
//   CID's provider record reaches both DHT servers, and a third plain Helia node that knows
//   only B finds the provider by the CID, dials it at the addresses the DHT gave (no address is
//   handed over out of band) and fetches the shard's bytes over bitswap.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { withBitswap } from "@helia/bitswap";
import { withLibp2pLight } from "@helia/libp2p";
import { unixfs } from "@helia/unixfs";
import { identify } from "@libp2p/identify";
import {
  EventTypes,
  kadDHT,
  passthroughMapper,
  type KadDHT,
  type SingleKadDHT,
} from "@libp2p/kad-dht";
import { noise } from "@libp2p/noise";
import { peerIdFromCID } from "@libp2p/peer-id";
import { ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { yamux } from "@libp2p/yamux";
import { multiaddr } from "@multiformats/multiaddr";
import { createHeliaLight } from "helia";
import { createLibp2p, type Libp2p } from "libp2p";
import type { ServiceMap } from "@libp2p/interface";
import type { ServiceFactoryMap } from "libp2p";
import { CID } from "multiformats/cid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { configSchema } from "../src/config.ts";
import { startIpfsNode, type IpfsNode } from "../src/ipfs/node.ts";
import { startLocalChain, type LocalChain } from "./fixtures/chain.ts";
import { createTestDeal, put, waitFor, type TestDeal } from "./fixtures/deals.ts";
import {
  freePort,
  setupProvider,
  startProvider,
  type ProviderSetup,
  type RunningProvider,
} from "./fixtures/provider.ts";

const KAD = "/ipfs/kad/1.0.0";
const loopback = "/ip4/127.0.0.1/tcp/0";
type DhtServer = Libp2p<{ dht: KadDHT }>;

/** A libp2p node of the stand-in network: TCP on loopback, identify, ping, kad-DHT (private addresses kept). */
function loopbackOptions(dhtClientMode: boolean) {
  return {
    addresses: { listen: [loopback] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({ clientMode: dhtClientMode, peerInfoMapper: passthroughMapper }),
    },
  };
}

/** A DHT server of the stand-in network. */
async function dhtServer(): Promise<DhtServer> {
  return createLibp2p(loopbackOptions(false));
}

/** A node's TCP listen address, with its /p2p/ peer id. */
const addrOf = (n: Libp2p) => n.getMultiaddrs()[0]!.toString();

/** Whether `server` holds a provider record of `cid` naming `provider` in its own store. */
async function holdsRecord(server: DhtServer, cid: CID, provider: string): Promise<boolean> {
  const signal = AbortSignal.timeout(10_000);
  for await (const ev of server.services.dht.findProviders(cid, { signal }))
    // The first event with providers, from the server itself, is its local store.
    if (ev.type === EventTypes.PROVIDER)
      return (
        ev.from.equals(server.peerId) && ev.providers.some((p) => p.id.toString() === provider)
      );
  return false;
}

/** Whether `node` has a connection that `from` opened (inbound at `node`). */
const dialedBy = (node: Libp2p, from: string) =>
  node.getConnections().some((c) => c.remotePeer.toString() === from && c.direction === "inbound");

let a: DhtServer;
let b: DhtServer;

beforeAll(async () => {
  a = await dhtServer();
  b = await dhtServer();
  await b.dial(multiaddr(addrOf(a)));
  // Both have identified each other as DHT servers and taken each other into their tables.
  await waitFor("A and B in each other's routing table", async () =>
    (a.services.dht as SingleKadDHT).routingTable.size > 0 &&
    (b.services.dht as SingleKadDHT).routingTable.size > 0
      ? true
      : undefined,
  );
});

afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

describe("public mode, private addresses dropped (the default)", () => {
  let dir: string;
  let ipfs: IpfsNode;

  afterAll(async () => {
    await ipfs?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("dials its bootstrap peer, but a DHT peer at a loopback address never enters its routing table", async () => {
    dir = mkdtempSync(join(tmpdir(), "coop-public-"));
    const config = configSchema.parse({
      dataDir: dir,
      chain: { rpcUrl: "http://127.0.0.1:1", market: `0x${"11".repeat(20)}` },
      ipfs: {
        mode: "public",
        tcpPort: await freePort(),
        wsPort: await freePort(),
        bootstrap: [addrOf(a)],
      },
    });
    ipfs = await startIpfsNode(config);
    const libp2p = ipfs.helia.libp2p;
    const me = libp2p.peerId.toString();
    // The bootstrap module dials A; identify tells the provider that A is a DHT server.
    await waitFor("the provider connected to A", async () => (dialedBy(a, me) ? true : undefined));
    await waitFor("A identified as a DHT server in the provider's peer store", async () =>
      (await libp2p.peerStore.get(a.peerId)).protocols.includes(KAD) ? true : undefined,
    );
    // The DHT hears of A (topology) and maps its record through removePrivateAddressesMapper,
    // which leaves no address, so kad-dht's onPeerConnect ignores it: the table stays empty.
    await new Promise((r) => setTimeout(r, 3000));
    const dht = (libp2p.services as unknown as { dht: SingleKadDHT }).dht;
    expect(dht.getMode()).toBe("client");
    expect(dht.routingTable.size).toBe(0);
    // A query waits for a routing table peer that never comes: an announcement cannot leave.
    const cid = CID.parse("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy");
    await expect(
      ipfs.helia.routing.provide(cid, { signal: AbortSignal.timeout(3000) }),
    ).rejects.toThrow();
    expect(await holdsRecord(a, cid, me)).toBe(false);
  });
});

describe("public mode with ipfs.dhtPrivateAddresses, a real provider and chain", () => {
  let chain: LocalChain;
  let setup: ProviderSetup;
  let node: RunningProvider;
  let deal: TestDeal;
  let fetcher: Awaited<ReturnType<typeof startFetcher>> | undefined;

  beforeAll(async () => {
    chain = await startLocalChain({ epochLength: 10 });
    setup = await setupProvider(chain, 15);
    // Public mode with A as the only bootstrap peer, written to the data folder's config as an
    // operator would (bootstrap and dhtPrivateAddresses have no flag or environment variable).
    const file = join(setup.dataDir, "config.json");
    const cfg = JSON.parse(readFileSync(file, "utf8")) as { ipfs: Record<string, unknown> };
    cfg.ipfs = {
      ...cfg.ipfs,
      mode: "public",
      bootstrap: [addrOf(a)],
      dhtPrivateAddresses: true,
    };
    writeFileSync(file, JSON.stringify(cfg, null, 2));
    node = await startProvider(setup, { COOP_PROVIDER_LOG_LEVEL: "debug" });
    deal = await createTestDeal(chain, [setup.address], { k: 1, shardSize: 2 ** 21 + 1024 });
  });

  afterAll(async () => {
    await fetcher?.helia.stop();
    await node?.stop();
    await chain?.stop();
    if (setup) rmSync(setup.dataDir, { recursive: true, force: true });
  });

  it("dials its bootstrap peer, announces an accepted shard's CID, and any node fetches it by CID", async () => {
    expect(node.logs.find((r) => r.msg === "IPFS node started")?.mode).toBe("public");
    await waitFor("the provider connected to its bootstrap peer A", async () =>
      dialedBy(a, setup.peerId) ? true : undefined,
    );
    // B was never given to the provider: its DHT hears of B from A (its self-lookup asks A for
    // the peers closest to it) and dials it.
    await waitFor("the provider connected to B, learnt from A", async () =>
      dialedBy(b, setup.peerId) ? true : undefined,
    );

    const res = await put(`${node.url}/deals/${deal.dealId}/shards/0`, deal.shards[0]!);
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    const cid = CID.parse(deal.cids[0]!);
    expect(res.json.cid).toBe(cid.toString());
    await node.waitForLog((r) => r.msg === "announced on the DHT" && r.cid === cid.toString());

    // Both DHT servers, the closest peers to the CID the provider knows, hold its record.
    expect(await holdsRecord(a, cid, setup.peerId)).toBe(true);
    expect(await holdsRecord(b, cid, setup.peerId)).toBe(true);

    // A plain Helia node that knows only B: the block broker asks the routing for providers of
    // the CID (the DHT, through B), dials the provider at the addresses the DHT returned and
    // fetches every block of the shard over bitswap.
    fetcher = await startFetcher(b);
    const signal = AbortSignal.timeout(60_000);
    let found: { id: string; addrs: string[] } | undefined;
    for await (const p of fetcher.helia.routing.findProviders(cid, { signal })) {
      found = { id: peerIdFromCID(p.id).toString(), addrs: p.multiaddrs.map(String) };
      break;
    }
    expect(found?.id).toBe(setup.peerId);
    expect(found?.addrs.length, "the DHT gave the provider's addresses").toBeGreaterThan(0);
    const chunks: Uint8Array[] = [];
    for await (const c of unixfs(fetcher.helia).cat(cid, { signal })) chunks.push(c);
    expect(Buffer.concat(chunks).equals(Buffer.from(deal.shards[0]!))).toBe(true);
    expect(
      fetcher.helia.libp2p.getConnections().some((c) => c.remotePeer.toString() === setup.peerId),
    ).toBe(true);
  });
});

/**
 * A plain Helia node (memory stores, TCP, a DHT client, bitswap) that has dialed only `peer`. It
 * too keeps private addresses: with them dropped, B would never enter its routing table either.
 */
async function startFetcher(peer: Libp2p) {
  const options = loopbackOptions(true);
  const helia = withBitswap(
    withLibp2pLight(createHeliaLight(), {
      ...options,
      services: options.services as unknown as ServiceFactoryMap<ServiceMap>,
    }),
  );
  await helia.start();
  await helia.libp2p.dial(multiaddr(addrOf(peer)));
  return { helia };
}
