// File keys wrapped for the owner's key-encryption key: XChaCha20-Poly1305 with a random
// nonce, the AAD binding the wrapped key to its manifest: file id, manifest version and the hash
// of the encrypted manifest, so that what the owner's key opens is what the owner wrote.
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { InvalidParametersError, WrongKeyError } from "../errors.ts";

/** nonce (24) ‖ encrypted key (32) ‖ tag (16). */
export const WRAPPED_KEY_LENGTH = 72;
export const FILE_ID_LENGTH = 16;
/** SHA-256 of the encrypted manifest, in the AAD. */
export const MANIFEST_DIGEST_LENGTH = 32;

const WRAP_LABEL = new TextEncoder().encode("Co-operative Cloud wrapped file key v1");

/** What a wrapped key is bound to: unwrapping under any other context fails. */
export interface WrapContext {
  /** The manifest's random 16-byte file id. */
  fileId: Uint8Array;
  /** The manifest format version. */
  manifestVersion: number;
  /**
   * SHA-256 of the encrypted manifest (the envelope's body). Anyone with the file key (a share
   * link) can encrypt a manifest under the manifest key; only the owner's KEK can wrap the key
   * for that body, so the owner never opens a manifest someone else wrote.
   */
  manifestDigest: Uint8Array;
}

function check32(name: string, key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new InvalidParametersError(
      name,
      key instanceof Uint8Array ? `${key.length} bytes` : typeof key,
      "must be 32 bytes",
    );
  }
}

/**
 * AAD = "Co-operative Cloud wrapped file key v1" ‖ manifestVersion (u32 BE) ‖ fileId (16) ‖
 * manifestDigest (32).
 */
export function wrapAssociatedData({
  fileId,
  manifestVersion,
  manifestDigest,
}: WrapContext): Uint8Array {
  if (!(fileId instanceof Uint8Array) || fileId.length !== FILE_ID_LENGTH) {
    throw new InvalidParametersError(
      "fileId",
      fileId instanceof Uint8Array ? `${fileId.length} bytes` : typeof fileId,
      "must be 16 bytes",
    );
  }
  if (!Number.isInteger(manifestVersion) || manifestVersion < 0 || manifestVersion > 0xffffffff) {
    throw new InvalidParametersError(
      "manifestVersion",
      manifestVersion,
      "must be a 32-bit unsigned integer",
    );
  }
  if (!(manifestDigest instanceof Uint8Array) || manifestDigest.length !== MANIFEST_DIGEST_LENGTH) {
    throw new InvalidParametersError(
      "manifestDigest",
      manifestDigest instanceof Uint8Array
        ? `${manifestDigest.length} bytes`
        : typeof manifestDigest,
      `must be ${MANIFEST_DIGEST_LENGTH} bytes (SHA-256 of the encrypted manifest)`,
    );
  }
  const aad = new Uint8Array(WRAP_LABEL.length + 4 + FILE_ID_LENGTH + MANIFEST_DIGEST_LENGTH);
  aad.set(WRAP_LABEL, 0);
  new DataView(aad.buffer).setUint32(WRAP_LABEL.length, manifestVersion, false);
  aad.set(fileId, WRAP_LABEL.length + 4);
  aad.set(manifestDigest, WRAP_LABEL.length + 4 + FILE_ID_LENGTH);
  return aad;
}

/** Encrypts a 32-byte file key under the key-encryption key → 72 bytes. */
export function wrapFileKey(
  kek: Uint8Array,
  fileKey: Uint8Array,
  context: WrapContext,
): Uint8Array {
  check32("kek", kek);
  check32("fileKey", fileKey);
  const out = new Uint8Array(WRAPPED_KEY_LENGTH);
  const nonce = out.subarray(0, 24);
  globalThis.crypto.getRandomValues(nonce);
  out.set(xchacha20poly1305(kek, nonce, wrapAssociatedData(context)).encrypt(fileKey), 24);
  return out;
}

/** Decrypts a wrapped file key; WrongKeyError when this KEK (or context) does not open it. */
export function unwrapFileKey(
  kek: Uint8Array,
  wrapped: Uint8Array,
  context: WrapContext,
): Uint8Array {
  check32("kek", kek);
  if (!(wrapped instanceof Uint8Array) || wrapped.length !== WRAPPED_KEY_LENGTH) {
    throw new InvalidParametersError(
      "wrappedKey",
      wrapped instanceof Uint8Array ? `${wrapped.length} bytes` : typeof wrapped,
      `must be ${WRAPPED_KEY_LENGTH} bytes`,
    );
  }
  try {
    return xchacha20poly1305(kek, wrapped.subarray(0, 24), wrapAssociatedData(context)).decrypt(
      wrapped.subarray(24),
    );
  } catch {
    throw new WrongKeyError(
      "wrapped file key",
      "wrong key: this key-encryption key does not unwrap the file key (the file belongs to another wallet or chain, or the envelope was altered)",
    );
  }
}
