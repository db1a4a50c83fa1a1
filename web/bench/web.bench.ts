// The web app's figures (`npm run bench -- --only web`), printed as JSON lines { name, value, unit }:
// - the sdk's encodeFile on 256 MiB in headless Chromium over a pool of Web Workers (the sdk's
//   worker entry, bundled with esbuild), beside the same call in Node in the same run (worker
//   threads; native crypto, and the portable code the browser runs), and their ratios;
// - first-load JS of each page: the scripts its HTML loads, gzipped, from a `next build` served
//   by `next start`;
// - a 16 MiB file through the Storage page: chosen (as a drop would), Store clicked, until every
//   shard is accepted (real chain, four providers, the test wallet signing).
// Env: BENCH_WEB_MIB (default 256), BENCH_WEB_PUT_MIB (default 16; 0 skips the put).
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { extname, join } from "node:path";
import { gzipSync } from "node:zlib";

import { type CoopAddresses, connectCoop, faucet } from "@coop-cloud/sdk/client";
import {
  createPipelinePool,
  encodeFile,
  type PipelineImplementation,
} from "@coop-cloud/sdk/pipeline/index.ts";
import { build } from "esbuild";
import { privateKeyToAccount } from "viem/accounts";

import { launchBrowser } from "../test/browser/browser.ts";
import { repoRoot, startStack, webRoot } from "../test/browser/stack.ts";

const MiB = 1024 * 1024;
const total = Number(process.env.BENCH_WEB_MIB ?? 256) * MiB;
const putMiB = Number(process.env.BENCH_WEB_PUT_MIB ?? 16);
const PAGES = ["/", "/storage", "/providers", "/coop", "/governance", "/share"];
const KEY = 16; // Hardhat dev account #16: the web engineers' bench/test range

function report(name: string, value: number, unit: string): void {
  console.log(JSON.stringify({ name, value, unit }));
}
const mbps = (bytes: number, ms: number) => Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** The same pieces as the browser page makes: a 16 MiB random pool, a counter in each piece. */
function* pieces(bytes: number): Generator<Uint8Array> {
  const poolSize = 16 * MiB;
  const pool = new Uint8Array(randomBytes(poolSize + MiB));
  const view = new DataView(pool.buffer);
  let counter = 0;
  for (let off = 0; off < bytes; off += MiB) {
    const at = (off % poolSize) & ~7;
    view.setFloat64(at, counter++);
    yield pool.subarray(at, at + Math.min(MiB, bytes - off));
  }
}

async function nodeEncode(implementation: PipelineImplementation): Promise<number> {
  const pool = createPipelinePool();
  try {
    await encodeFile(pieces(16 * MiB), { workers: pool, implementation });
    const t0 = performance.now();
    await encodeFile(pieces(total), { workers: pool, implementation });
    return performance.now() - t0;
  } finally {
    await pool.close();
  }
}

async function browserEncode(): Promise<{ ms: number; workers: number }> {
  const dir = mkdtempSync(join(tmpdir(), "coop-web-bench-"));
  try {
    const common = {
      bundle: true,
      format: "esm" as const,
      platform: "browser" as const,
      target: "es2023",
      minify: true,
      // Node-only branches of the sdk (worker_threads) are never reached in a page.
      external: ["node:*"],
      absWorkingDir: webRoot,
      logLevel: "error" as const,
    };
    await build({
      ...common,
      entryPoints: [join(webRoot, "bench/encode-page.ts")],
      outfile: join(dir, "page.js"),
    });
    await build({
      ...common,
      entryPoints: [join(repoRoot, "sdk/src/pipeline/workers/web.ts")],
      outfile: join(dir, "worker.js"),
    });
    writeFileSync(
      join(dir, "index.html"),
      '<!doctype html><meta charset="utf-8"><title>encode bench</title><script type="module" src="page.js"></script>',
    );
    const types: Record<string, string> = { ".html": "text/html", ".js": "text/javascript" };
    const server = createServer((req, res) => {
      const name = req.url === "/" ? "index.html" : req.url!.slice(1).split("?")[0]!;
      try {
        const body = readFileSync(join(dir, name.replace(/[^\w.-]/g, "")));
        res.writeHead(200, { "content-type": types[extname(name)] ?? "application/octet-stream" });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    server.listen(3613, "127.0.0.1");
    await once(server, "listening");
    const context = await launchBrowser();
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto("http://127.0.0.1:3613/");
      await page.waitForFunction(() => "runEncode" in window);
      return await page.evaluate(
        (mib) =>
          (
            window as unknown as {
              runEncode(m: number): Promise<{ ms: number; workers: number }>;
            }
          ).runEncode(mib),
        total / MiB,
      );
    } finally {
      await context.close();
      server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Gzipped bytes of the scripts a page's HTML loads (what a first visit downloads before it runs). */
async function firstLoadJs(appUrl: string, path: string): Promise<number | undefined> {
  const res = await fetch(`${appUrl}${path}`);
  if (res.status !== 200) return undefined;
  const html = await res.text();
  // Scripts a modern browser runs: Next's polyfills for old browsers come as <script noModule>.
  const srcs = new Set(
    [...html.matchAll(/<script[^>]*>/g)]
      .map((m) => m[0])
      .filter((tag) => !/\bnomodule\b/i.test(tag))
      .map((tag) => /\bsrc="([^"]+)"/.exec(tag)?.[1])
      .filter((src): src is string => src !== undefined),
  );
  let bytes = 0;
  for (const src of srcs) {
    const js = new Uint8Array(await (await fetch(new URL(src, appUrl))).arrayBuffer());
    bytes += gzipSync(js, { level: 9 }).length;
  }
  return bytes;
}

report(
  "web: machine load average (1 min) as the bench started (2 cores)",
  round2(loadavg()[0]!),
  "",
);
// 1. Encoding: Node first, then the browser, nothing else of ours running.
const label = `${total / MiB} MiB`;
const nativeMs = await nodeEncode("native");
const portableMs = await nodeEncode("portable");
const browser = await browserEncode();
const nodeMbps = mbps(total, nativeMs);
const nodePortableMbps = mbps(total, portableMs);
const browserMbps = mbps(total, browser.ms);
report(`web: encodeFile in Node, native crypto, worker threads (${label})`, nodeMbps, "MB/s");
report(`web: encodeFile in Node, portable code (${label})`, nodePortableMbps, "MB/s");
report(
  `web: encodeFile in headless Chromium, ${browser.workers} Web Workers (${label})`,
  browserMbps,
  "MB/s",
);
report("web: browser encode / Node native", round2(browserMbps / nodeMbps), "ratio");
report("web: browser encode / Node portable", round2(browserMbps / nodePortableMbps), "ratio");

// 2 and 3: the dApp built and served for a local co-op.
const stack = await startStack({ providers: 4 });
try {
  for (const path of PAGES) {
    const bytes = await firstLoadJs(stack.appUrl, path);
    if (bytes !== undefined)
      report(`web: first-load JS of ${path} (gzipped)`, Math.round(bytes / 100) / 10, "kB");
  }

  if (putMiB > 0) {
    const c = await connectCoop({
      rpcUrl: stack.rpcUrl,
      account: privateKeyToAccount(stack.devKey(KEY)),
      addresses: stack.addresses as unknown as CoopAddresses,
    });
    await faucet(c);
    const dir = mkdtempSync(join(tmpdir(), "coop-web-put-"));
    const file = join(dir, "bench.bin");
    writeFileSync(file, randomBytes(putMiB * MiB));
    const { page } = await stack.newContext({ key: KEY });
    await page.goto(`${stack.appUrl}/storage`);
    await page.getByRole("button", { name: "Connect Test Wallet" }).click();
    await page.getByTestId("account").waitFor();
    const t0 = performance.now();
    await page.locator('input[type="file"]').setInputFiles(file);
    const store = page.getByRole("button", { name: "Store file" });
    // The page quotes the price and checks the balance before Store can be clicked.
    for (const until = Date.now() + 60_000; !(await store.isEnabled().catch(() => false));) {
      if (Date.now() > until) throw new Error("Store file stayed disabled for 60 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    await store.click();
    const job = page.getByTestId("upload-job").first();
    await job.waitFor();
    await page.waitForFunction(
      () => {
        const j = document.querySelector('[data-testid="upload-job"]');
        const s = j?.getAttribute("data-status");
        if (s === "failed") throw new Error(j!.textContent ?? "upload failed");
        const shards = [...(j?.querySelectorAll('[data-testid="shard"]') ?? [])];
        return (
          shards.length > 0 && shards.every((e) => e.getAttribute("data-phase") === "accepted")
        );
      },
      undefined,
      { timeout: 600_000, polling: 100 },
    );
    const ms = performance.now() - t0;
    report(
      `web: Storage page, ${putMiB} MiB dropped → every shard accepted`,
      Math.round(ms / 100) / 10,
      "s",
    );
    report(`web: Storage page put rate (${putMiB} MiB)`, mbps(putMiB * MiB, ms), "MB/s");
    rmSync(dir, { recursive: true, force: true });
  }
} finally {
  await stack.stop();
}
