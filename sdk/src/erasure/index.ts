// Erasure coding: systematic Reed–Solomon over GF(2^8) and the stripe/shard layout.
export { GF_POLYNOMIAL } from "./gf256.ts";
export {
  MAX_TOTAL_SHARDS,
  createReedSolomon,
  parityMatrix,
  type ReedSolomon,
  type ReedSolomonOptions,
  type ReconstructOptions,
} from "./reed-solomon.ts";
export {
  BLOCK_ALIGNMENT,
  DEFAULT_BLOCK_SIZE,
  MAX_BLOCK_SIZE,
  StripeSplitter,
  decodeStream,
  encodeStream,
  encodeStripe,
  getStripeLayout,
  getStripeRange,
  isValidBlockSize,
  rebuildShards,
  type ShardSource,
  type EncodedStripe,
  type Stripe,
  type StripeLayout,
  type StripeLayoutOptions,
  type StripeRange,
} from "./stripes.ts";
