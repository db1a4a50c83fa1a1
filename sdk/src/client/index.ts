// The client: everything a data owner or member does, once, for the CLI and the web app.
export * from "./contracts.ts";
export * from "./events.ts";
export * from "./revert-words.ts";
export * from "./connect.ts";
export * from "./format.ts";
export * from "./member.ts";
export * from "./providers.ts";
export * from "./governance.ts";
export * from "./patronage.ts";
export * from "./keys.ts";
export * from "./provider-api.ts";
export * from "./staging.ts";
export * from "./deals.ts";
export * from "./put.ts";
export * from "./get.ts";
export * from "./files.ts";
