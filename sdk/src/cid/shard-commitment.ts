// Everything a shard is committed to, from one pass over its bytes: segment-Merkle root and
// leaf count (on-chain), UnixFS CID (events, manifest), and optionally the prover's tree cache.
// What a provider runs while a shard is uploaded to it, and what it checks against the deal.
import type { CID } from "multiformats/cid";
import { ShardMismatchError } from "../errors.ts";
import type { SegmentHasher } from "../merkle/hasher.ts";
import { SegmentTreeBuilder, type SegmentTreeCache } from "../merkle/tree.ts";
import { UnixfsCidBuilder, type StreamingSha256 } from "./unixfs.ts";

export interface ShardCommitment {
  /** Shard bytes. */
  size: number;
  /** Segment-Merkle root. */
  root: Uint8Array;
  /** Segments (leaves) of the tree. */
  leafCount: number;
  /** UnixFS CID with the shard parameters. */
  cid: CID;
  /** The prover's tree cache, when a `cacheLevel` was given. */
  cache?: SegmentTreeCache;
}

export interface ShardCommitmentOptions {
  /** Keep tree levels at and above this one (see SegmentTreeOptions.cacheLevel). */
  cacheLevel?: number;
  /** Segment-tree hashes. @default node:crypto in Node, portable elsewhere */
  hasher?: SegmentHasher;
  /** UnixFS leaf hashing. @default node:crypto in Node, @noble/hashes elsewhere */
  sha256?: StreamingSha256;
}

/** Root, leaf count, CID (and cache) of a shard fed in chunks of any size. */
export class ShardCommitmentBuilder {
  readonly #tree: SegmentTreeBuilder;
  readonly #cid: UnixfsCidBuilder;

  constructor(options: ShardCommitmentOptions = {}) {
    this.#tree = new SegmentTreeBuilder({ hasher: options.hasher, cacheLevel: options.cacheLevel });
    this.#cid = new UnixfsCidBuilder({ sha256: options.sha256 });
  }

  update(chunk: Uint8Array): void {
    this.#tree.update(chunk);
    this.#cid.update(chunk);
  }

  finish(): ShardCommitment {
    const t = this.#tree.finish();
    const c = this.#cid.finish();
    return {
      size: c.size,
      root: t.root,
      leafCount: t.leafCount,
      cid: c.cid,
      ...(t.cache ? { cache: t.cache } : {}),
    };
  }
}

/** Commitments of a whole shard stream. */
export async function computeShardCommitment(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ShardCommitmentOptions = {},
): Promise<ShardCommitment> {
  const b = new ShardCommitmentBuilder(options);
  for await (const chunk of source) b.update(chunk);
  return b.finish();
}

export interface ExpectedShard {
  shardIndex?: number;
  size?: number;
  root?: Uint8Array;
  leafCount?: number;
  cid?: CID | string;
}

const hex = (b: Uint8Array): string => {
  let s = "0x";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
};

/**
 * Computes a shard's commitments and checks each expected value given (from the deal or the
 * manifest). Throws ShardMismatchError naming the first value that differs.
 */
export async function verifyShard(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  expected: ExpectedShard,
  options: ShardCommitmentOptions = {},
): Promise<ShardCommitment> {
  const got = await computeShardCommitment(source, options);
  const shardIndex = expected.shardIndex;
  const fail = (what: string, want: string | number, have: string | number): never => {
    throw new ShardMismatchError(
      `shard${shardIndex === undefined ? "" : ` ${shardIndex}`}: ${what} is ${have}, expected ${want}`,
      { shardIndex, expected: want, actual: have },
    );
  };
  if (expected.size !== undefined && expected.size !== got.size)
    fail("size", expected.size, got.size);
  if (expected.leafCount !== undefined && expected.leafCount !== got.leafCount)
    fail("leaf count", expected.leafCount, got.leafCount);
  if (expected.root !== undefined && hex(expected.root) !== hex(got.root))
    fail("segment root", hex(expected.root), hex(got.root));
  if (expected.cid !== undefined && expected.cid.toString() !== got.cid.toString())
    fail("CID", expected.cid.toString(), got.cid.toString());
  return got;
}
