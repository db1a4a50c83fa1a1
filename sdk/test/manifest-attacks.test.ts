// Manifests, envelopes and share links under attack: forged envelopes from link holders, inputs
// that break the parser, envelope sizes that leak, and the manifest CID everyone checks.
import { createHash, randomBytes } from "node:crypto";
import { MemoryBlockstore } from "blockstore-core";
import { importer } from "ipfs-unixfs-importer";
import { fixedSize } from "ipfs-unixfs-importer/chunker";
import { balanced } from "ipfs-unixfs-importer/layout";
import { CID } from "multiformats/cid";
import { bases } from "multiformats/basics";
import { create as createDigest } from "multiformats/hashes/digest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, describe, expect, it } from "vitest";
import { SHARD_UNIXFS_PARAMS } from "../src/cid/index.ts";
import { encryptBytes, generateFileKey } from "../src/crypto/index.ts";
import {
  InvalidManifestError,
  InvalidShareLinkError,
  ManifestCidMismatchError,
  UnsupportedFormatError,
  WrongKeyError,
} from "../src/errors.ts";
import { deriveKeyEncryptionKey, getKeyDerivationTypedData } from "../src/keys/index.ts";
import {
  ENVELOPE_PREFIX_LENGTH,
  MAX_ENVELOPE_LENGTH,
  type Manifest,
  decryptManifest,
  deriveManifestKey,
  deserializeManifest,
  encryptManifest,
  formatShareLink,
  generateFileId,
  manifestCid,
  manifestDecodeOptions,
  parseManifest,
  parseShareLink,
  readManifestEnvelope,
  serializeManifest,
  verifyManifestCid,
} from "../src/manifest/index.ts";
import {
  createPipelinePool,
  decodeFile,
  encodeFile,
  type EncodeFileResult,
} from "../src/pipeline/index.ts";
import vectors from "./vectors/keys.json" with { type: "json" };

const pool = createPipelinePool({ size: 2 });
afterAll(() => pool.close());

const unhex = (s: string): Uint8Array =>
  Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

async function ownerKek(): Promise<Uint8Array> {
  const account = privateKeyToAccount(generatePrivateKey());
  return deriveKeyEncryptionKey(
    await account.signTypedData(
      getKeyDerivationTypedData({ account: account.address, chainId: 31337 }),
    ),
  );
}

/** A file stored the way a client stores it: shards in memory, its manifest, its envelope. */
async function store(
  data: Uint8Array,
  kek: Uint8Array,
  key?: Uint8Array,
): Promise<{
  result: EncodeFileResult;
  shards: Uint8Array[];
  manifest: Manifest;
  envelope: Uint8Array;
}> {
  const parts: Uint8Array[][] = Array.from({ length: 6 }, () => []);
  const result = await encodeFile(data, {
    key,
    workers: pool,
    sinks: parts.map((p) => ({ write: (b: Uint8Array) => void p.push(b.slice()) })),
  });
  const manifest: Manifest = {
    version: 1,
    fileId: generateFileId(),
    name: "minutes.txt",
    size: result.plaintextLength,
    mimeType: "text/plain",
    createdAt: new Date(0).toISOString(),
    encryption: {
      scheme: "CCST-1",
      chunkSize: result.chunkSize,
      ciphertextSize: result.ciphertextLength,
      header: `0x${Buffer.from(result.header).toString("hex")}`,
    },
    erasure: { k: 4, n: 6, blockSize: result.blockSize },
    commitment: { hash: "sha256", segmentSize: 512 },
    shards: result.shards.map(({ size, cid, merkleRoot, leafCount }) => ({
      size,
      cid,
      merkleRoot,
      leafCount,
    })),
  };
  const envelope = encryptManifest({ manifest, fileKey: result.key, kek });
  return { result, shards: parts.map((p) => Buffer.concat(p)), manifest, envelope };
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const p of it) out.push(p);
  return Buffer.concat(out);
}

describe("a share link grants reading one file and nothing else (11.2)", () => {
  it("a link holder's envelope, forged with the owner's wrapped key and a new body, does not open for the owner", async () => {
    const kek = await ownerKek();
    const real = await store(new TextEncoder().encode("the owner's minutes\n".repeat(5000)), kek);
    const fileKey = real.result.key; // what the link carries
    const link = formatShareLink({ manifestCid: manifestCid(real.envelope).toString(), fileKey });

    // The link holder stores its own content under the same file key and writes a manifest for
    // it, keeping the envelope's clear file id and wrapped key.
    const { fileKey: k } = parseShareLink(link);
    const fake = await store(
      new TextEncoder().encode("the attacker's text\n".repeat(5000)),
      kek,
      k,
    );
    const forgedManifest = { ...fake.manifest, fileId: real.manifest.fileId };
    const json = serializeManifest(forgedManifest);
    const padded = new Uint8Array(4096);
    padded.set(json);
    const forged = new Uint8Array([
      ...real.envelope.subarray(0, ENVELOPE_PREFIX_LENGTH),
      ...encryptBytes(padded, deriveManifestKey(k)),
    ]);

    // The owner's key refuses it: the wrapped key is bound to the body the owner encrypted.
    expect(() => decryptManifest(forged, { kek })).toThrow(WrongKeyError);
    // Checked against the deal's manifest CID, it is named as another envelope before anything.
    const dealCid = manifestCid(real.envelope).bytes; // what the market returns
    expect(() => decryptManifest(forged, { kek }, { manifestCid: dealCid })).toThrow(
      ManifestCidMismatchError,
    );
    expect(() => decryptManifest(forged, { fileKey: k }, { manifestCid: dealCid })).toThrow(
      ManifestCidMismatchError,
    );

    // The real envelope still opens for the owner, and its manifest decodes the real file only.
    const opened = decryptManifest(real.envelope, { kek }, { manifestCid: dealCid });
    const options = manifestDecodeOptions(opened.manifest, opened.fileKey);
    const plain = await collect(decodeFile(real.shards, { ...options, workers: pool }));
    expect(plain.toString()).toContain("the owner's minutes");
    await expect(collect(decodeFile(fake.shards, { ...options, workers: pool }))).rejects.toThrow();
  });
});

describe("the manifest CID (issue 6)", () => {
  it("is CIDv1, raw, sha2-256 of the whole envelope: the pinned vector", () => {
    const v = vectors.manifestCid;
    expect(manifestCid(unhex(v.envelope)).toString()).toBe(v.cid);
  });

  it("equals the CID IPFS gives the envelope under the shard import parameters", async () => {
    const kek = await ownerKek();
    for (const bytes of [
      encryptManifest({
        manifest: (await store(randomBytes(1000), kek)).manifest,
        fileKey: generateFileKey(),
        kek,
      }),
      randomBytes(MAX_ENVELOPE_LENGTH),
    ]) {
      let imported: CID | undefined;
      for await (const entry of importer([{ content: [bytes] }], new MemoryBlockstore(), {
        cidVersion: SHARD_UNIXFS_PARAMS.cidVersion,
        rawLeaves: SHARD_UNIXFS_PARAMS.rawLeaves,
        reduceSingleLeafToSelf: SHARD_UNIXFS_PARAMS.reduceSingleLeafToSelf,
        chunker: fixedSize({ chunkSize: SHARD_UNIXFS_PARAMS.chunkSize }),
        layout: balanced({ maxChildrenPerNode: SHARD_UNIXFS_PARAMS.maxChildrenPerNode }),
      }))
        imported = entry.cid;
      expect(manifestCid(bytes).toString()).toBe(imported!.toString());
    }
  });

  it("verifyManifestCid takes the CID as a CID, a string in any multibase, or bytes", () => {
    const envelope = randomBytes(5000);
    const cid = manifestCid(envelope);
    for (const form of [cid, cid.toString(), cid.toString().toUpperCase(), cid.bytes])
      expect(verifyManifestCid(envelope, form).toString()).toBe(cid.toString());
    const other = randomBytes(5000);
    expect(() => verifyManifestCid(other, cid)).toThrow(ManifestCidMismatchError);
    // A dag-pb CID, or another hash, is never a manifest CID.
    const dagPb = CID.createV1(0x70, cid.multihash);
    expect(() => verifyManifestCid(envelope, dagPb)).toThrow(ManifestCidMismatchError);
    // Envelopes are at most 1 MiB, so that IPFS imports them as one raw block.
    expect(() => manifestCid(new Uint8Array(MAX_ENVELOPE_LENGTH + 1))).toThrow(
      UnsupportedFormatError,
    );
    expect(() => readManifestEnvelope(new Uint8Array(MAX_ENVELOPE_LENGTH + 1))).toThrow(
      UnsupportedFormatError,
    );
  });
});

describe("share links accept every multibase IPFS tools print (issue 6)", () => {
  const key = generateFileKey();
  const cid = CID.createV1(0x55, createDigest(0x12, createHash("sha256").update("x").digest()));
  const canonical = cid.toString();

  it("upper-case base32, base36, base58btc, base16, base64 and the rest parse to the canonical CID", () => {
    const k = formatShareLink({ manifestCid: canonical, fileKey: key }).split("#")[1]!;
    for (const [name, base] of Object.entries(bases)) {
      if (name === "identity") continue;
      const text = cid.toString(base as Parameters<CID["toString"]>[0]);
      const parsed = parseShareLink(`coop://${text}#${k}`);
      expect(parsed.manifestCid, name).toBe(canonical);
      expect(formatShareLink({ manifestCid: text, fileKey: key })).toBe(`coop://${canonical}#${k}`);
    }
  });

  it("refuses a CID that is no manifest CID (dag-pb, another hash)", () => {
    const k = formatShareLink({ manifestCid: canonical, fileKey: key }).split("#")[1]!;
    const dagPb = CID.createV1(0x70, cid.multihash).toString();
    expect(() => parseShareLink(`coop://${dagPb}#${k}`)).toThrow(InvalidShareLinkError);
  });
});

describe("every malformed manifest gets the typed error (11.9)", () => {
  const valid = (): Record<string, unknown> =>
    JSON.parse(
      new TextDecoder().decode(
        serializeManifest({
          version: 1,
          fileId: generateFileId(),
          name: "a",
          size: 0,
          mimeType: "text/plain",
          createdAt: new Date(0).toISOString(),
          encryption: {
            scheme: "CCST-1",
            chunkSize: 65536,
            ciphertextSize: 57,
            header: `0x434353540100010000${"ab".repeat(16)}${"cd".repeat(16)}`,
          },
          erasure: { k: 1, n: 1, blockSize: 1048576 },
          commitment: { hash: "sha256", segmentSize: 512 },
          shards: [
            {
              size: 512,
              cid: CID.createV1(0x55, createDigest(0x12, new Uint8Array(32))).toString(),
              merkleRoot: `0x${"00".repeat(32)}`,
              leafCount: 1,
            },
          ],
        }),
      ),
    ) as Record<string, unknown>;

  function deep(depth: number): unknown {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = [v];
    return v;
  }

  const expectTyped = (value: unknown, label: string): void => {
    try {
      parseManifest(value);
    } catch (error) {
      expect(error, label).toBeInstanceOf(InvalidManifestError);
      return;
    }
    throw new Error(`${label}: accepted`);
  };

  it("a BigInt, deep nesting, a cycle, a throwing getter, a symbol anywhere", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const throwing = Object.defineProperty({}, "k", {
      enumerable: true,
      get() {
        throw new RangeError("boom");
      },
    });
    const odd: [string, unknown][] = [
      ["BigInt", 10n],
      ["deep nesting", deep(200_000)],
      ["a cycle", cyclic],
      ["a throwing getter", throwing],
      ["a symbol", Symbol("x")],
      ["a function", () => 1],
    ];
    for (const [what, junk] of odd)
      for (const field of ["version", "size", "name", "encryption", "erasure", "shards"]) {
        const m = valid();
        m[field] = junk;
        expectTyped(m, `${what} as ${field}`);
      }
    const m = valid();
    (m.encryption as Record<string, unknown>).chunkSize = 65536n;
    expectTyped(m, "BigInt chunk size");
    expectTyped(throwing, "a throwing getter at the top");
    expect(() => serializeManifest({ ...valid(), size: 1n } as unknown as Manifest)).toThrow(
      InvalidManifestError,
    );
    expect(() => deserializeManifest(new TextEncoder().encode("[".repeat(100_000)))).toThrow(
      InvalidManifestError,
    );
  });

  it("fuzz: every field replaced by junk, every byte of the JSON mutated: only InvalidManifestError", () => {
    const junk: unknown[] = [
      null,
      true,
      -1,
      1.5,
      2 ** 60,
      "",
      "x".repeat(5000),
      [],
      {},
      7n,
      deep(5000),
    ];
    const base = valid();
    const paths: string[][] = [];
    const walk = (v: unknown, path: string[]): void => {
      paths.push(path);
      if (v !== null && typeof v === "object")
        for (const [k, c] of Object.entries(v)) walk(c, [...path, k]);
    };
    walk(base, []);
    for (const path of paths.slice(1))
      for (const value of junk) {
        const m = valid();
        let at = m as Record<string, unknown>;
        for (const p of path.slice(0, -1)) at = at[p] as Record<string, unknown>;
        at[path.at(-1)!] = value;
        try {
          parseManifest(m);
        } catch (error) {
          expect(error, path.join(".")).toBeInstanceOf(InvalidManifestError);
        }
      }
    const text = new TextEncoder().encode(JSON.stringify(base));
    for (let i = 0; i < 3000; i++) {
      const bytes = text.slice();
      const at = Math.floor(Math.random() * bytes.length);
      bytes[at] = Math.floor(Math.random() * 256);
      try {
        deserializeManifest(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidManifestError);
      }
    }
  });
});

describe("an envelope's length does not reveal the name's length (11.10)", () => {
  it("names of 1 and 1,000 characters, other MIME types and ids: envelopes of one length", async () => {
    const kek = await ownerKek();
    const { manifest } = await store(randomBytes(10_000), kek);
    const lengths = new Set<number>();
    for (const name of ["a", "x".repeat(1000), "Ünïcödé ".repeat(100).trim(), "report.pdf"])
      for (const mimeType of [
        "text/plain",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      ])
        lengths.add(
          encryptManifest({
            manifest: { ...manifest, name, mimeType, dealId: "1", chainId: 31337 },
            fileKey: generateFileKey(),
            kek,
          }).length,
        );
    expect([...lengths]).toEqual([ENVELOPE_PREFIX_LENGTH + 41 + 4096 + 16]);
  });

  it("the padding is checked: a body padded to no size class, or with non-zero padding, is refused", async () => {
    const kek = await ownerKek();
    const { manifest, result, envelope } = await store(randomBytes(10_000), kek);
    const json = serializeManifest(manifest);
    for (const padded of [
      json,
      Uint8Array.from([...json, 0, 0, 0]),
      (() => {
        const p = new Uint8Array(4096);
        p.set(json);
        p[4095] = 1;
        return p;
      })(),
    ]) {
      const bytes = new Uint8Array([
        ...envelope.subarray(0, ENVELOPE_PREFIX_LENGTH),
        ...encryptBytes(padded, deriveManifestKey(result.key)),
      ]);
      expect(() => decryptManifest(bytes, { fileKey: result.key })).toThrow(InvalidManifestError);
    }
  });
});
