// HChaCha20 (draft-irtf-cfrg-xchacha §2.2) on bytes, over noble's word-level core. It turns a
// 32-byte key and a 16-byte input into the 32-byte subkey that XChaCha20 runs ChaCha20 with.
import { hchacha } from "@noble/ciphers/chacha.js";
import { InvalidParametersError } from "../errors.ts";

// "expand 32-byte k", the ChaCha constants, as bytes.
const SIGMA = new TextEncoder().encode("expand 32-byte k");

/**
 * HChaCha20(key, input) → 32-byte subkey. noble's core reads and writes little-endian words
 * through Uint32Array views on any host, so aligned copies of the bytes are all it needs.
 */
export function hchacha20(key: Uint8Array, input: Uint8Array): Uint8Array {
  if (key.length !== 32)
    throw new InvalidParametersError("key", `${key.length} bytes`, "must be 32 bytes");
  if (input.length !== 16)
    throw new InvalidParametersError("input", `${input.length} bytes`, "must be 16 bytes");
  const sigma = new Uint32Array(4);
  new Uint8Array(sigma.buffer).set(SIGMA);
  const k = new Uint32Array(8);
  new Uint8Array(k.buffer).set(key);
  const n = new Uint32Array(4);
  new Uint8Array(n.buffer).set(input);
  const out = new Uint32Array(8);
  hchacha(sigma, k, n, out);
  k.fill(0);
  return new Uint8Array(out.buffer);
}
