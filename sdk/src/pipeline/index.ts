// One pipeline: file → encrypted, erasure-coded, committed shards, and back (docs/protocol.md, "Pipeline").
import { setPoolFactory } from "./common.ts";
import {
  createInlineRunner,
  createWorkerPool,
  getAvailableParallelism,
  getNodeWorkerFactory,
  type TaskRunner,
  type WorkerFactory,
} from "./pool.ts";

export interface CreatePipelinePoolOptions {
  /**
   * Worker count; 0 runs tasks on the calling thread.
   * @default one per core
   */
  size?: number;
  /**
   * Creates one worker. In browsers pass `getWebWorkerFactory(new URL("./workers/web.ts",
   * import.meta.url))` as your bundler resolves it.
   * @default worker_threads running workers/node.ts (Node)
   */
  factory?: WorkerFactory;
}

/** A worker pool to share between pipeline calls (pass it as `workers`); close it when done. */
export function createPipelinePool(options: CreatePipelinePoolOptions = {}): TaskRunner {
  const size = options.size ?? getAvailableParallelism();
  if (size === 0) return createInlineRunner();
  const factory = options.factory ?? getNodeWorkerFactory();
  if (factory === undefined) return createInlineRunner();
  return createWorkerPool({ factory, size });
}

setPoolFactory((size, maxOldGenerationSizeMb) =>
  createPipelinePool({ size, factory: getNodeWorkerFactory(maxOldGenerationSizeMb) }),
);

export { encodeFile, type EncodeFileOptions, type EncodeFileResult } from "./encode.ts";
export {
  DEFAULT_DECODE_MEMORY,
  decodeFile,
  decodeFileStream,
  type DecodeFileOptions,
  type ExpectedShardCommitment,
  type ShardInputs,
} from "./decode.ts";
export type { EncodedLayout, PipelineOptions, PipelineProgress, ShardInfo } from "./common.ts";
export type { PipelineImplementation } from "./tasks.ts";
export {
  nullSink,
  toShardSink,
  type ByobSource,
  type ByteInput,
  type ShardSink,
  type ShardSinkLike,
} from "./io.ts";
export {
  createInlineRunner,
  createWorkerPool,
  getWebWorkerFactory,
  type TaskRunner,
  type WorkerFactory,
  type WorkerHandle,
  type WorkerPoolOptions,
} from "./pool.ts";
