// Public entry point of @coop-cloud/sdk: re-exports every module's API.
export {};
