// The STREAM byte format (docs/protocol.md, "Encryption format"): a 41-byte header, then
// chunks of ciphertext‖tag. Pure byte layout; no cipher code lives here.
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { InvalidParametersError, UnsupportedFormatError } from "../errors.ts";

/** "CCST": Co-operative Cloud STREAM. */
export const STREAM_MAGIC: Uint8Array = Uint8Array.of(0x43, 0x43, 0x53, 0x54);
export const STREAM_VERSION = 1;
/** Bytes of the header: magic 4, version 1, chunk size 4, nonce prefix 16, key check 16. */
export const STREAM_HEADER_LENGTH = 41;
/** Bytes of the header that are the associated data of every chunk (all but the key check). */
export const STREAM_AAD_LENGTH = 25;
export const NONCE_PREFIX_LENGTH = 16;
export const KEY_CHECK_LENGTH = 16;
export const TAG_LENGTH = 16;
export const KEY_LENGTH = 32;
/** Default plaintext chunk size: 64 KiB (see docs/protocol.md for the measurements). */
export const DEFAULT_CHUNK_SIZE = 65_536;
export const MIN_CHUNK_SIZE = 64;
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/** Chunk indexes are 7-byte big-endian in the nonce; JS numbers stay exact below 2^53. */
export const MAX_CHUNK_INDEX = Number.MAX_SAFE_INTEGER;

const FORMAT = "encrypted stream";
const KEY_CHECK_LABEL = new TextEncoder().encode("Co-operative Cloud STREAM v1 key check");

/** A parsed STREAM header. `bytes` is the exact 41-byte encoding. */
export interface StreamHeader {
  readonly version: number;
  /** Plaintext bytes per chunk (every chunk but the last is exactly this long). */
  readonly chunkSize: number;
  /** 16 random bytes; the HChaCha20 input, so each file gets its own subkey. */
  readonly noncePrefix: Uint8Array;
  /** First 16 bytes of HMAC-SHA256(key, "Co-operative Cloud STREAM v1 key check"). */
  readonly keyCheck: Uint8Array;
  /** The 41 header bytes. */
  readonly bytes: Uint8Array;
  /** The associated data of every chunk: header bytes 0..25 (magic, version, chunk size, prefix). */
  readonly aad: Uint8Array;
}

export function assertKey(key: Uint8Array, name = "key"): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_LENGTH) {
    throw new InvalidParametersError(
      name,
      key instanceof Uint8Array ? `${key.length} bytes` : typeof key,
      `must be ${KEY_LENGTH} bytes`,
    );
  }
}

export function assertChunkSize(chunkSize: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new InvalidParametersError(
      "chunkSize",
      chunkSize,
      `must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}`,
    );
  }
}

/** The header's key-check value: certain wrong-key detection without touching any chunk. */
export function computeKeyCheck(key: Uint8Array): Uint8Array {
  assertKey(key);
  return hmac(sha256, key, KEY_CHECK_LABEL).subarray(0, KEY_CHECK_LENGTH);
}

/** Whether `key` matches the header's key-check value (constant time in the compared bytes). */
export function keyMatchesHeader(key: Uint8Array, header: StreamHeader): boolean {
  const expected = computeKeyCheck(key);
  let diff = 0;
  for (let i = 0; i < KEY_CHECK_LENGTH; i++) diff |= expected[i]! ^ header.keyCheck[i]!;
  return diff === 0;
}

function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  globalThis.crypto.getRandomValues(out);
  return out;
}

/** Options of {@link createStreamHeader}. */
export interface CreateStreamHeaderOptions {
  /** Plaintext bytes per chunk. @default 65536 */
  chunkSize?: number;
}

/**
 * Refuses a caller-chosen nonce prefix. No public function takes one: the same key and prefix
 * twice would reuse the keystream (plaintext by XOR), so every stream draws its own. An option
 * of that name is an error rather than ignored, so code written for an older SDK learns it.
 */
export function refuseNoncePrefix(options: object): void {
  if ("noncePrefix" in options && (options as { noncePrefix?: unknown }).noncePrefix !== undefined)
    throw new InvalidParametersError(
      "noncePrefix",
      "given",
      "is not an option: every stream draws its own random nonce prefix (a chosen one could be reused)",
    );
}

/** A fresh header for encrypting one stream under `key` (a random nonce prefix each call). */
export function createStreamHeader(
  key: Uint8Array,
  options: CreateStreamHeaderOptions = {},
): StreamHeader {
  refuseNoncePrefix(options);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  assertChunkSize(chunkSize);
  const noncePrefix = randomBytes(NONCE_PREFIX_LENGTH);
  const bytes = new Uint8Array(STREAM_HEADER_LENGTH);
  bytes.set(STREAM_MAGIC, 0);
  bytes[4] = STREAM_VERSION;
  new DataView(bytes.buffer).setUint32(5, chunkSize, false);
  bytes.set(noncePrefix, 9);
  bytes.set(computeKeyCheck(key), 25);
  return parseStreamHeader(bytes);
}

/**
 * Whether `bytes` (the first bytes of some data) could still be the start of a STREAM header:
 * used to tell "not our format" from "cut short" when data ends inside the header.
 */
export function isStreamHeaderPrefix(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, STREAM_MAGIC.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== STREAM_MAGIC[i]) return false;
  return !(bytes.length > 4 && bytes[4] !== STREAM_VERSION);
}

/** Parses and checks a 41-byte header (magic, version, chunk size). */
export function parseStreamHeader(bytes: Uint8Array): StreamHeader {
  if (bytes.length < STREAM_HEADER_LENGTH) {
    throw new UnsupportedFormatError(
      FORMAT,
      undefined,
      `header is ${STREAM_HEADER_LENGTH} bytes, got ${bytes.length}`,
    );
  }
  for (let i = 0; i < STREAM_MAGIC.length; i++) {
    if (bytes[i] !== STREAM_MAGIC[i]) {
      throw new UnsupportedFormatError(FORMAT, undefined, 'bad magic (expected "CCST")');
    }
  }
  const version = bytes[4]!;
  if (version !== STREAM_VERSION) {
    throw new UnsupportedFormatError(
      FORMAT,
      version,
      `version ${version} is not supported (this SDK reads version ${STREAM_VERSION})`,
    );
  }
  const own = new Uint8Array(bytes.subarray(0, STREAM_HEADER_LENGTH)); // a copy, even of a Buffer
  const chunkSize = new DataView(own.buffer).getUint32(5, false);
  if (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new UnsupportedFormatError(
      FORMAT,
      version,
      `chunk size ${chunkSize} is outside ${MIN_CHUNK_SIZE}..${MAX_CHUNK_SIZE}`,
    );
  }
  return {
    version,
    chunkSize,
    noncePrefix: own.subarray(9, 25),
    keyCheck: own.subarray(25, 41),
    bytes: own,
    aad: own.subarray(0, STREAM_AAD_LENGTH),
  };
}

/**
 * The last 8 bytes of a chunk's 24-byte XChaCha20 nonce: the chunk index as a 7-byte
 * big-endian integer, then 0x01 for the last chunk or 0x00 for any other.
 */
export function chunkNonceTail(index: number, isLast: boolean): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index > MAX_CHUNK_INDEX) {
    throw new InvalidParametersError("index", index, "must be an integer from 0 to 2^53-1");
  }
  const tail = new Uint8Array(8);
  const high = Math.floor(index / 2 ** 32); // < 2^21: fits the top 3 bytes
  tail[0] = (high >>> 16) & 0xff;
  tail[1] = (high >>> 8) & 0xff;
  tail[2] = high & 0xff;
  new DataView(tail.buffer).setUint32(3, index >>> 0, false);
  tail[7] = isLast ? 1 : 0;
  return tail;
}

/** Ciphertext bytes (header included) of a plaintext of `plaintextLength` bytes. */
export function getCiphertextLength(
  plaintextLength: number,
  chunkSize: number = DEFAULT_CHUNK_SIZE,
): number {
  assertChunkSize(chunkSize);
  if (!Number.isSafeInteger(plaintextLength) || plaintextLength < 0) {
    throw new InvalidParametersError(
      "plaintextLength",
      plaintextLength,
      "must be a non-negative safe integer",
    );
  }
  const chunks = Math.max(1, Math.ceil(plaintextLength / chunkSize));
  return STREAM_HEADER_LENGTH + plaintextLength + chunks * TAG_LENGTH;
}

/**
 * Plaintext bytes of a well-formed ciphertext of `ciphertextLength` bytes (header included);
 * undefined when no plaintext length encrypts to exactly that many bytes.
 */
export function getPlaintextLength(
  ciphertextLength: number,
  chunkSize: number = DEFAULT_CHUNK_SIZE,
): number | undefined {
  assertChunkSize(chunkSize);
  const body = ciphertextLength - STREAM_HEADER_LENGTH;
  if (!Number.isSafeInteger(body) || body < TAG_LENGTH) return undefined;
  const unit = chunkSize + TAG_LENGTH;
  const fullUnits = Math.floor(body / unit);
  const rest = body - fullUnits * unit;
  if (rest === 0) return fullUnits * chunkSize;
  if (rest < TAG_LENGTH || (rest === TAG_LENGTH && fullUnits > 0)) return undefined;
  return fullUnits * chunkSize + rest - TAG_LENGTH;
}
