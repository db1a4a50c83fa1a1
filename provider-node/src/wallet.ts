// The wallet key, opened from the data folder's encrypted keystore.
import { readFileSync } from "node:fs";

import type { Hex } from "viem";

import { readPassword, type ProviderConfig } from "./config.ts";
import { decryptKeystore } from "@coop-cloud/sdk/node/keystore.ts";

export function loadWalletKey(config: ProviderConfig): Hex {
  const json = JSON.parse(readFileSync(config.wallet.keystore as string, "utf8")) as unknown;
  return decryptKeystore(json, readPassword(config));
}
