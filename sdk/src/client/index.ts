// The client: everything a data owner or member does, once, for the CLI and the web app.
export * from "./contracts.ts";
export * from "./revert-words.ts";
