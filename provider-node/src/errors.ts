// Errors of the provider node. Callers branch on `name`; the HTTP layer turns an HttpError into
// its status and a JSON body `{ code, message }`.

/** A refusal with an HTTP status and a stable machine-readable code. */
export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The configuration is invalid: `field` and what is allowed. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

export { KeystoreError } from "@coop-cloud/sdk/node/keystore.ts";
