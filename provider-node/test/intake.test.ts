// Shard intake against a real chain and real provider processes: the happy path, every
// refusal (each leaving nothing behind), manifests, and kill -9 in the middle of an upload.
import { existsSync, readdirSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";

import { MAX_ENVELOPE_LENGTH } from "@coop-cloud/sdk";
import { storageMarketAbi } from "@coop-cloud/sdk/contracts/generated/abis.ts";
import * as dagPb from "@ipld/dag-pb";
import { CarReader } from "@ipld/car/reader";
import { CID } from "multiformats/cid";
import * as rawCodec from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { rpc, startLocalChain, type LocalChain } from "./fixtures/chain.ts";
import { clients, createTestDeal, put, type TestDeal } from "./fixtures/deals.ts";
import {
  setupProvider,
  startProvider,
  type ProviderSetup,
  type RunningProvider,
} from "./fixtures/provider.ts";

let chain: LocalChain;
const setups: ProviderSetup[] = [];
const nodes: RunningProvider[] = [];

/** Every file under a folder, recursively. */
function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

/** What a provider keeps: shard records, temporary files, block files. */
function footprint(s: ProviderSetup) {
  return {
    tmp: files(join(s.dataDir, "tmp")),
    shards: files(join(s.dataDir, "shards"))
      .map((f) => f.slice(s.dataDir.length))
      .sort(),
    blocks: files(join(s.dataDir, "blocks")).length,
  };
}

async function shardOnChain(dealId: bigint, shard: number) {
  const { pub } = clients(chain);
  return pub.readContract({
    address: chain.addresses.StorageMarket,
    abi: storageMarketAbi,
    functionName: "getShard",
    args: [dealId, BigInt(shard)],
  });
}

beforeAll(async () => {
  chain = await startLocalChain({ epochLength: 4, market: { acceptanceWindow: 100 } });
  for (const k of [1, 2, 3]) setups.push(await setupProvider(chain, k));
  for (const s of setups) nodes.push(await startProvider(s));
});

afterAll(async () => {
  for (const n of nodes) await n?.stop();
  await chain?.stop();
});

describe("PUT /deals/{dealId}/shards/{i}", () => {
  let deal: TestDeal;
  beforeAll(async () => {
    deal = await createTestDeal(
      chain,
      setups.map((s) => s.address),
      { shardSize: 3 * 2 ** 20 + 4096 },
    );
  });

  it("streams, checks, imports, pins and accepts a shard on-chain", async () => {
    const r = await put(`${nodes[0].url}/deals/${deal.dealId}/shards/0`, deal.shards[0]);
    expect(r.status).toBe(201);
    expect(r.json.cid).toBe(deal.cids[0]);
    expect(r.json.root).toBe(deal.roots[0]);
    const s = await shardOnChain(deal.dealId, 0);
    expect(s.status).toBe(1); // Active
    expect(s.provider).toBe(setups[0].address);
    expect(footprint(setups[0]).tmp).toEqual([]);
    // The blocks are in the node's blockstore: the gateway serves them.
    const raw = await fetch(`${nodes[0].url}/ipfs/${deal.cids[0]}`);
    expect(Buffer.from(await raw.arrayBuffer()).equals(Buffer.from(deal.shards[0]))).toBe(true);
  });

  it("serves the shard as a trustless gateway: CAR and raw blocks verify independently", async () => {
    const root = CID.parse(deal.cids[0]);
    const car = await fetch(`${nodes[0].url}/ipfs/${root}?format=car`);
    expect(car.status).toBe(200);
    expect(car.headers.get("content-type")).toMatch(/^application\/vnd\.ipld\.car; version=1/);
    const reader = await CarReader.fromBytes(new Uint8Array(await car.arrayBuffer()));
    expect((await reader.getRoots()).map(String)).toEqual([root.toString()]);
    // Every block hashes to its CID (multiformats' own sha2-256), and the DAG read depth-first
    // from the root gives back the shard's bytes.
    const blocks = new Map<string, Uint8Array>();
    const order: string[] = [];
    for await (const { cid, bytes } of reader.blocks()) {
      const digest = await sha256.digest(bytes);
      expect(Buffer.from(digest.digest).equals(Buffer.from(cid.multihash.digest))).toBe(true);
      blocks.set(cid.toString(), bytes);
      order.push(cid.toString());
    }
    const leaves: Uint8Array[] = [];
    const visit = (cid: CID) => {
      const bytes = blocks.get(cid.toString());
      expect(bytes, `block ${cid} is in the CAR`).toBeDefined();
      if (cid.code === rawCodec.code) leaves.push(bytes!);
      else for (const l of dagPb.decode(bytes!).Links) visit(l.Hash);
    };
    visit(root);
    expect(order[0]).toBe(root.toString()); // dfs order starts at the root
    expect(Buffer.concat(leaves).equals(Buffer.from(deal.shards[0]))).toBe(true);
    // A raw block: the bytes of one leaf, checked against its CID.
    const leafCid = dagPb.decode(blocks.get(root.toString())!).Links[1].Hash;
    const raw = await fetch(`${nodes[0].url}/ipfs/${leafCid}?format=raw`);
    expect(raw.headers.get("content-type")).toBe("application/vnd.ipld.raw");
    const rawBytes = new Uint8Array(await raw.arrayBuffer());
    expect(
      Buffer.from((await sha256.digest(rawBytes)).digest).equals(
        Buffer.from(leafCid.multihash.digest),
      ),
    ).toBe(true);
    // Range over the file bytes, across a leaf boundary; HEAD; a CID not held here.
    const ranged = await fetch(`${nodes[0].url}/ipfs/${root}`, {
      headers: { range: "bytes=1048000-1049999" },
    });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toBe(
      `bytes 1048000-1049999/${deal.shards[0].length}`,
    );
    expect(
      Buffer.from(await ranged.arrayBuffer()).equals(
        Buffer.from(deal.shards[0].subarray(1048000, 1050000)),
      ),
    ).toBe(true);
    const head = await fetch(`${nodes[0].url}/ipfs/${root}`, { method: "HEAD" });
    expect(head.headers.get("content-length")).toBe(String(deal.shards[0].length));
    const missing = await fetch(`${nodes[1].url}/ipfs/${root}?format=raw`);
    expect(missing.status).toBe(404);
    expect(car.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("reports what it holds on /status and /metrics (Prometheus text)", async () => {
    const status = (await (await fetch(`${nodes[0].url}/status`)).json()) as Record<
      string,
      unknown
    >;
    expect(status.shards).toBe(1);
    expect(status.bytes).toBe(deal.shards[0].length);
    expect(status.address).toBe(setups[0].address);
    const res = await fetch(`${nodes[0].url}/metrics`);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^coop_provider_shards 1$/m);
    expect(text).toMatch(
      new RegExp(`^coop_provider_ingest_bytes_total ${deal.shards[0].length}$`, "m"),
    );
    expect(text).toMatch(/^coop_provider_process_resident_memory_bytes \d+/m);
  });

  it("refuses a shard already stored (409 already_stored)", async () => {
    const r = await put(`${nodes[0].url}/deals/${deal.dealId}/shards/0`, deal.shards[0]);
    expect(r.status).toBe(409);
    expect(r.json.code).toBe("already_stored");
  });

  const refusals: [
    string,
    () => Promise<{ status: number; json: Record<string, unknown> }>,
    number,
    string,
  ][] = [
    [
      "an unknown deal",
      () => put(`${nodes[1].url}/deals/999999/shards/1`, deal.shards[1]),
      404,
      "unknown_deal",
    ],
    [
      "a shard index the deal does not have",
      () => put(`${nodes[1].url}/deals/${deal.dealId}/shards/7`, deal.shards[1]),
      404,
      "unknown_shard",
    ],
    [
      "a shard assigned to another provider",
      () => put(`${nodes[1].url}/deals/${deal.dealId}/shards/2`, deal.shards[2]),
      403,
      "not_assigned",
    ],
    [
      "a body shorter than the deal's shard size",
      () =>
        put(
          `${nodes[1].url}/deals/${deal.dealId}/shards/1`,
          deal.shards[1].subarray(0, deal.shards[1].length - 512),
        ),
      400,
      "wrong_size",
    ],
    [
      "a body whose segment root is not the deal's",
      () => {
        const bad = Uint8Array.from(deal.shards[1]);
        bad[12345] ^= 1;
        return put(`${nodes[1].url}/deals/${deal.dealId}/shards/1`, bad);
      },
      422,
      "root_mismatch",
    ],
    [
      "the right bytes with another UnixFS CID than the uploader computed",
      () =>
        put(`${nodes[1].url}/deals/${deal.dealId}/shards/1`, deal.shards[1], {
          // a well-formed CID that is not this shard's (the empty raw block's)
          "x-coop-shard-cid": "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
        }),
      422,
      "cid_mismatch",
    ],
    [
      "an expected CID that is not a CID",
      () =>
        put(`${nodes[1].url}/deals/${deal.dealId}/shards/1`, deal.shards[1], {
          "x-coop-shard-cid": "not-a-cid",
        }),
      400,
      "bad_request",
    ],
  ];
  for (const [what, send, status, code] of refusals)
    it(`refuses ${what} (${status} ${code}) and keeps nothing`, async () => {
      const before = footprint(setups[1]);
      const r = await send();
      expect(r.status).toBe(status);
      expect(r.json.code).toBe(code);
      expect(typeof r.json.message).toBe("string");
      expect(footprint(setups[1])).toEqual(before);
      expect((await shardOnChain(deal.dealId, 1)).status).toBe(0); // still Assigned
    });

  it("refuses a body longer than declared while streaming (chunked upload), keeping nothing", async () => {
    const before = footprint(setups[1]);
    const longer = new Uint8Array(deal.shards[1].length + 4096);
    longer.set(deal.shards[1]);
    const res = await fetch(`${nodes[1].url}/deals/${deal.dealId}/shards/1`, {
      method: "PUT",
      body: new Blob([longer]).stream(),
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe("wrong_size");
    expect(footprint(setups[1])).toEqual(before);
  });

  it("refuses over capacity, a body over the node's limit and a full disk (507/413/507)", async () => {
    const s = setups[2];
    await nodes[2].stop();
    const cases: [NodeJS.ProcessEnv, number, string][] = [
      [{ COOP_PROVIDER_CAPACITY: String(2 ** 20) }, 507, "over_capacity"],
      [{ COOP_PROVIDER_MAX_SHARD_BYTES: String(2 ** 20) }, 413, "body_too_large"],
      [{ COOP_PROVIDER_MIN_FREE_BYTES: String(2 ** 50) }, 507, "disk_full"],
    ];
    for (const [env, status, code] of cases) {
      const n = await startProvider(s, env);
      try {
        const before = footprint(s);
        const r = await put(`${n.url}/deals/${deal.dealId}/shards/2`, deal.shards[2]);
        expect([r.status, r.json.code]).toEqual([status, code]);
        expect(footprint(s)).toEqual(before);
      } finally {
        await n.stop();
      }
    }
    nodes[2] = await startProvider(s);
    const ok = await put(`${nodes[2].url}/deals/${deal.dealId}/shards/2`, deal.shards[2]);
    expect(ok.status).toBe(201);
  });

  it("keeps the deal's manifest, checked against its CID", async () => {
    const url = `${nodes[0].url}/deals/${deal.dealId}/manifest`;
    const before = footprint(setups[0]);
    const bad = await put(url, deal.manifest.subarray(1));
    expect([bad.status, bad.json.code]).toEqual([422, "cid_mismatch"]);
    expect(String(bad.json.message)).toContain(deal.manifestCid);
    // Over MAX_ENVELOPE_LENGTH (1 MiB): refused by its declared length, and streamed (chunked,
    // no length) once the 1 MiB is passed.
    const big = new Uint8Array(MAX_ENVELOPE_LENGTH + 1);
    const declared = await put(url, big);
    expect([declared.status, declared.json.code]).toEqual([413, "body_too_large"]);
    const chunked = await fetch(url, {
      method: "PUT",
      body: new Blob([big]).stream(),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(((await chunked.json()) as { code: string }).code).toBe("body_too_large");
    expect(footprint(setups[0])).toEqual(before);
    expect(readdirSync(join(setups[0].dataDir, "manifests"))).toEqual([]);
    const ok = await put(`${nodes[0].url}/deals/${deal.dealId}/manifest`, deal.manifest);
    expect(ok.status).toBe(201);
    expect(ok.json.cid).toBe(deal.manifestCid);
    const served = await fetch(`${nodes[0].url}/ipfs/${deal.manifestCid}?format=raw`);
    expect(Buffer.from(await served.arrayBuffer()).equals(Buffer.from(deal.manifest))).toBe(true);
    const again = await put(`${nodes[0].url}/deals/${deal.dealId}/manifest`, deal.manifest);
    expect(again.status).toBe(409);
    const outsider = await createTestDeal(chain, [setups[1].address], { k: 1 });
    const refused = await put(
      `${nodes[0].url}/deals/${outsider.dealId}/manifest`,
      outsider.manifest,
    );
    expect([refused.status, refused.json.code]).toEqual([403, "not_assigned"]);
  });

  it("kill -9 during an upload: the restart keeps nothing and accepts nothing; a new upload then succeeds", async () => {
    const s = setups[1];
    const before = footprint(s);
    // Send a third of the shard, then kill the node while it waits for the rest.
    let answer = "";
    await new Promise<void>((resolve, reject) => {
      const req = request(`${nodes[1].url}/deals/${deal.dealId}/shards/1`, {
        method: "PUT",
        headers: { "content-length": deal.shards[1].length },
      });
      req.on("response", (res) => res.on("data", (d: Buffer) => (answer += d.toString())));
      req.on("error", () => undefined);
      req.write(deal.shards[1].subarray(0, 2 ** 20), () => {
        void (async () => {
          for (let i = 0; i < 100 && files(join(s.dataDir, "tmp")).length === 0; i++)
            await new Promise((r) => setTimeout(r, 100));
          expect(
            files(join(s.dataDir, "tmp")).length,
            `no upload in progress: ${answer}`,
          ).toBeGreaterThan(0);
          await nodes[1].stop("SIGKILL");
        })().then(resolve, reject);
      });
    });
    nodes[1] = await startProvider(s);
    expect(footprint(s)).toEqual(before);
    expect((await shardOnChain(deal.dealId, 1)).status).toBe(0);
    const ok = await put(`${nodes[1].url}/deals/${deal.dealId}/shards/1`, deal.shards[1]);
    expect(ok.status).toBe(201);
  });

  it("refuses once the acceptance window is over (410), keeping nothing", async () => {
    const late = await createTestDeal(chain, [setups[0].address], { k: 1 });
    // Jump the chain's clock past the 100-epoch acceptance window (4 s epochs).
    await rpc(chain.rpcUrl, "evm_increaseTime", [500]);
    await rpc(chain.rpcUrl, "evm_mine", []);
    const before = footprint(setups[0]);
    const r = await put(`${nodes[0].url}/deals/${late.dealId}/shards/0`, late.shards[0]);
    expect([r.status, r.json.code]).toEqual([410, "acceptance_window_closed"]);
    expect(footprint(setups[0])).toEqual(before);
  });
});
