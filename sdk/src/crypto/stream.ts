// STREAM encryption of a file: a header, then fixed-size chunks each sealed with
// XChaCha20-Poly1305 under a nonce that binds the chunk's index and whether it is the last.
// Byte format: docs/protocol.md, "Encryption format".
import {
  ExtendedDataError,
  InvalidParametersError,
  TamperedDataError,
  TruncatedDataError,
  WrongKeyError,
} from "../errors.ts";
import { type ChunkSession, type Implementation, createChunkSession } from "./backend.ts";
import {
  STREAM_HEADER_LENGTH,
  TAG_LENGTH,
  type StreamHeader,
  assertKey,
  chunkNonceTail,
  createStreamHeader,
  getCiphertextLength,
  isStreamHeaderPrefix,
  keyMatchesHeader,
  parseStreamHeader,
} from "./format.ts";

const TARGET = "encrypted stream";

/**
 * Anything that yields byte pieces of any size. A piece may be reused by its producer once the
 * consumer asks for the next one. Output pieces may be views into larger buffers (Node pools
 * small allocations): copy one before transferring its ArrayBuffer to a worker.
 */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** Options shared by every encrypt and decrypt function. */
export interface CipherOptions {
  /** Which AEAD implementation runs. @default "auto" (native in Node, noble elsewhere) */
  implementation?: Implementation;
}

/** Options of the encrypting functions. */
export interface EncryptOptions extends CipherOptions {
  /** Plaintext bytes per chunk. @default 65536 */
  chunkSize?: number;
  /**
   * The plaintext length, when known in advance (a file's size). Then every chunk is sealed as
   * soon as it is complete; without it the last full chunk of each piece is held (copied) until
   * more input or the end says whether it is the last. Feeding more or fewer bytes throws.
   */
  plaintextLength?: number;
}

/** Options of the decrypting functions. */
export interface DecryptOptions extends CipherOptions {
  /**
   * The plaintext length the caller expects (e.g. from the manifest). With it, data cut short
   * or extended anywhere (even inside a chunk) is reported as such rather than as tampering.
   */
  expectedPlaintextLength?: number;
}

function headerOf(header: StreamHeader | Uint8Array): StreamHeader {
  return header instanceof Uint8Array ? parseStreamHeader(header) : header;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * A key and header bound to an implementation, for encrypting or decrypting chunks one at a
 * time. Internal (not exported from the package index): sealing under a caller-given header can
 * reuse a nonce, so only the SDK's own pipeline and tests seal single chunks.
 */
export interface ChunkCipher {
  readonly header: StreamHeader;
  readonly implementation: "native" | "noble";
  /** Seals plaintext chunk `index` (chunkSize bytes unless it is the last) → ciphertext‖tag. */
  encryptChunk(index: number, isLast: boolean, plaintext: Uint8Array): Uint8Array;
  /** Opens chunk `index`; throws TamperedDataError when it does not authenticate. */
  decryptChunk(index: number, isLast: boolean, sealed: Uint8Array): Uint8Array;
}

/** Binds `key` and a stream header to an implementation for chunk-at-a-time work. Internal. */
export function createChunkCipher(
  key: Uint8Array,
  header: StreamHeader | Uint8Array,
  options: CipherOptions = {},
): ChunkCipher {
  const h = headerOf(header);
  const session = createChunkSession(key, h.noncePrefix, h.aad, options.implementation);
  return {
    header: h,
    implementation: session.implementation,
    encryptChunk(index, isLast, plaintext) {
      checkChunkLength(h, isLast, plaintext.length);
      return concat(session.seal(chunkNonceTail(index, isLast), plaintext));
    },
    decryptChunk(index, isLast, sealed) {
      const plaintext = session.open(chunkNonceTail(index, isLast), sealed);
      if (plaintext === undefined) {
        throw new TamperedDataError("chunk", index, `chunk ${index} does not authenticate`);
      }
      return plaintext;
    },
  };
}

function checkChunkLength(header: StreamHeader, isLast: boolean, length: number): void {
  if (isLast ? length > header.chunkSize : length !== header.chunkSize) {
    throw new InvalidParametersError(
      "plaintext",
      `${length} bytes`,
      isLast
        ? `the last chunk holds at most ${header.chunkSize} bytes`
        : `every chunk but the last holds exactly ${header.chunkSize} bytes`,
    );
  }
}

/**
 * Encrypts one plaintext chunk → ciphertext‖tag. Pure: the same inputs give the same bytes on
 * either implementation, so chunks can be sealed in parallel and concatenated after the header.
 * Internal (not in the package index): the same header and index twice reuse a nonce.
 */
export function encryptChunk(
  key: Uint8Array,
  header: StreamHeader | Uint8Array,
  index: number,
  isLast: boolean,
  plaintext: Uint8Array,
  options: CipherOptions = {},
): Uint8Array {
  return createChunkCipher(key, header, options).encryptChunk(index, isLast, plaintext);
}

/** Decrypts one chunk (ciphertext‖tag) → plaintext; throws TamperedDataError when it does not authenticate. */
export function decryptChunk(
  key: Uint8Array,
  header: StreamHeader | Uint8Array,
  index: number,
  isLast: boolean,
  sealed: Uint8Array,
  options: CipherOptions = {},
): Uint8Array {
  return createChunkCipher(key, header, options).decryptChunk(index, isLast, sealed);
}

/**
 * Cuts byte pieces of any size into units of `size` bytes: whole units inside a piece are
 * handed out as views (no copy); only units that straddle pieces are copied.
 */
class Rechunker {
  readonly size: number;
  private buffer: Uint8Array | undefined;
  private filled = 0;

  constructor(size: number) {
    this.size = size;
  }

  /** Full units completed by `piece`, in order. */
  push(piece: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let offset = 0;
    if (this.filled > 0) {
      const take = Math.min(this.size - this.filled, piece.length);
      this.buffer!.set(piece.subarray(0, take), this.filled);
      this.filled += take;
      offset = take;
      if (this.filled < this.size) return out;
      out.push(this.buffer!);
      this.buffer = undefined;
      this.filled = 0;
    }
    while (piece.length - offset >= this.size) {
      out.push(piece.subarray(offset, offset + this.size));
      offset += this.size;
    }
    if (offset < piece.length) {
      this.buffer = new Uint8Array(this.size);
      this.buffer.set(piece.subarray(offset), 0);
      this.filled = piece.length - offset;
    }
    return out;
  }

  /** The bytes of the incomplete unit left at the end (possibly none). */
  rest(): Uint8Array {
    const rest = this.filled > 0 ? this.buffer!.subarray(0, this.filled) : new Uint8Array(0);
    this.buffer = undefined;
    this.filled = 0;
    return rest;
  }
}

/** Index of the last chunk of a plaintext of `length` bytes. */
function lastChunkIndex(length: number, chunkSize: number): number {
  return Math.max(1, Math.ceil(length / chunkSize)) - 1;
}

function checkLength(name: string, length: number | undefined): void {
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
    throw new InvalidParametersError(name, length, "must be a non-negative safe integer");
  }
}

/**
 * Push-style STREAM encryptor: feed plaintext pieces, collect ciphertext pieces. The header
 * comes out with the first output. Unless the plaintext length was given, a full chunk is held
 * back until more input (or the end) says whether it is the last, so a plaintext that fills its
 * last chunk exactly needs no empty extra chunk. Input pieces may be reused by the caller as
 * soon as `push` returns; output pieces are fresh.
 */
export class StreamEncryptor {
  readonly header: StreamHeader;
  private readonly session: ChunkSession;
  private readonly rechunker: Rechunker;
  private readonly plaintextLength: number | undefined;
  private readonly lastIndex: number | undefined;
  private pending: Uint8Array | undefined;
  private index = 0;
  private headerSent = false;
  private finished = false;
  private received = 0;

  constructor(key: Uint8Array, options: EncryptOptions = {}) {
    assertKey(key);
    this.header = createStreamHeader(key, options);
    this.session = createChunkSession(
      key,
      this.header.noncePrefix,
      this.header.aad,
      options.implementation,
    );
    this.rechunker = new Rechunker(this.header.chunkSize);
    checkLength("plaintextLength", options.plaintextLength);
    this.plaintextLength = options.plaintextLength;
    if (options.plaintextLength !== undefined) {
      this.lastIndex = lastChunkIndex(options.plaintextLength, this.header.chunkSize);
    }
  }

  get implementation(): "native" | "noble" {
    return this.session.implementation;
  }

  /** Plaintext bytes taken in so far. */
  get bytesIn(): number {
    return this.received;
  }

  private seal(out: Uint8Array[], plaintext: Uint8Array, isLast: boolean): void {
    for (const part of this.session.seal(chunkNonceTail(this.index, isLast), plaintext))
      out.push(part);
    this.index++;
  }

  private start(out: Uint8Array[]): void {
    if (!this.headerSent) {
      out.push(this.header.bytes);
      this.headerSent = true;
    }
  }

  /** Takes a plaintext piece; returns the ciphertext pieces it completes. */
  push(piece: Uint8Array): Uint8Array[] {
    if (this.finished)
      throw new InvalidParametersError("push", "after finish", "the stream is finished");
    // Refused before anything changes: the stream goes on as before (the header included).
    if (this.plaintextLength !== undefined && this.received + piece.length > this.plaintextLength) {
      throw new InvalidParametersError(
        "plaintext",
        `${this.received + piece.length} bytes`,
        `more than the declared plaintextLength ${this.plaintextLength}`,
      );
    }
    const out: Uint8Array[] = [];
    this.start(out);
    this.received += piece.length;
    for (const chunk of this.rechunker.push(piece)) {
      if (this.lastIndex !== undefined) {
        this.seal(out, chunk, this.index === this.lastIndex);
        continue;
      }
      if (this.pending !== undefined) this.seal(out, this.pending, false);
      this.pending = chunk;
    }
    // A held chunk that is a view of the caller's piece is copied: the caller may reuse it.
    if (this.pending !== undefined && this.pending.buffer === piece.buffer)
      this.pending = new Uint8Array(this.pending); // a copy even of a Buffer
    return out;
  }

  /** Ends the plaintext; returns the last ciphertext pieces (at least the last chunk). */
  finish(): Uint8Array[] {
    if (this.finished) return [];
    // Refused before anything changes, as a push past the length is: more bytes may follow.
    if (this.plaintextLength !== undefined && this.received !== this.plaintextLength) {
      throw new InvalidParametersError(
        "plaintext",
        `${this.received} bytes`,
        `fewer than the declared plaintextLength ${this.plaintextLength}`,
      );
    }
    const out: Uint8Array[] = [];
    this.start(out);
    const rest = this.rechunker.rest();
    if (this.plaintextLength !== undefined) {
      if (this.index === this.lastIndex) this.seal(out, rest, true); // else the last chunk was full and is sealed
    } else if (rest.length > 0 || this.pending === undefined) {
      if (this.pending !== undefined) this.seal(out, this.pending, false);
      this.seal(out, rest, true);
    } else {
      this.seal(out, this.pending, true);
    }
    this.pending = undefined;
    this.finished = true;
    return out;
  }

  /** Same as {@link push} (for the stream wrappers). */
  pushing(piece: Uint8Array): Iterable<Uint8Array> {
    return this.push(piece);
  }

  /** Same as {@link finish} (for the stream wrappers). */
  finishing(): Iterable<Uint8Array> {
    return this.finish();
  }
}

/**
 * Push-style STREAM decryptor: feed ciphertext pieces, collect authenticated plaintext. No
 * byte of a chunk is released before that chunk authenticates; but earlier chunks are released
 * before later ones are checked, so treat the output as untrusted until `finish()` returns
 * (write to a temporary file, rename on success). Once `push` or `finish` has thrown, every later
 * call throws the same error.
 */
export class StreamDecryptor {
  private readonly key: Uint8Array;
  private readonly implementation: Implementation | undefined;
  private readonly expectedPlaintextLength: number | undefined;
  private expectedCiphertextLength: number | undefined;
  private lastIndex: number | undefined;
  private headerBytes: Uint8Array | undefined = new Uint8Array(STREAM_HEADER_LENGTH);
  private headerFilled = 0;
  private header: StreamHeader | undefined;
  private session: ChunkSession | undefined;
  private keyCheckFailed = false;
  private rechunker: Rechunker | undefined;
  private pending: Uint8Array | undefined;
  private index = 0;
  private finished = false;
  private received = 0;
  /** The first error push or finish threw: every later call throws it again. */
  private failure: { error: unknown } | undefined;

  constructor(key: Uint8Array, options: DecryptOptions = {}) {
    assertKey(key);
    this.key = new Uint8Array(key);
    this.implementation = options.implementation;
    checkLength("expectedPlaintextLength", options.expectedPlaintextLength);
    this.expectedPlaintextLength = options.expectedPlaintextLength;
  }

  /** Ciphertext bytes taken in so far. */
  get bytesIn(): number {
    return this.received;
  }

  /** The parsed header, once its 41 bytes have arrived. */
  get streamHeader(): StreamHeader | undefined {
    return this.header;
  }

  /** Chunks authenticated so far. */
  get chunksRead(): number {
    return this.index;
  }

  private openHeader(): void {
    const header = parseStreamHeader(this.headerBytes!);
    this.header = header;
    this.headerBytes = undefined;
    this.keyCheckFailed = !keyMatchesHeader(this.key, header);
    this.session = createChunkSession(
      this.key,
      header.noncePrefix,
      header.aad,
      this.implementation,
    );
    this.rechunker = new Rechunker(header.chunkSize + TAG_LENGTH);
    if (this.expectedPlaintextLength !== undefined) {
      this.expectedCiphertextLength = getCiphertextLength(
        this.expectedPlaintextLength,
        header.chunkSize,
      );
      this.lastIndex = lastChunkIndex(this.expectedPlaintextLength, header.chunkSize);
    }
  }

  /**
   * Opens the chunk at the current index. `atEnd`: the data ends right after it, so by its
   * position it must be the last chunk. On failure, the other flag tells a chunk that was
   * moved to or from the end (truncation, extension) from an altered one.
   */
  private openUnit(unit: Uint8Array, atEnd: boolean): Uint8Array {
    const session = this.session!;
    const header = this.header!;
    const index = this.index;
    const plaintext = session.open(chunkNonceTail(index, atEnd), unit);
    if (plaintext !== undefined) {
      if (index === 0 && this.keyCheckFailed) {
        throw new TamperedDataError(
          "header",
          undefined,
          "the header's key-check bytes were altered (the key is right: chunk 0 authenticates)",
        );
      }
      this.index++;
      return plaintext;
    }
    const full = unit.length === header.chunkSize + TAG_LENGTH;
    const otherFlagFits = !atEnd || full; // only a full chunk can be a non-last one
    const other = otherFlagFits ? session.open(chunkNonceTail(index, !atEnd), unit) : undefined;
    if (index === 0 && this.keyCheckFailed && other === undefined) {
      throw new WrongKeyError(
        TARGET,
        "wrong key: the key does not match this data's key check and does not open its first chunk (it is not this file's key, or the data is not this file)",
      );
    }
    if (other !== undefined) {
      if (atEnd) {
        throw new TruncatedDataError(
          index + 1,
          `data ended after chunk ${index}, which is not the last chunk: the end was cut off`,
        );
      }
      throw new ExtendedDataError(
        index,
        `data continues after chunk ${index}, which is the last chunk`,
      );
    }
    if (atEnd && unit.length < TAG_LENGTH) {
      throw new TruncatedDataError(index, `data ended inside chunk ${index}: the end was cut off`);
    }
    throw new TamperedDataError(
      "chunk",
      index,
      atEnd && !full
        ? `chunk ${index} does not authenticate: it was altered, or the data was cut short inside it`
        : index === 0
          ? "chunk 0 does not authenticate: the header or the chunk was altered (the key is right: it matches the header's key check)"
          : `chunk ${index} does not authenticate: it was altered, moved or replaced`,
    );
  }

  /** Takes a ciphertext piece; returns the plaintext of the chunks that authenticated. */
  push(piece: Uint8Array): Uint8Array[] {
    return [...this.pushing(piece)];
  }

  /**
   * Like {@link push}, but yields each chunk's plaintext as soon as it authenticates, so that
   * when a later chunk fails the earlier ones have already been handed out.
   */
  *pushing(piece: Uint8Array): Generator<Uint8Array, void, undefined> {
    if (this.failure !== undefined) throw this.failure.error;
    if (this.finished)
      throw new InvalidParametersError("push", "after finish", "the stream is finished");
    try {
      yield* this.take(piece);
    } catch (error) {
      // A failed decryptor stays failed: a caller that catches this and calls finish() must not
      // see success (the units of the piece after the failing one were never opened).
      this.failure = { error };
      throw error;
    }
  }

  private *take(piece: Uint8Array): Generator<Uint8Array, void, undefined> {
    if (piece.length === 0) return;
    this.received += piece.length;
    if (this.header === undefined) {
      const take = Math.min(STREAM_HEADER_LENGTH - this.headerFilled, piece.length);
      this.headerBytes!.set(piece.subarray(0, take), this.headerFilled);
      this.headerFilled += take;
      if (!isStreamHeaderPrefix(this.headerBytes!.subarray(0, this.headerFilled))) {
        parseStreamHeader(this.headerBytes!); // throws the precise UnsupportedFormatError
      }
      if (this.headerFilled < STREAM_HEADER_LENGTH) return;
      this.openHeader();
      piece = piece.subarray(take);
    }
    if (
      this.expectedCiphertextLength !== undefined &&
      this.received > this.expectedCiphertextLength
    ) {
      throw new ExtendedDataError(
        undefined,
        `data is longer than the expected ${this.expectedCiphertextLength} bytes: something was appended`,
      );
    }
    for (const unit of this.rechunker!.push(piece)) {
      if (this.lastIndex !== undefined) {
        // The expected length says where the last chunk is: nothing needs holding back.
        yield this.openUnit(unit, this.index === this.lastIndex);
        continue;
      }
      if (this.pending !== undefined) yield this.openUnit(this.pending, false);
      this.pending = unit;
    }
    // A held unit that is a view of the caller's piece is copied: the caller may reuse it.
    if (this.pending !== undefined && this.pending.buffer === piece.buffer)
      this.pending = new Uint8Array(this.pending); // a copy even of a Buffer
  }

  /** Ends the ciphertext; returns the last plaintext, or throws if the data did not end properly. */
  finish(): Uint8Array[] {
    return [...this.finishing()];
  }

  /** Like {@link finish}, yielding each chunk's plaintext as soon as it authenticates. */
  *finishing(): Generator<Uint8Array, void, undefined> {
    if (this.failure !== undefined) throw this.failure.error;
    if (this.finished) return;
    this.finished = true;
    try {
      yield* this.end();
    } catch (error) {
      this.failure = { error };
      throw error;
    }
  }

  private *end(): Generator<Uint8Array, void, undefined> {
    // Bytes that cannot start a header were refused by the push that brought them.
    if (this.header === undefined)
      throw new TruncatedDataError(0, `data ended inside the ${STREAM_HEADER_LENGTH}-byte header`);
    if (
      this.expectedCiphertextLength !== undefined &&
      this.received < this.expectedCiphertextLength
    ) {
      throw new TruncatedDataError(
        this.index,
        `data ended after ${this.received} of the expected ${this.expectedCiphertextLength} bytes: the end was cut off`,
      );
    }
    const rest = this.rechunker!.rest();
    const pending = this.pending;
    this.pending = undefined;
    if (rest.length > 0) {
      if (pending !== undefined) yield this.openUnit(pending, false);
      yield this.openUnit(rest, true);
    } else if (pending !== undefined) {
      yield this.openUnit(pending, true);
    } else {
      if (this.lastIndex !== undefined && this.index > this.lastIndex) return; // all opened in push
      if (this.keyCheckFailed) {
        throw new WrongKeyError(TARGET, "wrong key: the key does not match this data's key check");
      }
      throw new TruncatedDataError(0, "data ended right after the header, before any chunk");
    }
  }
}

/** What the async-iterable and TransformStream wrappers drive: a push-style machine. */
interface ByteMachine {
  pushing(piece: Uint8Array): Iterable<Uint8Array>;
  finishing(): Iterable<Uint8Array>;
}

async function* pipe(
  source: ByteSource,
  machine: ByteMachine,
): AsyncGenerator<Uint8Array, void, undefined> {
  for await (const piece of source) yield* machine.pushing(piece);
  yield* machine.finishing();
}

/** Encrypts a plaintext byte source → ciphertext pieces (header first). Memory: about two chunks. */
export function encryptStream(
  source: ByteSource,
  key: Uint8Array,
  options: EncryptOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  return pipe(source, new StreamEncryptor(key, options));
}

/**
 * Decrypts a ciphertext byte source → authenticated plaintext pieces. Throws WrongKeyError,
 * TamperedDataError, TruncatedDataError, ExtendedDataError or UnsupportedFormatError.
 */
export function decryptStream(
  source: ByteSource,
  key: Uint8Array,
  options: DecryptOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  return pipe(source, new StreamDecryptor(key, options));
}

function transform(machine: ByteMachine): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(piece, controller) {
      for (const out of machine.pushing(piece)) controller.enqueue(out);
    },
    flush(controller) {
      for (const out of machine.finishing()) controller.enqueue(out);
    },
  });
}

/** A WHATWG TransformStream that encrypts plaintext bytes (e.g. `file.stream().pipeThrough(...)`). */
export function createEncryptionStream(
  key: Uint8Array,
  options: EncryptOptions = {},
): TransformStream<Uint8Array, Uint8Array> {
  return transform(new StreamEncryptor(key, options));
}

/** A WHATWG TransformStream that decrypts and authenticates ciphertext bytes. */
export function createDecryptionStream(
  key: Uint8Array,
  options: DecryptOptions = {},
): TransformStream<Uint8Array, Uint8Array> {
  return transform(new StreamDecryptor(key, options));
}

/** Encrypts a whole plaintext in memory (small data: manifests, tests). */
export function encryptBytes(
  plaintext: Uint8Array,
  key: Uint8Array,
  options: EncryptOptions = {},
): Uint8Array {
  const encryptor = new StreamEncryptor(key, options);
  return concat([...encryptor.push(plaintext), ...encryptor.finish()]);
}

/** Decrypts a whole ciphertext in memory; same errors as {@link decryptStream}. */
export function decryptBytes(
  ciphertext: Uint8Array,
  key: Uint8Array,
  options: DecryptOptions = {},
): Uint8Array {
  const decryptor = new StreamDecryptor(key, options);
  return concat([...decryptor.push(ciphertext), ...decryptor.finish()]);
}

/** Whether `key` is the key a stream header was written for (its key-check value matches). */
export function verifyStreamKey(key: Uint8Array, header: StreamHeader | Uint8Array): boolean {
  return keyMatchesHeader(key, headerOf(header));
}

/** A fresh random 256-bit file key (from the platform CSPRNG). */
export function generateFileKey(): Uint8Array {
  const key = new Uint8Array(32);
  globalThis.crypto.getRandomValues(key);
  return key;
}
