// Trustless gateway (IPIP-402 subset) over the node's own blockstore: GET/HEAD /ipfs/{cid} with
// ?format=raw (one block) or ?format=car (the whole DAG, depth-first, no duplicates), and the
// deserialized file bytes with Range otherwise. Only local blocks are served: never a network
// fetch on a client's behalf.
import type { IncomingMessage, ServerResponse } from "node:http";

import * as dagPb from "@ipld/dag-pb";
import { unixfs } from "@helia/unixfs";
import { CarWriter } from "@ipld/car/writer";
import { CID } from "multiformats/cid";

import { HttpError } from "../errors.ts";
import type { IpfsNode } from "../ipfs/node.ts";
import type { Metrics } from "../metrics.ts";
import type { ShardStore } from "../store/shards.ts";
import type { HttpServer } from "./server.ts";

async function readBlock(ipfs: IpfsNode, cid: CID): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of ipfs.blockstore.get(cid)) chunks.push(c);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/** Blocks of a DAG in depth-first order, each once. */
async function* walk(ipfs: IpfsNode, root: CID): AsyncGenerator<{ cid: CID; bytes: Uint8Array }> {
  const seen = new Set<string>();
  const stack = [root];
  while (stack.length) {
    const cid = stack.pop() as CID;
    const k = cid.toString();
    if (seen.has(k)) continue;
    seen.add(k);
    const bytes = await readBlock(ipfs, cid);
    yield { cid, bytes };
    if (cid.code === dagPb.code) {
      const links = dagPb.decode(bytes).Links;
      for (let i = links.length - 1; i >= 0; i--) stack.push(links[i].Hash);
    }
  }
}

function pickFormat(req: IncomingMessage, url: URL): "raw" | "car" | "file" {
  const f = url.searchParams.get("format");
  if (f === "raw" || f === "car") return f;
  if (f !== null && f !== "")
    throw new HttpError(400, "bad_request", `format=${f} is not served (raw or car)`);
  const accept = req.headers.accept ?? "";
  if (accept.includes("application/vnd.ipld.raw")) return "raw";
  if (accept.includes("application/vnd.ipld.car")) return "car";
  return "file";
}

function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === ""))
    throw new HttpError(416, "bad_range", `unsupported Range ${header}`);
  let start: number;
  let end: number;
  if (m[1] === "") {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size)
    throw new HttpError(416, "bad_range", `Range ${header} is outside 0..${size - 1}`);
  return { start, end };
}

export function mountGateway(
  http: HttpServer,
  ipfs: IpfsNode,
  _store: ShardStore,
  metrics: Metrics,
): void {
  const fs = unixfs(ipfs.helia);
  http.route("GET", /^\/ipfs\/([^/]+)$/, async (req: IncomingMessage, res: ServerResponse, [c]) => {
    const url = new URL(req.url ?? "/", "http://x");
    let cid: CID;
    try {
      cid = CID.parse(c);
    } catch {
      throw new HttpError(400, "bad_request", `${c} is not a CID`);
    }
    const format = pickFormat(req, url);
    if (!(await ipfs.blockstore.has(cid)))
      throw new HttpError(404, "not_found", `${cid} is not held here`);
    const head = req.method === "HEAD";
    const common = {
      etag: `"${cid}.${format}"`,
      "x-ipfs-path": `/ipfs/${cid}`,
      "cache-control": "public, max-age=29030400, immutable",
    };
    if (format === "raw") {
      const bytes = await readBlock(ipfs, cid);
      res.writeHead(200, {
        ...common,
        "content-type": "application/vnd.ipld.raw",
        "content-length": bytes.length,
        "x-content-type-options": "nosniff",
      });
      if (!head) {
        metrics.gatewayBytes.inc({ format: "raw" }, bytes.length);
        res.end(bytes);
      } else res.end();
      return;
    }
    if (format === "car") {
      res.writeHead(200, {
        ...common,
        "content-type": "application/vnd.ipld.car; version=1; order=dfs; dups=n",
        "x-ipfs-roots": cid.toString(),
      });
      if (head) {
        res.end();
        return;
      }
      const { writer, out } = CarWriter.create([cid]);
      const pump = (async () => {
        for await (const chunk of out) {
          metrics.gatewayBytes.inc({ format: "car" }, chunk.length);
          if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
        }
      })();
      try {
        for await (const block of walk(ipfs, cid)) await writer.put(block);
      } finally {
        await writer.close();
      }
      await pump;
      res.end();
      return;
    }
    const stat = await fs.stat(cid, { offline: true });
    const size = Number(stat.type === "directory" ? 0 : stat.size);
    const range = parseRange(req.headers.range, size);
    const start = range?.start ?? 0;
    const length = range ? range.end - range.start + 1 : size;
    res.writeHead(range ? 206 : 200, {
      ...common,
      etag: `"${cid}"`,
      "content-type": "application/octet-stream",
      "content-length": length,
      "accept-ranges": "bytes",
      ...(range ? { "content-range": `bytes ${range.start}-${range.end}/${size}` } : {}),
    });
    if (head || length === 0) {
      res.end();
      return;
    }
    for await (const chunk of fs.cat(cid, { offset: start, length, offline: true })) {
      metrics.gatewayBytes.inc({ format: "file" }, chunk.length);
      if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
    }
    res.end();
  });
}
