// coop put | get | ls | status | extend | cancel | share: a data owner's files. The data path
// (pipeline, manifests, providers) is loaded when a command runs, not for every coop start.
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { basename, extname, join, resolve } from "node:path";

import type { Command } from "commander";

import type {
  CoopContracts,
  FileInfo,
  GetProgress,
  GetSource,
  PutProgress,
  PutResult,
} from "../../src/client/index.ts";
import { formatAmount, formatBytes, formatDuration, formatTime } from "../../src/client/format.ts";
import { readShardFile } from "../../src/pipeline/node.ts";
import type { Cli } from "../context.ts";
import { CliError, EXIT, usageError } from "../errors.ts";
import { note, table } from "../format.ts";
import { discardPartial, openStaged, pendingPuts, stagingDirFor } from "../journal.ts";
import { Bars } from "../progress.ts";
import { action } from "../run.ts";
import { txNotes } from "./member.ts";

const MIME: Record<string, string> = {
  ".txt": "text/plain",
  ".md": "text/markdown",
  ".csv": "text/csv",
  ".html": "text/html",
  ".json": "application/json",
  ".pdf": "application/pdf",
  ".zip": "application/zip",
  ".gz": "application/gzip",
  ".tar": "application/x-tar",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".svg": "image/svg+xml",
  ".webp": "image/webp",
  ".mp3": "audio/mpeg",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
};

/** The client's data side, loaded on first use. */
async function lib() {
  const [keys, put, get, files] = await Promise.all([
    import("../../src/client/keys.ts"),
    import("../../src/client/put.ts"),
    import("../../src/client/get.ts"),
    import("../../src/client/files.ts"),
  ]);
  return { ...keys, ...put, ...get, ...files };
}

function parseDealId(text: string): bigint {
  if (!/^\d+$/.test(text.trim())) throw usageError(`deal id "${text}" is not a whole number`);
  return BigInt(text.trim());
}

function parsePositive(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw usageError(`${what} "${text}" is not a whole number of at least 1`);
  return n;
}

/** Ctrl-C / SIGTERM abort the running command (a second Ctrl-C exits at once). */
function interruptible(message: string): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const onSignal = () => {
    if (ac.signal.aborted) process.exit(EXIT.interrupted);
    ac.abort(new CliError(EXIT.interrupted, message));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: ac.signal,
    dispose() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

function putProgress(bars: Bars): (p: PutProgress) => void {
  return (p) => {
    switch (p.stage) {
      case "encode":
        bars.update("encode", "encode", p.plaintextBytes, p.totalBytes ?? p.plaintextBytes);
        break;
      case "deal":
        if (p.status === "quote" && p.escrow !== undefined && p.fee !== undefined)
          bars.log(`Deal costs ${formatAmount(p.escrow)} escrow + ${formatAmount(p.fee)} fee`);
        else if (p.status === "sent") bars.log(`createDeal sent (${p.hash})`);
        break;
      case "deal-created":
        bars.log(`Deal ${p.dealId} created; uploading shards`);
        break;
      case "upload":
        bars.update(`shard-${p.shard}`, `shard ${p.shard}`, p.bytes, p.total);
        break;
      case "retry":
        bars.log(
          `shard ${p.shard}: ${p.error}; ${p.delayMs ? `retry in ${(p.delayMs / 1000).toFixed(1)} s` : "another provider will take it"}`,
        );
        break;
      case "reassign":
        bars.log(`shard ${p.shard} moved from ${p.from} to ${p.to} (${p.reason})`);
        break;
      case "accepted":
        bars.log(`shard ${p.shard} accepted by ${p.provider}`);
        break;
      default:
        break;
    }
  };
}

function getProgress(bars: Bars): (p: GetProgress) => void {
  return (p) => {
    switch (p.stage) {
      case "shard":
        bars.update(`shard-${p.shard}`, `shard ${p.shard}`, p.bytes, p.total);
        break;
      case "shard-failed":
        bars.log(`shard ${p.shard} from ${p.endpoint} failed (${p.error}); using another`);
        break;
      case "decode":
        bars.update("decode", "decrypt", p.plaintextBytes, p.totalBytes);
        break;
      default:
        break;
    }
  };
}

function putJson(r: PutResult, extra: Record<string, unknown>) {
  return { ...extra, dealId: r.dealId, manifestCid: r.manifestCid, cost: r.cost, shards: r.shards };
}

function putLines(r: PutResult, name: string): string[] {
  return [
    `Stored ${name} as deal ${r.dealId} (${r.shards.length} shards; paid ${formatAmount(r.cost.total)}).`,
    `Get it back with: coop get ${r.dealId}`,
  ];
}

async function put(cli: Cli, file: string | undefined, o: PutOptions): Promise<void> {
  const { createKeySession, putFile, resumePut } = await lib();
  const c = await cli.connect("required", "coop put");
  const owner = c.account();
  const chainId = await c.publicClient.getChainId();
  const who = { chainId, market: c.addresses.StorageMarket, owner };
  const keys = createKeySession(c);
  const bars = new Bars(cli.g.json);
  const stop = interruptible(
    "put interrupted: run the same coop put again (or coop put --resume) to finish it",
  );
  try {
    if (file === undefined) {
      if (!o.resume) throw usageError("coop put needs a file (or --resume)");
      const pending = await pendingPuts(cli.g.dataDir, who);
      if (pending.length === 0)
        throw new CliError(EXIT.refused, `no interrupted put of ${owner} to resume`);
      const results: { r: PutResult; name: string; size: number }[] = [];
      for (const s of pending) {
        const j = s.journal!;
        bars.log(`Resuming the put of ${j.name}${j.dealId ? ` (deal ${j.dealId})` : ""}`);
        const r = await resumePut(c, j, s.staging, keys, {
          onProgress: putProgress(bars),
          signal: stop.signal,
        });
        results.push({ r, name: j.name, size: j.size });
      }
      bars.stop();
      cli.out(
        { resumed: results.map(({ r, name, size }) => putJson(r, { name, size, resumed: true })) },
        () => results.flatMap(({ r, name }) => putLines(r, name)),
      );
      return;
    }

    const path = resolve(file);
    let st;
    try {
      st = statSync(path);
    } catch {
      throw usageError(`cannot read ${file}: no such file`);
    }
    if (!st.isFile()) throw usageError(`${file} is not a regular file`);
    const dir = stagingDirFor(cli.g.dataDir, who, { path, size: st.size, mtimeMs: st.mtimeMs });
    const staged = await openStaged(dir);
    const name = o.name ?? basename(path);
    let r: PutResult;
    let resumed = false;
    if (staged.journal) {
      resumed = true;
      bars.log(
        `Resuming the interrupted put of ${name}${staged.journal.dealId ? ` (deal ${staged.journal.dealId})` : ""}`,
      );
      r = await resumePut(c, staged.journal, staged.staging, keys, {
        onProgress: putProgress(bars),
        signal: stop.signal,
      });
    } else {
      if (o.resume) throw new CliError(EXIT.refused, `no interrupted put of ${file} to resume`);
      await discardPartial(dir); // shards of an encode that never finished
      const epochs = o.epochs
        ? parsePositive(o.epochs, "--epochs")
        : await epochsFor(c, Number(o.days ?? "30"));
      r = await putFile(c, readShardFile(path), {
        name,
        size: st.size,
        mimeType: o.mimeType ?? MIME[extname(path).toLowerCase()] ?? "application/octet-stream",
        k: o.k === undefined ? undefined : parsePositive(o.k, "-k"),
        n: o.n === undefined ? undefined : parsePositive(o.n, "-n"),
        durationEpochs: epochs,
        keys,
        staging: staged.staging,
        // A pool of its own, which the encode closes when done: the shared pool's idle workers
        // would hold their heaps (~35 MB each) through the whole upload.
        workers: availableParallelism(),
        onProgress: putProgress(bars),
        signal: stop.signal,
      });
    }
    bars.stop();
    cli.out(putJson(r, { name, size: st.size, resumed }), () => putLines(r, name));
  } finally {
    bars.stop();
    stop.dispose();
    keys.forget();
  }
}

/** Whole epochs covering `days` at the market's current epoch length. */
async function epochsFor(c: CoopContracts, days: number): Promise<number> {
  if (!(days > 0)) throw usageError(`--days ${days} is not a positive number`);
  const [, , length] = await c.market.read.epochClock();
  return Math.max(1, Math.ceil((days * 86400) / Number(length)));
}

interface PutOptions {
  resume?: boolean;
  name?: string;
  mimeType?: string;
  k?: string;
  n?: string;
  epochs?: string;
  days?: string;
}

function parseSource(text: string): GetSource {
  const t = text.trim();
  if (/^coop:\/\//i.test(t)) return { shareLink: t };
  if (/^\d+$/.test(t)) return { dealId: BigInt(t) };
  return { manifestCid: t };
}

async function get(cli: Cli, what: string, o: { output?: string; force?: boolean }): Promise<void> {
  if (o.output === "-" && cli.g.json)
    throw usageError("-o - writes the file to stdout, so --json cannot: choose one");
  const source = parseSource(what);
  const { createKeySession, getFile } = await lib();
  const c = await cli.connect("shareLink" in source ? "none" : "required", "coop get");
  const keys = "shareLink" in source ? undefined : createKeySession(c);
  const bars = new Bars(cli.g.json || o.output === "-");
  const stop = interruptible("get interrupted: nothing was kept; run it again");
  let tmp: string | undefined;
  let fh: FileHandle | undefined;
  // A shard whose gateway fails is asked for over bitswap (libp2p loads only then).
  const { createBitswapFallback } = await import("../../src/node/bitswap.ts");
  const fallback = createBitswapFallback();
  try {
    const file = await getFile(c, source, {
      keys,
      onProgress: getProgress(bars),
      signal: stop.signal,
      fallback,
      // Decoded on this thread: a get waits on the providers, not on decoding, and a worker's
      // isolate and the buffers handed to it cost ~100 MB (512 MiB rebuilt from a parity
      // shard: 150-159 MB peak RSS and 346-406 MB/s inline, 253 MB and 256-263 MB/s with one
      // worker, alternating runs; a second worker cost ~50 MB more).
      workers: 0,
    });
    const m = file.manifest;
    const hash = createHash("sha256");
    let target: string | undefined;
    if (o.output !== "-") {
      target = resolve(o.output ?? m.name);
      let isDir = false;
      try {
        isDir = statSync(target).isDirectory();
      } catch {
        /* a new file */
      }
      if (isDir) target = join(target, m.name);
      let exists = false;
      try {
        statSync(target);
        exists = true;
      } catch {
        /* free */
      }
      if (exists && !o.force)
        throw usageError(
          `${target} already exists: pass --force to replace it, or -o another path`,
        );
      tmp = `${target}.coop-part-${process.pid}`;
      fh = await open(tmp, "w");
    }
    let written = 0;
    for await (const piece of file) {
      hash.update(piece);
      written += piece.length;
      if (fh) {
        let off = 0;
        while (off < piece.length)
          off += (await fh.write(piece, off, piece.length - off)).bytesWritten;
      } else if (!process.stdout.write(piece))
        await new Promise((r) => process.stdout.once("drain", r));
    }
    if (fh) {
      await fh.close();
      fh = undefined;
      await rename(tmp!, target!);
      tmp = undefined;
    }
    bars.stop();
    if (o.output === "-") return;
    const result = {
      path: target,
      name: m.name,
      size: written,
      mimeType: m.mimeType,
      sha256: hash.digest("hex"),
      manifestCid: file.manifestCid,
      dealId: file.dealId,
    };
    cli.out(result, () => [`Saved ${m.name} (${formatBytes(written)}) to ${target}`]);
  } finally {
    bars.stop();
    stop.dispose();
    keys?.forget();
    await fh?.close().catch(() => undefined);
    if (tmp) await rm(tmp, { force: true });
    await fallback.close();
  }
}

function expiry(f: FileInfo): string {
  if (f.cancelled) return `cancelled, ends epoch ${f.endEpoch}`;
  if (f.expired) return "expired";
  return formatTime(f.expiresAt);
}

function statusLines(f: FileInfo): string[] {
  return [
    `Deal ${f.dealId}: ${f.name ?? "(name unknown)"}${f.size === undefined ? "" : `, ${formatBytes(f.size)}`}${f.mimeType ? `, ${f.mimeType}` : ""}`,
    ...(f.manifestError ? [`Manifest not opened: ${f.manifestError}`] : []),
    `Owner ${f.owner}; manifest ${f.manifestCid}`,
    `Epochs ${f.startEpoch} to ${f.endEpoch} (now ${f.currentEpoch}); ${f.expired ? "expired" : `ends ${formatTime(f.expiresAt)}`}${f.cancelled ? " (cancelled)" : ""}`,
    `Paid ${formatAmount(f.cost.total)} (escrow ${formatAmount(f.cost.escrow)}, fee ${formatAmount(f.cost.fee)})${f.cost.refunded ? `; refunded ${formatAmount(f.cost.refunded)}` : ""}`,
    `Shards: ${f.healthyShards} of ${f.n} healthy, any ${f.k} rebuild the file (${formatBytes(f.shardSize)} each)`,
    ...table(
      ["shard", "provider", "status", "proven epochs"],
      f.shards.map((s) => [
        String(s.index),
        s.provider,
        s.repairing ? "lost, being repaired" : s.lost ? "lost" : s.status,
        String(s.provenEpochs),
      ]),
    ).map((l) => `  ${l}`),
  ];
}

export function registerFiles(program: Command): void {
  program
    .command("put")
    .description(
      "store a file: encrypt, erasure-code, pay the deal, upload the shards (an interrupted put resumes when run again)",
    )
    .argument("[file]", "the file to store")
    .option("--resume", "finish interrupted puts (of this file, or every one without a file)")
    .option("--days <days>", "how long to store it, in days at the current epoch length", "30")
    .option("--epochs <epochs>", "how long to store it, in epochs (instead of --days)")
    .option("-k <k>", "data shards: any k of n rebuild the file (default n - 2)")
    .option("-n <n>", "shards, each on another provider (default: up to 6)")
    .option("--name <name>", "the name stored in the encrypted manifest (default: the file's)")
    .option("--mime-type <type>", "the file's media type (default: from its extension)")
    .action(action((cli, file: string | undefined, o: PutOptions) => put(cli, file, o)));

  program
    .command("get")
    .description("fetch, verify and decrypt a file by deal id, manifest CID or share link")
    .argument("<source>", "a deal id, a manifest CID, or a coop:// share link (no wallet needed)")
    .option("-o, --output <path>", "where to write it (a file, a folder, or - for stdout)")
    .option("-f, --force", "replace an existing file")
    .action(
      action((cli, what: string, o: { output?: string; force?: boolean }) => get(cli, what, o)),
    );

  program
    .command("ls")
    .description("your files (from the chain, so any machine with the wallet sees them all)")
    .action(
      action(async (cli) => {
        const { createKeySession, listFiles } = await lib();
        const c = await cli.connect("required", "coop ls");
        const keys = createKeySession(c);
        const files = await listFiles(c, keys);
        keys.forget();
        cli.out({ files }, () =>
          files.length === 0
            ? ["No files yet: coop put <file>"]
            : table(
                ["deal", "name", "size", "until", "shards ok"],
                files.map((f) => [
                  String(f.dealId),
                  f.name ?? "(manifest unavailable)",
                  f.size === undefined ? "?" : formatBytes(f.size),
                  expiry(f),
                  `${f.healthyShards}/${f.n} (need ${f.k})`,
                ]),
              ),
        );
      }),
    );

  program
    .command("status")
    .description("a deal's state: expiry, cost, each shard's provider and health")
    .argument("<dealId>", "the deal id")
    .action(
      action(async (cli, id: string) => {
        const dealId = parseDealId(id);
        const { createKeySession, fileStatus } = await lib();
        const c = await cli.connect("optional", "coop status");
        const keys = c.walletClient ? createKeySession(c) : undefined;
        const f = await fileStatus(c, dealId, keys);
        keys?.forget();
        cli.out(f, () => statusLines(f));
      }),
    );

  program
    .command("extend")
    .description("pay for more epochs of a file")
    .argument("<dealId>", "the deal id")
    .argument("<epochs>", "epochs to add")
    .action(
      action(async (cli, id: string, epochs: string) => {
        const dealId = parseDealId(id);
        const n = parsePositive(epochs, "epochs");
        const { extendFile } = await lib();
        const c = await cli.connect("required", "coop extend");
        const r = await extendFile(c, dealId, n, txNotes(cli));
        const [, , length] = await c.market.read.epochClock();
        cli.out(
          {
            dealId,
            epochs: n,
            escrow: r.escrow,
            fee: r.fee,
            endEpoch: r.endEpoch,
            tx: r.receipt.transactionHash,
          },
          () => [
            `Deal ${dealId} extended by ${n} epochs (about ${formatDuration(BigInt(n) * BigInt(length))}) to epoch ${r.endEpoch}; paid ${formatAmount(r.escrow + r.fee)}.`,
          ],
        );
      }),
    );

  program
    .command("cancel")
    .description("end a file's deal after the current epoch and get the unused escrow back")
    .argument("<dealId>", "the deal id")
    .option("--no-withdraw", "leave the refund on the market instead of withdrawing it")
    .action(
      action(async (cli, id: string, o: { withdraw: boolean }) => {
        const dealId = parseDealId(id);
        const { cancelFile } = await lib();
        const c = await cli.connect("required", "coop cancel");
        const r = await cancelFile(c, dealId, { withdraw: o.withdraw, ...txNotes(cli) });
        cli.out(
          {
            dealId,
            refund: r.refund,
            endEpoch: r.endEpoch,
            withdrawn: r.withdrawn,
            tx: r.receipt.transactionHash,
          },
          () => [
            `Deal ${dealId} cancelled: it ends at epoch ${r.endEpoch}; ${formatAmount(r.refund)} of escrow refunded${r.withdrawn ? `, ${formatAmount(r.withdrawn)} withdrawn to your wallet` : ""}.`,
          ],
        );
      }),
    );

  program
    .command("share")
    .description("a link that lets anyone read this one file, without a wallet (cannot be revoked)")
    .argument("<dealId>", "the deal id")
    .action(
      action(async (cli, id: string) => {
        const dealId = parseDealId(id);
        const { createKeySession, createShareLink } = await lib();
        const c = await cli.connect("required", "coop share");
        const keys = createKeySession(c);
        const link = await createShareLink(c, dealId, keys);
        keys.forget();
        if (!cli.g.json)
          note(
            "Anyone with this link can read the file, for as long as it is stored; a link cannot be revoked.",
          );
        cli.out({ dealId, link }, () => [link]);
      }),
    );
}
