import { base36 } from "multiformats/bases/base36";
import { CID } from "multiformats/cid";
import { create as createDigest } from "multiformats/hashes/digest";
import { createHash } from "node:crypto";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import {
  createStreamHeader,
  decryptBytes,
  encryptBytes,
  generateFileKey,
  getCiphertextLength,
} from "../src/crypto/index.ts";
import { getStripeLayout } from "../src/erasure/index.ts";
import {
  InvalidManifestError,
  InvalidParametersError,
  InvalidShareLinkError,
  ManifestCidMismatchError,
  TamperedDataError,
  TruncatedDataError,
  UnsupportedFormatError,
  WrongKeyError,
} from "../src/errors.ts";
import {
  deriveKeyEncryptionKey,
  getKeyDerivationTypedData,
  unwrapFileKey,
  wrapFileKey,
} from "../src/keys/index.ts";
import {
  ENVELOPE_PREFIX_LENGTH,
  MAX_ENVELOPE_LENGTH,
  type Manifest,
  canonicalJson,
  decryptManifest,
  deriveManifestKey,
  deserializeManifest,
  encryptManifest,
  formatShareLink,
  fromBase64Url,
  generateFileId,
  manifestCid,
  manifestDecodeOptions,
  paddedManifestLength,
  parseManifest,
  parseShareLink,
  readManifestEnvelope,
  serializeManifest,
  toBase64Url,
  verifyManifestCid,
} from "../src/manifest/index.ts";
import vectors from "./vectors/keys.json" with { type: "json" };

const hex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string): Uint8Array =>
  Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

function rawCid(label: string): string {
  const digest = createHash("sha256").update(label).digest();
  return CID.createV1(0x55, createDigest(0x12, digest)).toString();
}

function makeManifest(size = 1_000_000, overrides: Partial<Manifest> = {}): Manifest {
  const chunkSize = 65_536;
  const ciphertextSize = getCiphertextLength(size, chunkSize);
  const header = `0x${hex(createStreamHeader(generateFileKey(), { chunkSize }).bytes)}` as const;
  const layout = getStripeLayout({
    dataShards: 4,
    totalShards: 6,
    blockSize: 1_048_576,
    dataLength: ciphertextSize,
  });
  return {
    version: 1,
    fileId: generateFileId(),
    name: "annual report (final).pdf",
    size,
    mimeType: "application/pdf",
    createdAt: "2026-11-25T17:32:29.123Z",
    encryption: { scheme: "CCST-1", chunkSize, ciphertextSize, header },
    erasure: { k: 4, n: 6, blockSize: 1_048_576 },
    commitment: { hash: "sha256", segmentSize: 512 },
    shards: Array.from({ length: 6 }, (_, i) => ({
      size: layout.shardSize,
      cid: rawCid(`shard ${i}`),
      merkleRoot: `0x${createHash("sha256").update(`root ${i}`).digest("hex")}` as `0x${string}`,
      leafCount: Math.ceil(layout.shardSize / 512),
    })),
    ...overrides,
  };
}

async function ownerKek(privateKey = generatePrivateKey()): Promise<Uint8Array> {
  const account = privateKeyToAccount(privateKey);
  return deriveKeyEncryptionKey(
    await account.signTypedData(
      getKeyDerivationTypedData({ account: account.address, chainId: 31337 }),
    ),
  );
}

/**
 * An envelope as the owner would write it around any body bytes (padded to 4 KiB, encrypted
 * under the manifest key, the wrapped key bound to it), built from the protocol's parts.
 */
function ownerEnvelope(
  json: Uint8Array,
  fileId: `0x${string}`,
  fileKey: Uint8Array,
  kek: Uint8Array,
): Uint8Array {
  const padded = new Uint8Array(Math.max(4096, 2 ** Math.ceil(Math.log2(json.length))));
  padded.set(json);
  const body = encryptBytes(padded, deriveManifestKey(fileKey));
  const id = unhex(fileId.slice(2));
  const wrapped = wrapFileKey(kek, fileKey, {
    fileId: id,
    manifestVersion: 1,
    manifestDigest: createHash("sha256").update(body).digest(),
  });
  return new Uint8Array([0x43, 0x43, 0x4d, 0x46, 1, ...id, ...wrapped, ...body]);
}

/** Untyped JSON, so tests can put any value anywhere. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the point is to write wrong types
type AnyJson = Record<string, any>;

/** A JSON copy of the manifest with one field changed by `edit`. */
function edited(manifest: Manifest, edit: (json: AnyJson) => void): unknown {
  const json = JSON.parse(JSON.stringify(manifest)) as AnyJson;
  edit(json);
  return json;
}

function expectManifestError(value: unknown, field: string): void {
  try {
    parseManifest(value);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidManifestError);
    expect((error as InvalidManifestError).field).toBe(field);
    return;
  }
  throw new Error(`expected InvalidManifestError on ${field}`);
}

describe("manifest validation and canonical serialization", () => {
  it("serializes canonically: sorted keys, no whitespace, same bytes whatever the key order", () => {
    const m = makeManifest(1_000_000, { dealId: "42", chainId: 31337 });
    const bytes = serializeManifest(m);
    const text = new TextDecoder().decode(bytes);
    expect(
      text.startsWith(
        '{"chainId":31337,"commitment":{"hash":"sha256","segmentSize":512},"createdAt":',
      ),
    ).toBe(true);
    expect(text).not.toMatch(/\s"|":\s/);
    const reordered = Object.fromEntries(Object.entries(m).reverse()) as unknown as Manifest;
    expect(serializeManifest(reordered)).toEqual(bytes);
    expect(deserializeManifest(bytes)).toEqual(m);
    expect(serializeManifest(deserializeManifest(bytes))).toEqual(bytes);
  });

  it("canonicalJson sorts nested keys by UTF-16 code units and refuses non-integers", () => {
    expect(canonicalJson({ b: [1, { z: null, a: true }], a: "é\n", B: 0 })).toBe(
      '{"B":0,"a":"é\\n","b":[1,{"a":true,"z":null}]}',
    );
    expect(() => canonicalJson({ x: 1.5 })).toThrow();
  });

  it("accepts an empty file (one chunk, one stripe, one leaf per shard)", () => {
    const m = makeManifest(0);
    expect(parseManifest(JSON.parse(JSON.stringify(m)))).toEqual(m);
    expect(m.shards[0]!.leafCount).toBe(1);
  });

  it("names the bad field", () => {
    const m = makeManifest();
    expectManifestError(null, "");
    expectManifestError(
      edited(m, (j) => delete j.name),
      "name",
    );
    expectManifestError(
      edited(m, (j) => (j.size = "1000000")),
      "size",
    );
    expectManifestError(
      edited(m, (j) => (j.size = -1)),
      "size",
    );
    expectManifestError(
      edited(m, (j) => (j.name = "invoice\u202efdp.exe")),
      "name",
    );
    expectManifestError(
      edited(m, (j) => (j.name = "../../etc/passwd")),
      "name",
    );
    expectManifestError(
      edited(m, (j) => (j.mimeType = "pdf")),
      "mimeType",
    );
    expectManifestError(
      edited(m, (j) => (j.createdAt = "2026-11-25 17:32")),
      "createdAt",
    );
    expectManifestError(
      edited(m, (j) => (j.fileId = "0x1234")),
      "fileId",
    );
    expectManifestError(
      edited(m, (j) => (j.encryption.scheme = "AES-GCM")),
      "encryption.scheme",
    );
    expectManifestError(
      edited(m, (j) => (j.encryption.ciphertextSize += 1)),
      "encryption.ciphertextSize",
    );
    expectManifestError(
      edited(m, (j) => (j.erasure.n = 40)),
      "erasure.n",
    );
    // One block-size rule (512·2^h): a multiple of 512 that is no power of two is refused.
    expectManifestError(
      edited(m, (j) => (j.erasure.blockSize = 1536)),
      "erasure.blockSize",
    );
    expectManifestError(
      edited(m, (j) => (j.erasure.k = 7)),
      "erasure.n",
    );
    expectManifestError(
      edited(m, (j) => j.shards.pop()),
      "shards",
    );
    expectManifestError(
      edited(m, (j) => (j.shards[2].cid = "not-a-cid")),
      "shards[2].cid",
    );
    expectManifestError(
      edited(m, (j) => (j.shards[2].cid = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG")),
      "shards[2].cid",
    );
    expectManifestError(
      edited(m, (j) => (j.shards[1].merkleRoot = j.shards[1].merkleRoot.toUpperCase())),
      "shards[1].merkleRoot",
    );
    expectManifestError(
      edited(m, (j) => (j.shards[0].leafCount += 1)),
      "shards[0].leafCount",
    );
    expectManifestError(
      edited(m, (j) => (j.shards[5].size = 512)),
      "shards[5].size",
    );
    expectManifestError(
      edited(m, (j) => (j.shards[3].extra = 1)),
      "shards[3].extra",
    );
    expectManifestError(
      edited(m, (j) => (j.owner = "0xabc")),
      "owner",
    );
    expectManifestError(
      edited(m, (j) => (j.dealId = "-1")),
      "dealId",
    );
    expectManifestError(
      edited(m, (j) => (j.dealId = (2n ** 256n).toString())),
      "dealId",
    );
    expectManifestError(
      edited(m, (j) => (j.chainId = 0)),
      "chainId",
    );
  });

  it("refuses an unsupported version", () => {
    const m = makeManifest();
    expectManifestError(
      edited(m, (j) => (j.version = 2)),
      "version",
    );
    expectManifestError(
      edited(m, (j) => delete j.version),
      "version",
    );
    expect(() => deserializeManifest(new Uint8Array([0xff, 0xfe]))).toThrow(InvalidManifestError);
  });
});

describe("manifest envelope", () => {
  it("derives the manifest key of the pinned vector (HKDF-SHA256, no salt)", () => {
    const v = vectors.manifestKey;
    expect(hex(deriveManifestKey(unhex(v.fileKey)))).toBe(v.manifestKey);
  });

  it("the owner recovers the manifest and the file key from the wallet signature and the envelope bytes alone", async () => {
    const privateKey = generatePrivateKey();
    const fileKey = generateFileKey();
    const manifest = makeManifest();
    const envelope = encryptManifest({ manifest, fileKey, kek: await ownerKek(privateKey) });
    // later, on another device: sign again, open
    const opened = decryptManifest(envelope, { kek: await ownerKek(privateKey) });
    expect(opened.manifest).toEqual(manifest);
    expect(opened.fileKey).toEqual(fileKey);
    expect(readManifestEnvelope(envelope).fileId).toBe(manifest.fileId);
  });

  it("the noble and native paths read each other's envelopes", async () => {
    const kek = await ownerKek();
    const fileKey = generateFileKey();
    const manifest = makeManifest();
    const a = encryptManifest({ manifest, fileKey, kek, implementation: "noble" });
    expect(decryptManifest(a, { kek }, { implementation: "native" }).manifest).toEqual(manifest);
    const b = encryptManifest({ manifest, fileKey, kek, implementation: "native" });
    expect(decryptManifest(b, { fileKey }, { implementation: "noble" }).manifest).toEqual(manifest);
  });

  it("another wallet's KEK: WrongKeyError", async () => {
    const envelope = encryptManifest({
      manifest: makeManifest(),
      fileKey: generateFileKey(),
      kek: await ownerKek(),
    });
    expect(() => decryptManifest(envelope, { kek: generateFileKey() })).toThrow(WrongKeyError);
  });

  it("another file's key: WrongKeyError", async () => {
    const envelope = encryptManifest({
      manifest: makeManifest(),
      fileKey: generateFileKey(),
      kek: await ownerKek(),
    });
    expect(() => decryptManifest(envelope, { fileKey: generateFileKey() })).toThrow(WrongKeyError);
  });

  it("a tampered envelope is detected: by the manifest CID, and by the owner's key without it", async () => {
    const kek = await ownerKek();
    const fileKey = generateFileKey();
    const envelope = encryptManifest({ manifest: makeManifest(), fileKey, kek });
    const cid = manifestCid(envelope);
    const flip = (offset: number): Uint8Array => {
      const copy = envelope.slice();
      copy[offset]! ^= 1;
      return copy;
    };
    const other = encryptManifest({ manifest: makeManifest(), fileKey: generateFileKey(), kek });
    const altered = [
      flip(envelope.length - 40), // a byte of the encrypted manifest
      flip(40), // the wrapped key
      flip(6), // the clear file id
      // the body of another envelope of the same owner spliced in
      new Uint8Array([
        ...envelope.subarray(0, ENVELOPE_PREFIX_LENGTH),
        ...other.subarray(ENVELOPE_PREFIX_LENGTH),
      ]),
      envelope.subarray(0, envelope.length - 1), // cut short
    ];
    for (const bytes of altered) {
      // Against the deal's manifest CID: named precisely, before any decryption.
      expect(() => decryptManifest(bytes, { kek }, { manifestCid: cid })).toThrow(
        ManifestCidMismatchError,
      );
      expect(() => decryptManifest(bytes, { fileKey }, { manifestCid: cid })).toThrow(
        ManifestCidMismatchError,
      );
      // Without it, the owner's key opens only what the owner wrote: an altered envelope cannot
      // be told from another wallet's.
      expect(() => decryptManifest(bytes, { kek })).toThrow(WrongKeyError);
    }
    // A link's key sees the AEAD failure, or the clear file id that differs from the one inside.
    expect(() => decryptManifest(flip(envelope.length - 40), { fileKey })).toThrow(
      TamperedDataError,
    );
    expect(() => decryptManifest(flip(6), { fileKey })).toThrow(InvalidManifestError);
    expect(() => decryptManifest(envelope.subarray(0, 50), { kek })).toThrow(TruncatedDataError);
    expect(decryptManifest(envelope, { kek }, { manifestCid: cid.toString() }).fileKey).toEqual(
      fileKey,
    );
  });

  it("an unsupported envelope version or foreign bytes: UnsupportedFormatError", async () => {
    const kek = await ownerKek();
    const envelope = encryptManifest({ manifest: makeManifest(), fileKey: generateFileKey(), kek });
    const v2 = envelope.slice();
    v2[4] = 2;
    expect(() => decryptManifest(v2, { kek })).toThrow(UnsupportedFormatError);
    expect(() => decryptManifest(new TextEncoder().encode('{"version":1}'), { kek })).toThrow(
      UnsupportedFormatError,
    );
  });

  it("a well-encrypted manifest of an unsupported version: InvalidManifestError on version", async () => {
    const kek = await ownerKek();
    const fileKey = generateFileKey();
    const manifest = makeManifest();
    const future = new TextEncoder().encode(
      canonicalJson({ ...(JSON.parse(JSON.stringify(manifest)) as object), version: 2 }),
    );
    const envelope = ownerEnvelope(future, manifest.fileId, fileKey, kek);
    try {
      decryptManifest(envelope, { kek });
      throw new Error("expected an error");
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidManifestError);
      expect((error as InvalidManifestError).field).toBe("version");
    }
  });
});

describe("share links", () => {
  it("format and parse round trip; the pinned vector", () => {
    const v = vectors.shareLink;
    expect(formatShareLink({ manifestCid: v.manifestCid, fileKey: unhex(v.fileKey) })).toBe(v.link);
    const parsed = parseShareLink(v.link);
    expect(parsed.manifestCid).toBe(v.manifestCid);
    expect(hex(parsed.fileKey)).toBe(v.fileKey);
    const key = generateFileKey();
    const cid = rawCid("manifest");
    expect(parseShareLink(formatShareLink({ manifestCid: cid, fileKey: key }))).toEqual({
      manifestCid: cid,
      fileKey: key,
    });
    expect(parseShareLink(`COOP://${cid}/#x=1&k=${toBase64Url(key)}`).fileKey).toEqual(key);
  });

  it("base64url is canonical and unpadded", () => {
    for (let n = 0; n < 40; n++) {
      const bytes = generateFileKey().subarray(0, n % 33);
      expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes);
      expect(toBase64Url(bytes)).toBe(Buffer.from(bytes).toString("base64url"));
    }
    expect(fromBase64Url("AB")).toBeUndefined(); // non-zero padding bits
    expect(fromBase64Url("A")).toBeUndefined();
  });

  it("malformed links: InvalidShareLinkError naming the part", () => {
    const key = toBase64Url(generateFileKey());
    const cid = rawCid("manifest");
    const cases: [string, InvalidShareLinkError["part"]][] = [
      [`https://${cid}#k=${key}`, "scheme"],
      [`coop:${cid}#k=${key}`, "scheme"],
      [`coop://${cid}`, "fragment"],
      [`coop://${cid}#key=${key}`, "fragment"],
      [`coop://${cid}#k=${key}&k=${key}`, "fragment"],
      [`coop://#k=${key}`, "cid"],
      [`coop://not-a-cid#k=${key}`, "cid"],
      [`coop://QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG#k=${key}`, "cid"],
      [`coop://${cid}/extra/path#k=${key}`, "cid"],
      [`coop://${cid}?q=1#k=${key}`, "cid"],
      [`coop://${cid}#k=`, "key"],
      [`coop://${cid}#k=${key.slice(0, 42)}`, "key"],
      [`coop://${cid}#k=${key}=`, "key"],
      [`coop://${cid}#k=${key.slice(0, 42)}+`, "key"],
      [`coop://${cid}#k=${toBase64Url(new Uint8Array(16))}`, "key"],
    ];
    for (const [link, part] of cases) {
      try {
        parseShareLink(link);
        throw new Error(`accepted ${link}`);
      } catch (error) {
        expect(error, link).toBeInstanceOf(InvalidShareLinkError);
        expect((error as InvalidShareLinkError).part, link).toBe(part);
      }
    }
    expect(() => formatShareLink({ manifestCid: cid, fileKey: new Uint8Array(31) })).toThrow(
      InvalidShareLinkError,
    );
  });

  it("a link opens its one file and nothing else: not the KEK, not the owner's other files", async () => {
    const kek = await ownerKek();
    // two files of the same owner
    const files = [0, 1].map((i) => {
      const plaintext = new TextEncoder().encode(`file ${i}: `.repeat(10_000));
      const fileKey = generateFileKey();
      const ciphertext = encryptBytes(plaintext, fileKey);
      const manifest = makeManifest(plaintext.length);
      const envelope = encryptManifest({ manifest, fileKey, kek });
      const link = formatShareLink({ manifestCid: rawCid(`envelope ${i}`), fileKey });
      return { plaintext, ciphertext, envelope, link };
    });
    const [a, b] = files as [(typeof files)[0], (typeof files)[0]];
    const { fileKey } = parseShareLink(a.link);
    // the recipient reads file A: manifest, then content
    const opened = decryptManifest(a.envelope, { fileKey });
    expect(
      decryptBytes(a.ciphertext, opened.fileKey, { expectedPlaintextLength: opened.manifest.size }),
    ).toEqual(a.plaintext);
    // but not file B, its manifest, or its wrapped key
    expect(() => decryptManifest(b.envelope, { fileKey })).toThrow(WrongKeyError);
    expect(() => decryptBytes(b.ciphertext, fileKey)).toThrow(WrongKeyError);
    const env = readManifestEnvelope(b.envelope);
    expect(() =>
      unwrapFileKey(fileKey, env.wrappedKey, {
        fileId: unhex(env.fileId.slice(2)),
        manifestVersion: 1,
        manifestDigest: createHash("sha256").update(env.body).digest(),
      }),
    ).toThrow(WrongKeyError);
    // and the link carries nothing derived from the KEK
    expect(a.link).not.toContain(toBase64Url(kek));
    expect(fileKey).not.toEqual(kek);
  });
});

/** The error `fn` throws (the test fails if it returns). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

describe("canonical JSON: what it refuses and what it leaves out", () => {
  it("refuses a number that is not a safe integer naming the value, and anything that is not JSON", () => {
    expect(canonicalJson({ n: 2 ** 53 - 1 })).toBe(`{"n":${2 ** 53 - 1}}`);
    for (const n of [1.5, 2 ** 53, Number.NaN]) {
      const error = thrown(() => canonicalJson({ n }));
      expect(error).toBeInstanceOf(InvalidParametersError);
      expect((error as InvalidParametersError).parameter).toBe("value");
      expect(error.message).toContain(`value = ${n}: canonical JSON holds only safe integers`);
    }
    for (const value of [undefined, () => 1, 1n, Symbol("s")]) {
      const error = thrown(() => canonicalJson({ a: [value as never] }));
      expect(error).toBeInstanceOf(InvalidParametersError);
      expect(error).toMatchObject({
        parameter: "value",
        value: typeof value,
        message: `value = ${typeof value}: is not JSON`,
      });
    }
  });

  it("refuses objects that are not plain (a Map, Set, Date, typed array) and arrays with holes, rather than writing what they hold as {}", () => {
    for (const [value, name] of [
      [new Map([["a", 1]]), "Map"],
      [new Set([1]), "Set"],
      [new Date(0), "Date"],
      [Uint8Array.of(1, 2), "Uint8Array"],
    ] as const) {
      expect(() => canonicalJson({ a: value as never })).toThrow(
        new InvalidParametersError("value", name, "is not JSON"),
      );
    }
    // eslint-disable-next-line no-sparse-arrays
    expect(() => canonicalJson([1, , 3] as never)).toThrow("value = undefined: is not JSON");
    const bare = Object.assign(Object.create(null) as Record<string, number>, { b: 2, a: 1 });
    expect(canonicalJson({ x: bare })).toBe('{"x":{"a":1,"b":2}}');
  });

  it("leaves out members whose value is undefined (absent optional fields), as JSON.stringify does", () => {
    expect(canonicalJson({ b: 1, a: undefined as never, c: { d: undefined as never } })).toBe(
      '{"b":1,"c":{}}',
    );
  });
});

/**
 * An envelope as the owner would write it around `padded` exactly (no padding added): encrypted
 * under the manifest key, the file key wrapped and bound to it.
 */
function sealedEnvelope(
  padded: Uint8Array,
  fileId: `0x${string}`,
  fileKey: Uint8Array,
  kek: Uint8Array,
): Uint8Array {
  const body = encryptBytes(padded, deriveManifestKey(fileKey));
  const id = unhex(fileId.slice(2));
  const wrapped = wrapFileKey(kek, fileKey, {
    fileId: id,
    manifestVersion: 1,
    manifestDigest: createHash("sha256").update(body).digest(),
  });
  return new Uint8Array([0x43, 0x43, 0x4d, 0x46, 1, ...id, ...wrapped, ...body]);
}

/** A valid manifest whose canonical JSON is exactly `length` bytes (its name made to fit). */
function manifestOfJsonLength(length: number): Manifest {
  const base = serializeManifest(makeManifest(1_000_000, { name: "a" })).length - 1;
  const nameBytes = length - base;
  const name = "€".repeat(Math.floor(nameBytes / 3)) + "a".repeat(nameBytes % 3);
  const manifest = makeManifest(1_000_000, { name });
  expect(serializeManifest(manifest).length).toBe(length);
  return manifest;
}

describe("the manifest's padding: 4 KiB or a larger power of two, zero bytes after the JSON", () => {
  it("paddedManifestLength: up to 4 KiB pads to 4 KiB, above it to the next power of two", () => {
    expect([0, 1, 4095, 4096, 4097, 8192, 8193, 100_000].map(paddedManifestLength)).toEqual([
      4096, 4096, 4096, 4096, 8192, 8192, 16384, 131072,
    ]);
  });

  it("a manifest of exactly 4 KiB fills its padding without a zero byte, one of 4 KiB + 1 is padded to 8 KiB: both open", async () => {
    const kek = await ownerKek();
    for (const [length, padded] of [
      [4096, 4096],
      [4097, 8192],
    ] as const) {
      const manifest = manifestOfJsonLength(length);
      const fileKey = generateFileKey();
      const envelope = encryptManifest({ manifest, fileKey, kek });
      const body = readManifestEnvelope(envelope).body;
      expect(body.length).toBe(encryptBytes(new Uint8Array(padded), fileKey).length);
      expect(decryptManifest(envelope, { kek }).manifest).toEqual(manifest);
      expect(decryptManifest(envelope, { fileKey }).manifest).toEqual(manifest);
    }
  });

  it("a body padded to no size class is refused naming its length: 2 KiB (under 4 KiB), 4 KiB + 1 and 6 KiB (no power of two); 8 KiB opens", async () => {
    const kek = await ownerKek();
    const fileKey = generateFileKey();
    const manifest = makeManifest();
    const json = serializeManifest(manifest);
    const padTo = (length: number): Uint8Array => {
      const padded = new Uint8Array(length);
      padded.set(json);
      return padded;
    };
    for (const length of [2048, 4097, 6144]) {
      const error = thrown(() =>
        decryptManifest(sealedEnvelope(padTo(length), manifest.fileId, fileKey, kek), { kek }),
      );
      expect(error).toBeInstanceOf(InvalidManifestError);
      expect((error as InvalidManifestError).field).toBe("");
      expect(error.message).toMatch(new RegExp(`padded to ${length} bytes, not a size class`));
    }
    const envelope = sealedEnvelope(padTo(8192), manifest.fileId, fileKey, kek);
    expect(decryptManifest(envelope, { kek }).manifest).toEqual(manifest);
  });

  it("padding holding a non-zero byte, or a zero byte before the JSON, is refused as non-zero padding", async () => {
    const kek = await ownerKek();
    const fileKey = generateFileKey();
    const manifest = makeManifest();
    const json = serializeManifest(manifest);
    const late = new Uint8Array(4096);
    late.set(json);
    late[4095] = 0x20;
    const early = new Uint8Array(4096);
    early.set(json, 1);
    for (const padded of [late, early]) {
      const error = thrown(() =>
        decryptManifest(sealedEnvelope(padded, manifest.fileId, fileKey, kek), { kek }),
      );
      expect(error).toBeInstanceOf(InvalidManifestError);
      expect((error as InvalidManifestError).field).toBe("");
      expect(error.message).toMatch(/padding holds non-zero bytes/);
    }
  });
});

describe("manifest keys and file ids", () => {
  it("the manifest key comes only from a 32-byte file key: another size or a string is refused naming the file key", async () => {
    const envelope = encryptManifest({
      manifest: makeManifest(),
      fileKey: generateFileKey(),
      kek: await ownerKek(),
    });
    for (const [fileKey, given] of [
      [new Uint8Array(31), "31 bytes"],
      [new Uint8Array(33), "33 bytes"],
      ["k".repeat(32), "string"],
    ] as const) {
      for (const fn of [
        () => deriveManifestKey(fileKey as Uint8Array),
        () => decryptManifest(envelope, { fileKey: fileKey as Uint8Array }),
      ]) {
        const error = thrown(fn);
        expect(error).toBeInstanceOf(InvalidParametersError);
        expect((error as InvalidParametersError).parameter).toBe("fileKey");
        expect(error.message).toContain(`fileKey = ${given}: must be 32 bytes`);
      }
    }
  });

  it("generateFileId gives 16 random bytes as 0x and 32 lowercase hex digits, a new one each time", () => {
    const ids = new Set(Array.from({ length: 8 }, () => generateFileId()));
    expect(ids.size).toBe(8);
    for (const id of ids) {
      expect(id).toMatch(/^0x[0-9a-f]{32}$/);
      expect(id).not.toBe(`0x${"0".repeat(32)}`);
    }
  });
});

describe("envelope bytes from an untrusted provider, at every boundary", () => {
  const P = ENVELOPE_PREFIX_LENGTH;
  /** A well-formed prefix (magic, version 1, file id, wrapped key) followed by `total - P` bytes. */
  const envelopeOf = (total: number): Uint8Array => {
    const bytes = new Uint8Array(total);
    bytes.set([0x43, 0x43, 0x4d, 0x46, 1]);
    bytes.fill(0xaa, 5, 5 + 16);
    bytes.fill(0xbb, 5 + 16, P);
    return bytes;
  };

  it("the prefix is 93 bytes: exactly 93 is an envelope with an empty body, 92 is cut short naming both lengths", () => {
    expect(P).toBe(93);
    const parts = readManifestEnvelope(envelopeOf(P));
    expect(parts.version).toBe(1);
    expect(parts.fileId).toBe(`0x${"aa".repeat(16)}`);
    expect(parts.wrappedKey).toEqual(new Uint8Array(72).fill(0xbb));
    expect(parts.body.length).toBe(0);
    const error = thrown(() => readManifestEnvelope(envelopeOf(P - 1)));
    expect(error).toBeInstanceOf(TruncatedDataError);
    expect(error.message).toContain(`${P - 1} bytes is shorter than its ${P}-byte prefix`);
  });

  it("exactly MAX_ENVELOPE_LENGTH bytes is read; one byte more is refused before anything else, naming both lengths", () => {
    expect(readManifestEnvelope(envelopeOf(MAX_ENVELOPE_LENGTH)).body.length).toBe(
      MAX_ENVELOPE_LENGTH - P,
    );
    const over = envelopeOf(MAX_ENVELOPE_LENGTH + 1);
    for (const fn of [
      () => readManifestEnvelope(over),
      () => decryptManifest(over, { fileKey: generateFileKey() }),
    ]) {
      const error = thrown(fn);
      expect(error).toBeInstanceOf(UnsupportedFormatError);
      expect((error as UnsupportedFormatError).format).toBe("manifest envelope");
      expect(error.message).toContain(
        `${MAX_ENVELOPE_LENGTH + 1} bytes is larger than the ${MAX_ENVELOPE_LENGTH}-byte limit`,
      );
    }
  });

  it("each of the four magic bytes is checked: any one wrong is a bad magic, however long the data", () => {
    for (let i = 0; i < 4; i++)
      for (const total of [i + 1, P, P + 100]) {
        const bytes = envelopeOf(Math.max(total, 5)).subarray(0, total);
        bytes[i]! ^= 0x20; // "c" for "C": a near miss
        const error = thrown(() => readManifestEnvelope(bytes));
        expect(error).toBeInstanceOf(UnsupportedFormatError);
        expect((error as UnsupportedFormatError).version).toBeUndefined();
        expect(error.message).toMatch(/bad magic \(expected "CCMF"\)/);
      }
  });

  it("data that ends inside the magic or right after it is cut short, not a bad magic or a bad version", () => {
    for (const total of [0, 1, 2, 3, 4]) {
      const error = thrown(() => readManifestEnvelope(envelopeOf(5).subarray(0, total)));
      expect(error).toBeInstanceOf(TruncatedDataError);
      expect(error.message).toContain(`${total} bytes is shorter than its ${P}-byte prefix`);
    }
  });

  it("another version is refused naming it and the version this SDK reads, even when the rest is missing", () => {
    for (const total of [5, P]) {
      const bytes = envelopeOf(total);
      bytes[4] = 2;
      const error = thrown(() => readManifestEnvelope(bytes));
      expect(error).toBeInstanceOf(UnsupportedFormatError);
      expect((error as UnsupportedFormatError).version).toBe(2);
      expect(error.message).toMatch(/version 2 is not supported \(this SDK reads version 1\)/);
    }
  });
});

describe("the words of each refusal, for inputs no valid caller sends", () => {
  /** A manifest of one data shard and no parity over `size` plaintext bytes (blocks of 1 MiB). */
  const oneShard = (size: number, cid: string): AnyJson => {
    const m = makeManifest(size) as AnyJson;
    const shardSize = getStripeLayout({
      dataShards: 1,
      totalShards: 1,
      blockSize: 1_048_576,
      dataLength: m.encryption.ciphertextSize,
    }).shardSize;
    const shard = { ...m.shards[0], size: shardSize, cid, leafCount: Math.ceil(shardSize / 512) };
    return { ...m, erasure: { k: 1, n: 1, blockSize: 1_048_576 }, shards: [shard] };
  };
  const dagPbCid = (label: string): string =>
    CID.createV1(0x70, CID.parse(rawCid(label)).multihash).toString();

  it("a field present but undefined is described as undefined", () => {
    const m = { ...makeManifest(), size: undefined };
    expect(() => parseManifest(m)).toThrow("manifest.size: must be an integer, got undefined");
  });

  it("a shard CID in another multibase is refused, showing its canonical base32 form", () => {
    const canonical = rawCid("shard 2");
    const other = CID.parse(canonical).toString(base36);
    const m = edited(makeManifest(), (j) => (j.shards[2].cid = other));
    expect(() => parseManifest(m)).toThrow(
      `manifest.shards[2].cid: must be in canonical base32 form (${canonical})`,
    );
  });

  it("a shard of up to 1 MiB is one raw leaf, a larger one a dag-pb root: the wrong codec is named", () => {
    // 1048279 bytes in 16 chunks of 64 KiB: 41 + 1048279 + 16·16 = 1 MiB of ciphertext, one shard.
    expect(oneShard(1_048_279, rawCid("x")).encryption.ciphertextSize).toBe(1_048_576);
    expect(parseManifest(oneShard(1_048_279, rawCid("x"))).shards[0]!.size).toBe(1_048_576);
    expect(() => parseManifest(oneShard(1_048_279, dagPbCid("x")))).toThrow(
      "manifest.shards[0].cid: a shard of 1048576 bytes is one raw leaf (codec raw)",
    );
    // One byte more: a second stripe of one 512-byte block.
    expect(parseManifest(oneShard(1_048_280, dagPbCid("x"))).shards[0]!.size).toBe(1_049_088);
    expect(() => parseManifest(oneShard(1_048_280, rawCid("x")))).toThrow(
      "manifest.shards[0].cid: a shard of 1049088 bytes is a dag-pb root (codec dag-pb)",
    );
  });

  it("a value that throws while being read is still an InvalidManifestError, naming what was thrown", () => {
    const boom = new TypeError("no");
    const cases: [unknown, string, unknown][] = [
      [
        new Proxy(
          {},
          {
            has() {
              throw boom;
            },
          },
        ),
        "TypeError",
        boom,
      ],
      [
        {
          ...makeManifest(),
          get size(): number {
            throw "a string"; // what exotic input may do
          },
        },
        "string",
        "a string",
      ],
    ];
    for (const [value, what, cause] of cases) {
      const error = thrown(() => parseManifest(value));
      expect(error).toBeInstanceOf(InvalidManifestError);
      expect(error).toMatchObject({ field: "", message: `manifest: could not be read (${what})` });
      expect((error as Error & { cause?: unknown }).cause).toBe(cause);
    }
  });

  it("deserializeManifest refuses anything but bytes, saying what it got", () => {
    for (const [value, got] of [
      ["{}", '"{}"'],
      [undefined, "undefined"],
      [[1, 2], "an array"],
    ] as const) {
      const error = thrown(() => deserializeManifest(value as unknown as Uint8Array));
      expect(error).toBeInstanceOf(InvalidManifestError);
      expect(error).toMatchObject({ field: "", message: `manifest: must be bytes, got ${got}` });
    }
  });

  it("a share link that is not a string, or a CID that is not, is refused naming the part", () => {
    for (const link of [undefined, 42, { toString: () => "coop://" }]) {
      const error = thrown(() => parseShareLink(link as unknown as string));
      expect(error).toBeInstanceOf(InvalidShareLinkError);
      expect(error).toMatchObject({
        part: "scheme",
        message: "share link: a share link is a string",
      });
    }
    const cid = CID.parse(rawCid("manifest"));
    const error = thrown(() =>
      formatShareLink({ manifestCid: cid as unknown as string, fileKey: generateFileKey() }),
    );
    expect(error).toBeInstanceOf(InvalidShareLinkError);
    expect(error).toMatchObject({
      part: "cid",
      message: "share link: the manifest CID must be a string",
    });
  });

  it("a long text that is no CID is shown cut to its first 100 characters", () => {
    const key = toBase64Url(generateFileKey());
    const text = `${"0123456789".repeat(10)}abcdefghij`;
    expect(thrown(() => parseShareLink(`coop://${text}#k=${key}`)).message).toBe(
      `share link: "${text.slice(0, 100)}…" is not a CID`,
    );
    expect(thrown(() => parseShareLink(`coop://${text.slice(0, 100)}#k=${key}`)).message).toBe(
      `share link: "${text.slice(0, 100)}" is not a CID`,
    );
  });

  it("manifestCid and verifyManifestCid refuse what is not bytes or not a CID, saying which", () => {
    const envelope = new Uint8Array(100);
    const good = manifestCid(envelope);
    const cases: [() => unknown, string, unknown, string][] = [
      [() => manifestCid("abc" as unknown as Uint8Array), "envelope", "string", "must be bytes"],
      [
        () => verifyManifestCid([1] as unknown as Uint8Array, good),
        "envelope",
        "object",
        "must be bytes",
      ],
      [
        () => verifyManifestCid(envelope, Uint8Array.of(1, 2, 3)),
        "cid",
        "3 bytes",
        "are not a binary CID",
      ],
      [
        () => verifyManifestCid(envelope, good.bytes.subarray(0, 20)),
        "cid",
        "20 bytes",
        "are not a binary CID",
      ],
      [() => verifyManifestCid(envelope, {} as CID), "cid", "object", "is not a CID"],
      [() => verifyManifestCid(envelope, 7 as unknown as CID), "cid", "number", "is not a CID"],
    ];
    for (const [fn, parameter, value, why] of cases) {
      const error = thrown(fn);
      expect(error).toBeInstanceOf(InvalidParametersError);
      expect(error).toMatchObject({ parameter, value, message: `${parameter} = ${value}: ${why}` });
    }
    expect(verifyManifestCid(envelope, good.bytes).toString()).toBe(good.toString());
  });

  it("decryptManifest refuses a key that is not exactly one of { kek } and { fileKey }", async () => {
    const kek = await ownerKek();
    const fileKey = generateFileKey();
    const envelope = encryptManifest({ manifest: makeManifest(), fileKey, kek });
    for (const key of [{}, { kek, fileKey }, null, "key"]) {
      const error = thrown(() => decryptManifest(envelope, key as { kek: Uint8Array }));
      expect(error).toBeInstanceOf(InvalidParametersError);
      expect(error).toMatchObject({
        parameter: "key",
        value: typeof key,
        message: `key = ${typeof key}: must be { kek } or { fileKey }`,
      });
    }
  });

  it("an owner's envelope whose wrapped key authenticates a body under another key: TamperedDataError, not a wrong wallet", async () => {
    const kek = await ownerKek();
    const manifest = makeManifest();
    const [wrappedFor, bodyUnder] = [generateFileKey(), generateFileKey()];
    const body = encryptManifest({ manifest, fileKey: bodyUnder, kek }).subarray(
      ENVELOPE_PREFIX_LENGTH,
    );
    const id = unhex(manifest.fileId.slice(2));
    const wrapped = wrapFileKey(kek, wrappedFor, {
      fileId: id,
      manifestVersion: 1,
      manifestDigest: createHash("sha256").update(body).digest(),
    });
    const forged = new Uint8Array([0x43, 0x43, 0x4d, 0x46, 1, ...id, ...wrapped, ...body]);
    const error = thrown(() => decryptManifest(forged, { kek }));
    expect(error).toBeInstanceOf(TamperedDataError);
    expect(error).toMatchObject({
      part: "chunk",
      chunkIndex: 0,
      message:
        "manifest envelope: the encrypted manifest was replaced (it is not under this envelope's file key)",
    });
    // The body's own key still opens it: only the owner's wrapped key is wrong.
    expect(decryptManifest(forged, { fileKey: bodyUnder }).manifest).toEqual(manifest);
  });
});

describe("what each refusal says about the value it was given", () => {
  const words = (value: unknown): string => thrown(() => parseManifest(value)).message;

  it("names the type of a wrong value: number, boolean, BigInt, null, array, object, function", () => {
    const m = makeManifest();
    const cases: [AnyJson, string][] = [
      [{ name: 5 }, "manifest.name: must be a string, got 5"],
      [{ name: false }, "manifest.name: must be a string, got false"],
      [{ size: 10n }, "manifest.size: must be an integer, got 10n (a BigInt)"],
      [{ size: null }, "manifest.size: must be an integer, got null"],
      [{ size: [1] }, "manifest.size: must be an integer, got an array"],
      [{ size: {} }, "manifest.size: must be an integer, got an object"],
      [{ size: () => 1 }, "manifest.size: must be an integer, got a function"],
      [{ size: Symbol("s") }, "manifest.size: must be an integer, got a symbol"],
      [{ size: 1.5 }, "manifest.size: must be an integer, got 1.5"],
      [{ size: "1000000" }, 'manifest.size: must be an integer, got "1000000"'],
    ];
    for (const [change, message] of cases) expect(words({ ...m, ...change })).toBe(message);
  });

  it("quotes a wrong string whole up to 80 characters, and its first 80 and an ellipsis above", () => {
    const m = makeManifest();
    const text = "x".repeat(81);
    expect(words({ ...m, mimeType: text.slice(0, 80) })).toBe(
      `manifest.mimeType: must be a MIME type like "application/pdf", got "${text.slice(0, 80)}"`,
    );
    expect(words({ ...m, mimeType: text })).toBe(
      `manifest.mimeType: must be a MIME type like "application/pdf", got "${text.slice(0, 80)}…"`,
    );
  });

  it("a manifest and each part of it must be an object: not null, an array or a string", () => {
    const m = makeManifest();
    for (const value of [null, [], "{}", 1])
      expect(words(value), String(value)).toBe("manifest: must be a JSON object");
    for (const value of [null, [], "x"]) {
      expect(words({ ...m, encryption: value })).toBe("manifest.encryption: must be an object");
      expect(words({ ...m, shards: [value, ...m.shards.slice(1)] })).toBe(
        "manifest.shards[0]: must be an object",
      );
    }
  });

  it("a missing field and an unknown one are named by their full path", () => {
    const m = makeManifest();
    expect(words(edited(m, (j) => delete j.name))).toBe("manifest.name: is missing");
    expect(words(edited(m, (j) => delete j.encryption.header))).toBe(
      "manifest.encryption.header: is missing",
    );
    expect(words(edited(m, (j) => delete j.shards[4].leafCount))).toBe(
      "manifest.shards[4].leafCount: is missing",
    );
    expect(words(edited(m, (j) => (j.owner = "0xabc")))).toBe(
      "manifest.owner: is not a field of a version-1 manifest",
    );
    // Nested objects have no optional fields: any other name is refused, whatever it is (here
    // also the text a mutation tool puts into an emptied list).
    for (const name of ["dealId", "extra", "Stryker was here"]) {
      expect(words(edited(m, (j) => (j.erasure[name] = 1)))).toBe(
        `manifest.erasure.${name}: is not a field of a version-1 manifest`,
      );
      expect(words(edited(m, (j) => (j.shards[3][name] = 1)))).toBe(
        `manifest.shards[3].${name}: is not a field of a version-1 manifest`,
      );
    }
  });

  it("an integer out of range names the range: chunk sizes from 64 bytes to 16 MiB", () => {
    const withChunkSize = (chunkSize: number): AnyJson => {
      const header = createStreamHeader(generateFileKey(), { chunkSize: 64 }).bytes;
      new DataView(header.buffer, header.byteOffset).setUint32(5, chunkSize);
      return edited(makeManifest(0), (j) => {
        j.encryption.chunkSize = chunkSize;
        j.encryption.header = `0x${hex(header)}`;
      }) as AnyJson;
    };
    for (const ok of [64, 16 * 1024 * 1024])
      expect(parseManifest(withChunkSize(ok)).encryption.chunkSize).toBe(ok);
    expect(words(withChunkSize(63))).toBe(
      "manifest.encryption.chunkSize: must be from 64 to 16777216, got 63",
    );
    expect(words(withChunkSize(16 * 1024 * 1024 + 1))).toBe(
      "manifest.encryption.chunkSize: must be from 64 to 16777216, got 16777217",
    );
  });
});

describe("what each envelope refusal says", () => {
  it("an AEAD implementation that does not exist is refused when writing and when opening", async () => {
    const kek = await ownerKek();
    const fileKey = generateFileKey();
    const manifest = makeManifest();
    const bogus = "openssl" as "noble";
    const why = 'implementation = openssl: must be "auto", "native" or "noble"';
    expect(() => encryptManifest({ manifest, fileKey, kek, implementation: bogus })).toThrow(why);
    const envelope = encryptManifest({ manifest, fileKey, kek, implementation: "noble" });
    expect(() => decryptManifest(envelope, { fileKey }, { implementation: bogus })).toThrow(why);
    expect(() => decryptManifest(envelope, { kek }, { implementation: bogus })).toThrow(why);
  });

  it("the key must be an object: a function carrying a kek is refused", async () => {
    const kek = await ownerKek();
    const envelope = encryptManifest({ manifest: makeManifest(), fileKey: generateFileKey(), kek });
    const key = Object.assign(() => kek, { kek });
    expect(() => decryptManifest(envelope, key)).toThrow(
      "key = function: must be { kek } or { fileKey }",
    );
    expect(decryptManifest(envelope, { kek: key.kek }).manifest.name).toBe(
      "annual report (final).pdf",
    );
  });

  it("a share link's key that does not open the manifest: WrongKeyError saying so", async () => {
    const envelope = encryptManifest({
      manifest: makeManifest(),
      fileKey: generateFileKey(),
      kek: await ownerKek(),
    });
    const error = thrown(() => decryptManifest(envelope, { fileKey: generateFileKey() }));
    expect(error).toBeInstanceOf(WrongKeyError);
    expect(error).toMatchObject({
      target: "manifest",
      message:
        "wrong key: the share link's key does not open this manifest (the link is for another file, or the manifest is not this file's)",
    });
  });

  it("a manifest under another file id than its envelope's is refused naming both", async () => {
    const kek = await ownerKek();
    const fileKey = generateFileKey();
    const manifest = makeManifest();
    const other = generateFileId();
    const envelope = ownerEnvelope(serializeManifest(manifest), other, fileKey, kek);
    const error = thrown(() => decryptManifest(envelope, { kek }));
    expect(error).toBeInstanceOf(InvalidManifestError);
    expect(error).toMatchObject({
      field: "fileId",
      message: `manifest.fileId: ${manifest.fileId} does not match the envelope's file id ${other}`,
    });
  });

  it("an envelope over 1 MiB is refused by its CID check too, naming both lengths", () => {
    const over = new Uint8Array(MAX_ENVELOPE_LENGTH + 1);
    const cid = manifestCid(new Uint8Array(1));
    for (const fn of [
      () => manifestCid(over),
      () => verifyManifestCid(over, cid),
      () => decryptManifest(over, { fileKey: generateFileKey() }, { manifestCid: cid }),
    ]) {
      const error = thrown(fn);
      expect(error).toBeInstanceOf(UnsupportedFormatError);
      expect(error).toMatchObject({
        format: "manifest envelope",
        message: `manifest envelope: ${MAX_ENVELOPE_LENGTH + 1} bytes is larger than the ${MAX_ENVELOPE_LENGTH}-byte limit`,
      });
    }
    expect(manifestCid(over.subarray(1)).code).toBe(0x55);
  });

  it("a CID that is no manifest CID, and one of other bytes, are refused saying which", () => {
    const envelope = new Uint8Array(64).fill(7);
    const actual = manifestCid(envelope);
    const digest = actual.multihash;
    const notManifest = [
      CID.createV0(digest as Parameters<typeof CID.createV0>[0]), // dag-pb, sha2-256
      CID.createV1(0x70, digest), // dag-pb
      CID.createV1(0x55, createDigest(0x13, new Uint8Array(64))), // sha2-512
      CID.createV1(0x55, createDigest(0x00, envelope)), // identity
    ];
    for (const cid of notManifest) {
      const error = thrown(() => verifyManifestCid(envelope, cid));
      expect(error).toBeInstanceOf(ManifestCidMismatchError);
      expect(error).toMatchObject({
        expected: cid.toString(),
        actual: actual.toString(),
        message: `${cid.toString()} is not a manifest CID (CIDv1, codec raw, sha2-256)`,
      });
    }
    const other = manifestCid(new Uint8Array(64));
    const error = thrown(() => verifyManifestCid(envelope, other));
    expect(error).toBeInstanceOf(ManifestCidMismatchError);
    expect(error).toMatchObject({
      expected: other.toString(),
      actual: actual.toString(),
      message: `the envelope's manifest CID is ${actual.toString()}, not ${other.toString()}: it is not the manifest named`,
    });
  });
});

describe("every bad field is refused with its path and the words that say why", () => {
  const words = (value: unknown): string => thrown(() => parseManifest(value)).message;
  const m = makeManifest();
  const shardSize = m.shards[0]!.size;
  const cidOf = (codec: number, hash: number, digestLength: number): string =>
    CID.createV1(codec, createDigest(hash, new Uint8Array(digestLength).fill(9))).toString();
  const otherHeader = `0x${hex(createStreamHeader(generateFileKey(), { chunkSize: 64 }).bytes)}`;
  const maxUint256 = (2n ** 256n - 1n).toString();

  it("names the field and the rule", () => {
    const cases: [(j: AnyJson) => unknown, string][] = [
      [(j) => delete j.version, "manifest.version: is missing"],
      [
        (j) => (j.version = 2),
        "manifest.version: version 2 is not supported (this SDK reads version 1)",
      ],
      [
        (j) => (j.version = "1"),
        'manifest.version: version "1" is not supported (this SDK reads version 1)',
      ],
      [(j) => (j.fileId = "0x1234"), "manifest.fileId: must be 0x and 32 lowercase hex digits"],
      [(j) => (j.name = ""), "manifest.name: must be 1 to 1024 characters"],
      [(j) => (j.name = "a".repeat(1025)), "manifest.name: must be 1 to 1024 characters"],
      ...[".", "..", "a/b", "a\\b", "a\u0000b", "a\u007fb"].map(
        (name): [(j: AnyJson) => unknown, string] => [
          (j) => (j.name = name),
          "manifest.name: must be a base name (no path separators or control characters)",
        ],
      ),
      [
        (j) => (j.name = "invoice\u202efdp.exe"),
        "manifest.name: must not contain bidirectional control characters",
      ],
      [
        (j) => (j.mimeType = `text/plain; x=${"y".repeat(242)}`),
        `manifest.mimeType: must be a MIME type like "application/pdf", got "text/plain; x=${"y".repeat(66)}…"`,
      ],
      [
        (j) => (j.createdAt = "2026-11-25 17:32"),
        'manifest.createdAt: must be an ISO 8601 UTC time like "2026-01-31T12:00:00.000Z", got "2026-11-25 17:32"',
      ],
      [(j) => (j.encryption.scheme = "AES-GCM"), 'manifest.encryption.scheme: must be "CCST-1"'],
      [
        (j) => (j.encryption.ciphertextSize = "x"),
        'manifest.encryption.ciphertextSize: must be an integer, got "x"',
      ],
      [
        (j) => (j.encryption.ciphertextSize += 1),
        `manifest.encryption.ciphertextSize: must be ${getCiphertextLength(1_000_000, 65_536)} for size 1000000 in chunks of 65536`,
      ],
      [(j) => (j.encryption.header = 5), "manifest.encryption.header: must be a string, got 5"],
      [
        (j) => (j.encryption.header = otherHeader),
        "manifest.encryption.header: holds chunk size 64, not encryption.chunkSize 65536",
      ],
      [(j) => (j.erasure = null), "manifest.erasure: must be an object"],
      [
        (j) => (j.erasure.k = 0),
        `manifest.erasure.k: must be from 1 to ${Number.MAX_SAFE_INTEGER}, got 0`,
      ],
      [
        (j) => (j.erasure.blockSize = 0),
        `manifest.erasure.blockSize: must be from 1 to ${Number.MAX_SAFE_INTEGER}, got 0`,
      ],
      [(j) => (j.commitment = []), "manifest.commitment: must be an object"],
      [
        (j) => (j.commitment.x = 1),
        "manifest.commitment.x: is not a field of a version-1 manifest",
      ],
      [(j) => (j.commitment.hash = "sha512"), 'manifest.commitment.hash: must be "sha256"'],
      [(j) => (j.commitment.segmentSize = 1024), "manifest.commitment.segmentSize: must be 512"],
      [(j) => (j.shards = {}), "manifest.shards: must be an array"],
      [(j) => j.shards.pop(), "manifest.shards: must list n = 6 shards, lists 5"],
      [(j) => (j.shards[0].size = "x"), 'manifest.shards[0].size: must be an integer, got "x"'],
      [
        (j) => (j.shards[5].size = 512),
        `manifest.shards[5].size: must be ${shardSize} (the stripe layout's shard size)`,
      ],
      [
        (j) => (j.shards[0].leafCount = 0),
        `manifest.shards[0].leafCount: must be from 1 to ${Number.MAX_SAFE_INTEGER}, got 0`,
      ],
      [
        (j) => (j.shards[0].leafCount += 1),
        `manifest.shards[0].leafCount: must be ${Math.ceil(shardSize / 512)} (ceil(size / 512))`,
      ],
      [
        (j) => (j.shards[1].merkleRoot = "0x12"),
        "manifest.shards[1].merkleRoot: must be 0x and 64 lowercase hex digits",
      ],
      [(j) => (j.shards[2].cid = "not-a-cid"), 'manifest.shards[2].cid: is not a CID: "not-a-cid"'],
      [
        (j) => (j.shards[2].cid = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"),
        "manifest.shards[2].cid: must be a CIDv1",
      ],
      [
        (j) => (j.shards[2].cid = cidOf(0x55, 0x13, 64)),
        "manifest.shards[2].cid: must be a sha2-256 CID",
      ],
      [
        (j) => (j.shards[2].cid = cidOf(0x55, 0x12, 16)),
        "manifest.shards[2].cid: must be a sha2-256 CID",
      ],
      [
        (j) => (j.shards[2].cid = cidOf(0x55, 0x16, 32)), // sha3-256
        "manifest.shards[2].cid: must be a sha2-256 CID",
      ],
      [(j) => (j.dealId = (2n ** 256n).toString()), "manifest.dealId: must be a decimal uint256"],
      [(j) => (j.dealId = "12abc"), "manifest.dealId: must be a decimal uint256"],
    ];
    for (const [edit, message] of cases) expect(words(edited(m, edit)), message).toBe(message);
  });

  it("a header that is no STREAM header says what is wrong with it", () => {
    const message = words(edited(m, (j) => (j.encryption.header = `0x${"00".repeat(41)}`)));
    expect(message).toMatch(/^manifest\.encryption\.header: is not a STREAM header: \S/);
  });

  it("the limits themselves are accepted: a 1024-character name, a 255-character MIME type, dealId 2^256 - 1", () => {
    const ok = parseManifest({
      ...m,
      name: "a".repeat(1024),
      mimeType: `text/plain; x=${"y".repeat(241)}`,
      dealId: maxUint256,
    });
    expect([ok.name.length, ok.mimeType.length, ok.dealId]).toEqual([1024, 255, maxUint256]);
    expect(parseManifest({ ...m, name: "..." }).name).toBe("...");
  });

  it("bytes that are not UTF-8 are refused even inside a JSON string", () => {
    const json = serializeManifest({ ...m, name: "caf\u00e9" });
    const at = json.indexOf(0xc3); // é is C3 A9
    const broken = Uint8Array.from(json, (b, i) => (i === at ? 0xff : b));
    for (const bytes of [broken, new Uint8Array([0xff, 0xfe]), new TextEncoder().encode("{")]) {
      const error = thrown(() => deserializeManifest(bytes));
      expect(error).toBeInstanceOf(InvalidManifestError);
      expect(error).toMatchObject({ field: "", message: "manifest: is not UTF-8 JSON" });
    }
    expect(deserializeManifest(json).name).toBe("caf\u00e9");
  });

  it("manifestDecodeOptions gives each shard's commitments under its index", () => {
    const key = generateFileKey();
    const options = manifestDecodeOptions(m, key);
    expect(options.expected).toEqual(m.shards.map((s, index) => ({ index, ...s })));
    expect(options).toMatchObject({
      key,
      header: m.encryption.header,
      dataShards: 4,
      totalShards: 6,
      blockSize: 1_048_576,
      ciphertextLength: m.encryption.ciphertextSize,
    });
  });
});

describe("every malformed share link is refused with the part and the words", () => {
  const key = toBase64Url(generateFileKey());
  const cid = rawCid("manifest");

  it("says what is wrong", () => {
    const v0 = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG";
    const sha512 = CID.createV1(0x55, createDigest(0x13, new Uint8Array(64))).toString();
    const cases: [string, InvalidShareLinkError["part"], string][] = [
      [`https://${cid}#k=${key}`, "scheme", 'it must start with "coop://"'],
      ["coop:x", "scheme", 'it must start with "coop://"'],
      [`coop://${cid}`, "fragment", 'it has no "#k=<key>" fragment: the key is missing'],
      [`coop://${cid}#key=${key}`, "fragment", 'the fragment has no "k=<key>": the key is missing'],
      [`coop://${cid}#k=${key}&k=${key}`, "fragment", "the key (k) appears twice"],
      [`coop://#k=${key}`, "cid", "expected coop://<manifest CID>#k=<key>"],
      [`coop://${cid}/x#k=${key}`, "cid", "expected coop://<manifest CID>#k=<key>"],
      [`coop://${cid}?q=1#k=${key}`, "cid", "expected coop://<manifest CID>#k=<key>"],
      [`coop://${v0}#k=${key}`, "cid", "the manifest CID must be a CIDv1"],
      [
        `coop://${sha512}#k=${key}`,
        "cid",
        "a manifest CID has codec raw and a sha2-256 multihash (the envelope's own hash)",
      ],
      [`coop://${cid}#k`, "key", "the key must be 32 bytes in unpadded base64url (43 characters)"],
      [
        `coop://${cid}#k=${key.slice(0, 42)}`,
        "key",
        "the key must be 32 bytes in unpadded base64url (43 characters)",
      ],
    ];
    for (const [link, part, message] of cases) {
      const error = thrown(() => parseShareLink(link));
      expect(error, link).toBeInstanceOf(InvalidShareLinkError);
      expect(error, link).toMatchObject({ part, message: `share link: ${message}` });
    }
    const error = thrown(() => formatShareLink({ manifestCid: cid, fileKey: new Uint8Array(31) }));
    expect(error).toMatchObject({
      part: "key",
      message: "share link: the file key must be 32 bytes",
    });
  });

  it("surrounding white space and a trailing slash after the CID are accepted", () => {
    for (const link of [
      `  coop://${cid}#k=${key}\n`,
      `coop://${cid}/#k=${key}`,
      `COOP://${cid}#x=1&k=${key}`,
    ])
      expect(parseShareLink(link).manifestCid, link).toBe(cid);
  });

  it("base64url keys hold only its 64 characters, wherever another one stands", () => {
    const good = toBase64Url(new Uint8Array(32).fill(0xab));
    expect(fromBase64Url(good)).toEqual(new Uint8Array(32).fill(0xab));
    for (const bad of [
      `+${good.slice(1)}`,
      `${good.slice(0, 42)}/`,
      `${good.slice(0, 20)}=${good.slice(21)}`,
    ])
      expect(fromBase64Url(bad), bad).toBeUndefined();
  });
});
