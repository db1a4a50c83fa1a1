import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { network } from "hardhat";
import type { Hex } from "viem";

import { buildSegmentTree, segmentProof } from "./helpers/merkle.js";

interface VectorFile {
  hash: string;
  segmentSize: number;
  trees: {
    name: string;
    data: Hex;
    leafCount: number;
    root: Hex;
    proofs: { index: number; segment: Hex; path: Hex[] }[];
  }[];
  invalid: {
    name: string;
    root: Hex;
    leafCount: number;
    index: number;
    segment: Hex;
    path: Hex[];
  }[];
}

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/segment-merkle.json", import.meta.url), "utf8"),
) as VectorFile;

describe("SegmentMerkle", async function () {
  const { viem } = await network.create();
  const harness = await viem.deployContract("SegmentMerkleHarness");

  describe("verify: shared vectors", function () {
    for (const tree of vectors.trees) {
      it(`accepts every proof of "${tree.name}" and the test helper rebuilds the root`, async function () {
        const built = buildSegmentTree(Buffer.from(tree.data.slice(2), "hex"));
        assert.equal(built.root, tree.root);
        assert.equal(built.leafCount, tree.leafCount);
        for (const p of tree.proofs) {
          const ok = await harness.read.verify([
            tree.root,
            BigInt(tree.leafCount),
            BigInt(p.index),
            p.segment,
            p.path,
          ]);
          assert.equal(ok, true, `index ${p.index}`);
          assert.deepEqual(segmentProof(built, p.index), { segment: p.segment, path: p.path });
        }
      });
    }
    for (const bad of vectors.invalid) {
      it(`rejects: ${bad.name}`, async function () {
        const ok = await harness.read.verify([
          bad.root,
          BigInt(bad.leafCount),
          BigInt(bad.index),
          bad.segment,
          bad.path,
        ]);
        assert.equal(ok, false);
      });
    }
  });

  describe("depth", function () {
    it("is ceil(log2(leafCount))", async function () {
      const cases: [bigint, bigint][] = [
        [1n, 0n],
        [2n, 1n],
        [3n, 2n],
        [4n, 2n],
        [5n, 3n],
        [17n, 5n],
        [64n, 6n],
        [65n, 7n],
        [1n << 20n, 20n],
      ];
      for (const [n, d] of cases) assert.equal(await harness.read.depth([n]), d);
    });
  });

  describe("leafHash", function () {
    it("is sha256(0x00 ‖ segment)", async function () {
      const t = buildSegmentTree(Buffer.from("hello"));
      const { segment } = segmentProof(t, 0);
      assert.equal(await harness.read.leafHash([segment]), t.leaves[0]);
    });
  });

  describe("verify: the path has exactly depth(leafCount) siblings", function () {
    it("refuses a valid 8-leaf path for a leaf count of another depth, though it reaches the root", async function () {
      const t = buildSegmentTree(randomBytes(8 * vectors.segmentSize));
      const { segment, path } = segmentProof(t, 2);
      assert.equal(path.length, 3);
      const verify = (leafCount: number) =>
        harness.read.verify([t.root, BigInt(leafCount), 2n, segment, path]);
      assert.equal(await verify(8), true);
      // One sibling short of 9 or 16 leaves (depth 4); one too many for 3 or 4 (depth 2).
      for (const leafCount of [9, 16, 3, 4])
        assert.equal(await verify(leafCount), false, `${leafCount}`);
    });
  });

  describe("verify: random round trips", function () {
    it("accepts helper proofs for random data at random indexes and rejects them elsewhere", async function () {
      for (let round = 0; round < 12; round++) {
        const size = 1 + Math.floor(Math.random() * 40 * vectors.segmentSize);
        const t = buildSegmentTree(randomBytes(size));
        const index = Math.floor(Math.random() * t.leafCount);
        const { segment, path } = segmentProof(t, index);
        assert.equal(
          await harness.read.verify([t.root, BigInt(t.leafCount), BigInt(index), segment, path]),
          true,
        );
        if (t.leafCount > 1) {
          const other = (index + 1) % t.leafCount;
          assert.equal(
            await harness.read.verify([t.root, BigInt(t.leafCount), BigInt(other), segment, path]),
            false,
          );
        }
      }
    });
  });
});
