// Second, independent checks of rules that one test or vector alone guarded (mutation testing
// found each could change with only that one test to notice): computed here from the
// protocol's words with other code (node:crypto, GF(2^8) by hand, a dag-pb decoder), not
// through the sdk's own helpers.
import { createHash, hkdfSync } from "node:crypto";

import * as dagPb from "@ipld/dag-pb";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";

import { computeUnixfsCid } from "../src/cid/index.ts";
import { parityMatrix } from "../src/erasure/index.ts";
import { deriveKeyEncryptionKey, getKeyDerivationTypedData } from "../src/keys/index.ts";
import { verifySegmentProof } from "../src/merkle/index.ts";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const hexToBytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/^0x/, ""), "hex"));
const be32 = (x: bigint) => hexToBytes(x.toString(16).padStart(64, "0"));

describe("key-encryption key, recomputed with node:crypto's HKDF from the protocol's strings", () => {
  const account = privateKeyToAccount(`0x${"42".repeat(32)}`);

  it("equals HKDF-SHA256(r ‖ low-s, 'Co-operative Cloud KEK salt v1', 'Co-operative Cloud key-encryption key v1')", async () => {
    const signature = await account.signTypedData(
      getKeyDerivationTypedData({ account: account.address, chainId: 31337 }),
    );
    const sig = hexToBytes(signature);
    const expected = new Uint8Array(
      hkdfSync(
        "sha256",
        sig.subarray(0, 64),
        Buffer.from("Co-operative Cloud KEK salt v1"),
        Buffer.from("Co-operative Cloud key-encryption key v1"),
        32,
      ),
    );
    expect(deriveKeyEncryptionKey(signature)).toEqual(expected);
  });

  it("folds a high s to n − s before hashing: the twin signature derives the low-s key", async () => {
    const signature = await account.signTypedData(
      getKeyDerivationTypedData({ account: account.address, chainId: 1 }),
    );
    const sig = hexToBytes(signature);
    const r = sig.subarray(0, 32);
    const s = BigInt(`0x${Buffer.from(sig.subarray(32, 64)).toString("hex")}`);
    expect(s <= N / 2n).toBe(true); // viem signs with low s
    const twin = new Uint8Array(65);
    twin.set(r, 0);
    twin.set(be32(N - s), 32);
    twin[64] = sig[64] === 27 ? 28 : 27;
    const ikm = new Uint8Array(64);
    ikm.set(r, 0);
    ikm.set(be32(s), 32);
    const expected = new Uint8Array(
      hkdfSync(
        "sha256",
        ikm,
        Buffer.from("Co-operative Cloud KEK salt v1"),
        Buffer.from("Co-operative Cloud key-encryption key v1"),
        32,
      ),
    );
    expect(deriveKeyEncryptionKey(twin)).toEqual(expected);
  });
});

describe("Reed–Solomon parity rows, rebuilt from the protocol's Cauchy construction", () => {
  // GF(2^8) with x^8 + x^4 + x^3 + x^2 + 1, by shift-and-add.
  const mul = (a: number, b: number) => {
    let p = 0;
    for (; b; b >>= 1) {
      if (b & 1) p ^= a;
      a = a & 0x80 ? ((a << 1) ^ 0x11d) & 0xff : a << 1;
    }
    return p;
  };
  const inv = (a: number) => {
    for (let x = 1; x < 256; x++) if (mul(a, x) === 1) return x;
    throw new Error("0 has no inverse");
  };

  for (const [k, n] of [
    [3, 5],
    [2, 4],
    [5, 9],
  ]) {
    it(`k = ${k}, n = ${n}: C[i][j] = 1/(x_i ⊕ y_j), columns then rows normalised by their first entry`, () => {
      const m = n - k;
      const c = Array.from({ length: m }, (_, i) =>
        Array.from({ length: k }, (_, j) => inv((k + i) ^ j)),
      );
      for (let j = 0; j < k; j++) {
        const f = inv(c[0][j]);
        for (let i = 0; i < m; i++) c[i][j] = mul(c[i][j], f);
      }
      for (let i = 0; i < m; i++) {
        const f = inv(c[i][0]);
        for (let j = 0; j < k; j++) c[i][j] = mul(c[i][j], f);
      }
      expect(parityMatrix(k, n).map((row) => Array.from(row))).toEqual(c);
      expect(c[0].every((x) => x === 1) && c.every((row) => row[0] === 1)).toBe(true);
    });
  }
});

describe("UnixFS shard DAG width, read back from the root node", () => {
  it("puts at most 1024 links in a node by default: 1,025 leaves make a root of two links", async () => {
    const nodes = new Map<string, Uint8Array>();
    const { cid, leafCount } = await computeUnixfsCid([new Uint8Array(1025 * 16)], {
      chunkSize: 16,
      onNode: (nodeCid, bytes) => nodes.set(nodeCid.toString(), bytes),
    });
    expect(leafCount).toBe(1025);
    expect(cid.code).toBe(dagPb.code);
    const root = dagPb.decode(nodes.get(cid.toString())!);
    expect(root.Links).toHaveLength(2);
    const first = dagPb.decode(nodes.get(root.Links[0].Hash.toString())!);
    expect(first.Links).toHaveLength(1024);
  });
});

describe("segment proofs: the path has exactly depth(leafCount) siblings, on a tree built with node:crypto", () => {
  // Eight 512-byte segments, a full tree of depth 3: leaf = sha256(0x00 ‖ segment),
  // node = sha256(0x01 ‖ left ‖ right).
  const sha = (...parts: Uint8Array[]) => {
    const h = createHash("sha256");
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  };
  const segments = Array.from({ length: 8 }, (_, i) => new Uint8Array(512).fill(0x30 + i));
  const levels: Uint8Array[][] = [segments.map((s) => sha(Uint8Array.of(0), s))];
  while (levels[levels.length - 1].length > 1) {
    const below = levels[levels.length - 1];
    levels.push(
      Array.from({ length: below.length / 2 }, (_, i) =>
        sha(Uint8Array.of(1), below[2 * i], below[2 * i + 1]),
      ),
    );
  }
  const root = levels[3][0];
  const index = 2;
  const path = [0, 1, 2].map((l) => levels[l][(index >> l) ^ 1]);

  it("the three-sibling path verifies for 8 leaves, whose depth is 3", () => {
    expect(verifySegmentProof(root, 8, index, segments[index], path)).toBe(true);
  });

  it("the same path is refused for a leaf count of another depth, though it reaches the root", () => {
    // One sibling short of 9 or 16 leaves (depth 4); one too many for 3 or 4 (depth 2).
    for (const leafCount of [9, 16, 3, 4])
      expect(
        verifySegmentProof(root, leafCount, index, segments[index], path),
        `${leafCount}`,
      ).toBe(false);
  });

  it("a path one sibling short of depth 3 is refused when its end is claimed as the root", () => {
    // Two siblings reach the level-2 node over leaves 0..3; a verifier that hashed whatever
    // path it got would accept that node as the root of an 8-leaf tree.
    const half = levels[2][0];
    expect(verifySegmentProof(half, 8, index, segments[index], path.slice(0, 2))).toBe(false);
    expect(verifySegmentProof(half, 4, index, segments[index], path.slice(0, 2))).toBe(true);
  });
});
