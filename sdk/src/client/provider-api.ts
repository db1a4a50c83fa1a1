// HTTP client of a provider node (docs/provider.md, "HTTP API"): shard and manifest uploads,
// the manifest by its CID, and shards from the trustless gateway, every block checked against
// its CID as it streams. Runs in Node and browsers (fetch only).
import * as dagPb from "@ipld/dag-pb";
import { CarBlockIterator } from "@ipld/car/iterator";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";

import { verifyManifestCid } from "../manifest/index.ts";

/** A provider refused a request (its `{ code, message }`) or could not be reached (`code` "unreachable"). */
export class ProviderRequestError extends Error {
  name = "ProviderRequestError";
  /** The provider's endpoint. */
  readonly endpoint: string;
  /** HTTP status; 0 when the provider was not reached. */
  readonly status: number;
  /** The provider's error code (`not_assigned`, `acceptance_window_closed`, …) or `unreachable`. */
  readonly code: string;

  constructor(endpoint: string, status: number, code: string, message: string, cause?: unknown) {
    super(`${endpoint}: ${message}`, { cause });
    this.endpoint = endpoint;
    this.status = status;
    this.code = code;
  }

  /** A refusal the same provider will repeat (4xx other than 408/409/429): use another provider. */
  get refused(): boolean {
    return (
      (this.status >= 400 && this.status < 500 && ![408, 409, 429].includes(this.status)) ||
      this.code === "over_capacity" ||
      this.code === "disk_full"
    );
  }
}

/**
 * A provider served bytes that are not the shard it was asked for (a block whose hash is not its
 * CID, a DAG that does not match, a cut-short CAR). `shardIndex` names the shard when known.
 */
export class ShardFetchError extends Error {
  name = "ShardFetchError";
  readonly endpoint: string;
  readonly shardIndex: number | undefined;

  constructor(endpoint: string, shardIndex: number | undefined, message: string, cause?: unknown) {
    super(
      `${shardIndex === undefined ? "shard" : `shard ${shardIndex}`} from ${endpoint}: ${message}`,
      {
        cause,
      },
    );
    this.endpoint = endpoint;
    this.shardIndex = shardIndex;
  }
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** fetch to use (tests, custom agents). @default globalThis.fetch */
  fetch?: typeof fetch;
}

function url(endpoint: string, path: string): string {
  return `${endpoint.replace(/\/+$/, "")}${path}`;
}

async function request(
  endpoint: string,
  path: string,
  init: RequestInit,
  options: RequestOptions,
): Promise<Response> {
  const f = options.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await f(url(endpoint, path), { ...init, signal: options.signal });
  } catch (e) {
    if (options.signal?.aborted) throw options.signal.reason ?? e;
    const reason = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    throw new ProviderRequestError(
      endpoint,
      0,
      "unreachable",
      `the provider could not be reached (${reason})`,
      e,
    );
  }
  if (res.ok) return res;
  let code = "http_error";
  let message = `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { code?: unknown; message?: unknown };
    if (typeof body.code === "string") code = body.code;
    if (typeof body.message === "string") message = body.message;
  } catch {
    // not the provider's JSON error: keep the status
  }
  throw new ProviderRequestError(endpoint, res.status, code, message);
}

/** Whether request bodies can be streams here (Node's fetch; browsers need HTTP/2 for it). */
function canStreamBodies(): boolean {
  return (
    typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions
      ?.node === "string"
  );
}

/** What a provider answers to an accepted shard upload. */
export interface PutShardResult {
  dealId: string;
  shard: number;
  cid: string;
  root: string;
  size: number;
  /** The acceptShard transaction. */
  tx: string;
}

export interface PutShardOptions extends RequestOptions {
  /** Called with the bytes sent so far as the body streams. */
  onBytes?: (sent: number) => void;
  /**
   * The shard's UnixFS CID as encoded here (header `x-coop-shard-cid`): the provider refuses the
   * shard (422 cid_mismatch) if its own CID of the bytes differs, before storing anything.
   */
  cid?: string;
}

/**
 * `PUT /deals/{dealId}/shards/{i}`: streams the shard; resolves once the provider has stored it
 * and accepted it on-chain (201). ProviderRequestError with the provider's code otherwise.
 */
export async function putShard(
  endpoint: string,
  dealId: bigint,
  shard: number,
  body: ReadableStream<Uint8Array> | Uint8Array,
  size: number,
  options: PutShardOptions = {},
): Promise<PutShardResult> {
  let sent = 0;
  let payload: BodyInit;
  if (body instanceof Uint8Array) {
    payload = body as Uint8Array<ArrayBuffer>;
  } else if (canStreamBodies()) {
    const counted = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          sent += chunk.length;
          options.onBytes?.(sent);
          controller.enqueue(chunk);
        },
      }),
    );
    payload = counted;
  } else {
    payload = await new Response(body).blob();
  }
  // Browsers: fetch reports no upload progress, XMLHttpRequest does.
  if (!options.fetch && options.onBytes && hasXhr()) {
    const answer = await xhrPut(
      endpoint,
      `/deals/${dealId}/shards/${shard}`,
      payload as Uint8Array<ArrayBuffer> | Blob,
      options,
    );
    options.onBytes(size);
    return answer as PutShardResult;
  }
  const res = await request(
    endpoint,
    `/deals/${dealId}/shards/${shard}`,
    {
      method: "PUT",
      body: payload,
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(size),
        ...(options.cid ? { "x-coop-shard-cid": options.cid } : {}),
      },
      duplex: "half",
      // Node's fetch clones a request that may follow a redirect, and cloning tees a stream
      // body: the unread branch buffered the whole shard (a 4 GiB put peaked at 8.8 GB RSS).
      // No redirects and no window: the body streams through, held by nothing.
      redirect: "error",
      window: null,
    } as RequestInit,
    options,
  );
  options.onBytes?.(size);
  return (await res.json()) as PutShardResult;
}

interface XhrLike {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body: unknown): void;
  abort(): void;
  status: number;
  responseText: string;
  upload: { onprogress: ((ev: { loaded: number }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}

function hasXhr(): boolean {
  return typeof (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest === "function";
}

/**
 * A PUT through XMLHttpRequest (browsers), so the upload's progress is reported; the same
 * errors as `request`: unreachable, or the provider's `{ code, message }`.
 */
function xhrPut(
  endpoint: string,
  path: string,
  body: Uint8Array<ArrayBuffer> | Blob,
  options: PutShardOptions,
): Promise<unknown> {
  const { signal } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const Xhr = (globalThis as unknown as { XMLHttpRequest: new () => XhrLike }).XMLHttpRequest;
    const xhr = new Xhr();
    const onAbort = () => xhr.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const done = () => signal?.removeEventListener("abort", onAbort);
    xhr.open("PUT", url(endpoint, path));
    xhr.setRequestHeader("content-type", "application/octet-stream");
    if (options.cid) xhr.setRequestHeader("x-coop-shard-cid", options.cid);
    xhr.upload.onprogress = (ev) => options.onBytes?.(ev.loaded);
    xhr.onabort = () => {
      done();
      reject(signal?.reason ?? new Error("aborted"));
    };
    xhr.onerror = () => {
      done();
      reject(
        new ProviderRequestError(
          endpoint,
          0,
          "unreachable",
          "the provider could not be reached (network error)",
        ),
      );
    };
    xhr.onload = () => {
      done();
      let parsed: { code?: unknown; message?: unknown } | undefined;
      try {
        parsed = JSON.parse(xhr.responseText) as { code?: unknown; message?: unknown };
      } catch {
        parsed = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(parsed);
      reject(
        new ProviderRequestError(
          endpoint,
          xhr.status,
          typeof parsed?.code === "string" ? parsed.code : "http_error",
          typeof parsed?.message === "string" ? parsed.message : `HTTP ${xhr.status}`,
        ),
      );
    };
    // A Blob, not the bytes: Chromium copies an ArrayBuffer body on the page's thread
    // (seconds for a 20 MiB shard on a busy machine), a Blob's off it.
    xhr.send(body instanceof Blob ? body : new Blob([body]));
  });
}

/**
 * `PUT /deals/{dealId}/manifest`: stores the envelope with a provider of the deal. A provider
 * that already holds it counts as done.
 */
export async function putManifest(
  endpoint: string,
  dealId: bigint,
  envelope: Uint8Array,
  options: RequestOptions = {},
): Promise<void> {
  try {
    await request(
      endpoint,
      `/deals/${dealId}/manifest`,
      {
        method: "PUT",
        body: envelope as Uint8Array<ArrayBuffer>,
        headers: { "content-type": "application/octet-stream" },
      },
      options,
    );
  } catch (e) {
    if (e instanceof ProviderRequestError && e.code === "already_stored") return;
    throw e;
  }
}

/**
 * The manifest envelope by its CID from a provider's gateway, checked against the CID
 * (ManifestCidMismatchError when the provider sends other bytes).
 */
export async function getManifest(
  endpoint: string,
  manifestCid: CID | string,
  options: RequestOptions = {},
): Promise<Uint8Array> {
  const res = await request(
    endpoint,
    `/ipfs/${manifestCid.toString()}?format=raw`,
    { headers: { accept: "application/vnd.ipld.raw" } },
    options,
  );
  const bytes = new Uint8Array(await res.arrayBuffer());
  verifyManifestCid(bytes, manifestCid);
  return bytes;
}

/** Whether a provider's gateway holds a CID (HEAD; false when refused or unreachable). */
export async function holdsCid(
  endpoint: string,
  cid: CID | string,
  options: RequestOptions = {},
): Promise<boolean> {
  try {
    await request(endpoint, `/ipfs/${cid.toString()}?format=raw`, { method: "HEAD" }, options);
    return true;
  } catch (e) {
    if (e instanceof ProviderRequestError) return false;
    throw e;
  }
}

async function* bodyChunks(res: Response): AsyncGenerator<Uint8Array> {
  if (res.body === null) return;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

export interface FetchShardOptions extends RequestOptions {
  /** The shard's index, named in errors. */
  shardIndex?: number;
  /** Called with the shard bytes received so far. */
  onBytes?: (received: number) => void;
}

/**
 * A shard's bytes from a provider's trustless gateway (`GET /ipfs/{cid}?format=car`), verified
 * as they stream: every block's SHA-256 must be its CID and the blocks must be the DAG under
 * `cid` in depth-first order, so no byte comes out that is not the shard's. Errors:
 * ProviderRequestError (refused or unreachable), ShardFetchError (wrong bytes, cut short).
 */
export async function* fetchShard(
  endpoint: string,
  cid: CID | string,
  options: FetchShardOptions = {},
): AsyncGenerator<Uint8Array> {
  const root = typeof cid === "string" ? CID.parse(cid) : cid;
  const res = await request(
    endpoint,
    `/ipfs/${root.toString()}?format=car&dups=y`,
    { headers: { accept: "application/vnd.ipld.car" } },
    options,
  );
  const fail = (message: string, cause?: unknown): ShardFetchError =>
    new ShardFetchError(endpoint, options.shardIndex, message, cause);
  let blocks: CarBlockIterator;
  try {
    blocks = await CarBlockIterator.fromIterable(bodyChunks(res));
  } catch (e) {
    throw fail(`the gateway's answer is not a CAR (${(e as Error).message})`, e);
  }
  // Depth-first: the next block must be the top of the stack; a dag-pb node pushes its links.
  // A gateway sends a repeated leaf once (dups=n): a leaf is kept only while its CID is still
  // on the stack, so memory holds repeats, not the shard (keeping the first 64 leaves held
  // 64 MiB per shard for the whole transfer).
  const stack: CID[] = [];
  const pending = new Map<string, number>(); // CIDs on the stack, with their counts
  const push = (c: CID) => {
    stack.push(c);
    const key = c.toString();
    pending.set(key, (pending.get(key) ?? 0) + 1);
  };
  const pop = (): { cid: CID; key: string; again: boolean } | undefined => {
    const c = stack.pop();
    if (c === undefined) return undefined;
    const key = c.toString();
    const left = pending.get(key)! - 1;
    if (left === 0) pending.delete(key);
    else pending.set(key, left);
    return { cid: c, key, again: left > 0 };
  };
  const seen = new Map<string, Uint8Array>(); // leaves sent that are still due again
  /** The top leaf from those already seen (unless `block` is that leaf: a gateway with dups). */
  const repeat = (block?: CID): Uint8Array | undefined => {
    const top = stack[stack.length - 1];
    if (top === undefined || block?.equals(top)) return undefined;
    const bytes = seen.get(top.toString());
    if (bytes === undefined) return undefined;
    const { key, again } = pop()!;
    if (!again) seen.delete(key);
    return bytes;
  };
  push(root);
  let received = 0;
  const emit = (bytes: Uint8Array): Uint8Array => {
    received += bytes.length;
    options.onBytes?.(received);
    return bytes;
  };
  try {
    for await (const block of blocks) {
      // Leaves the CAR left out as duplicates come from those already seen.
      for (let again = repeat(block.cid); again; again = repeat(block.cid)) yield emit(again);
      const next = pop();
      if (next === undefined) throw fail("the CAR holds blocks beyond the shard's DAG");
      const want = next.cid;
      if (!block.cid.equals(want))
        throw fail(`expected block ${want} next, the gateway sent ${block.cid}`);
      const digest = await sha256.digest(block.bytes);
      if (want.multihash.code !== sha256.code || !equalBytes(digest.digest, want.multihash.digest))
        throw fail(`block ${want} does not hash to its CID (altered data)`);
      if (want.code === raw.code) {
        if (next.again) seen.set(next.key, block.bytes);
        else seen.delete(next.key);
        yield emit(block.bytes);
      } else if (want.code === dagPb.code) {
        const links = dagPb.decode(block.bytes).Links;
        for (let i = links.length - 1; i >= 0; i--) push(links[i]!.Hash);
      } else throw fail(`block ${want} has codec ${want.code}, not raw or dag-pb`);
    }
    for (let again = repeat(); again; again = repeat()) yield emit(again);
  } catch (e) {
    if (e instanceof ShardFetchError || options.signal?.aborted) throw e;
    throw fail(`the transfer failed (${(e as Error).message})`, e);
  }
  if (stack.length > 0) throw fail(`the CAR ended with ${stack.length} block(s) missing`);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
