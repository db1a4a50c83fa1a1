import { createHash, randomBytes } from "node:crypto";
import { MemoryBlockstore } from "blockstore-core";
import * as dagPb from "@ipld/dag-pb";
import { UnixFS } from "ipfs-unixfs";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import * as Digest from "multiformats/hashes/digest";
import { importer, type ImporterOptions } from "ipfs-unixfs-importer";
import { fixedSize } from "ipfs-unixfs-importer/chunker";
import { balanced } from "ipfs-unixfs-importer/layout";
import { describe, expect, it, vi } from "vitest";
import { InvalidParametersError } from "../src/errors.ts";
import {
  SHARD_UNIXFS_PARAMS,
  UnixfsCidBuilder,
  computeUnixfsCid,
  encodeUnixfsFileData,
  getNodeStreamingSha256,
  portableStreamingSha256,
  type StreamingSha256,
} from "../src/cid/index.ts";

const MiB = 1024 * 1024;

/** The importer (what Helia's addByteStream runs) with our parameters pinned. */
async function importerCid(
  data: Uint8Array,
  params: { chunkSize: number; maxChildrenPerNode: number },
  extra: ImporterOptions = {},
): Promise<string> {
  const options: ImporterOptions = {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: params.chunkSize }),
    layout: balanced({ maxChildrenPerNode: params.maxChildrenPerNode }),
    ...extra,
  };
  let last: string | undefined;
  for await (const entry of importer(
    [{ content: chunks(data, 100_000) }],
    new MemoryBlockstore(),
    options,
  ))
    last = entry.cid.toString();
  return last as string;
}

function* chunks(data: Uint8Array, max: number): Generator<Uint8Array> {
  let off = 0;
  while (off < data.length) {
    const n = 1 + Math.floor(Math.random() * max);
    yield data.subarray(off, off + n);
    off += n;
  }
}

const sha256s: StreamingSha256[] = [
  getNodeStreamingSha256() as StreamingSha256,
  portableStreamingSha256,
];

describe("UnixfsCidBuilder (shard parameters: 1 MiB chunks, 1024 links, raw leaves, CIDv1)", () => {
  it("pins the parameters Helia's addByteStream uses", () => {
    expect(SHARD_UNIXFS_PARAMS).toEqual({
      chunkSize: 1048576,
      maxChildrenPerNode: 1024,
      cidVersion: 1,
      rawLeaves: true,
      reduceSingleLeafToSelf: true,
    });
  });

  const sizes = [0, 1, MiB - 1, MiB, MiB + 1, 5 * MiB + 12345];
  for (const size of sizes) {
    it(`${size} bytes: equals ipfs-unixfs-importer (explicit options and the unixfs-v1-2025 profile)`, async () => {
      const data = randomBytes(size);
      const expected = await importerCid(data, SHARD_UNIXFS_PARAMS);
      expect(
        await importerCid(data, SHARD_UNIXFS_PARAMS, {
          profile: "unixfs-v1-2025",
          chunker: undefined,
          layout: undefined,
        }),
      ).toBe(expected);
      for (const sha256 of sha256s) {
        const r = await computeUnixfsCid(chunks(data, 300_000), { sha256 });
        expect(r.cid.toString(), sha256.name).toBe(expected);
        expect(r.size).toBe(size);
        expect(r.leafCount).toBe(Math.max(1, Math.ceil(size / MiB)));
      }
    });
  }

  it("the empty file is the raw CID of no bytes", async () => {
    const r = await computeUnixfsCid([]);
    expect(r.cid.toString()).toBe("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
  });
});

describe("multi-layer balanced trees (small chunk size and width, same code path)", () => {
  const shapes = [
    { chunkSize: 1024, maxChildrenPerNode: 1024, leaves: [1024, 1025, 1500] },
    { chunkSize: 64, maxChildrenPerNode: 4, leaves: [2, 3, 4, 5, 15, 16, 17, 64, 65, 257, 1000] },
    { chunkSize: 100, maxChildrenPerNode: 3, leaves: [9, 10, 27, 28, 82] },
  ];
  for (const { chunkSize, maxChildrenPerNode, leaves } of shapes) {
    for (const n of leaves) {
      for (const tail of [0, 1, chunkSize - 1]) {
        const size = (tail === 0 ? n : n - 1) * chunkSize + tail;
        it(`chunk ${chunkSize}, width ${maxChildrenPerNode}: ${size} bytes`, async () => {
          const data = randomBytes(size);
          const expected = await importerCid(data, { chunkSize, maxChildrenPerNode });
          const nodes: string[] = [];
          const r = await computeUnixfsCid(chunks(data, 3 * chunkSize), {
            chunkSize,
            maxChildrenPerNode,
            onNode: (cid) => nodes.push(cid.toString()),
          });
          expect(r.cid.toString()).toBe(expected);
          if (r.leafCount > 1) expect(nodes[nodes.length - 1]).toBe(expected);
        });
      }
    }
  }

  it("the smallest parameters (1-byte chunks, 2 links per node) are taken and equal the importer", async () => {
    for (const size of [1, 2, 3, 5, 8, 9]) {
      const data = randomBytes(size);
      const params = { chunkSize: 1, maxChildrenPerNode: 2 };
      const r = await computeUnixfsCid(chunks(data, 3), params);
      expect(r.cid.toString(), `${size} bytes`).toBe(await importerCid(data, params));
    }
  });

  it("rejects invalid parameters", () => {
    expect(() => new UnixfsCidBuilder({ chunkSize: 0 })).toThrow(InvalidParametersError);
    expect(() => new UnixfsCidBuilder({ maxChildrenPerNode: 1 })).toThrow(InvalidParametersError);
  });
});

describe("SHA-256 outside Node", () => {
  it("getNodeStreamingSha256 is undefined in a runtime without node:crypto, or without getBuiltinModule", () => {
    const proc = process as { getBuiltinModule?: typeof process.getBuiltinModule };
    const builtin = process.getBuiltinModule.bind(process);
    const spy = vi
      .spyOn(process, "getBuiltinModule")
      .mockImplementation(((id: string) =>
        id === "node:crypto" ? undefined : builtin(id)) as typeof process.getBuiltinModule);
    try {
      expect(getNodeStreamingSha256()).toBeUndefined();
      spy.mockRestore();
      const saved = proc.getBuiltinModule;
      proc.getBuiltinModule = undefined;
      try {
        expect(getNodeStreamingSha256()).toBeUndefined();
      } finally {
        proc.getBuiltinModule = saved;
      }
    } finally {
      spy.mockRestore();
    }
    expect(getNodeStreamingSha256()?.name).toBe("node:crypto");
  });

  it('the portable SHA-256 (@noble/hashes) is named "portable"', () => {
    expect(portableStreamingSha256.name).toBe("portable");
  });
});

describe("pushLeaf: leaves hashed elsewhere (workers, WebCrypto)", () => {
  it("gives the same CID as feeding the bytes, with WebCrypto digests", async () => {
    const chunkSize = 4096;
    for (const size of [0, 1, chunkSize, 5 * chunkSize + 7, 40 * chunkSize]) {
      const data = randomBytes(size);
      const expected = await importerCid(data, { chunkSize, maxChildrenPerNode: 4 });
      const b = new UnixfsCidBuilder({ chunkSize, maxChildrenPerNode: 4 });
      let off = 0;
      do {
        const leaf = data.subarray(off, off + chunkSize);
        b.pushLeaf(new Uint8Array(await crypto.subtle.digest("SHA-256", leaf)), leaf.length);
        off += chunkSize;
      } while (off < size);
      expect(b.finish().cid.toString(), `${size} bytes`).toBe(expected);
    }
  });

  it("names each leaf by the digest it was given, an empty file's only leaf included (never re-hashed)", () => {
    // Any 32 bytes: the builder cannot see the leaf's bytes, so the digest pushed is the one named.
    const digest = new Uint8Array(32).fill(0xab);
    const named = CID.createV1(raw.code, Digest.create(0x12, digest)).toString();
    for (const size of [0, 1, 1024]) {
      const b = new UnixfsCidBuilder({ chunkSize: 1024 });
      b.pushLeaf(digest, size);
      const r = b.finish();
      expect(r.cid.toString(), `${size} bytes`).toBe(named);
      expect(r.leafCount).toBe(1);
      expect(r.size).toBe(size);
    }
  });

  it("keeps its own copy of a pushed digest: the caller may reuse its buffer at once", () => {
    const digest = new Uint8Array(32).fill(0xab);
    const b = new UnixfsCidBuilder({ chunkSize: 1024 });
    b.pushLeaf(digest, 10);
    digest.fill(0); // reused for the next leaf's digest
    const r = b.finish();
    expect(r.cid.multihash.digest).toEqual(new Uint8Array(32).fill(0xab));
    expect(r.cid.toString()).toBe(
      CID.createV1(raw.code, Digest.create(0x12, new Uint8Array(32).fill(0xab))).toString(),
    );
  });

  it("mixes with update() at leaf boundaries, and refuses leaves after a short one", () => {
    const data = randomBytes(3 * 1024 + 5);
    const fed = new UnixfsCidBuilder({ chunkSize: 1024 });
    fed.update(data);
    const mixed = new UnixfsCidBuilder({ chunkSize: 1024 });
    mixed.update(data.subarray(0, 1024));
    mixed.pushLeaf(
      new Uint8Array(createHash("sha256").update(data.subarray(1024, 2048)).digest()),
      1024,
    );
    mixed.update(data.subarray(2048));
    expect(mixed.finish().cid.toString()).toBe(fed.finish().cid.toString());

    const b = new UnixfsCidBuilder({ chunkSize: 1024 });
    b.pushLeaf(new Uint8Array(32), 10);
    expect(() => b.pushLeaf(new Uint8Array(32), 10)).toThrow(InvalidParametersError);
    expect(() => b.update(Uint8Array.of(1))).toThrow(InvalidParametersError);
    const c = new UnixfsCidBuilder({ chunkSize: 1024 });
    c.update(Uint8Array.of(1));
    expect(() => c.pushLeaf(new Uint8Array(32), 1024)).toThrow(InvalidParametersError);
    expect(() => c.pushLeaf(new Uint8Array(31), 1024)).toThrow(InvalidParametersError);
  });
});

describe("file nodes of 2 GiB and more (ipfs-unixfs writes sizes in [2^31, 2^32) wrongly)", () => {
  it("encodes a file node's Data exactly as ipfs-unixfs does below 2 GiB", () => {
    for (let t = 0; t < 200; t++) {
      const sizes = Array.from({ length: 1 + (t % 7) }, () =>
        Math.floor(Math.random() * (t % 2 ? 300 : 2 ** 28)),
      );
      const theirs = new UnixFS({ type: "file" });
      for (const s of sizes) theirs.addBlockSize(BigInt(s));
      expect(encodeUnixfsFileData(sizes)).toEqual(theirs.marshal());
    }
  });

  it("round-trips totals and block sizes in [2^31, 2^32) and above through ipfs-unixfs's decoder", () => {
    for (const sizes of [
      [2 ** 30, 2 ** 30, 53 * MiB], // 2 GiB + 53 MiB: the 4 GiB put's shards (k = 2)
      [2 ** 31],
      [2 ** 32 - 1],
      [2 ** 31 + 1, 2 ** 31 + 3], // a total above 2^32
      [2 ** 40, 5],
    ]) {
      const bytes = encodeUnixfsFileData(sizes);
      expect(encodeUnixfsFileData(sizes)).toEqual(bytes);
      const back = UnixFS.unmarshal(bytes);
      expect(back.type).toBe("file");
      expect(back.fileSize()).toBe(BigInt(sizes.reduce((a, b) => a + b, 0)));
      expect(back.blockSizes).toEqual(sizes.map(BigInt));
    }
  });

  it("gives a 2 GiB + 53 MiB shard one CID, whose root records the whole size", () => {
    const leaves = 2048 + 53;
    const digest = createHash("sha256").update("leaf").digest();
    const build = () => {
      const nodes = new Map<string, Uint8Array>();
      const b = new UnixfsCidBuilder({ onNode: (cid, bytes) => nodes.set(cid.toString(), bytes) });
      for (let i = 0; i < leaves; i++) b.pushLeaf(digest, MiB);
      return { cid: b.finish().cid, nodes };
    };
    const one = build();
    const two = build();
    expect(two.cid.toString()).toBe(one.cid.toString());
    const root = dagPb.decode(one.nodes.get(one.cid.toString())!);
    const data = UnixFS.unmarshal(root.Data!);
    expect(data.fileSize()).toBe(BigInt(leaves * MiB));
    expect(data.blockSizes).toEqual([2n ** 30n, 2n ** 30n, BigInt(53 * MiB)]);
    expect(root.Links.map((l) => l.Tsize)).toEqual(
      data.blockSizes.map(
        (s, i) => Number(s) + one.nodes.get(root.Links[i]!.Hash.toString())!.length,
      ),
    );
  });
});

describe("UnixfsCidBuilder refusals say what is wrong", () => {
  it("refuses a chunk size below 1 or a node width below 2, naming the parameter and the minimum", () => {
    for (const chunkSize of [0, 1.5]) {
      const make = () => new UnixfsCidBuilder({ chunkSize });
      expect(make).toThrow(InvalidParametersError);
      expect(make).toThrow(new RegExp(`^chunkSize = ${chunkSize}: must be an integer ≥ 1$`));
    }
    for (const maxChildrenPerNode of [1, 2.5]) {
      const make = () => new UnixfsCidBuilder({ maxChildrenPerNode });
      expect(make).toThrow(InvalidParametersError);
      expect(make).toThrow(
        new RegExp(`^maxChildrenPerNode = ${maxChildrenPerNode}: must be an integer ≥ 2$`),
      );
    }
  });

  it("refuses bytes after finish() and after a short pushed leaf, but takes empty chunks after the last leaf", () => {
    const finished = new UnixfsCidBuilder({ chunkSize: 1024 });
    finished.update(Uint8Array.of(1, 2, 3));
    const cid = finished.finish().cid.toString();
    expect(() => finished.update(Uint8Array.of(4))).toThrow(
      /^chunk = 1: update\(\) after finish\(\)$/,
    );
    expect(() => finished.finish()).toThrow(/^finish = 2: finish\(\) called twice$/);
    expect(() => finished.pushLeaf(new Uint8Array(32), 1)).toThrow(
      /^leaf = 1: pushLeaf\(\) after finish\(\)$/,
    );

    const digest = new Uint8Array(
      createHash("sha256")
        .update(Uint8Array.of(1, 2, 3))
        .digest(),
    );
    const pushed = new UnixfsCidBuilder({ chunkSize: 1024 });
    pushed.pushLeaf(digest, 3);
    // A stream may end with empty pieces: they add nothing after the last leaf.
    pushed.update(new Uint8Array(0));
    expect(() => pushed.update(Uint8Array.of(4, 5))).toThrow(InvalidParametersError);
    expect(() => pushed.update(Uint8Array.of(4, 5))).toThrow(
      /^chunk = 2: update\(\) after the last leaf$/,
    );
    expect(() => pushed.pushLeaf(digest, 3)).toThrow(
      /^leaf = 3: a leaf shorter than chunkSize must be the last$/,
    );
    expect(pushed.finish().cid.toString()).toBe(cid);
  });

  it("refuses a pushed leaf while update() has part of one, a leaf size outside 0..chunkSize, and a digest not of 32 bytes", () => {
    const partly = new UnixfsCidBuilder({ chunkSize: 1024 });
    partly.update(Uint8Array.of(1));
    expect(() => partly.pushLeaf(new Uint8Array(32), 1024)).toThrow(
      /^leaf = 1024: pushLeaf\(\) while a leaf is partly fed by update\(\)$/,
    );
    const b = new UnixfsCidBuilder({ chunkSize: 1024 });
    for (const size of [-1, 1025, 0.5])
      expect(() => b.pushLeaf(new Uint8Array(32), size)).toThrow(
        new RegExp(`^size = ${size}: a leaf holds 0\\.\\.1024 bytes$`),
      );
    expect(() => b.pushLeaf(new Uint8Array(31), 1024)).toThrow(/^digest = 31: must be 32 bytes$/);
  });

  it("a pushed empty last leaf after whole ones changes nothing: the CID and leaf count of the bytes", async () => {
    const chunkSize = 1024;
    for (const leaves of [1, 2, 5]) {
      const data = randomBytes(leaves * chunkSize);
      const expected = await importerCid(data, { chunkSize, maxChildrenPerNode: 4 });
      const b = new UnixfsCidBuilder({ chunkSize, maxChildrenPerNode: 4 });
      for (let off = 0; off < data.length; off += chunkSize) {
        const leaf = data.subarray(off, off + chunkSize);
        b.pushLeaf(new Uint8Array(createHash("sha256").update(leaf).digest()), chunkSize);
      }
      b.pushLeaf(new Uint8Array(createHash("sha256").digest()), 0);
      expect(() => b.pushLeaf(new Uint8Array(32), 0)).toThrow(/must be the last/);
      const r = b.finish();
      expect(r.cid.toString(), `${leaves} leaves`).toBe(expected);
      expect(r.leafCount).toBe(leaves);
      expect(r.size).toBe(leaves * chunkSize);
    }
  });
});
