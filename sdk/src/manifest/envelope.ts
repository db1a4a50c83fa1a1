// The stored manifest object (the "envelope"): its file id and the file key wrapped for the
// owner in clear, then the manifest, padded to a size class, encrypted under a key derived from
// the file key. The wrapped key is bound to the encrypted manifest's hash, so the owner's key
// opens only what the owner wrote; a share link's file key opens the manifest without the KEK.
// docs/protocol.md, "Keys, manifest and share links".
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { type Implementation, decryptBytes, encryptBytes } from "../crypto/index.ts";
import {
  InvalidManifestError,
  InvalidParametersError,
  TamperedDataError,
  TruncatedDataError,
  UnsupportedFormatError,
  WrongKeyError,
} from "../errors.ts";
import { FILE_ID_LENGTH, WRAPPED_KEY_LENGTH, unwrapFileKey, wrapFileKey } from "../keys/wrap.ts";
import type { CID } from "multiformats/cid";
import {
  type Manifest,
  MANIFEST_VERSION,
  deserializeManifest,
  serializeManifest,
} from "./manifest.ts";
import { MAX_ENVELOPE_LENGTH, verifyManifestCid } from "./manifest-cid.ts";

/** "CCMF": Co-operative Cloud manifest. */
export const ENVELOPE_MAGIC: Uint8Array = Uint8Array.of(0x43, 0x43, 0x4d, 0x46);
export const ENVELOPE_VERSION = MANIFEST_VERSION;
/** magic 4, version 1, file id 16, wrapped key 72. */
export const ENVELOPE_PREFIX_LENGTH = 4 + 1 + FILE_ID_LENGTH + WRAPPED_KEY_LENGTH;
/** Envelopes larger than this (1 MiB) are refused before any decryption. */
export { MAX_ENVELOPE_LENGTH };
/**
 * The smallest size class of the padded manifest: the canonical JSON is followed by zero bytes
 * up to 4 KiB, or up to the next power of two above, so an envelope's length shows the class
 * and not, say, the length of the file's name.
 */
export const MIN_MANIFEST_PADDING = 4096;
const FORMAT = "manifest envelope";

/** The padded length of a manifest whose canonical JSON is `length` bytes. */
export function paddedManifestLength(length: number): number {
  return length <= MIN_MANIFEST_PADDING ? MIN_MANIFEST_PADDING : 2 ** Math.ceil(Math.log2(length));
}

function isPaddedLength(length: number): boolean {
  return length >= MIN_MANIFEST_PADDING && (length & (length - 1)) === 0;
}

/** The manifest JSON from its padded form; InvalidManifestError unless the padding is canonical. */
function unpad(padded: Uint8Array): Uint8Array {
  if (!isPaddedLength(padded.length))
    throw new InvalidManifestError(
      "",
      `is padded to ${padded.length} bytes, not a size class (4 KiB or a larger power of two)`,
    );
  // Canonical JSON never holds a zero byte (U+0000 is escaped), so the first one ends it.
  let end = padded.indexOf(0);
  if (end < 0) end = padded.length;
  for (let i = end; i < padded.length; i++)
    if (padded[i] !== 0) throw new InvalidManifestError("", "its padding holds non-zero bytes");
  return padded.subarray(0, end);
}
const MANIFEST_KEY_INFO = new TextEncoder().encode("Co-operative Cloud manifest key v1");

/** The manifest key: HKDF-SHA256(ikm = file key, no salt, info = "Co-operative Cloud manifest key v1"). */
export function deriveManifestKey(fileKey: Uint8Array): Uint8Array {
  if (!(fileKey instanceof Uint8Array) || fileKey.length !== 32) {
    throw new InvalidParametersError(
      "fileKey",
      fileKey instanceof Uint8Array ? `${fileKey.length} bytes` : typeof fileKey,
      "must be 32 bytes",
    );
  }
  return hkdf(sha256, fileKey, undefined, MANIFEST_KEY_INFO, 32);
}

/** A fresh random file id for a new manifest. */
export function generateFileId(): `0x${string}` {
  const id = new Uint8Array(FILE_ID_LENGTH);
  globalThis.crypto.getRandomValues(id);
  return `0x${Array.from(id, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function fileIdBytes(fileId: `0x${string}`): Uint8Array {
  return Uint8Array.from(fileId.slice(2).match(/../g) ?? [], (b) => parseInt(b, 16));
}

function fileIdHex(bytes: Uint8Array): `0x${string}` {
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The clear parts of an envelope, readable without any key. */
export interface ManifestEnvelope {
  readonly version: number;
  readonly fileId: `0x${string}`;
  /** The file key wrapped for the owner's KEK (72 bytes). */
  readonly wrappedKey: Uint8Array;
  /** The encrypted manifest: a CCST stream. */
  readonly body: Uint8Array;
}

/** Splits envelope bytes into their parts (UnsupportedFormatError if they are not an envelope). */
export function readManifestEnvelope(bytes: Uint8Array): ManifestEnvelope {
  if (bytes.length > MAX_ENVELOPE_LENGTH) {
    throw new UnsupportedFormatError(
      FORMAT,
      undefined,
      `${bytes.length} bytes is larger than the ${MAX_ENVELOPE_LENGTH}-byte limit`,
    );
  }
  for (let i = 0; i < ENVELOPE_MAGIC.length; i++) {
    if (bytes.length <= i) break;
    if (bytes[i] !== ENVELOPE_MAGIC[i])
      throw new UnsupportedFormatError(FORMAT, undefined, 'bad magic (expected "CCMF")');
  }
  if (bytes.length > 4 && bytes[4] !== ENVELOPE_VERSION) {
    throw new UnsupportedFormatError(
      FORMAT,
      bytes[4],
      `version ${bytes[4]} is not supported (this SDK reads version ${ENVELOPE_VERSION})`,
    );
  }
  if (bytes.length < ENVELOPE_PREFIX_LENGTH) {
    throw new TruncatedDataError(
      0,
      `${FORMAT}: ${bytes.length} bytes is shorter than its ${ENVELOPE_PREFIX_LENGTH}-byte prefix`,
    );
  }
  return {
    version: bytes[4]!,
    fileId: fileIdHex(bytes.subarray(5, 5 + FILE_ID_LENGTH)),
    wrappedKey: new Uint8Array(bytes.subarray(5 + FILE_ID_LENGTH, ENVELOPE_PREFIX_LENGTH)),
    body: bytes.subarray(ENVELOPE_PREFIX_LENGTH),
  };
}

/** Parameters of {@link encryptManifest}. */
export interface EncryptManifestParameters {
  /** The manifest to store (validated here). */
  manifest: Manifest;
  /** The file's key (the key its content was encrypted with). */
  fileKey: Uint8Array;
  /** The owner's key-encryption key, from {@link deriveKeyEncryptionKey}. */
  kek: Uint8Array;
  /** AEAD implementation. @default "auto" */
  implementation?: Implementation;
}

/**
 * Builds the envelope bytes: pads and encrypts the manifest under the manifest key, then wraps
 * the file key for the owner, bound to the encrypted manifest's SHA-256.
 */
export function encryptManifest({
  manifest,
  fileKey,
  kek,
  implementation,
}: EncryptManifestParameters): Uint8Array {
  const json = serializeManifest(manifest);
  const padded = new Uint8Array(paddedManifestLength(json.length));
  padded.set(json, 0);
  const fileId = fileIdBytes(manifest.fileId);
  const encrypted = encryptBytes(padded, deriveManifestKey(fileKey), { implementation });
  const wrapped = wrapFileKey(kek, fileKey, {
    fileId,
    manifestVersion: ENVELOPE_VERSION,
    manifestDigest: sha256(encrypted),
  });
  const out = new Uint8Array(ENVELOPE_PREFIX_LENGTH + encrypted.length);
  out.set(ENVELOPE_MAGIC, 0);
  out[4] = ENVELOPE_VERSION;
  out.set(fileId, 5);
  out.set(wrapped, 5 + FILE_ID_LENGTH);
  out.set(encrypted, ENVELOPE_PREFIX_LENGTH);
  return out;
}

/** How to open an envelope: the owner's KEK, or a file key (from a share link). */
export type ManifestKey =
  { kek: Uint8Array; fileKey?: undefined } | { fileKey: Uint8Array; kek?: undefined };

/** An opened envelope. */
export interface OpenedManifest {
  readonly manifest: Manifest;
  /** The file key: decrypts the file's ciphertext and can be put in a share link. */
  readonly fileKey: Uint8Array;
}

/** Options of {@link decryptManifest}. */
export interface DecryptManifestOptions {
  /** AEAD implementation. @default "auto" */
  implementation?: Implementation;
  /**
   * The manifest CID the envelope must have: the deal's (as the market returns it) or a share
   * link's. Checked before any decryption (ManifestCidMismatchError). A share link's key opens
   * any envelope written under it, so only this check ties what a link opens to the owner's deal.
   */
  manifestCid?: CID | string | Uint8Array;
}

/**
 * Opens envelope bytes with the owner's KEK or a file key. Errors: ManifestCidMismatchError (not
 * the envelope `manifestCid` names), UnsupportedFormatError, WrongKeyError (another wallet's
 * envelope, or one altered since the owner wrote it; a share link for another file),
 * TamperedDataError (altered manifest under a link's key), InvalidManifestError (decrypted but
 * invalid).
 */
export function decryptManifest(
  bytes: Uint8Array,
  key: ManifestKey,
  options: DecryptManifestOptions = {},
): OpenedManifest {
  if (options.manifestCid !== undefined) verifyManifestCid(bytes, options.manifestCid);
  const envelope = readManifestEnvelope(bytes);
  const fileId = fileIdBytes(envelope.fileId);
  if (
    key === null ||
    typeof key !== "object" ||
    (key.kek === undefined) === (key.fileKey === undefined)
  )
    throw new InvalidParametersError("key", typeof key, "must be { kek } or { fileKey }");
  const fromOwner = key.kek !== undefined;
  // The owner's key opens only the body it was wrapped with (its hash is in the AAD).
  const fileKey = fromOwner
    ? unwrapFileKey(key.kek, envelope.wrappedKey, {
        fileId,
        manifestVersion: envelope.version,
        manifestDigest: sha256(envelope.body),
      })
    : key.fileKey;
  let body: Uint8Array;
  try {
    body = decryptBytes(envelope.body, deriveManifestKey(fileKey), {
      implementation: options.implementation,
    });
  } catch (error) {
    if (error instanceof WrongKeyError) {
      if (fromOwner) {
        // The wrapped key authenticated this very body (its hash), yet the body is not under
        // that key: the envelope was assembled wrongly when written, not altered since.
        throw new TamperedDataError(
          "chunk",
          0,
          `${FORMAT}: the encrypted manifest was replaced (it is not under this envelope's file key)`,
        );
      }
      throw new WrongKeyError(
        "manifest",
        "wrong key: the share link's key does not open this manifest (the link is for another file, or the manifest is not this file's)",
      );
    }
    throw error;
  }
  const manifest = deserializeManifest(unpad(body));
  if (manifest.fileId !== envelope.fileId) {
    throw new InvalidManifestError(
      "fileId",
      `${manifest.fileId} does not match the envelope's file id ${envelope.fileId}`,
    );
  }
  return { manifest, fileKey };
}
