// The manifest: everything needed to find, check and decrypt one stored file. Validated on
// parse (InvalidManifestError names the field), serialized as canonical JSON.
// docs/protocol.md, "Keys, manifest and share links".
import { CID } from "multiformats/cid";
import { InvalidManifestError, InvalidParametersError } from "../errors.ts";
import { SHARD_UNIXFS_PARAMS } from "../cid/unixfs.ts";
import { getStripeLayout } from "../erasure/index.ts";
import {
  MAX_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
  STREAM_HEADER_LENGTH,
  getCiphertextLength,
  parseStreamHeader,
} from "../crypto/format.ts";
import { type JsonValue, canonicalJson } from "./canonical-json.ts";
import type { DecodeFileOptions } from "../pipeline/decode.ts";

export const MANIFEST_VERSION = 1;
/** The encryption scheme of the file's ciphertext: STREAM format CCST, version 1. */
export const ENCRYPTION_SCHEME = "CCST-1";
/** Segment commitments: SHA-256 Merkle tree over 512-byte segments (docs/protocol.md). */
export const COMMITMENT_HASH = "sha256";
export const COMMITMENT_SEGMENT_SIZE = 512;
const MAX_NAME_LENGTH = 1024;
const MAX_UINT256 = (1n << 256n) - 1n;
const RAW_CODEC = 0x55;
const DAG_PB_CODEC = 0x70;
const SHA2_256 = 0x12;

/** One shard's address and commitment; shard i is `shards[i]`. */
export interface ManifestShard {
  /** Bytes in the shard (equal for every shard). */
  readonly size: number;
  /**
   * The shard's UnixFS CIDv1 (sha2-256; raw up to 1 MiB, dag-pb above) in its canonical base32
   * string form.
   */
  readonly cid: string;
  /** Root of the shard's segment Merkle tree: `0x` and 64 lowercase hex digits. */
  readonly merkleRoot: `0x${string}`;
  /** Real leaves of the tree: ceil(size / 512), at least 1. */
  readonly leafCount: number;
}

/** A version-1 manifest. */
export interface Manifest {
  readonly version: 1;
  /** Random 16-byte file id, `0x` and 32 lowercase hex digits; also in the envelope, in clear. */
  readonly fileId: `0x${string}`;
  /** The file's name (a base name: no `/`, `\`, control characters, not `.` or `..`). */
  readonly name: string;
  /** Plaintext bytes. */
  readonly size: number;
  /** MIME type, e.g. `application/pdf`. */
  readonly mimeType: string;
  /** When the file was stored: `Date.prototype.toISOString()` form (UTC, milliseconds). */
  readonly createdAt: string;
  readonly encryption: {
    /** `"CCST-1"`. */
    readonly scheme: typeof ENCRYPTION_SCHEME;
    /** Plaintext bytes per STREAM chunk. */
    readonly chunkSize: number;
    /** Bytes of the ciphertext (header included): the data that is erasure-coded. */
    readonly ciphertextSize: number;
    /**
     * The stream's 41-byte header (`0x` and 82 lowercase hex digits): its nonce prefix and key
     * check pin the one stream this manifest describes; decoding refuses any other.
     */
    readonly header: `0x${string}`;
  };
  readonly erasure: {
    /** Data shards. */
    readonly k: number;
    /** Total shards. */
    readonly n: number;
    /** Block size B of full stripes: a power of two from 512 to 64 MiB. */
    readonly blockSize: number;
  };
  readonly commitment: {
    readonly hash: typeof COMMITMENT_HASH;
    readonly segmentSize: typeof COMMITMENT_SEGMENT_SIZE;
  };
  readonly shards: readonly ManifestShard[];
  /** The storage deal's id on chain (decimal uint256), once the deal exists. */
  readonly dealId?: string;
  /** The chain the deal lives on. */
  readonly chainId?: number;
}

type Json = { [key: string]: unknown };

/**
 * A short, safe description of an untrusted value for an error message. Never JSON.stringify:
 * it throws on a BigInt or a cycle and overflows the stack on deep nesting, which would replace
 * the typed error with an untyped one.
 */
function describe(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
    case "number":
    case "boolean":
      return String(value);
    case "bigint":
      return `${value}n (a BigInt)`;
    case "undefined":
      return "undefined";
    case "object":
      return value === null ? "null" : Array.isArray(value) ? "an array" : "an object";
    default:
      return `a ${typeof value}`;
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fail(field: string, message: string): never {
  throw new InvalidManifestError(field, message);
}

function onlyKeys(
  obj: Json,
  field: string,
  required: readonly string[],
  optional: readonly string[] = [],
): void {
  for (const key of required)
    if (!(key in obj)) fail(field === "" ? key : `${field}.${key}`, "is missing");
  for (const key of Object.keys(obj)) {
    if (!required.includes(key) && !optional.includes(key)) {
      fail(field === "" ? key : `${field}.${key}`, "is not a field of a version-1 manifest");
    }
  }
}

function integer(
  value: unknown,
  field: string,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value))
    fail(field, `must be an integer, got ${describe(value)}`);
  if (value < min || value > max) fail(field, `must be from ${min} to ${max}, got ${value}`);
  return value;
}

function string(value: unknown, field: string): string {
  if (typeof value !== "string") fail(field, `must be a string, got ${describe(value)}`);
  return value;
}

function hex(value: unknown, field: string, bytes: number): `0x${string}` {
  const s = string(value, field);
  if (!new RegExp(`^0x[0-9a-f]{${2 * bytes}}$`).test(s))
    fail(field, `must be 0x and ${2 * bytes} lowercase hex digits`);
  return s as `0x${string}`;
}

function fileName(value: unknown, field: string): string {
  const s = string(value, field);
  if (s.length === 0 || s.length > MAX_NAME_LENGTH)
    fail(field, `must be 1 to ${MAX_NAME_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f/\\]/.test(s) || s === "." || s === "..") {
    fail(field, "must be a base name (no path separators or control characters)");
  }
  // Bidirectional overrides let a shared "report\u202Efdp.exe" display as "reportexe.pdf".
  if (/[\u202a-\u202e\u2066-\u2069]/.test(s)) {
    fail(field, "must not contain bidirectional control characters");
  }
  return s;
}

function mimeType(value: unknown, field: string): string {
  const s = string(value, field);
  const token = "[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}";
  if (s.length > 255 || !new RegExp(`^${token}/${token}(\\s*;\\s*[^\\u0000-\\u001f]*)?$`).test(s)) {
    fail(field, `must be a MIME type like "application/pdf", got ${describe(s)}`);
  }
  return s;
}

function timestamp(value: unknown, field: string): string {
  const s = string(value, field);
  const time = Date.parse(s);
  if (Number.isNaN(time) || new Date(time).toISOString() !== s) {
    fail(field, `must be an ISO 8601 UTC time like "2026-01-31T12:00:00.000Z", got ${describe(s)}`);
  }
  return s;
}

/** A shard's CID: CIDv1, sha2-256, raw for a one-leaf shard (≤ 1 MiB), dag-pb above. */
function shardCid(value: unknown, field: string, size: number): string {
  const s = string(value, field);
  let parsed: CID;
  try {
    parsed = CID.parse(s);
  } catch {
    fail(field, `is not a CID: ${describe(s)}`);
  }
  if (parsed.version !== 1) fail(field, "must be a CIDv1");
  if (parsed.toString() !== s)
    fail(field, `must be in canonical base32 form (${parsed.toString()})`);
  if (parsed.multihash.code !== SHA2_256 || parsed.multihash.size !== 32)
    fail(field, "must be a sha2-256 CID");
  const codec = size <= SHARD_UNIXFS_PARAMS.chunkSize ? RAW_CODEC : DAG_PB_CODEC;
  if (parsed.code !== codec)
    fail(
      field,
      `a shard of ${size} bytes is ${codec === RAW_CODEC ? "one raw leaf (codec raw)" : "a dag-pb root (codec dag-pb)"}`,
    );
  return s;
}

function streamHeader(value: unknown, field: string, chunkSize: number): `0x${string}` {
  const h = hex(value, field, STREAM_HEADER_LENGTH);
  let header;
  try {
    header = parseStreamHeader(Uint8Array.from(h.slice(2).match(/../g)!, (b) => parseInt(b, 16)));
  } catch (error) {
    fail(field, `is not a STREAM header: ${(error as Error).message}`);
  }
  if (header.chunkSize !== chunkSize)
    fail(field, `holds chunk size ${header.chunkSize}, not encryption.chunkSize ${chunkSize}`);
  return h;
}

function dealId(value: unknown, field: string): string {
  const s = string(value, field);
  if (!/^(0|[1-9][0-9]{0,77})$/.test(s) || BigInt(s) > MAX_UINT256)
    fail(field, "must be a decimal uint256");
  return s;
}

/**
 * Validates an untrusted value (e.g. `JSON.parse` output) as a version-1 manifest: every field
 * present with the right type and range, nothing extra, and the sizes consistent with each
 * other. Throws InvalidManifestError naming the first bad field, whatever the input.
 */
export function parseManifest(value: unknown): Manifest {
  try {
    return readManifest(value);
  } catch (error) {
    if (error instanceof InvalidManifestError) throw error;
    // Only exotic inputs get here (a throwing getter or proxy): still the typed error.
    const wrapped = new InvalidManifestError(
      "",
      `could not be read (${error instanceof Error ? error.name : typeof error})`,
    );
    (wrapped as Error & { cause?: unknown }).cause = error;
    throw wrapped;
  }
}

function readManifest(value: unknown): Manifest {
  if (!isObject(value)) fail("", "must be a JSON object");
  if (!("version" in value)) fail("version", "is missing");
  if (value.version !== MANIFEST_VERSION) {
    fail(
      "version",
      `version ${describe(value.version)} is not supported (this SDK reads version ${MANIFEST_VERSION})`,
    );
  }
  onlyKeys(
    value,
    "",
    [
      "version",
      "fileId",
      "name",
      "size",
      "mimeType",
      "createdAt",
      "encryption",
      "erasure",
      "commitment",
      "shards",
    ],
    ["dealId", "chainId"],
  );

  const enc = value.encryption;
  if (!isObject(enc)) fail("encryption", "must be an object");
  onlyKeys(enc, "encryption", ["scheme", "chunkSize", "ciphertextSize", "header"]);
  if (enc.scheme !== ENCRYPTION_SCHEME) fail("encryption.scheme", `must be "${ENCRYPTION_SCHEME}"`);
  const size = integer(value.size, "size", 0);
  const chunkSize = integer(enc.chunkSize, "encryption.chunkSize", MIN_CHUNK_SIZE, MAX_CHUNK_SIZE);
  const ciphertextSize = integer(enc.ciphertextSize, "encryption.ciphertextSize", 1);
  if (ciphertextSize !== getCiphertextLength(size, chunkSize)) {
    fail(
      "encryption.ciphertextSize",
      `must be ${getCiphertextLength(size, chunkSize)} for size ${size} in chunks of ${chunkSize}`,
    );
  }
  const header = streamHeader(enc.header, "encryption.header", chunkSize);

  const era = value.erasure;
  if (!isObject(era)) fail("erasure", "must be an object");
  onlyKeys(era, "erasure", ["k", "n", "blockSize"]);
  const k = integer(era.k, "erasure.k", 1);
  const n = integer(era.n, "erasure.n", k);
  const blockSize = integer(era.blockSize, "erasure.blockSize", 1);
  let shardSize: number;
  try {
    shardSize = getStripeLayout({
      dataShards: k,
      totalShards: n,
      blockSize,
      dataLength: ciphertextSize,
    }).shardSize;
  } catch (error) {
    const parameter = error instanceof InvalidParametersError ? error.parameter : "";
    const field =
      { dataShards: "erasure.k", totalShards: "erasure.n", blockSize: "erasure.blockSize" }[
        parameter
      ] ?? "erasure";
    fail(field, (error as Error).message);
  }

  const com = value.commitment;
  if (!isObject(com)) fail("commitment", "must be an object");
  onlyKeys(com, "commitment", ["hash", "segmentSize"]);
  if (com.hash !== COMMITMENT_HASH) fail("commitment.hash", `must be "${COMMITMENT_HASH}"`);
  if (com.segmentSize !== COMMITMENT_SEGMENT_SIZE)
    fail("commitment.segmentSize", `must be ${COMMITMENT_SEGMENT_SIZE}`);
  const leafCount = Math.max(1, Math.ceil(shardSize / COMMITMENT_SEGMENT_SIZE));

  if (!Array.isArray(value.shards)) fail("shards", "must be an array");
  if (value.shards.length !== n)
    fail("shards", `must list n = ${n} shards, lists ${value.shards.length}`);
  const shards = value.shards.map((shard: unknown, i: number): ManifestShard => {
    const field = `shards[${i}]`;
    if (!isObject(shard)) fail(field, "must be an object");
    onlyKeys(shard, field, ["size", "cid", "merkleRoot", "leafCount"]);
    const s = {
      size: integer(shard.size, `${field}.size`, 0),
      cid: shardCid(shard.cid, `${field}.cid`, shardSize),
      merkleRoot: hex(shard.merkleRoot, `${field}.merkleRoot`, 32),
      leafCount: integer(shard.leafCount, `${field}.leafCount`, 1),
    };
    if (s.size !== shardSize)
      fail(`${field}.size`, `must be ${shardSize} (the stripe layout's shard size)`);
    if (s.leafCount !== leafCount)
      fail(`${field}.leafCount`, `must be ${leafCount} (ceil(size / ${COMMITMENT_SEGMENT_SIZE}))`);
    return s;
  });

  const manifest: {
    -readonly [K in keyof Manifest]: Manifest[K];
  } = {
    version: MANIFEST_VERSION,
    fileId: hex(value.fileId, "fileId", 16),
    name: fileName(value.name, "name"),
    size,
    mimeType: mimeType(value.mimeType, "mimeType"),
    createdAt: timestamp(value.createdAt, "createdAt"),
    encryption: { scheme: ENCRYPTION_SCHEME, chunkSize, ciphertextSize, header },
    erasure: { k, n, blockSize },
    commitment: { hash: COMMITMENT_HASH, segmentSize: COMMITMENT_SEGMENT_SIZE },
    shards,
  };
  if (value.dealId !== undefined) manifest.dealId = dealId(value.dealId, "dealId");
  if (value.chainId !== undefined) manifest.chainId = integer(value.chainId, "chainId", 1);
  return manifest;
}

function toJson(manifest: Manifest): JsonValue {
  const json: { [key: string]: JsonValue } = {
    version: manifest.version,
    fileId: manifest.fileId,
    name: manifest.name,
    size: manifest.size,
    mimeType: manifest.mimeType,
    createdAt: manifest.createdAt,
    encryption: { ...manifest.encryption },
    erasure: { ...manifest.erasure },
    commitment: { ...manifest.commitment },
    shards: manifest.shards.map((s) => ({
      size: s.size,
      cid: s.cid,
      merkleRoot: s.merkleRoot,
      leafCount: s.leafCount,
    })),
  };
  if (manifest.dealId !== undefined) json.dealId = manifest.dealId;
  if (manifest.chainId !== undefined) json.chainId = manifest.chainId;
  return json;
}

/** Validates and serializes a manifest as canonical JSON (UTF-8 bytes). */
export function serializeManifest(manifest: Manifest): Uint8Array {
  // Validated as given (not through a JSON round trip, which throws untyped errors on a BigInt).
  const checked = parseManifest(manifest);
  return new TextEncoder().encode(canonicalJson(toJson(checked)));
}

/** Parses manifest bytes (UTF-8 JSON) and validates them; InvalidManifestError if they are not a valid manifest. */
export function deserializeManifest(bytes: Uint8Array): Manifest {
  if (!(bytes instanceof Uint8Array)) fail("", `must be bytes, got ${describe(bytes)}`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    fail("", "is not UTF-8 JSON");
  }
  return parseManifest(value);
}

/**
 * What decodeFile needs from a manifest, with every commitment it holds: layout, the pinned
 * header, and each shard's root, CID, size and leaf count as `expected`. Pass the result (plus
 * the shards and any pipeline options) to decodeFile.
 */
export function manifestDecodeOptions(
  manifest: Manifest,
  fileKey: Uint8Array,
): Pick<
  DecodeFileOptions,
  "key" | "header" | "dataShards" | "totalShards" | "blockSize" | "ciphertextLength" | "expected"
> {
  const m = parseManifest(manifest);
  return {
    key: fileKey,
    header: m.encryption.header,
    dataShards: m.erasure.k,
    totalShards: m.erasure.n,
    blockSize: m.erasure.blockSize,
    ciphertextLength: m.encryption.ciphertextSize,
    expected: m.shards.map((s, index) => ({ index, ...s })),
  };
}
