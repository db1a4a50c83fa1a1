// A segment proof from a stored shard: one 32-byte read per tree level above the cut from its
// CCMT file, plus one read of the 2^L segments under the challenged segment's cached node. The cost depends on the shard's depth, never on
// how many shards the node holds.
import { verifySegmentProof } from "@coop-cloud/sdk";
import { bytesToHex, hexToBytes, type Hex } from "viem";

import type { ShardRecord, ShardStore } from "../store/shards.ts";
import { proveFromCacheFile } from "./cache-file.ts";

export class ShardDamagedError extends Error {
  override name = "ShardDamagedError";
  readonly dealId: string;
  readonly shard: number;
  constructor(rec: ShardRecord, why: string) {
    super(`shard ${rec.shard} of deal ${rec.dealId} is damaged: ${why}`);
    this.dealId = rec.dealId;
    this.shard = rec.shard;
  }
}

export interface HexProof {
  segment: Hex;
  path: Hex[];
}

/** Proof of segment `index` of a stored shard, checked against its root before it is returned. */
export async function proveStoredSegment(
  store: ShardStore,
  rec: ShardRecord,
  index: number,
): Promise<HexProof> {
  let proof;
  try {
    proof = await proveFromCacheFile(store.cachePath(rec), index, (first, count) =>
      store.readSegments(rec, first, count),
    );
  } catch (e) {
    throw new ShardDamagedError(rec, (e as Error).message);
  }
  if (!verifySegmentProof(hexToBytes(rec.root), rec.leafCount, index, proof.segment, proof.path))
    throw new ShardDamagedError(rec, `the proof of segment ${index} does not reach the root`);
  return { segment: bytesToHex(proof.segment), path: proof.path.map((p) => bytesToHex(p)) };
}
