// The CLI's wallet: a Web3 v3 keystore (scrypt + AES) in the data folder, opened with
// COOP_PASSWORD or a prompt; or a key from COOP_PRIVATE_KEY. The key is never written in clear.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { type Address, type Hex, getAddress, isHex } from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";

import { KeystoreError, decryptKeystore, encryptKeystore } from "../src/node/keystore.ts";
import { usageError, walletError } from "./errors.ts";
import { promptHidden } from "./prompt.ts";

/** The keystore file in a data folder. */
export const keystorePath = (dataDir: string) => join(dataDir, "keystore.json");

/** A 0x-prefixed 32-byte hex key from user input (0x optional, whitespace ignored). */
export function parsePrivateKey(text: string, where: string): Hex {
  const t = text.trim();
  const key = (t.startsWith("0x") ? t : `0x${t}`).toLowerCase();
  if (!isHex(key) || key.length !== 66)
    throw walletError(`${where} is not a private key: give 64 hex digits (0x optional)`);
  return key;
}

/** The keystore's address without opening it (the v3 format stores it in clear). */
export function keystoreAddress(dataDir: string): Address | undefined {
  const file = keystorePath(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    const { address } = JSON.parse(readFileSync(file, "utf8")) as { address?: string };
    return address ? getAddress(`0x${address.replace(/^0x/, "")}`) : undefined;
  } catch (e) {
    throw walletError(`the keystore ${file} is not valid JSON: restore it from a backup`, e);
  }
}

/** The keystore password: COOP_PASSWORD, else a hidden prompt (twice when creating one). */
export async function readPassword(purpose: "open" | "create", address?: Address): Promise<string> {
  const env = process.env.COOP_PASSWORD;
  if (env !== undefined) {
    if (purpose === "create" && env === "")
      throw walletError("COOP_PASSWORD is empty: choose a password for the keystore");
    return env;
  }
  if (purpose === "open")
    return promptHidden(`Password for wallet ${address ?? ""}: `, "password (COOP_PASSWORD)");
  const first = await promptHidden("New wallet password: ", "password (COOP_PASSWORD)");
  if (first === "") throw walletError("an empty password protects nothing: choose one");
  const second = await promptHidden("Repeat the password: ", "password (COOP_PASSWORD)");
  if (first !== second) throw walletError("the two passwords differ: run the command again");
  return first;
}

/** Encrypts `key` into the data folder's keystore; refuses to overwrite an existing wallet. */
export async function saveKeystore(dataDir: string, key: Hex, kdfN: number): Promise<Address> {
  const file = keystorePath(dataDir);
  const existing = keystoreAddress(dataDir);
  if (existing)
    throw walletError(
      `${file} already holds wallet ${existing}: move that file away first, or use another --data-dir`,
    );
  if (!Number.isInteger(kdfN) || kdfN < 2 || (kdfN & (kdfN - 1)) !== 0)
    throw usageError(`--kdf-n ${kdfN} is not a power of two: use e.g. 262144`);
  const password = await readPassword("create");
  const ks = encryptKeystore(key, password, { n: kdfN });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Written beside and renamed, so an interrupted write never leaves half a keystore.
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(ks, null, 2) + "\n", { mode: 0o600 });
  renameSync(tmp, file);
  return getAddress(`0x${ks.address}`);
}

/** Where the wallet came from, for `wallet address`. */
export interface WalletInfo {
  address: Address;
  source: "env" | "keystore";
  keystore?: string;
}

/** The wallet in use without unlocking it: COOP_PRIVATE_KEY first, then the keystore. */
export function walletInfo(dataDir: string): WalletInfo | undefined {
  const env = process.env.COOP_PRIVATE_KEY;
  if (env)
    return {
      address: privateKeyToAccount(parsePrivateKey(env, "COOP_PRIVATE_KEY")).address,
      source: "env",
    };
  const address = keystoreAddress(dataDir);
  return address ? { address, source: "keystore", keystore: keystorePath(dataDir) } : undefined;
}

/**
 * The unlocked wallet, or undefined when there is none (COOP_PRIVATE_KEY, then the keystore).
 * `optional`: a keystore that cannot be unlocked without asking (no COOP_PASSWORD, no
 * terminal) is skipped instead of being an error.
 */
export async function loadAccount(
  dataDir: string,
  options: { optional?: boolean } = {},
): Promise<PrivateKeyAccount | undefined> {
  const env = process.env.COOP_PRIVATE_KEY;
  if (env) return privateKeyToAccount(parsePrivateKey(env, "COOP_PRIVATE_KEY"));
  const file = keystorePath(dataDir);
  const address = keystoreAddress(dataDir);
  if (!address) return undefined;
  if (options.optional && process.env.COOP_PASSWORD === undefined && !process.stdin.isTTY)
    return undefined;
  const password = await readPassword("open", address);
  try {
    return privateKeyToAccount(decryptKeystore(JSON.parse(readFileSync(file, "utf8")), password));
  } catch (e) {
    if (e instanceof KeystoreError && /password/.test(e.message))
      throw walletError(`wrong password for the wallet in ${file}: check COOP_PASSWORD`, e);
    throw walletError(`cannot open the keystore ${file}: ${(e as Error).message}`, e);
  }
}

/** Like loadAccount, but a missing wallet is an error that says how to get one. */
export async function requireAccount(dataDir: string, what: string): Promise<PrivateKeyAccount> {
  const account = await loadAccount(dataDir);
  if (!account)
    throw walletError(
      `${what} needs a wallet: create one (coop wallet new), import one (coop wallet import) or set COOP_PRIVATE_KEY`,
    );
  return account;
}
