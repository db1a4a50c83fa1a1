// A provider node: wallet, chain client, Helia node, shard store, HTTP API and the chain loop,
// started in that order and stopped in reverse on SIGINT/SIGTERM.
import { unixfs } from "@helia/unixfs";
import { CID } from "multiformats/cid";
import type { Hex } from "viem";

import type { ProviderConfig } from "./config.ts";
import { ChainLoop } from "./chain/loop.ts";
import { Market, shortError } from "./chain/market.ts";
import { HttpError } from "./errors.ts";
import { mountGateway } from "./http/gateway.ts";
import { contentLength, HttpServer, sendJson } from "./http/server.ts";
import { startIpfsNode, type IpfsNode } from "./ipfs/node.ts";
import { serveShardCids } from "./ipfs/shard-cids.ts";
import { createLogger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { Intake } from "./intake.ts";
import { Repairer } from "./repair/repair.ts";
import { Scrubber } from "./store/scrub.ts";
import { type ShardRecord, ShardStore } from "./store/shards.ts";

export { loadWalletKey } from "./wallet.ts";

const parseDealId = (s: string): bigint => {
  if (!/^\d{1,30}$/.test(s))
    throw new HttpError(400, "bad_request", `deal id ${s} is not a decimal number`);
  return BigInt(s);
};

export interface RunningNode {
  config: ProviderConfig;
  market: Market;
  ipfs: IpfsNode;
  store: ShardStore;
  httpUrl: string;
  stop(): Promise<void>;
}

export async function startProviderNode(config: ProviderConfig, key: Hex): Promise<RunningNode> {
  const log = createLogger("provider:node");
  const market = await Market.connect(config, key);
  if (config.chain.chainId !== undefined) {
    const id = await market.chainId();
    if (id !== config.chain.chainId)
      throw new Error(
        `the RPC at ${config.chain.rpcUrl} serves chain ${id}, the config says ${config.chain.chainId}`,
      );
  }
  const ipfs = await startIpfsNode(config);
  const store = new ShardStore(config.dataDir, ipfs);
  await serveShardCids(ipfs.helia.libp2p, (d, i) => {
    const rec = store.get(d, i);
    return rec?.state === "accepted" ? rec.cid : undefined;
  });
  const metrics = new Metrics(store);
  // Anything short of accepted is resolved against the chain: ours on-chain → kept; imported
  // and still assigned to us (its acceptShard may have been sent) or still lost (a repair's
  // completeRepair may have been sent) → settled once this wallet's transactions are mined
  // (Intake.settle, after start); else dropped.
  const unsettled: ShardRecord[] = [];
  for (const rec of store.load()) {
    let ours = false;
    let pending = false;
    try {
      const s = await market.getShard(BigInt(rec.dealId), rec.shard);
      const mine = s.provider.toLowerCase() === market.address.toLowerCase();
      ours = s.status === "Active" && mine && rec.state === "imported";
      pending = (s.status === "Assigned" || s.lost) && rec.state === "imported";
    } catch (e) {
      log.warn(
        { err: shortError(e) },
        "chain unreachable while recovering; dropping the unaccepted shard",
      );
    }
    if (ours) {
      rec.state = "accepted";
      rec.acceptedEpoch = await market.currentEpoch().catch(() => 0);
      store.save(rec);
      log.info(
        { dealId: rec.dealId, shard: rec.shard },
        "recovered a shard accepted before the restart",
      );
    } else if (pending) unsettled.push(rec);
    else {
      await store.drop(rec.dealId, rec.shard);
      log.info(
        { dealId: rec.dealId, shard: rec.shard, state: rec.state },
        "dropped an unfinished upload",
      );
    }
  }
  await store.gc(); // nothing unpinned is kept
  const loop = new ChainLoop(config, market, store, ipfs, metrics);
  const scrubber = new Scrubber(config, store, ipfs, market, metrics);
  const repairer = new Repairer(config, market, store, ipfs, metrics);
  loop.onLost = (d, i, holder) => repairer.onLost(d, i, holder);
  loop.onPeer = (addrs) => void ipfs.dial(addrs);
  loop.onProviderFailed = (p) => void repairer.onProviderFailed(p).catch(() => undefined);
  loop.onDamaged = (rec) => void scrubber.declareLost(rec).catch(() => undefined);
  const intake = new Intake(config, market, store, { onAccepted: (rec) => loop.noteAccepted(rec) });
  for (const rec of unsettled) void intake.settle(rec);

  const http = new HttpServer(config);
  http
    .route("PUT", /^\/deals\/([^/]+)\/shards\/([^/]+)$/, async (req, res, [d, i]) => {
      const dealId = parseDealId(d);
      if (!/^\d{1,2}$/.test(i))
        throw new HttpError(400, "bad_request", `shard index ${i} is not a number`);
      const t0 = performance.now();
      const expected = req.headers["x-coop-shard-cid"];
      const { record, txHash } = await intake.putShard(
        dealId,
        Number(i),
        req,
        contentLength(req),
        typeof expected === "string" ? expected : undefined,
      );
      metrics.ingested(record.size, (performance.now() - t0) / 1000);
      sendJson(res, 201, {
        dealId: record.dealId,
        shard: record.shard,
        cid: record.cid,
        root: record.root,
        size: record.size,
        tx: txHash,
      });
    })
    .route("GET", /^\/deals\/([^/]+)\/shards\/([^/]+)$/, async (req, res, [d, i]) => {
      // A held shard's bytes by deal and index (repairing nodes fetch it this way); its CID in
      // x-ipfs-roots lets them check it, or fetch it over bitswap instead.
      const rec = store.get(parseDealId(d), Number(i));
      if (!rec || rec.state !== "accepted")
        throw new HttpError(404, "not_found", `shard ${i} of deal ${d} is not held here`);
      res.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": rec.size,
        "x-ipfs-roots": rec.cid,
      });
      if (req.method === "HEAD") return void res.end();
      for await (const chunk of unixfs(ipfs.helia).cat(CID.parse(rec.cid), { offline: true }))
        if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
      res.end();
    })
    .route("PUT", /^\/deals\/([^/]+)\/manifest$/, async (req, res, [d]) => {
      const r = await intake.putManifest(parseDealId(d), req, contentLength(req));
      sendJson(res, 201, r);
    })
    .route("GET", /^\/health$/, async (_req, res) => {
      sendJson(res, 200, {
        ok: true,
        address: market.address,
        peerId: ipfs.helia.libp2p.peerId.toString(),
      });
    })
    .route("GET", /^\/status$/, async (_req, res) => {
      sendJson(res, 200, await loop.status());
    })
    .route("GET", /^\/metrics$/, async (_req, res) => {
      const text = await metrics.render();
      res.writeHead(200, { "content-type": metrics.contentType });
      res.end(text);
    });
  mountGateway(http, ipfs, store, metrics);
  const addr = await http.listen();
  const httpUrl = `http://${addr.address.includes(":") ? `[${addr.address}]` : addr.address}:${addr.port}`;
  loop.start();
  scrubber.start();
  log.info(
    {
      http: httpUrl,
      address: market.address,
      peerId: ipfs.helia.libp2p.peerId.toString(),
      multiaddrs: ipfs.multiaddrs(),
      shards: store.list().length,
    },
    "provider node ready",
  );

  let stopping: Promise<void> | undefined;
  return {
    config,
    market,
    ipfs,
    store,
    httpUrl,
    stop() {
      stopping ??= (async () => {
        log.info("stopping: no new uploads");
        intake.close();
        await http.close(10_000);
        repairer.stop();
        await scrubber.stop();
        await loop.stop();
        await ipfs.stop();
        log.info("stopped");
      })();
      return stopping;
    },
  };
}
