// Shard addressing: UnixFS CIDs computed while streaming.
export {
  SHARD_UNIXFS_PARAMS,
  UnixfsCidBuilder,
  computeUnixfsCid,
  encodeUnixfsFileData,
  getNodeStreamingSha256,
  portableStreamingSha256,
  type StreamingSha256,
  type UnixfsCidOptions,
  type UnixfsCidResult,
} from "./unixfs.ts";
export {
  ShardCommitmentBuilder,
  computeShardCommitment,
  verifyShard,
  type ExpectedShard,
  type ShardCommitment,
  type ShardCommitmentOptions,
} from "./shard-commitment.ts";
export { parseCid } from "./parse.ts";
