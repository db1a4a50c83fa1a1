// Public entry point of @coop-cloud/sdk: every module's API, one import away.
export * from "./errors.ts";
export * from "./crypto/index.ts";
export * from "./erasure/index.ts";
export * from "./merkle/index.ts";
export * from "./cid/index.ts";
export * from "./keys/index.ts";
export * from "./manifest/index.ts";
export * from "./pipeline/index.ts";
