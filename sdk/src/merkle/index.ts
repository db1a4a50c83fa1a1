// Segment Merkle commitments: tree, proofs, prover cache, hash implementations.
export {
  SEGMENT_SIZE,
  getDefaultHasher,
  getNodeHasher,
  getSimdHasher,
  hashParents,
  hashSubtreeRoots,
  portableHasher,
  type SegmentHasher,
} from "./hasher.ts";
export {
  SegmentTreeBuilder,
  computeSegmentTree,
  getSegmentCount,
  getSegmentTreeDepth,
  parseSegmentTreeCache,
  proveFromCache,
  proveSegment,
  serializeSegmentTreeCache,
  verifySegmentProof,
  type ReadSegments,
  type SegmentProof,
  type SegmentTreeCache,
  type SegmentTreeOptions,
  type SegmentTreeResult,
} from "./tree.ts";
