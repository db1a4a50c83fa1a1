// Store a file on the local co-op cloud (`npm start`) and read it back: as the owner, then
// through a share link with no wallet at all.
// Run: node sdk/examples/put-get.ts   (COOP_RPC_URL, COOP_PRIVATE_KEY, COOP_ADDRESSES optional)
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import {
  connectCoop,
  createKeySession,
  createShareLink,
  faucet,
  getFile,
  putFile,
  tokenBalance,
} from "@coop-cloud/sdk/client";
import { createFolderStaging } from "@coop-cloud/sdk/node/staging.ts";
import { privateKeyToAccount } from "viem/accounts";

const rpcUrl = process.env.COOP_RPC_URL ?? "http://127.0.0.1:8545";
// Hardhat's public development account #11: a published test key, never for real money.
const key = (process.env.COOP_PRIVATE_KEY ??
  "0x701b615bbdfb9de65240bc28bd21bbc0d996645a3dd57e7b12bc2bdf6f192c82") as `0x${string}`;
// Contract addresses: those `npm start` exported for the chain, unless given as JSON.
const addresses = process.env.COOP_ADDRESSES ? JSON.parse(process.env.COOP_ADDRESSES) : undefined;

const owner = await connectCoop({ rpcUrl, account: privateKeyToAccount(key), addresses });
if ((await tokenBalance(owner)) === 0n) await faucet(owner); // local test token
const keys = createKeySession(owner); // asks the wallet for one signature, on first use

const data = randomBytes(3 * 1024 * 1024);
const put = await putFile(owner, data, {
  name: "example.bin",
  k: 2, // any 2 of the 4 shards rebuild the file
  n: 4,
  durationEpochs: 100,
  keys,
  staging: createFolderStaging(join(mkdtempSync(join(tmpdir(), "coop-put-")), "staging")),
  onProgress: (p) => {
    if (p.stage === "accepted") console.log(`  shard ${p.shard} accepted by ${p.provider}`);
  },
});
console.log(`stored as deal ${put.dealId} (manifest ${put.manifestCid}), paid ${put.cost.total}`);

const read = async (file: AsyncIterable<Uint8Array>) => {
  const parts: Uint8Array[] = [];
  for await (const part of file) parts.push(part);
  return Buffer.concat(parts);
};
const file = await getFile(owner, { dealId: put.dealId }, { keys });
const ownerCopy = await read(file);
console.log(`${file.manifest.name}: ${ownerCopy.equals(data) ? "read back bit-exact" : "DIFFERS"}`);

const link = await createShareLink(owner, put.dealId, keys);
const anyone = await connectCoop({ rpcUrl, addresses }); // no wallet
const linkCopy = await read(await getFile(anyone, { shareLink: link }));
console.log(`share link: ${linkCopy.equals(data) ? "read without a wallet" : "DIFFERS"}`);
process.exitCode = ownerCopy.equals(data) && linkCopy.equals(data) ? 0 : 1;
