// A segment proof read straight from a stored CCMT file (docs/protocol.md, "Segment proofs from
// a tree cache"): the 52-byte header, one 32-byte node per level above the cut (the challenged
// subtree's own node and the siblings), and the 2^L segments under that node. So a proof costs
// the same whatever the shard's size or the number of shards held. The cache levels are not
// rehashed here: the finished proof is checked against the on-chain root instead, which
// catches a damaged cache as surely as damaged data.
// (The SDK's proveFromCache takes a parsed, rehashed cache; this reads only what it needs.)
import { open } from "node:fs/promises";

import {
  SEGMENT_SIZE,
  getDefaultHasher,
  getSegmentTreeDepth,
  hashParents,
  hashSubtreeRoots,
  type ReadSegments,
  type SegmentProof,
} from "@coop-cloud/sdk";

const HEADER = 52;

/** Z[l]: the root of an all-padding subtree of height l. */
function zeros(level: number): Uint8Array[] {
  const hasher = getDefaultHasher();
  const z: Uint8Array[] = [new Uint8Array(32)];
  while (z.length <= level) z.push(hasher.node(z[z.length - 1], z[z.length - 1]));
  return z;
}

export class CacheFileError extends Error {
  override name = "CacheFileError";
}

/** Builds the proof of segment `index` from the CCMT file at `path` and the shard's segments. */
export async function proveFromCacheFile(
  path: string,
  index: number,
  readSegments: ReadSegments,
): Promise<SegmentProof> {
  const hasher = getDefaultHasher();
  const fh = await open(path, "r");
  try {
    const header = new Uint8Array(HEADER);
    await fh.read(header, 0, HEADER, 0);
    if (header[0] !== 0x43 || header[1] !== 0x43 || header[2] !== 0x4d || header[3] !== 0x54)
      throw new CacheFileError("not a CCMT file");
    const view = new DataView(header.buffer);
    const L = header[6];
    const leafCount = view.getUint32(12) * 2 ** 32 + view.getUint32(16);
    const root = header.slice(20, 52);
    const depth = getSegmentTreeDepth(leafCount);
    if (index < 0 || index >= leafCount)
      throw new CacheFileError(`segment ${index} of ${leafCount}`);
    const Z = zeros(depth);
    // Offsets of the stored levels L .. depth−1.
    const levelOffset: number[] = [];
    let off = HEADER;
    for (let l = L; l < depth; l++) {
      levelOffset[l] = off;
      off += Math.ceil(leafCount / 2 ** l) * 32;
    }
    const nodeAt = async (l: number, i: number): Promise<Uint8Array> => {
      if (i >= Math.ceil(leafCount / 2 ** l)) return Z[l];
      const b = new Uint8Array(32);
      const { bytesRead } = await fh.read(b, 0, 32, levelOffset[l] + 32 * i);
      if (bytesRead !== 32) throw new CacheFileError(`level ${l} node ${i} is missing`);
      return b;
    };
    // The bottom L levels, rebuilt from the segments under the challenged level-L node.
    const first = Math.floor(index / 2 ** L) * 2 ** L;
    const count = Math.min(2 ** L, leafCount - first);
    const bytes = await readSegments(first, count);
    const padded = new Uint8Array(count * SEGMENT_SIZE);
    padded.set(bytes.subarray(0, padded.length));
    // One batch per level (the SIMD kernel where it runs); an odd level is padded with Z[l].
    let nodes = hashSubtreeRoots(hasher, padded, 0);
    const path: Uint8Array[] = [];
    let pos = index - first;
    for (let l = 0; l < Math.min(L, depth); l++) {
      const sib = pos ^ 1;
      path.push(sib * 32 < nodes.length ? nodes.slice(32 * sib, 32 * sib + 32) : Z[l]);
      if ((nodes.length / 32) % 2 === 1) {
        const even = new Uint8Array(nodes.length + 32);
        even.set(nodes);
        even.set(Z[l], nodes.length);
        nodes = even;
      }
      nodes = hashParents(hasher, nodes);
      pos >>= 1;
    }
    const top = nodes.subarray(0, 32);
    if (L < depth) {
      const cached = await nodeAt(L, first / 2 ** L);
      if (Buffer.compare(Buffer.from(cached), Buffer.from(top)) !== 0)
        throw new CacheFileError(
          `segments ${first}..${first + count - 1} do not match the tree cache`,
        );
    } else if (Buffer.compare(Buffer.from(root), Buffer.from(top)) !== 0)
      throw new CacheFileError("the shard does not match its root");
    for (let l = L; l < depth; l++) path.push(await nodeAt(l, Math.floor(index / 2 ** l) ^ 1));
    return {
      segment: padded.slice((index - first) * SEGMENT_SIZE, (index - first + 1) * SEGMENT_SIZE),
      path,
    };
  } finally {
    await fh.close();
  }
}
