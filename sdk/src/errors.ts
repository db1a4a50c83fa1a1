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
