// Typed errors of @coop-cloud/sdk. Callers branch on `err.name`; each class carries
// the values that explain the failure. Append new classes; never rename one (names are API).

/** A parameter is outside what the protocol allows (k, n, sizes, indexes). */
export class InvalidParametersError extends Error {
  name = "InvalidParametersError";
  /** The offending parameter's name, e.g. `"totalShards"`. */
  readonly parameter: string;
  /** The value that was given. */
  readonly value: unknown;

  constructor(parameter: string, value: unknown, message: string) {
    super(`${parameter} = ${String(value)}: ${message}`);
    this.parameter = parameter;
    this.value = value;
  }
}

/** Fewer than k distinct shards were available to rebuild data or other shards. */
export class NotEnoughShardsError extends Error {
  name = "NotEnoughShardsError";
  /** Shard indexes that were not available, ascending. */
  readonly missing: number[];
  /** How many distinct shards were available. */
  readonly have: number;
  /** How many are needed (k). */
  readonly need: number;

  constructor(missing: number[], have: number, need: number) {
    super(`need ${need} shards, have ${have}; missing shard indexes: ${missing.join(", ")}`);
    this.missing = missing;
    this.have = have;
    this.need = need;
  }
}

/**
 * Shard bytes do not match what they were committed to or what the layout implies
 * (wrong length, a Merkle root or cached tree node that does not match the bytes).
 */
export class ShardMismatchError extends Error {
  name = "ShardMismatchError";
  /** The shard index concerned, when known. */
  readonly shardIndex: number | undefined;
  /** What was expected (a size, a hex hash). */
  readonly expected: string | number | undefined;
  /** What was found. */
  readonly actual: string | number | undefined;

  constructor(
    message: string,
    details: { shardIndex?: number; expected?: string | number; actual?: string | number } = {},
  ) {
    super(message);
    this.shardIndex = details.shardIndex;
    this.expected = details.expected;
    this.actual = details.actual;
  }
}

/** A serialized structure (e.g. a segment tree cache) is not in a format this version reads. */
export class InvalidFormatError extends Error {
  name = "InvalidFormatError";
  /** What was being decoded, e.g. `"segment tree cache"`. */
  readonly format: string;

  constructor(format: string, message: string) {
    super(`${format}: ${message}`);
    this.format = format;
  }
}

/**
 * The key does not open the data: it is not the key this data was encrypted with, or the data
 * is not the file (or wrapped key) it is taken for. For STREAM data this is certain, not a
 * guess: the header's key-check value does not match the key and the first chunk does not
 * authenticate under it.
 */
export class WrongKeyError extends Error {
  name = "WrongKeyError";
  /** What the key failed to open, e.g. `"encrypted stream"`, `"wrapped file key"`. */
  readonly target: string;

  constructor(target: string, message?: string) {
    super(
      message ??
        `${target}: the key does not open this data (it is not this data's key, or the data is not what it is taken for)`,
    );
    this.target = target;
  }
}

/** Encrypted data was altered: a chunk (or the header) does not authenticate under the right key. */
export class TamperedDataError extends Error {
  name = "TamperedDataError";
  /** Which part failed: the stream header or a ciphertext chunk. */
  readonly part: "header" | "chunk";
  /** Index of the chunk that failed (0-based); undefined when the header failed. */
  readonly chunkIndex: number | undefined;

  constructor(part: "header" | "chunk", chunkIndex: number | undefined, message: string) {
    super(message);
    this.part = part;
    this.chunkIndex = chunkIndex;
  }
}

/** Encrypted data ended before its last chunk: it was cut short (or its end was removed). */
export class TruncatedDataError extends Error {
  name = "TruncatedDataError";
  /** How many chunks authenticated before the data ended. */
  readonly chunksRead: number;

  constructor(chunksRead: number, message: string) {
    super(message);
    this.chunksRead = chunksRead;
  }
}

/** Encrypted data continues after its last chunk: something was appended. */
export class ExtendedDataError extends Error {
  name = "ExtendedDataError";
  /** Index of the chunk that authenticated as the last one, when known. */
  readonly lastChunkIndex: number | undefined;

  constructor(lastChunkIndex: number | undefined, message: string) {
    super(message);
    this.lastChunkIndex = lastChunkIndex;
  }
}

/** Bytes are not in a format (magic) or version this SDK reads. */
export class UnsupportedFormatError extends Error {
  name = "UnsupportedFormatError";
  /** What was being read, e.g. `"encrypted stream"`, `"manifest envelope"`. */
  readonly format: string;
  /** The version found, when the magic matched. */
  readonly version: number | undefined;

  constructor(format: string, version: number | undefined, message: string) {
    super(`${format}: ${message}`);
    this.format = format;
    this.version = version;
  }
}

/** A wallet signature is not a well-formed secp256k1 ECDSA signature (65 or 64 bytes). */
export class InvalidKeySignatureError extends Error {
  name = "InvalidKeySignatureError";

  constructor(message: string) {
    super(message);
  }
}

/** A manifest field is missing or invalid; `field` is its path, e.g. `"shards[2].cid"`. */
export class InvalidManifestError extends Error {
  name = "InvalidManifestError";
  /** Path of the offending field (`""` for the manifest as a whole). */
  readonly field: string;

  constructor(field: string, message: string) {
    super(field === "" ? `manifest: ${message}` : `manifest.${field}: ${message}`);
    this.field = field;
  }
}

/** A share link is malformed: wrong scheme, bad manifest CID, missing or malformed key. */
export class InvalidShareLinkError extends Error {
  name = "InvalidShareLinkError";
  /** Which part of the link is wrong. */
  readonly part: "scheme" | "cid" | "key" | "fragment";

  constructor(part: "scheme" | "cid" | "key" | "fragment", message: string) {
    super(`share link: ${message}`);
    this.part = part;
  }
}

/**
 * Decoding would need more memory than the caller allows: the layout (k · block size, chunk
 * size), which comes from a manifest, is larger than the configured limit. Raise the limit
 * (`maxMemory`) only for files you expect to be that large.
 */
export class MemoryLimitError extends Error {
  name = "MemoryLimitError";
  /** Bytes one stripe in flight needs. */
  readonly required: number;
  /** The limit in force. */
  readonly limit: number;

  constructor(required: number, limit: number, message: string) {
    super(message);
    this.required = required;
    this.limit = limit;
  }
}

/**
 * Manifest envelope bytes are not the ones a manifest CID names (the deal's, or a share link's):
 * they were replaced or altered, or the CID is not a manifest CID (CIDv1, raw, sha2-256).
 */
export class ManifestCidMismatchError extends Error {
  name = "ManifestCidMismatchError";
  /** The CID the bytes were checked against. */
  readonly expected: string;
  /** The manifest CID of the bytes. */
  readonly actual: string;

  constructor(expected: string, actual: string, message: string) {
    super(message);
    this.expected = expected;
    this.actual = actual;
  }
}
