// The node's one HTTP server: shard and manifest intake, the trustless gateway, health, status
// and Prometheus metrics, with CORS for the web dApp. Errors are JSON `{ code, message }`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import type { ProviderConfig } from "../config.ts";
import { HttpError } from "../errors.ts";
import { createLogger, type Logger } from "../log.ts";

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  params: string[],
) => Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

/** Reads a request's declared length, if any. */
export function contentLength(req: IncomingMessage): number | undefined {
  const v = req.headers["content-length"];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new HttpError(400, "bad_request", "invalid Content-Length");
  return n;
}

/** Most bytes of a refused body read and thrown away so the client sees the answer. */
const DRAIN_LIMIT = 64 * 2 ** 20;

export class HttpServer {
  readonly #routes: Route[] = [];
  readonly #server: Server;
  readonly #config: ProviderConfig;
  readonly #log: Logger;

  constructor(config: ProviderConfig) {
    this.#config = config;
    this.#log = createLogger("provider:http");
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.requestTimeout = 0; // shards are large; uploads may take minutes
    this.#server.keepAliveTimeout = 5000;
  }

  route(method: string, pattern: RegExp, handler: Handler): this {
    this.#routes.push({ method, pattern, handler });
    return this;
  }

  #cors(req: IncomingMessage, res: ServerResponse): void {
    const origins = this.#config.http.corsOrigins;
    const origin = req.headers.origin;
    if (origins.includes("*")) res.setHeader("access-control-allow-origin", "*");
    else if (origin && origins.includes(origin)) {
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("vary", "origin");
    }
    res.setHeader("access-control-allow-methods", "GET, HEAD, PUT, OPTIONS");
    res.setHeader(
      "access-control-allow-headers",
      "content-type, content-length, range, accept, x-coop-shard-cid",
    );
    res.setHeader(
      "access-control-expose-headers",
      "content-length, content-range, content-type, etag, x-ipfs-path, x-ipfs-roots",
    );
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    this.#cors(req, res);
    const url = new URL(req.url ?? "/", "http://x");
    try {
      if (req.method === "OPTIONS") {
        res.writeHead(204);
        res.end();
        return;
      }
      let pathMatched = false;
      for (const r of this.#routes) {
        const m = r.pattern.exec(url.pathname);
        if (!m) continue;
        pathMatched = true;
        if (r.method !== req.method && !(r.method === "GET" && req.method === "HEAD")) continue;
        await r.handler(req, res, m.slice(1));
        return;
      }
      if (pathMatched)
        throw new HttpError(
          405,
          "method_not_allowed",
          `${req.method} is not allowed on ${url.pathname}`,
        );
      throw new HttpError(404, "not_found", `no route for ${url.pathname}`);
    } catch (e) {
      const err =
        e instanceof HttpError
          ? e
          : new HttpError(500, "internal_error", (e as Error).message ?? String(e));
      if (err.status >= 500)
        this.#log.error({ err: err.message, path: url.pathname }, "request failed");
      else
        this.#log.info(
          { code: err.code, path: url.pathname, status: err.status },
          "request refused",
        );
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Let the client finish sending a small body so it reads the answer; cut a big one off
      // (declared big, or a chunked body that goes on past DRAIN_LIMIT).
      const declared = Number(req.headers["content-length"] ?? 0);
      if (!req.complete && declared > DRAIN_LIMIT) {
        res.setHeader("connection", "close");
        res.on("finish", () => req.destroy());
      } else if (!req.complete) {
        let drained = 0;
        req.on("data", (c: Buffer) => {
          drained += c.length;
          if (drained > DRAIN_LIMIT) req.destroy();
        });
        req.resume();
      }
      sendJson(res, err.status, { code: err.code, message: err.message });
    } finally {
      this.#log.debug(
        {
          method: req.method,
          path: url.pathname,
          status: res.statusCode,
          ms: Date.now() - started,
        },
        "request",
      );
    }
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#config.http.port, this.#config.http.host, () => resolve());
    });
    return this.#server.address() as AddressInfo;
  }

  /** Stops accepting connections and waits for running requests (or `timeoutMs`). */
  async close(timeoutMs = 30_000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const timer = setTimeout(() => this.#server.closeAllConnections(), timeoutMs);
    await closed;
    clearTimeout(timer);
  }
}
