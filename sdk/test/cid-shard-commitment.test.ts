import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ShardMismatchError } from "../src/errors.ts";
import { computeShardCommitment, computeUnixfsCid, verifyShard } from "../src/cid/index.ts";
import { computeSegmentTree, proveFromCache, verifySegmentProof } from "../src/merkle/index.ts";

function* chunks(data: Uint8Array, size: number): Generator<Uint8Array> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
}

describe("shard commitments in one pass", () => {
  it("root, leaf count, CID and cache equal the separate computations", async () => {
    for (const size of [0, 1, 512, 3 * 1024 * 1024 + 700]) {
      const data = randomBytes(size);
      const c = await computeShardCommitment(chunks(data, 100_000), { cacheLevel: 6 });
      const tree = computeSegmentTree(data);
      expect(c.size).toBe(size);
      expect(c.root).toEqual(tree.root);
      expect(c.leafCount).toBe(tree.leafCount);
      expect(c.cid.toString()).toBe((await computeUnixfsCid([data])).cid.toString());
      const p = await proveFromCache(c.cache!, c.leafCount - 1, (first, count) =>
        data.subarray(first * 512, (first + count) * 512),
      );
      expect(verifySegmentProof(c.root, c.leafCount, c.leafCount - 1, p.segment, p.path)).toBe(
        true,
      );
    }
  });

  it("verifyShard accepts the right bytes and names what differs otherwise", async () => {
    const data = randomBytes(2 * 1024 * 1024 + 3);
    const good = await computeShardCommitment([data]);
    const expected = {
      shardIndex: 3,
      size: good.size,
      root: good.root,
      leafCount: good.leafCount,
      cid: good.cid,
    };
    await expect(verifyShard(chunks(data, 65536), expected)).resolves.toMatchObject({
      size: data.length,
    });

    const flipped = Uint8Array.from(data);
    flipped[1234567] ^= 1;
    const err = await verifyShard([flipped], expected).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShardMismatchError);
    expect((err as ShardMismatchError).shardIndex).toBe(3);
    expect((err as Error).message).toContain("segment root");

    const cidOnly = await verifyShard([flipped], { cid: good.cid.toString() }).catch(
      (e: unknown) => e,
    );
    expect((cidOnly as Error).message).toContain("CID");

    const short = await verifyShard([data.subarray(1)], expected).catch((e: unknown) => e);
    expect((short as ShardMismatchError).actual).toBe(data.length - 1);
  });
});
