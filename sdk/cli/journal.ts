// Where `coop put` stages shards and keeps its journal: <data-dir>/puts/<key>/, one folder per
// (wallet, market, file path, size, mtime), so running the same put again resumes it and
// `coop put --resume` finds every interrupted put. The journal holds no key (put.ts).
import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";

import type { Address } from "viem";

import type { PutJournal, ShardStaging } from "../src/client/index.ts";
import { createFolderStaging } from "../src/node/staging.ts";

export interface StagedPut {
  dir: string;
  staging: ShardStaging;
  journal: PutJournal | undefined;
}

/** The staging folder of one file's put for this wallet on this market. */
export function stagingDirFor(
  dataDir: string,
  who: { chainId: number; market: Address; owner: Address },
  file: { path: string; size: number; mtimeMs: number },
): string {
  const key = createHash("sha256")
    .update(
      JSON.stringify([
        who.chainId,
        who.market.toLowerCase(),
        who.owner.toLowerCase(),
        file.path,
        file.size,
        Math.floor(file.mtimeMs),
      ]),
    )
    .digest("hex")
    .slice(0, 24);
  return join(dataDir, "puts", key);
}

/** Opens a staging folder with its journal, if any. */
export async function openStaged(dir: string): Promise<StagedPut> {
  const staging = createFolderStaging(dir);
  return { dir, staging, journal: await staging.loadJournal() };
}

/** A staging folder left by a put interrupted before its journal was written: nothing to keep. */
export async function discardPartial(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Every interrupted put of `owner` on `market` (journal present), oldest first. */
export async function pendingPuts(
  dataDir: string,
  who: { chainId: number; market: Address; owner: Address },
): Promise<StagedPut[]> {
  const root = join(dataDir, "puts");
  if (!existsSync(root)) return [];
  const dirs = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(root, d.name))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
  const out: StagedPut[] = [];
  for (const dir of dirs) {
    const s = await openStaged(dir);
    const j = s.journal;
    if (
      j &&
      j.chainId === who.chainId &&
      j.market.toLowerCase() === who.market.toLowerCase() &&
      j.owner.toLowerCase() === who.owner.toLowerCase()
    )
      out.push(s);
  }
  return out;
}
