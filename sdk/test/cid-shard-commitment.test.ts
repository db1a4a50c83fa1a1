import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ShardMismatchError } from "../src/errors.ts";
import {
  computeShardCommitment,
  computeUnixfsCid,
  portableStreamingSha256,
  verifyShard,
  type StreamingSha256,
} from "../src/cid/index.ts";
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

describe("verifyShard: what a mismatch says", () => {
  const data = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) % 256);
  const rejection = (expected: Parameters<typeof verifyShard>[1]): Promise<ShardMismatchError> =>
    verifyShard([data], expected).then(
      () => {
        throw new Error("verifyShard accepted a mismatch");
      },
      (e: unknown) => {
        expect(e).toBeInstanceOf(ShardMismatchError);
        return e as ShardMismatchError;
      },
    );

  it("names the shard index when known, and no index otherwise", async () => {
    const withIndex = await rejection({ shardIndex: 3, size: 2999 });
    expect(withIndex.message).toMatch(/^shard 3: size is 3000, expected 2999$/);
    const without = await rejection({ size: 2999 });
    expect(without.message).toMatch(/^shard: size is 3000, expected 2999$/);
    expect(without.shardIndex).toBeUndefined();
  });

  it("checks the leaf count alone, when that is all that is expected", async () => {
    const err = await rejection({ shardIndex: 0, leafCount: 7 });
    expect(err.message).toMatch(/leaf count is 6, expected 7/);
    expect(err.expected).toBe(7);
    expect(err.actual).toBe(6);
  });

  it("writes segment roots as 0x and two hex digits a byte", async () => {
    const got = await computeShardCommitment([data]);
    const zero = new Uint8Array(32);
    const err = await rejection({ root: zero });
    const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;
    expect(err.expected).toBe(`0x${"00".repeat(32)}`);
    expect(err.actual).toBe(hex(got.root));
    expect(err.message).toContain(
      `segment root is ${hex(got.root)}, expected 0x${"00".repeat(32)}`,
    );
  });

  it("accepts the bytes when only some values are expected (no CID, nothing at all)", async () => {
    const got = await computeShardCommitment([data]);
    await expect(verifyShard([data], { size: 3000 })).resolves.toMatchObject({ size: 3000 });
    await expect(verifyShard([data], { root: got.root, leafCount: 6 })).resolves.toMatchObject({
      leafCount: 6,
    });
    await expect(verifyShard([data], {})).resolves.toMatchObject({ size: 3000 });
  });
});

describe("shard commitment options", () => {
  it("hashes the UnixFS leaves with the sha256 implementation given", async () => {
    const data = randomBytes(5000);
    let created = 0;
    const counting: StreamingSha256 = {
      name: "counting",
      create: () => {
        created++;
        return portableStreamingSha256.create();
      },
    };
    const c = await computeShardCommitment([data], { sha256: counting });
    expect(created).toBeGreaterThan(0);
    expect(c.cid.toString()).toBe((await computeUnixfsCid([data])).cid.toString());
  });
});
