import { describe, expect, it } from "vitest";
import {
  decryptBytes,
  decryptChunk,
  encryptBytes,
  hchacha20,
  parseStreamHeader,
} from "../src/crypto/index.ts";
// Sealing under a given nonce is internal (it could reuse one): tested from its modules.
import { createChunkSession } from "../src/crypto/backend.ts";
import { encryptChunk } from "../src/crypto/stream.ts";
import { withNoncePrefix } from "./fixed-nonce.ts";
import { InvalidParametersError } from "../src/errors.ts";
import vectors from "./vectors/stream-aead.json" with { type: "json" };

const unhex = (s: string): Uint8Array =>
  Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
const hex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const IMPLEMENTATIONS = ["native", "noble"] as const;

describe("published primitive vectors (draft-irtf-cfrg-xchacha-03)", () => {
  it.each(vectors.hchacha20)("HChaCha20 $source", (v) => {
    expect(hex(hchacha20(unhex(v.key), unhex(v.input)))).toBe(v.subkey);
  });

  it("HChaCha20 refuses a key that is not 32 bytes or an input that is not 16, saying how long it was", () => {
    for (const [key, input, parameter, message] of [
      [31, 16, "key", "key = 31 bytes: must be 32 bytes"],
      [33, 16, "key", "key = 33 bytes: must be 32 bytes"],
      [32, 15, "input", "input = 15 bytes: must be 16 bytes"],
      [32, 24, "input", "input = 24 bytes: must be 16 bytes"],
    ] as const) {
      let error: unknown;
      try {
        hchacha20(new Uint8Array(key), new Uint8Array(input));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidParametersError);
      expect(error).toMatchObject({
        parameter,
        value: `${parameter === "key" ? key : input} bytes`,
      });
      expect((error as Error).message).toBe(message);
    }
  });

  describe.each(IMPLEMENTATIONS)("XChaCha20-Poly1305 §A.3.1 on the %s path", (implementation) => {
    it.each(vectors.xchacha20poly1305)("$source seals and opens", (v) => {
      const nonce = unhex(v.nonce);
      const session = createChunkSession(
        unhex(v.key),
        nonce.subarray(0, 16),
        unhex(v.aad),
        implementation,
      );
      const sealed = session.seal(nonce.subarray(16), unhex(v.plaintext));
      expect(hex(Uint8Array.from(sealed.flatMap((p) => Array.from(p))))).toBe(v.ciphertext + v.tag);
      expect(hex(session.open(nonce.subarray(16), unhex(v.ciphertext + v.tag))!)).toBe(v.plaintext);
      const altered = unhex(v.ciphertext + v.tag);
      altered[0]! ^= 1;
      expect(session.open(nonce.subarray(16), altered)).toBeUndefined();
    });
  });
});

describe.each(IMPLEMENTATIONS)(
  "STREAM vectors (stream-aead.json) on the %s path",
  (implementation) => {
    it.each(vectors.stream)("$name: encrypts to the vector bytes and decrypts them", (v) => {
      const key = unhex(v.key);
      const plaintext = unhex(v.plaintext);
      const options = { implementation, chunkSize: v.chunkSize };
      const ciphertext = withNoncePrefix(unhex(v.noncePrefix), () =>
        encryptBytes(plaintext, key, options),
      );
      expect(hex(ciphertext)).toBe(v.ciphertext);
      expect(hex(decryptBytes(unhex(v.ciphertext), key, { implementation }))).toBe(v.plaintext);
    });

    it.each(vectors.stream)("$name: chunk by chunk", (v) => {
      const key = unhex(v.key);
      const ciphertext = unhex(v.ciphertext);
      const header = parseStreamHeader(ciphertext.subarray(0, 41));
      expect(hex(header.bytes)).toBe(v.header);
      const plaintext = unhex(v.plaintext);
      const count = Math.max(1, Math.ceil(plaintext.length / v.chunkSize));
      const unit = v.chunkSize + 16;
      for (let i = 0; i < count; i++) {
        const chunk = plaintext.subarray(i * v.chunkSize, (i + 1) * v.chunkSize);
        const sealed = ciphertext.subarray(41 + i * unit, 41 + (i + 1) * unit);
        const isLast = i === count - 1;
        expect(encryptChunk(key, header, i, isLast, chunk, { implementation })).toEqual(sealed);
        expect(decryptChunk(key, header, i, isLast, sealed, { implementation })).toEqual(chunk);
      }
    });
  },
);
