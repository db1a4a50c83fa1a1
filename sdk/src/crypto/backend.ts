// The two implementations of one chunk AEAD (XChaCha20-Poly1305 with the stream's nonce
// prefix and header AAD) and how one is chosen. Both produce identical bytes.
import type * as NodeCrypto from "node:crypto";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { InvalidParametersError } from "../errors.ts";
import { hchacha20 } from "./hchacha.ts";
import { NONCE_PREFIX_LENGTH, TAG_LENGTH, assertKey } from "./format.ts";

/**
 * Which AEAD implementation encrypts chunks. `"native"`: HChaCha20 (noble) + node:crypto's
 * IETF ChaCha20-Poly1305 (Node, Deno, Bun; 10–20× faster). `"noble"`: @noble/ciphers'
 * XChaCha20-Poly1305 (runs anywhere, no node: modules). `"auto"`: native where node:crypto has
 * chacha20-poly1305, noble elsewhere.
 */
export type Implementation = "auto" | "native" | "noble";

/** One stream's key, nonce prefix and AAD bound to an implementation. */
export interface ChunkSession {
  readonly implementation: "native" | "noble";
  /** Encrypts one chunk; the parts concatenated are ciphertext‖tag (native gives two parts, no copy). */
  seal(nonceTail: Uint8Array, plaintext: Uint8Array): Uint8Array[];
  /** Decrypts ciphertext‖tag; undefined when it does not authenticate. Never returns unauthenticated bytes. */
  open(nonceTail: Uint8Array, sealed: Uint8Array): Uint8Array | undefined;
  /**
   * Drops the key material: the noble path wipes its copy of the key, the native path lets go
   * of its KeyObject (node:crypto keeps the subkey off the JS heap and frees it when collected).
   * The session must not be used afterwards.
   */
  dispose(): void;
}

type NodeCryptoModule = typeof NodeCrypto;

let nodeCryptoCache: NodeCryptoModule | null | undefined;

/** node:crypto when the runtime has it with chacha20-poly1305, without a static import (browser bundles stay clean). */
function loadNodeCrypto(): NodeCryptoModule | null {
  if (nodeCryptoCache !== undefined) return nodeCryptoCache;
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.("node:crypto") as NodeCryptoModule | undefined;
  nodeCryptoCache =
    mod !== undefined && mod.getCiphers().includes("chacha20-poly1305") ? mod : null;
  return nodeCryptoCache;
}

/** Whether the native implementation is available in this runtime. */
export function isNativeAvailable(): boolean {
  return loadNodeCrypto() !== null;
}

/** Resolves `"auto"` to the implementation that will run. Throws if `"native"` is unavailable. */
export function resolveImplementation(implementation: Implementation = "auto"): "native" | "noble" {
  if (implementation === "noble") return "noble";
  if (implementation === "native") {
    if (!isNativeAvailable()) {
      throw new InvalidParametersError(
        "implementation",
        implementation,
        "node:crypto with chacha20-poly1305 is not available in this runtime",
      );
    }
    return "native";
  }
  if (implementation !== "auto") {
    throw new InvalidParametersError(
      "implementation",
      implementation,
      'must be "auto", "native" or "noble"',
    );
  }
  return isNativeAvailable() ? "native" : "noble";
}

const USED_AFTER_DISPOSE = "chunk session used after dispose()";

function asPlainBytes(buf: Uint8Array): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function createNobleSession(
  key: Uint8Array,
  noncePrefix: Uint8Array,
  aad: Uint8Array,
): ChunkSession {
  // Copies (new Uint8Array, not slice: a Buffer's slice shares memory that dispose would wipe).
  const k = new Uint8Array(key);
  const a = new Uint8Array(aad);
  const nonce = new Uint8Array(24);
  nonce.set(noncePrefix, 0);
  let disposed = false;
  return {
    implementation: "noble",
    dispose() {
      k.fill(0);
      disposed = true;
    },
    seal(nonceTail, plaintext) {
      if (disposed) throw new Error(USED_AFTER_DISPOSE);
      nonce.set(nonceTail, NONCE_PREFIX_LENGTH);
      return [xchacha20poly1305(k, nonce, a).encrypt(plaintext)];
    },
    open(nonceTail, sealed) {
      if (disposed) throw new Error(USED_AFTER_DISPOSE);
      if (sealed.length < TAG_LENGTH) return undefined;
      nonce.set(nonceTail, NONCE_PREFIX_LENGTH);
      try {
        return xchacha20poly1305(k, nonce, a).decrypt(sealed);
      } catch {
        return undefined;
      }
    },
  };
}

function createNativeSession(
  nc: NodeCryptoModule,
  key: Uint8Array,
  noncePrefix: Uint8Array,
  aad: Uint8Array,
): ChunkSession {
  // XChaCha20-Poly1305(key, prefix‖tail) = ChaCha20-Poly1305(HChaCha20(key, prefix), 0x00000000‖tail).
  const subkey = hchacha20(key, noncePrefix);
  let keyObject: NodeCrypto.KeyObject | undefined = nc.createSecretKey(subkey);
  subkey.fill(0);
  const a = new Uint8Array(aad);
  const nonce = new Uint8Array(12);
  const options = { authTagLength: TAG_LENGTH } as const;
  return {
    implementation: "native",
    dispose() {
      keyObject = undefined;
    },
    seal(nonceTail, plaintext) {
      if (keyObject === undefined) throw new Error(USED_AFTER_DISPOSE);
      nonce.set(nonceTail, 4);
      const cipher = nc.createCipheriv("chacha20-poly1305", keyObject, nonce, options);
      cipher.setAAD(a, { plaintextLength: plaintext.length });
      const ciphertext = cipher.update(plaintext);
      cipher.final();
      return [asPlainBytes(ciphertext), asPlainBytes(cipher.getAuthTag())];
    },
    open(nonceTail, sealed) {
      if (keyObject === undefined) throw new Error(USED_AFTER_DISPOSE);
      if (sealed.length < TAG_LENGTH) return undefined;
      nonce.set(nonceTail, 4);
      const end = sealed.length - TAG_LENGTH;
      const decipher = nc.createDecipheriv("chacha20-poly1305", keyObject, nonce, options);
      decipher.setAuthTag(sealed.subarray(end));
      decipher.setAAD(a, { plaintextLength: end });
      const plaintext = decipher.update(sealed.subarray(0, end));
      try {
        decipher.final();
      } catch {
        plaintext.fill(0);
        return undefined;
      }
      return asPlainBytes(plaintext);
    },
  };
}

/**
 * A chunk session for one stream: `key` (32 bytes), its 16-byte nonce prefix and the header AAD.
 * Internal to the SDK (not exported from the package index): it seals under any prefix and
 * index it is given, so it can reuse a nonce; the stream and pipeline code draw the prefix.
 */
export function createChunkSession(
  key: Uint8Array,
  noncePrefix: Uint8Array,
  aad: Uint8Array,
  implementation: Implementation = "auto",
): ChunkSession {
  assertKey(key);
  if (noncePrefix.length !== NONCE_PREFIX_LENGTH) {
    throw new InvalidParametersError(
      "noncePrefix",
      `${noncePrefix.length} bytes`,
      "must be 16 bytes",
    );
  }
  const which = resolveImplementation(implementation);
  if (which === "native") return createNativeSession(loadNodeCrypto()!, key, noncePrefix, aad);
  return createNobleSession(key, noncePrefix, aad);
}
