// The client's data path without a chain: the key session (one signature per session, kept in
// memory, a wallet that signs differently each time refused) and the provider HTTP client
// (shards from a gateway verified block by block, errors with the provider's code).
import { CarWriter } from "@ipld/car/writer";
import * as dagPb from "@ipld/dag-pb";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { createPublicClient, createWalletClient, custom, defineChain, type Hex } from "viem";
import { privateKeyToAccount, toAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";

import { CoopContracts } from "../src/client/contracts.ts";
import { NonDeterministicWalletError, createKeySession } from "../src/client/keys.ts";
import {
  ProviderRequestError,
  ShardFetchError,
  fetchShard,
  getManifest,
  putShard,
} from "../src/client/provider-api.ts";
import { getKeyDerivationTypedData, getKeyEncryptionKey } from "../src/keys/index.ts";
import { ManifestCidMismatchError } from "../src/errors.ts";
import { manifestCid } from "../src/manifest/index.ts";

const chain = defineChain({
  id: 31337,
  name: "test",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: ["http://127.0.0.1:1"] } },
});
const noRpc = custom({
  request: async () => {
    throw new Error("no RPC in this test");
  },
});
const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as const;

function contractsFor(account: Parameters<typeof createWalletClient>[0]["account"]) {
  return new CoopContracts({
    publicClient: createPublicClient({ chain, transport: noRpc }),
    walletClient: createWalletClient({ account: account!, chain, transport: noRpc }) as never,
    addresses: {} as never,
  });
}

describe("createKeySession", () => {
  it("derives the KEK from one signature, caches it in memory, and asks again after forget()", async () => {
    const base = privateKeyToAccount(KEY);
    let signatures = 0;
    const account = toAccount({
      address: base.address,
      signMessage: (a) => base.signMessage(a),
      signTransaction: (a) => base.signTransaction(a),
      signTypedData: (a) => {
        signatures++;
        return base.signTypedData(a as never);
      },
    });
    const keys = createKeySession(contractsFor(account));
    const expected = await getKeyEncryptionKey({
      account: base.address,
      chainId: 31337,
      signature: await base.signTypedData(
        getKeyDerivationTypedData({ account: base.address, chainId: 31337 }),
      ),
    });
    const [a, b] = await Promise.all([keys.kek(), keys.kek()]);
    expect(Buffer.from(a).equals(Buffer.from(expected))).toBe(true);
    expect(Buffer.from(b).equals(Buffer.from(expected))).toBe(true);
    expect(signatures).toBe(1);
    a.fill(0); // callers get copies: wiping one leaves the session's key intact
    expect(Buffer.from(await keys.kek()).equals(Buffer.from(expected))).toBe(true);
    expect(signatures).toBe(1);
    keys.forget();
    await keys.kek();
    expect(signatures).toBe(2);
  });

  it("refuses a wallet whose two signatures differ when asked to check", async () => {
    const base = privateKeyToAccount(KEY);
    let calls = 0;
    const account = toAccount({
      address: base.address,
      signMessage: (a) => base.signMessage(a),
      signTransaction: (a) => base.signTransaction(a),
      // A second, different (well-formed) signature: what a randomised-nonce wallet gives.
      signTypedData: async (a) =>
        ++calls === 1
          ? base.signTypedData(a as never)
          : (`0x${"11".repeat(32)}${"22".repeat(32)}1b` as Hex),
    });
    const keys = createKeySession(contractsFor(account), { checkDeterministic: true });
    await expect(keys.kek()).rejects.toThrow(NonDeterministicWalletError);
    await expect(
      createKeySession(contractsFor(base), { checkDeterministic: true }).kek(),
    ).resolves.toHaveLength(32);
  });
});

/** A CAR of a one-level dag-pb file, as a gateway sends it (repeated leaves once unless `dups`). */
async function carOf(leaves: Uint8Array[], alter?: number, dups = false) {
  const leafCids = await Promise.all(
    leaves.map(async (l) => CID.createV1(raw.code, await sha256.digest(l))),
  );
  const node = dagPb.encode(
    dagPb.prepare({
      Links: leafCids.map((Hash, i) => ({ Hash, Name: "", Tsize: leaves[i]!.length })),
    }),
  );
  const root = CID.createV1(dagPb.code, await sha256.digest(node));
  const { writer, out } = CarWriter.create([root]);
  const chunks: Uint8Array[] = [];
  const pump = (async () => {
    for await (const c of out) chunks.push(c);
  })();
  await writer.put({ cid: root, bytes: node });
  const sent = new Set<string>();
  for (const [i, l] of leaves.entries()) {
    if (!dups && sent.has(leafCids[i]!.toString())) continue;
    sent.add(leafCids[i]!.toString());
    const bytes = i === alter ? l.map((x, j) => (j === 5 ? x ^ 1 : x)) : l;
    await writer.put({ cid: leafCids[i]!, bytes });
  }
  await writer.close();
  await pump;
  return { root, car: Buffer.concat(chunks) };
}

const fakeFetch =
  (status: number, body: BodyInit, seen?: string[]): typeof fetch =>
  async (url) => {
    seen?.push(String(url));
    return new Response(body, { status });
  };

describe("provider HTTP client", () => {
  const leaves = [new Uint8Array(1000).fill(1), new Uint8Array(700).fill(2)];

  it("fetchShard yields the leaves of a verified CAR in order", async () => {
    const { root, car } = await carOf(leaves);
    const seen: string[] = [];
    const got: Uint8Array[] = [];
    for await (const p of fetchShard("http://p.example/", root, {
      fetch: fakeFetch(200, car, seen),
    }))
      got.push(p);
    expect(Buffer.concat(got).equals(Buffer.concat(leaves))).toBe(true);
    expect(seen[0]).toBe(`http://p.example/ipfs/${root}?format=car&dups=y`);
  });

  it("fetchShard repeats a leaf the CAR sent once (dups=n), and takes a CAR with dups", async () => {
    const a = new Uint8Array(600).fill(7);
    const b = new Uint8Array(500).fill(8);
    const file = [a, b, a, a, b];
    for (const dups of [false, true]) {
      const { root, car } = await carOf(file, undefined, dups);
      const got: Uint8Array[] = [];
      for await (const p of fetchShard("http://p", root, { fetch: fakeFetch(200, car) }))
        got.push(p);
      expect(Buffer.concat(got).equals(Buffer.concat(file)), `dups=${dups}`).toBe(true);
    }
  });

  it("fetchShard stops at a block that does not hash to its CID, naming the shard", async () => {
    const { root, car } = await carOf(leaves, 1);
    const got: Uint8Array[] = [];
    const err = await (async () => {
      for await (const p of fetchShard("http://p.example", root, {
        shardIndex: 3,
        fetch: fakeFetch(200, car),
      }))
        got.push(p);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShardFetchError);
    expect((err as ShardFetchError).shardIndex).toBe(3);
    expect((err as Error).message).toMatch(/does not hash to its CID/);
    expect(got).toHaveLength(1); // the first leaf was right and came out; nothing after
  });

  it("fetchShard refuses a CAR for another root and a CAR cut short", async () => {
    const { car } = await carOf(leaves);
    const other = (await carOf([new Uint8Array(3)])).root;
    await expect(
      (async () => {
        for await (const _ of fetchShard("http://p", other, { fetch: fakeFetch(200, car) }));
      })(),
    ).rejects.toThrow(/expected block/);
    const { root } = await carOf(leaves);
    await expect(
      (async () => {
        for await (const _ of fetchShard("http://p", root, {
          fetch: fakeFetch(200, car.subarray(0, car.length - 300)),
        }));
      })(),
    ).rejects.toThrow(ShardFetchError);
  });

  it("errors carry the provider's code; a refusal is told apart from a retryable failure", async () => {
    const refuse = fakeFetch(
      410,
      JSON.stringify({ code: "acceptance_window_closed", message: "window closed at epoch 9" }),
    );
    const e = await putShard("http://p", 1n, 0, new Uint8Array(4), 4, { fetch: refuse }).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ProviderRequestError);
    expect((e as ProviderRequestError).code).toBe("acceptance_window_closed");
    expect((e as ProviderRequestError).refused).toBe(true);
    expect((e as Error).message).toBe("http://p: window closed at epoch 9");
    const busy = fakeFetch(409, JSON.stringify({ code: "upload_in_progress", message: "busy" }));
    const b = (await putShard("http://p", 1n, 0, new Uint8Array(4), 4, { fetch: busy }).catch(
      (x: unknown) => x,
    )) as ProviderRequestError;
    expect(b.refused).toBe(false);
    const down: typeof fetch = async () => {
      throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } });
    };
    const d = (await putShard("http://p", 1n, 0, new Uint8Array(4), 4, { fetch: down }).catch(
      (x: unknown) => x,
    )) as ProviderRequestError;
    expect(d.code).toBe("unreachable");
    expect(d.message).toContain("ECONNREFUSED");
    expect(d.refused).toBe(false);
  });

  it("getManifest checks the envelope against its CID", async () => {
    const envelope = new Uint8Array(300).fill(9);
    const cid = manifestCid(envelope);
    await expect(
      getManifest("http://p", cid, { fetch: fakeFetch(200, envelope) }),
    ).resolves.toEqual(envelope);
    const other = envelope.map((x, i) => (i === 0 ? 8 : x));
    await expect(getManifest("http://p", cid, { fetch: fakeFetch(200, other) })).rejects.toThrow(
      ManifestCidMismatchError,
    );
  });
});
