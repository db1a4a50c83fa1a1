// The STREAM byte format's checks as a caller meets them: key and chunk-size refusals, the
// nonce-prefix option, header parsing, and data that ends inside the header.
import { describe, expect, it } from "vitest";
import {
  STREAM_HEADER_LENGTH,
  StreamDecryptor,
  chunkNonceTail,
  computeKeyCheck,
  createStreamHeader,
  decryptBytes,
  encryptBytes,
  generateFileKey,
  getCiphertextLength,
  parseStreamHeader,
} from "../src/crypto/index.ts";
import {
  InvalidParametersError,
  TruncatedDataError,
  UnsupportedFormatError,
} from "../src/errors.ts";

/** The error `f` throws, checked to be of class `type`. */
function thrown<T extends Error>(f: () => unknown, type: new (...args: never[]) => T): T {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(type);
    return e as T;
  }
  throw new Error("nothing was thrown");
}

const key = generateFileKey();
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const header = createStreamHeader(key, { chunkSize: 64 }).bytes;

describe("keys and chunk sizes", () => {
  it("refuses a key that is not 32 bytes, saying how long it was and how long it must be", () => {
    for (const length of [0, 16, 31, 33]) {
      const err = thrown(() => computeKeyCheck(new Uint8Array(length)), InvalidParametersError);
      expect(err.parameter).toBe("key");
      expect(err.value).toBe(`${length} bytes`);
      expect(err.message).toBe(`key = ${length} bytes: must be 32 bytes`);
      expect(() => decryptBytes(new Uint8Array(100), new Uint8Array(length))).toThrow(
        /must be 32 bytes/,
      );
    }
    const notBytes = thrown(
      () => computeKeyCheck("k".repeat(32) as unknown as Uint8Array),
      InvalidParametersError,
    );
    expect(notBytes.value).toBe("string");
    expect(notBytes.message).toMatch(/must be 32 bytes/);
  });

  it("refuses a chunk size outside 64..16 MiB, naming the parameter and the range", () => {
    for (const chunkSize of [63, 16 * 1024 * 1024 + 1, 100.5]) {
      const err = thrown(() => createStreamHeader(key, { chunkSize }), InvalidParametersError);
      expect(err.parameter).toBe("chunkSize");
      expect(err.message).toBe(`chunkSize = ${chunkSize}: must be an integer from 64 to 16777216`);
      expect(() => getCiphertextLength(0, chunkSize)).toThrow(/chunkSize = .*from 64 to 16777216/);
    }
  });

  it("refuses a negative or fractional plaintext length or chunk index, saying what is allowed", () => {
    for (const n of [-1, 0.5])
      expect(() => getCiphertextLength(n)).toThrow(
        new RegExp(`^plaintextLength = ${n}: must be a non-negative safe integer$`),
      );
    for (const index of [-1, 0.5, 2 ** 53])
      expect(() => chunkNonceTail(index, false)).toThrow(
        new RegExp(`^index = ${index}: must be an integer from 0 to 2\\^53-1$`),
      );
  });
});

describe("the limits themselves are allowed", () => {
  it("takes a chunk size of exactly 64 or 16 MiB, writing and reading it in the header", () => {
    for (const chunkSize of [64, 16 * 1024 * 1024]) {
      const made = createStreamHeader(key, { chunkSize });
      expect(made.chunkSize).toBe(chunkSize);
      expect(parseStreamHeader(made.bytes).chunkSize).toBe(chunkSize);
      expect(getCiphertextLength(0, chunkSize)).toBe(STREAM_HEADER_LENGTH + 16);
    }
  });

  it("writes chunk indexes up to 2^53-1 as 7 big-endian bytes, then the last-chunk flag", () => {
    expect([...chunkNonceTail(0, false)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect([...chunkNonceTail(2 ** 32 + 5, false)]).toEqual([0, 0, 1, 0, 0, 0, 5, 0]);
    expect([...chunkNonceTail(0x0a0b0c_0d0e0f10, true)]).toEqual([
      0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 1,
    ]);
    expect([...chunkNonceTail(2 ** 53 - 1, true)]).toEqual([
      0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1,
    ]);
  });
});

describe("the nonce prefix is never the caller's", () => {
  it("refuses a noncePrefix option, saying every stream draws its own", () => {
    const options = { noncePrefix: new Uint8Array(16) } as object;
    const err = thrown(() => createStreamHeader(key, options), InvalidParametersError);
    expect(err.parameter).toBe("noncePrefix");
    expect(err.message).toMatch(/^noncePrefix = given: is not an option/);
    expect(err.message).toMatch(/every stream draws its own random nonce prefix/);
    expect(() => encryptBytes(new Uint8Array(10), key, options)).toThrow(/is not an option/);
  });

  it("takes an options object whose noncePrefix is present but undefined (e.g. spread from a config)", () => {
    const options = { chunkSize: 64, noncePrefix: undefined } as object;
    expect(createStreamHeader(key, options).chunkSize).toBe(64);
    const sealed = encryptBytes(Uint8Array.of(1, 2, 3), key, options);
    expect(decryptBytes(sealed, key)).toEqual(Uint8Array.of(1, 2, 3));
  });
});

describe("headers", () => {
  it("refuses a header shorter than 41 bytes, saying how long it was", () => {
    const err = thrown(() => parseStreamHeader(header.subarray(0, 40)), UnsupportedFormatError);
    expect(err.message).toMatch(/header is 41 bytes, got 40/);
    expect(err.format).toBe("encrypted stream");
    expect(err.message).toMatch(/^encrypted stream: /);
  });

  it("refuses a header whose chunk size is outside 64..16 MiB, naming the size and the range", () => {
    for (const chunkSize of [63, 16 * 1024 * 1024 + 1]) {
      const bad = Uint8Array.from(header);
      new DataView(bad.buffer).setUint32(5, chunkSize, false);
      const err = thrown(() => parseStreamHeader(bad), UnsupportedFormatError);
      expect(err.message).toMatch(
        new RegExp(`chunk size ${chunkSize} is outside 64\\.\\.16777216`),
      );
    }
  });
});

describe("data that ends inside the header: not our format, or cut short", () => {
  it("calls data whose first bytes are not the magic another format, as soon as they arrive", () => {
    for (const start of ["XCST\x01", "CCSX", "X", "cc"]) {
      const err = thrown(() => decryptBytes(ascii(start), key), UnsupportedFormatError);
      expect(err.message).toMatch(/bad magic \(expected "CCST"\)/);
      // A decryptor fed piece by piece says so at the first piece, not at the end.
      expect(() => new StreamDecryptor(key).push(ascii(start))).toThrow(UnsupportedFormatError);
    }
  });

  it("calls data with the magic and another version another format, naming both versions", () => {
    const err = thrown(() => decryptBytes(ascii("CCST\x02"), key), UnsupportedFormatError);
    expect(err.version).toBe(2);
    expect(err.message).toMatch(/version 2 is not supported \(this SDK reads version 1\)/);
    expect(() => new StreamDecryptor(key).push(ascii("CCST\x07abc"))).toThrow(/version 7/);
  });

  it("calls a true start of a header that ends early truncated data", () => {
    for (const n of [1, 2, 4, 5, 9, STREAM_HEADER_LENGTH - 1]) {
      const err = thrown(() => decryptBytes(header.subarray(0, n), key), TruncatedDataError);
      expect(err.message).toMatch(/data ended inside the 41-byte header/);
    }
  });
});
