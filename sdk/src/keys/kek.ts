// The owner's key-encryption key (KEK): HKDF-SHA256 over the (r, s) of their wallet's
// signature of the fixed EIP-712 message. Wallets sign deterministically (RFC 6979), so the
// same wallet gets the same KEK on every device. docs/protocol.md, "Keys, manifest and share links".
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { type Address, type Hex, isAddressEqual, recoverTypedDataAddress } from "viem";
import { InvalidKeySignatureError } from "../errors.ts";
import { getKeyDerivationTypedData } from "./typed-data.ts";

/** secp256k1 group order. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = N >> 1n;

const KEK_SALT = new TextEncoder().encode("Co-operative Cloud KEK salt v1");
const KEK_INFO = new TextEncoder().encode("Co-operative Cloud key-encryption key v1");

function bytesToBigInt(bytes: Uint8Array): bigint {
  let x = 0n;
  for (const b of bytes) x = (x << 8n) | BigInt(b);
  return x;
}

function bigIntTo32Bytes(x: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function signatureBytes(signature: Hex | Uint8Array): Uint8Array {
  if (signature instanceof Uint8Array) return signature;
  if (typeof signature !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(signature)) {
    throw new InvalidKeySignatureError("signature must be 0x-prefixed hex or bytes");
  }
  return Uint8Array.from(signature.slice(2).match(/../g) ?? [], (b) => parseInt(b, 16));
}

interface ParsedSignature {
  r: bigint;
  /** Low s (≤ n/2). */
  s: bigint;
  /** y parity of R, adjusted when s was folded. */
  yParity: 0 | 1;
}

function parseKeySignature(signature: Hex | Uint8Array): ParsedSignature {
  const bytes = signatureBytes(signature);
  let r: bigint;
  let s: bigint;
  let yParity: 0 | 1;
  if (bytes.length === 65) {
    const v = bytes[64]!;
    if (v !== 0 && v !== 1 && v !== 27 && v !== 28) {
      throw new InvalidKeySignatureError(`signature v = ${v}: expected 0, 1, 27 or 28`);
    }
    r = bytesToBigInt(bytes.subarray(0, 32));
    s = bytesToBigInt(bytes.subarray(32, 64));
    yParity = v === 1 || v === 28 ? 1 : 0;
  } else if (bytes.length === 64) {
    r = bytesToBigInt(bytes.subarray(0, 32));
    const yParityAndS = bytesToBigInt(bytes.subarray(32, 64));
    s = yParityAndS & ((1n << 255n) - 1n); // EIP-2098: the top bit is the y parity
    yParity = yParityAndS >> 255n === 1n ? 1 : 0;
  } else {
    throw new InvalidKeySignatureError(
      `signature is ${bytes.length} bytes: expected a 65-byte (r, s, v) or 64-byte EIP-2098 ECDSA signature (a smart-contract wallet's signature cannot derive a key)`,
    );
  }
  if (r <= 0n || r >= N) throw new InvalidKeySignatureError("signature r is outside 1..n-1");
  if (s <= 0n || s >= N) throw new InvalidKeySignatureError("signature s is outside 1..n-1");
  if (s > HALF_N) {
    s = N - s; // the malleated twin: same R, other parity
    yParity = yParity === 1 ? 0 : 1;
  }
  return { r, s, yParity };
}

/**
 * Checks an ECDSA secp256k1 signature's format and returns its (r, low-s) as 64 bytes.
 * Accepts 65 bytes r‖s‖v (v ∈ 0, 1, 27, 28) and 64-byte EIP-2098 compact signatures; a
 * high s is folded to n − s so a malleated copy of the signature derives the same key.
 */
export function normalizeKeySignature(signature: Hex | Uint8Array): Uint8Array {
  const { r, s } = parseKeySignature(signature);
  const out = new Uint8Array(64);
  out.set(bigIntTo32Bytes(r), 0);
  out.set(bigIntTo32Bytes(s), 32);
  return out;
}

/** The signature as 65 bytes r ‖ low-s ‖ v (27 or 28), hex: the form every recoverer takes. */
function canonicalSignatureHex(signature: Hex | Uint8Array): Hex {
  const { yParity } = parseKeySignature(signature);
  const rs = normalizeKeySignature(signature);
  const hex = Array.from(rs, (b) => b.toString(16).padStart(2, "0")).join("");
  return `0x${hex}${yParity === 1 ? "1c" : "1b"}`;
}

/**
 * The 32-byte key-encryption key from the owner's signature over
 * {@link getKeyDerivationTypedData}: HKDF-SHA256(ikm = r ‖ low-s, salt = "Co-operative Cloud
 * KEK salt v1", info = "Co-operative Cloud key-encryption key v1"). The signature is as secret
 * as the key: never send or store it.
 */
export function deriveKeyEncryptionKey(signature: Hex | Uint8Array): Uint8Array {
  const ikm = normalizeKeySignature(signature);
  const kek = hkdf(sha256, ikm, KEK_SALT, KEK_INFO, 32);
  ikm.fill(0);
  return kek;
}

/** Parameters of {@link verifyKeySignature} and {@link getKeyEncryptionKey}. */
export interface KeySignatureParameters {
  /** The wallet that should have signed. */
  account: Address;
  /** The chain id in the signed domain. */
  chainId: number;
  /** The signature returned by `signTypedData`. */
  signature: Hex;
}

/**
 * Whether `signature` (any accepted encoding) is `account`'s signature over the key-derivation
 * typed data for `chainId`. A malformed signature throws InvalidKeySignatureError.
 */
export async function verifyKeySignature({
  account,
  chainId,
  signature,
}: KeySignatureParameters): Promise<boolean> {
  const typedData = getKeyDerivationTypedData({ account, chainId });
  const canonical = canonicalSignatureHex(signature); // throws InvalidKeySignatureError if malformed
  try {
    const signer = await recoverTypedDataAddress({ ...typedData, signature: canonical });
    return isAddressEqual(signer, account);
  } catch {
    return false;
  }
}

/**
 * Checks that `signature` is `account`'s over the key-derivation typed data (so a wallet that
 * signed something else, or on another chain, is caught here rather than as a wrong key later),
 * then derives the key-encryption key.
 */
export async function getKeyEncryptionKey(parameters: KeySignatureParameters): Promise<Uint8Array> {
  if (!(await verifyKeySignature(parameters))) {
    throw new InvalidKeySignatureError(
      `the signature is not ${parameters.account}'s signature of the Co-operative Cloud key-derivation message on chain ${parameters.chainId}`,
    );
  }
  return deriveKeyEncryptionKey(parameters.signature);
}

/**
 * Whether two signatures of the key-derivation message derive the same KEK. Apps ask for the
 * signature twice on first use and refuse a wallet whose signatures differ: it does not sign
 * deterministically, so it could never derive the same key again.
 */
export function keySignaturesMatch(first: Hex | Uint8Array, second: Hex | Uint8Array): boolean {
  const a = normalizeKeySignature(first);
  const b = normalizeKeySignature(second);
  let diff = 0;
  for (let i = 0; i < 64; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
