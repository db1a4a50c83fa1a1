import { describe, expect, it } from "vitest";
import {
  DEFAULT_CHUNK_SIZE,
  STREAM_HEADER_LENGTH,
  TAG_LENGTH,
  StreamDecryptor,
  StreamEncryptor,
  chunkNonceTail,
  createDecryptionStream,
  createEncryptionStream,
  createStreamHeader,
  decryptBytes,
  decryptChunk,
  decryptStream,
  encryptBytes,
  encryptStream,
  generateFileKey,
  getCiphertextLength,
  getPlaintextLength,
  parseStreamHeader,
  resolveImplementation,
  verifyStreamKey,
} from "../src/crypto/index.ts";
import {
  ExtendedDataError,
  InvalidParametersError,
  TamperedDataError,
  TruncatedDataError,
  UnsupportedFormatError,
  WrongKeyError,
} from "../src/errors.ts";
// Chunk sealing under a given header is internal (it could reuse a nonce): tested from its module.
import { createChunkCipher, encryptChunk } from "../src/crypto/stream.ts";
import { createChunkSession } from "../src/crypto/backend.ts";
import { withNoncePrefix } from "./fixed-nonce.ts";

const IMPLEMENTATIONS = ["native", "noble"] as const;

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let offset = 0; offset < n; offset += 65_536) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(n, offset + 65_536)));
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Cuts bytes into irregular pieces (1 byte, a few, many) to exercise re-chunking. */
function* irregularPieces(bytes: Uint8Array): Generator<Uint8Array> {
  const sizes = [1, 7, 1000, 65_535, 3, 131_073];
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of source) parts.push(p);
  return concat(parts);
}

/** Decrypts and returns the thrown error (and the plaintext released before it). */
async function decryptExpectingError(
  ciphertext: Uint8Array,
  key: Uint8Array,
  implementation: "native" | "noble",
  expectedPlaintextLength?: number,
): Promise<{ error: unknown; released: Uint8Array }> {
  const released: Uint8Array[] = [];
  try {
    for await (const p of decryptStream([ciphertext], key, {
      implementation,
      expectedPlaintextLength,
    })) {
      released.push(p);
    }
  } catch (error) {
    return { error, released: concat(released) };
  }
  throw new Error("decryption succeeded on data that should have failed");
}

describe("implementation selection", () => {
  it("auto picks native in Node and both paths are available", () => {
    expect(resolveImplementation("auto")).toBe("native");
    expect(resolveImplementation("noble")).toBe("noble");
    expect(resolveImplementation("native")).toBe("native");
  });
});

describe.each(IMPLEMENTATIONS)("STREAM round trips (%s)", (implementation) => {
  const key = generateFileKey();
  const cs = DEFAULT_CHUNK_SIZE;
  const sizes = [0, 1, cs - 1, cs, cs + 1, 3 * cs, 3 * cs + 7];

  it.each(sizes)(
    "%i bytes: encrypt → decrypt gives the plaintext, at the predicted length",
    async (size) => {
      const plaintext = randomBytes(size);
      const ciphertext = await collect(
        encryptStream(irregularPieces(plaintext), key, { implementation }),
      );
      expect(ciphertext.length).toBe(getCiphertextLength(size));
      expect(getPlaintextLength(ciphertext.length)).toBe(size);
      const decrypted = await collect(
        decryptStream(irregularPieces(ciphertext), key, { implementation }),
      );
      expect(decrypted).toEqual(plaintext);
      expect(
        decryptBytes(ciphertext, key, { implementation, expectedPlaintextLength: size }),
      ).toEqual(plaintext);
    },
  );

  it("a stream whose plaintext fills its last chunk exactly has no empty extra chunk", () => {
    const ct = encryptBytes(randomBytes(2 * cs), key, { implementation });
    expect(ct.length).toBe(STREAM_HEADER_LENGTH + 2 * (cs + TAG_LENGTH));
  });

  it("the same plaintext encrypts differently each time (random nonce prefix)", () => {
    const plaintext = randomBytes(100);
    expect(encryptBytes(plaintext, key, { implementation })).not.toEqual(
      encryptBytes(plaintext, key, { implementation }),
    );
  });

  it("WHATWG TransformStreams round trip (file.stream().pipeThrough)", async () => {
    const plaintext = randomBytes(200_000);
    const pieces = irregularPieces(plaintext);
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = pieces.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
    });
    const encrypted = source.pipeThrough(createEncryptionStream(key, { implementation }));
    const decrypted = encrypted.pipeThrough(createDecryptionStream(key, { implementation }));
    const parts: Uint8Array[] = [];
    const reader = decrypted.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
    expect(concat(parts)).toEqual(plaintext);
  });

  it("the decryption TransformStream errors with the typed error", async () => {
    const ciphertext = encryptBytes(randomBytes(1000), key, { implementation, chunkSize: 64 });
    for (const [bytes, k, type] of [
      [ciphertext, generateFileKey(), WrongKeyError],
      [ciphertext.subarray(0, ciphertext.length - 56), key, TruncatedDataError], // the short last chunk dropped
    ] as const) {
      const source = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes);
          controller.close();
        },
      });
      const reader = source.pipeThrough(createDecryptionStream(k, { implementation })).getReader();
      const read = async (): Promise<void> => {
        for (let r = await reader.read(); !r.done; r = await reader.read());
      };
      await expect(read()).rejects.toBeInstanceOf(type);
    }
  });

  it("small chunk sizes work and are recorded in the header", () => {
    const plaintext = randomBytes(1000);
    const ct = encryptBytes(plaintext, key, { implementation, chunkSize: 64 });
    expect(parseStreamHeader(ct.subarray(0, STREAM_HEADER_LENGTH)).chunkSize).toBe(64);
    expect(ct.length).toBe(getCiphertextLength(1000, 64));
    expect(decryptBytes(ct, key, { implementation })).toEqual(plaintext);
  });
});

describe("cross-path: native and noble produce the same bytes", () => {
  const key = generateFileKey();
  const noncePrefix = randomBytes(16);
  it.each([0, 1, 64, 65_535, 65_536, 65_537, 300_000])("%i bytes", (size) => {
    const plaintext = randomBytes(size);
    const native = withNoncePrefix(noncePrefix, () =>
      encryptBytes(plaintext, key, { implementation: "native" }),
    );
    const noble = withNoncePrefix(noncePrefix, () =>
      encryptBytes(plaintext, key, { implementation: "noble" }),
    );
    expect(native).toEqual(noble);
    expect(decryptBytes(native, key, { implementation: "noble" })).toEqual(plaintext);
    expect(decryptBytes(noble, key, { implementation: "native" })).toEqual(plaintext);
  });
});

describe("chunk-level functions (for worker pools)", () => {
  const key = generateFileKey();
  const chunkSize = 64;
  const header = createStreamHeader(key, { chunkSize });
  const plaintext = randomBytes(5 * chunkSize + 9);
  const chunks = Array.from({ length: 6 }, (_, i) =>
    plaintext.subarray(i * chunkSize, (i + 1) * chunkSize),
  );

  it.each(IMPLEMENTATIONS)(
    "chunks sealed out of order concatenate to the stream (%s)",
    (implementation) => {
      const order = [3, 0, 5, 1, 4, 2];
      const sealed: Uint8Array[] = [];
      for (const i of order)
        sealed[i] = encryptChunk(key, header.bytes, i, i === 5, chunks[i]!, { implementation });
      const ciphertext = concat([header.bytes, ...sealed]);
      expect(decryptBytes(ciphertext, key)).toEqual(plaintext);
      const stream = withNoncePrefix(header.noncePrefix, () =>
        encryptBytes(plaintext, key, { chunkSize }),
      );
      expect(ciphertext).toEqual(stream);
      for (let i = 0; i < 6; i++) {
        expect(decryptChunk(key, header, i, i === 5, sealed[i]!, { implementation })).toEqual(
          chunks[i],
        );
      }
    },
  );

  it("a chunk opened at another index or with the other flag fails with TamperedDataError", () => {
    const cipher = createChunkCipher(key, header);
    const sealed = cipher.encryptChunk(2, false, chunks[2]!);
    expect(() => cipher.decryptChunk(3, false, sealed)).toThrow(TamperedDataError);
    expect(() => cipher.decryptChunk(2, true, sealed)).toThrow(TamperedDataError);
  });

  it("a decoder accepts an empty last chunk after a full one (encoders never write it)", () => {
    const full = plaintext.subarray(0, chunkSize);
    const ciphertext = concat([
      header.bytes,
      encryptChunk(key, header, 0, false, full),
      encryptChunk(key, header, 1, true, new Uint8Array(0)),
    ]);
    expect(decryptBytes(ciphertext, key)).toEqual(full);
  });

  it("rejects chunks of the wrong length and bad keys", () => {
    expect(() => encryptChunk(key, header, 0, false, new Uint8Array(63))).toThrow(
      InvalidParametersError,
    );
    expect(() => encryptChunk(key, header, 0, true, new Uint8Array(65))).toThrow(
      InvalidParametersError,
    );
    expect(() => encryptChunk(new Uint8Array(16), header, 0, true, new Uint8Array(1))).toThrow(
      InvalidParametersError,
    );
    expect(() => createStreamHeader(key, { chunkSize: 10 })).toThrow(InvalidParametersError);
  });

  it("a chunk that does not authenticate is named in the error", () => {
    const cipher = createChunkCipher(key, header);
    const sealed = cipher.encryptChunk(2, false, chunks[2]!);
    let error: unknown;
    try {
      cipher.decryptChunk(3, false, sealed);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TamperedDataError);
    expect(error).toMatchObject({ part: "chunk", chunkIndex: 3 });
    expect((error as Error).message).toMatch(/chunk 3 does not authenticate/);
  });

  it("a chunk of the wrong length is refused with its length and what the format allows", () => {
    for (const [isLast, length, allowed] of [
      [false, 63, /every chunk but the last holds exactly 64 bytes/],
      [true, 65, /the last chunk holds at most 64 bytes/],
    ] as const) {
      let error: unknown;
      try {
        encryptChunk(key, header, 0, isLast, new Uint8Array(length));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidParametersError);
      expect(error).toMatchObject({ parameter: "plaintext", value: `${length} bytes` });
      expect((error as Error).message).toMatch(allowed);
    }
  });

  it("verifyStreamKey tells the right key from a wrong one by the header alone", () => {
    expect(verifyStreamKey(key, header.bytes)).toBe(true);
    expect(verifyStreamKey(generateFileKey(), header.bytes)).toBe(false);
  });
});

describe.each(IMPLEMENTATIONS)("tampering is detected and named (%s)", (implementation) => {
  const key = generateFileKey();
  const chunkSize = 64;
  const unit = chunkSize + TAG_LENGTH;
  const H = STREAM_HEADER_LENGTH;
  // 4 full chunks + a short last one (44 bytes): chunks 0..4
  const plaintext = randomBytes(4 * chunkSize + 44);
  const ciphertext = encryptBytes(plaintext, key, { implementation, chunkSize });
  // exactly 4 full chunks: the last chunk is full
  const aligned = randomBytes(4 * chunkSize);
  const alignedCt = encryptBytes(aligned, key, { implementation, chunkSize });
  const chunkAt = (ct: Uint8Array, i: number): Uint8Array =>
    ct.subarray(H + i * unit, Math.min(ct.length, H + (i + 1) * unit));
  const flip = (ct: Uint8Array, offset: number): Uint8Array => {
    const copy = ct.slice();
    copy[offset]! ^= 0x01;
    return copy;
  };

  it("two chunks swapped: TamperedDataError at the first moved chunk; nothing of it is released", async () => {
    const swapped = concat([
      ciphertext.subarray(0, H),
      chunkAt(ciphertext, 0),
      chunkAt(ciphertext, 2),
      chunkAt(ciphertext, 1),
      chunkAt(ciphertext, 3),
      chunkAt(ciphertext, 4),
    ]);
    const { error, released } = await decryptExpectingError(swapped, key, implementation);
    expect(error).toBeInstanceOf(TamperedDataError);
    expect((error as TamperedDataError).chunkIndex).toBe(1);
    expect(released).toEqual(plaintext.subarray(0, chunkSize));
  });

  it("last chunk dropped: TruncatedDataError", async () => {
    const { error } = await decryptExpectingError(
      ciphertext.subarray(0, H + 4 * unit),
      key,
      implementation,
    );
    expect(error).toBeInstanceOf(TruncatedDataError);
    expect((error as TruncatedDataError).chunksRead).toBe(4);
    const aligned3 = await decryptExpectingError(
      alignedCt.subarray(0, H + 3 * unit),
      key,
      implementation,
    );
    expect(aligned3.error).toBeInstanceOf(TruncatedDataError);
  });

  it("every chunk dropped (header only): TruncatedDataError", async () => {
    const { error } = await decryptExpectingError(ciphertext.subarray(0, H), key, implementation);
    expect(error).toBeInstanceOf(TruncatedDataError);
  });

  it("a middle chunk dropped: TamperedDataError at its index", async () => {
    const dropped = concat([
      ciphertext.subarray(0, H + 2 * unit),
      ciphertext.subarray(H + 3 * unit),
    ]);
    const { error } = await decryptExpectingError(dropped, key, implementation);
    expect(error).toBeInstanceOf(TamperedDataError);
    expect((error as TamperedDataError).chunkIndex).toBe(2);
  });

  it("a chunk appended after a full last chunk: ExtendedDataError", async () => {
    const extended = concat([alignedCt, chunkAt(alignedCt, 1)]);
    const { error, released } = await decryptExpectingError(extended, key, implementation);
    expect(error).toBeInstanceOf(ExtendedDataError);
    expect((error as ExtendedDataError).lastChunkIndex).toBe(3);
    expect(released).toEqual(aligned.subarray(0, 3 * chunkSize));
  });

  it("bytes appended after a short last chunk: tampered without the expected length, ExtendedDataError with it", async () => {
    const extended = concat([ciphertext, chunkAt(ciphertext, 1)]);
    expect((await decryptExpectingError(extended, key, implementation)).error).toBeInstanceOf(
      TamperedDataError,
    );
    const withLength = await decryptExpectingError(extended, key, implementation, plaintext.length);
    expect(withLength.error).toBeInstanceOf(ExtendedDataError);
  });

  it("data cut inside a chunk: TamperedDataError without the expected length, TruncatedDataError with it", async () => {
    const cut = ciphertext.subarray(0, H + 2 * unit + 30);
    const { error } = await decryptExpectingError(cut, key, implementation);
    expect(error).toBeInstanceOf(TamperedDataError);
    expect((error as TamperedDataError).chunkIndex).toBe(2);
    const withLength = await decryptExpectingError(cut, key, implementation, plaintext.length);
    expect(withLength.error).toBeInstanceOf(TruncatedDataError);
    const tiny = await decryptExpectingError(
      ciphertext.subarray(0, H + 2 * unit + 5),
      key,
      implementation,
    );
    expect(tiny.error).toBeInstanceOf(TruncatedDataError);
  });

  it("a flipped bit in ciphertext or tag: TamperedDataError at that chunk", async () => {
    for (const [offset, index] of [
      [H + 5, 0],
      [H + 2 * unit + 10, 2],
      [H + 3 * unit - 1, 2], // last tag byte of chunk 2
      [ciphertext.length - 1, 4], // tag of the last chunk
    ] as const) {
      const { error } = await decryptExpectingError(flip(ciphertext, offset), key, implementation);
      expect(error).toBeInstanceOf(TamperedDataError);
      expect((error as TamperedDataError).chunkIndex).toBe(index);
    }
  });

  it("a flipped bit in the header: unsupported magic/version, or tampered", async () => {
    const magic = await decryptExpectingError(flip(ciphertext, 0), key, implementation);
    expect(magic.error).toBeInstanceOf(UnsupportedFormatError);
    const version = await decryptExpectingError(flip(ciphertext, 4), key, implementation);
    expect(version.error).toBeInstanceOf(UnsupportedFormatError);
    expect((version.error as UnsupportedFormatError).version).toBe(0);
    // chunk size 64 → 65: still valid, so the chunk framing and the AAD change
    const size = await decryptExpectingError(flip(ciphertext, 8), key, implementation);
    expect(size.error).toBeInstanceOf(TamperedDataError);
    const prefix = await decryptExpectingError(flip(ciphertext, 12), key, implementation);
    expect(prefix.error).toBeInstanceOf(TamperedDataError);
    expect((prefix.error as TamperedDataError).chunkIndex).toBe(0);
    const keyCheck = await decryptExpectingError(flip(ciphertext, 30), key, implementation);
    expect(keyCheck.error).toBeInstanceOf(TamperedDataError);
    expect((keyCheck.error as TamperedDataError).part).toBe("header");
  });

  it("a wrong key: WrongKeyError, and nothing is released", async () => {
    for (const ct of [ciphertext, encryptBytes(new Uint8Array(0), key, { implementation })]) {
      const { error, released } = await decryptExpectingError(
        ct,
        generateFileKey(),
        implementation,
      );
      expect(error).toBeInstanceOf(WrongKeyError);
      expect((error as WrongKeyError).target).toBe("encrypted stream");
      expect((error as Error).message).toMatch(/wrong key/);
      expect(released.length).toBe(0);
    }
  });

  it("not our format, or cut inside the header", async () => {
    const other = await decryptExpectingError(
      new TextEncoder().encode("%PDF-1.7 not encrypted at all......................"),
      key,
      implementation,
    );
    expect(other.error).toBeInstanceOf(UnsupportedFormatError);
    const short = await decryptExpectingError(ciphertext.subarray(0, 20), key, implementation);
    expect(short.error).toBeInstanceOf(TruncatedDataError);
    const empty = await decryptExpectingError(new Uint8Array(0), key, implementation);
    expect(empty.error).toBeInstanceOf(TruncatedDataError);
  });

  it("each failure's message says what went wrong and at which chunk", async () => {
    const cutInside = ciphertext.subarray(0, H + 2 * unit + 30);
    const cases: [
      Uint8Array,
      number | undefined,
      abstract new (...args: never[]) => Error,
      RegExp,
    ][] = [
      [
        ciphertext.subarray(0, H + 2 * unit),
        undefined,
        TruncatedDataError,
        /ended after chunk 1, which is not the last/,
      ],
      [
        concat([alignedCt, chunkAt(alignedCt, 1)]),
        undefined,
        ExtendedDataError,
        /continues after chunk 3, which is the last/,
      ],
      [
        ciphertext.subarray(0, H + 2 * unit + 5),
        undefined,
        TruncatedDataError,
        /ended inside chunk 2/,
      ],
      [
        cutInside,
        undefined,
        TamperedDataError,
        /chunk 2 does not authenticate: .*cut short inside it/,
      ],
      [
        flip(ciphertext, H + 2 * unit + 10),
        undefined,
        TamperedDataError,
        /chunk 2 does not authenticate: it was altered, moved or replaced/,
      ],
      // a full last chunk altered: nothing was cut from it
      [
        flip(alignedCt, alignedCt.length - 1),
        undefined,
        TamperedDataError,
        /chunk 3 does not authenticate: it was altered, moved or replaced/,
      ],
      [
        flip(ciphertext, H + 5),
        undefined,
        TamperedDataError,
        /chunk 0 does not authenticate: the header or the chunk was altered/,
      ],
      [
        ciphertext.subarray(0, H),
        undefined,
        TruncatedDataError,
        /ended right after the header, before any chunk/,
      ],
      [
        ciphertext.subarray(0, 20),
        undefined,
        TruncatedDataError,
        /ended inside the 41-byte header/,
      ],
      [
        concat([ciphertext, new Uint8Array(1)]),
        plaintext.length,
        ExtendedDataError,
        new RegExp(`longer than the expected ${ciphertext.length} bytes`),
      ],
      [
        cutInside,
        plaintext.length,
        TruncatedDataError,
        new RegExp(`ended after ${cutInside.length} of the expected ${ciphertext.length} bytes`),
      ],
    ];
    for (const [bytes, expectedPlaintextLength, type, message] of cases) {
      const { error } = await decryptExpectingError(
        bytes,
        key,
        implementation,
        expectedPlaintextLength,
      );
      expect(error, String(message)).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(message);
      if (error instanceof TamperedDataError) expect(error.part).toBe("chunk");
    }
  });

  it("altered key-check bytes are named, even in a one-chunk stream, and nothing is released", async () => {
    const oneChunk = encryptBytes(plaintext.subarray(0, 10), key, { implementation, chunkSize });
    for (const ct of [oneChunk, ciphertext]) {
      const { error, released } = await decryptExpectingError(flip(ct, 30), key, implementation);
      expect(error).toBeInstanceOf(TamperedDataError);
      expect((error as TamperedDataError).part).toBe("header");
      expect((error as Error).message).toMatch(/key-check bytes were altered/);
      expect(released.length).toBe(0);
    }
  });

  it("altered key-check bytes on data cut after chunk 0: truncation, not a wrong key (chunk 0 opens)", async () => {
    const cut = flip(ciphertext.subarray(0, H + unit), 30);
    const { error } = await decryptExpectingError(cut, key, implementation);
    expect(error).toBeInstanceOf(TruncatedDataError);
  });

  it("only the header, under a wrong key: WrongKeyError", async () => {
    const { error } = await decryptExpectingError(
      ciphertext.subarray(0, H),
      generateFileKey(),
      implementation,
    );
    expect(error).toBeInstanceOf(WrongKeyError);
  });

  it("a final piece as long as a tag could be an empty last chunk, so it is judged by authentication; a shorter one is truncation", async () => {
    const tagLong = await decryptExpectingError(
      ciphertext.subarray(0, H + 2 * unit + TAG_LENGTH),
      key,
      implementation,
    );
    expect(tagLong.error).toBeInstanceOf(TamperedDataError);
    expect((tagLong.error as TamperedDataError).chunkIndex).toBe(2);
    const shorter = await decryptExpectingError(
      ciphertext.subarray(0, H + 2 * unit + TAG_LENGTH - 1),
      key,
      implementation,
    );
    expect(shorter.error).toBeInstanceOf(TruncatedDataError);
  });

  it("a short chunk sealed as non-last (no encoder writes one) is tampering, not data cut after it", async () => {
    const header = createStreamHeader(key, { chunkSize });
    const session = createChunkSession(key, header.noncePrefix, header.aad, implementation);
    const malformed = concat([
      header.bytes,
      ...session.seal(chunkNonceTail(0, false), plaintext.subarray(0, 10)),
    ]);
    const { error } = await decryptExpectingError(malformed, key, implementation);
    expect(error).toBeInstanceOf(TamperedDataError);
    expect((error as TamperedDataError).chunkIndex).toBe(0);
  });

  it("bytes that cannot start a stream header are refused as soon as they arrive", () => {
    expect(() =>
      new StreamDecryptor(key, { implementation }).push(new TextEncoder().encode("%PDF")),
    ).toThrow(UnsupportedFormatError);
    expect(() =>
      new StreamDecryptor(key, { implementation }).push(Uint8Array.of(0x43, 0x43, 0x53, 0x54, 2)),
    ).toThrow(/version 2 is not supported/);
  });

  it("with the expected length, push releases each chunk once it authenticates, a full last chunk too", () => {
    const d = new StreamDecryptor(key, { implementation, expectedPlaintextLength: aligned.length });
    expect(concat(d.push(alignedCt))).toEqual(aligned);
    expect(d.finish()).toEqual([]);
  });

  it("a decryptor that failed stays failed: finish() never reports success after an error", () => {
    // Appended data refused by push: the last real chunk, held back, would open as the last.
    const extended = concat([alignedCt, chunkAt(alignedCt, 1)]);
    const d = new StreamDecryptor(key, { implementation });
    let error: unknown;
    try {
      d.push(extended);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ExtendedDataError);
    expect(() => d.finish()).toThrow(error as Error);
    expect(() => d.push(new Uint8Array(1))).toThrow(error as Error);
    // A finish that threw throws again.
    const headerOnly = new StreamDecryptor(key, { implementation });
    headerOnly.push(ciphertext.subarray(0, H));
    expect(() => headerOnly.finish()).toThrow(TruncatedDataError);
    expect(() => headerOnly.finish()).toThrow(TruncatedDataError);
  });

  it("finish() does not report success when chunks were never opened (pushing() abandoned)", () => {
    for (const opened of [1, 3]) {
      const d = new StreamDecryptor(key, {
        implementation,
        expectedPlaintextLength: aligned.length,
      });
      const chunks = d.pushing(alignedCt);
      for (let i = 0; i < opened; i++) expect(chunks.next().done).toBe(false);
      chunks.return();
      expect(() => d.finish()).toThrow();
    }
  });

  it("data cut inside the header's magic or chunk size is truncation, not another format", async () => {
    for (const length of [3, 6]) {
      const { error } = await decryptExpectingError(
        ciphertext.subarray(0, length),
        key,
        implementation,
      );
      expect(error).toBeInstanceOf(TruncatedDataError);
    }
  });

  it("the decryptor can be fed one byte at a time", () => {
    const d = new StreamDecryptor(key, { implementation });
    const out: Uint8Array[] = [];
    for (let i = 0; i < ciphertext.length; i++) out.push(...d.push(ciphertext.subarray(i, i + 1)));
    out.push(...d.finish());
    expect(concat(out)).toEqual(plaintext);
    expect(d.chunksRead).toBe(5);
  });
});

describe("producers that reuse their buffer, and known lengths", () => {
  /** Yields `total` bytes in pieces that are all views of one buffer, overwritten for each piece. */
  function* reusing(total: number, pieceSize: number, copies: Uint8Array[]): Generator<Uint8Array> {
    const buffer = new Uint8Array(pieceSize);
    for (let offset = 0; offset < total; offset += pieceSize) {
      const piece = buffer.subarray(0, Math.min(pieceSize, total - offset));
      piece.set(randomBytes(piece.length));
      copies.push(piece.slice());
      yield piece;
    }
  }

  it.each(IMPLEMENTATIONS)(
    "a reused input buffer does not corrupt held chunks (%s)",
    async (implementation) => {
      const key = generateFileKey();
      for (const [total, pieceSize] of [
        [4 * DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_SIZE],
        [3 * DEFAULT_CHUNK_SIZE + 100, 2 * DEFAULT_CHUNK_SIZE],
        [DEFAULT_CHUNK_SIZE, 1000],
      ] as const) {
        for (const plaintextLength of [undefined, total]) {
          const copies: Uint8Array[] = [];
          const ciphertext = await collect(
            encryptStream(reusing(total, pieceSize, copies), key, {
              implementation,
              plaintextLength,
            }),
          );
          const plaintext = concat(copies);
          expect(decryptBytes(ciphertext, key)).toEqual(plaintext);
          // and decrypting from a reused buffer
          function* reusedCiphertext(): Generator<Uint8Array> {
            const buffer = new Uint8Array(pieceSize);
            for (let offset = 0; offset < ciphertext.length; offset += pieceSize) {
              const piece = buffer.subarray(0, Math.min(pieceSize, ciphertext.length - offset));
              piece.set(ciphertext.subarray(offset, offset + piece.length));
              yield piece;
            }
          }
          for (const expectedPlaintextLength of [undefined, total]) {
            const out = await collect(
              decryptStream(reusedCiphertext(), key, { implementation, expectedPlaintextLength }),
            );
            expect(out).toEqual(plaintext);
          }
        }
      }
    },
  );

  it("a declared plaintext length gives the same bytes and refuses more or fewer bytes", () => {
    const key = generateFileKey();
    const noncePrefix = randomBytes(16);
    for (const size of [0, 1, DEFAULT_CHUNK_SIZE, 2 * DEFAULT_CHUNK_SIZE + 3]) {
      const plaintext = randomBytes(size);
      expect(
        withNoncePrefix(noncePrefix, () => encryptBytes(plaintext, key, { plaintextLength: size })),
      ).toEqual(withNoncePrefix(noncePrefix, () => encryptBytes(plaintext, key)));
    }
    expect(() => encryptBytes(randomBytes(10), key, { plaintextLength: 9 })).toThrow(
      InvalidParametersError,
    );
    expect(() => encryptBytes(randomBytes(10), key, { plaintextLength: 11 })).toThrow(
      InvalidParametersError,
    );
  });
});

describe("StreamEncryptor and StreamDecryptor check their inputs and their use", () => {
  const key = generateFileKey();

  /** The error `f` throws (fails the test when it throws none). */
  function thrown(f: () => unknown): Error {
    try {
      f();
    } catch (e) {
      return e as Error;
    }
    throw new Error("expected an error");
  }

  it("declared lengths must be non-negative safe integers, checked when the encryptor or decryptor is made", () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) {
      const e = thrown(() => new StreamEncryptor(key, { plaintextLength: bad }));
      expect(e).toBeInstanceOf(InvalidParametersError);
      expect(e).toMatchObject({ parameter: "plaintextLength" });
      expect(e.message).toMatch(/non-negative safe integer/);
      const d = thrown(() => new StreamDecryptor(key, { expectedPlaintextLength: bad }));
      expect(d).toBeInstanceOf(InvalidParametersError);
      expect(d).toMatchObject({ parameter: "expectedPlaintextLength" });
      expect(d.message).toMatch(/non-negative safe integer/);
    }
  });

  it("a decryptor refuses a key of the wrong length when it is made, before any data", () => {
    const e = thrown(() => new StreamDecryptor(new Uint8Array(16)));
    expect(e).toBeInstanceOf(InvalidParametersError);
    expect(e).toMatchObject({ parameter: "key" });
    expect(e.message).toMatch(/32 bytes/);
  });

  it("an encryptor names a key of the wrong length first, before any other wrong option", () => {
    for (const options of [{}, { chunkSize: 1 }, { plaintextLength: -1 }]) {
      const e = thrown(() => new StreamEncryptor(new Uint8Array(16), options));
      expect(e).toBeInstanceOf(InvalidParametersError);
      expect(e).toMatchObject({ parameter: "key", value: "16 bytes" });
      expect(e.message).toBe("key = 16 bytes: must be 32 bytes");
    }
  });

  it("more plaintext than declared is refused by the push that brings it, naming both lengths", () => {
    const encryptor = new StreamEncryptor(key, { plaintextLength: 100, chunkSize: 64 });
    encryptor.push(new Uint8Array(60));
    const e = thrown(() => encryptor.push(new Uint8Array(50)));
    expect(e).toBeInstanceOf(InvalidParametersError);
    expect(e).toMatchObject({ parameter: "plaintext", value: "110 bytes" });
    expect(e.message).toMatch(/more than the declared plaintextLength 100/);
  });

  it("a push refused for going past the declared length takes nothing: the stream goes on whole", () => {
    const plaintext = randomBytes(100);
    const encryptor = new StreamEncryptor(key, { plaintextLength: 100, chunkSize: 64 });
    // Refused as the very first push: the header must still come out with the next one.
    expect(() => encryptor.push(new Uint8Array(101))).toThrow(InvalidParametersError);
    const first = encryptor.push(plaintext.subarray(0, 60));
    expect(() => encryptor.push(new Uint8Array(41))).toThrow(/101 bytes|more than the declared/);
    expect(thrown(() => encryptor.finish()).message).toMatch(/fewer than the declared/);
    const out = [...first, ...encryptor.push(plaintext.subarray(60)), ...encryptor.finish()];
    expect(decryptBytes(concat(out), key)).toEqual(plaintext);
  });

  it("less plaintext than declared is refused by finish, naming both lengths", () => {
    const encryptor = new StreamEncryptor(key, { plaintextLength: 100, chunkSize: 64 });
    encryptor.push(new Uint8Array(60));
    const e = thrown(() => encryptor.finish());
    expect(e).toBeInstanceOf(InvalidParametersError);
    expect(e).toMatchObject({ parameter: "plaintext", value: "60 bytes" });
    expect(e.message).toMatch(/fewer than the declared plaintextLength 100/);
  });

  it("a finished decryptor refuses more data, and finishing again returns nothing more", () => {
    const plaintext = randomBytes(100);
    const decryptor = new StreamDecryptor(key);
    const out = [...decryptor.push(encryptBytes(plaintext, key)), ...decryptor.finish()];
    expect(concat(out)).toEqual(plaintext);
    expect(decryptor.finish()).toEqual([]);
    const e = thrown(() => decryptor.push(new Uint8Array(1)));
    expect(e).toBeInstanceOf(InvalidParametersError);
    expect(e.message).toMatch(/finished/);
  });
});

describe("what an encryptor's and a decryptor's caller can read and is told", () => {
  const key = generateFileKey();

  it("pushing into a finished encryptor is refused naming the push and saying the stream is finished; finishing again gives nothing more", () => {
    const plaintext = randomBytes(100);
    const encryptor = new StreamEncryptor(key, { chunkSize: 64 });
    const out = [...encryptor.push(plaintext), ...encryptor.finish()];
    expect(decryptBytes(concat(out), key)).toEqual(plaintext);
    expect(encryptor.finish()).toEqual([]);
    let error: unknown;
    try {
      encryptor.push(new Uint8Array(1));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidParametersError);
    expect(error).toMatchObject({ parameter: "push", value: "after finish" });
    expect((error as Error).message).toBe("push = after finish: the stream is finished");
  });

  it.each(IMPLEMENTATIONS)(
    "an encryptor tells its implementation (%s) and the plaintext bytes taken in so far",
    (implementation) => {
      const encryptor = new StreamEncryptor(key, { implementation, chunkSize: 64 });
      expect(encryptor.implementation).toBe(implementation);
      expect(encryptor.bytesIn).toBe(0);
      encryptor.push(new Uint8Array(60));
      expect(encryptor.bytesIn).toBe(60);
      encryptor.push(new Uint8Array(70));
      encryptor.finish();
      expect(encryptor.bytesIn).toBe(130);
    },
  );

  it("a decryptor tells the ciphertext bytes taken in so far, and the header once its 41 bytes are in", () => {
    const ciphertext = encryptBytes(randomBytes(100), key, { chunkSize: 64 });
    const decryptor = new StreamDecryptor(key);
    expect(decryptor.bytesIn).toBe(0);
    decryptor.push(ciphertext.subarray(0, STREAM_HEADER_LENGTH - 1));
    expect(decryptor.bytesIn).toBe(STREAM_HEADER_LENGTH - 1);
    expect(decryptor.streamHeader).toBeUndefined();
    decryptor.push(ciphertext.subarray(STREAM_HEADER_LENGTH - 1, 50));
    expect(decryptor.bytesIn).toBe(50);
    const header = parseStreamHeader(ciphertext);
    expect(decryptor.streamHeader).toMatchObject({
      chunkSize: 64,
      noncePrefix: header.noncePrefix,
      keyCheck: header.keyCheck,
      bytes: header.bytes,
    });
    decryptor.push(ciphertext.subarray(50));
    decryptor.finish();
    expect(decryptor.bytesIn).toBe(ciphertext.length);
  });
});

describe("length helpers", () => {
  it("getPlaintextLength inverts getCiphertextLength and rejects impossible lengths", () => {
    for (const cs of [64, 65_536]) {
      for (const n of [0, 1, cs - 1, cs, cs + 1, 10 * cs, 10 * cs + 5]) {
        expect(getPlaintextLength(getCiphertextLength(n, cs), cs)).toBe(n);
      }
    }
    expect(getPlaintextLength(STREAM_HEADER_LENGTH + 15, 64)).toBeUndefined();
    expect(getPlaintextLength(STREAM_HEADER_LENGTH + 80 + 16, 64)).toBeUndefined(); // empty chunk after a full one
    expect(getCiphertextLength(2 ** 40)).toBe(
      STREAM_HEADER_LENGTH + 2 ** 40 + 2 ** 24 * TAG_LENGTH,
    );
  });
});

describe("no public API can reuse a nonce (issue 11.5)", () => {
  const key = generateFileKey();
  const chosen = randomBytes(16);
  const plaintext = randomBytes(200);

  it("a chosen nonce prefix is refused by every encrypting entry point", async () => {
    const { encodeFile } = await import("../src/pipeline/index.ts");
    const withPrefix = { noncePrefix: chosen } as object;
    const attempts: [string, () => unknown][] = [
      ["createStreamHeader", () => createStreamHeader(key, withPrefix)],
      ["encryptBytes", () => encryptBytes(plaintext, key, withPrefix)],
      ["encryptStream", () => encryptStream([plaintext], key, withPrefix)],
      ["createEncryptionStream", () => createEncryptionStream(key, withPrefix)],
      ["encodeFile", () => encodeFile(plaintext, { ...withPrefix, workers: "inline" })],
    ];
    for (const [name, attempt] of attempts) {
      let error: unknown;
      try {
        await attempt();
      } catch (e) {
        error = e;
      }
      expect(error, name).toBeInstanceOf(InvalidParametersError);
      expect((error as InvalidParametersError).parameter, name).toBe("noncePrefix");
    }
  });

  it("the same key twice gives two prefixes, so no keystream repeats", () => {
    const a = encryptBytes(plaintext, key);
    const b = encryptBytes(plaintext, key);
    expect(parseStreamHeader(a).noncePrefix).not.toEqual(parseStreamHeader(b).noncePrefix);
    expect(a.subarray(STREAM_HEADER_LENGTH)).not.toEqual(b.subarray(STREAM_HEADER_LENGTH));
  });

  it("sealing single chunks under a given header is not part of the package's API", async () => {
    const sdk: Record<string, unknown> = await import("../src/index.ts");
    for (const name of ["encryptChunk", "createChunkCipher", "createChunkSession"])
      expect(sdk[name], name).toBeUndefined();
    expect(typeof sdk.decryptChunk).toBe("function"); // opening chunks is safe and stays
  });
});

describe("what a decryptor's caller is told", () => {
  const key = generateFileKey();

  it("pushing into a finished decryptor is refused naming the push and saying the stream is finished", () => {
    const plaintext = randomBytes(100);
    const decryptor = new StreamDecryptor(key);
    expect(
      concat([...decryptor.push(encryptBytes(plaintext, key)), ...decryptor.finish()]),
    ).toEqual(plaintext);
    for (const push of [
      () => decryptor.push(new Uint8Array(1)),
      () => [...decryptor.pushing(new Uint8Array(1))],
    ]) {
      let error: unknown;
      try {
        push();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidParametersError);
      expect(error).toMatchObject({ parameter: "push", value: "after finish" });
      expect((error as Error).message).toBe("push = after finish: the stream is finished");
    }
  });

  it.each(IMPLEMENTATIONS)(
    "a header alone under another key: WrongKeyError saying the key does not match the data's key check (%s)",
    (implementation) => {
      const header = encryptBytes(randomBytes(10), key).subarray(0, STREAM_HEADER_LENGTH);
      const decryptor = new StreamDecryptor(generateFileKey(), { implementation });
      expect(decryptor.push(header)).toEqual([]);
      let error: unknown;
      try {
        decryptor.finish();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(WrongKeyError);
      expect((error as WrongKeyError).target).toBe("encrypted stream");
      expect((error as Error).message).toMatch(/^wrong key: .*key check/);
    },
  );
});
