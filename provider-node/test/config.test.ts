// Configuration and keys, without a chain: one clear sentence for a bad setting, and the
// keystore round trip.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { generatePrivateKey } from "viem/accounts";
import { describe, expect, it } from "vitest";

import { loadConfig } from "../src/config.ts";
import { decryptKeystore, encryptKeystore } from "@coop-cloud/sdk/node/keystore.ts";
import { repoRoot } from "./fixtures/chain.ts";

const run = promisify(execFile);
const good = {
  chain: {
    rpcUrl: "http://127.0.0.1:8545",
    market: `0x${"1".repeat(40)}`,
    token: `0x${"2".repeat(40)}`,
    membership: `0x${"3".repeat(40)}`,
  },
};

function dataDirWith(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "coop-config-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

describe("config", () => {
  it("merges file, environment and flags (flags win) and fills the defaults", () => {
    const dir = dataDirWith({ ...good, http: { port: 9000 } });
    const c = loadConfig({
      env: { COOP_PROVIDER_DATA_DIR: dir, COOP_PROVIDER_HTTP_PORT: "9100" },
      overrides: { "log.level": "debug" },
    });
    expect(c.http.port).toBe(9100);
    expect(c.log.level).toBe("debug");
    expect(c.ipfs.mode).toBe("local");
    expect(c.prover.cacheLevel).toBe(6);
    expect(c.wallet.keystore).toBe(join(dir, "wallet.json"));
  });

  const bad: [string, Record<string, unknown>, string][] = [
    [
      "a port out of range",
      { ...good, http: { port: 70000 } },
      "Invalid configuration: http.port must be a port number from 0 to 65535.",
    ],
    [
      "a malformed address",
      { ...good, chain: { ...good.chain, market: "0x1234" } },
      "Invalid configuration: chain.market must be a 0x-prefixed 20-byte hex address.",
    ],
    [
      "an unknown mode",
      { ...good, ipfs: { mode: "lan" } },
      'Invalid configuration: ipfs.mode must be "local" or "public".',
    ],
    [
      "a missing field",
      { chain: { ...good.chain, rpcUrl: undefined } },
      "Invalid configuration: chain.rpcUrl is required.",
    ],
    [
      "an unknown setting",
      { ...good, htttp: {} },
      "Invalid configuration: htttp is not a known setting.",
    ],
  ];
  for (const [what, config, message] of bad)
    it(`stops on ${what} with one sentence naming the field`, async () => {
      const dir = dataDirWith(config);
      const err = await run(
        join(repoRoot, "node_modules/.bin/node"),
        [join(repoRoot, "provider-node/src/cli.ts"), "start", "--data-dir", dir],
        {
          env: { ...process.env, COOP_PROVIDER_PASSWORD: "x" },
        },
      ).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(err?.code).toBe(1);
      expect(err?.stderr.trim()).toBe(message);
    });
});

describe("keystore", () => {
  it("round-trips a key and refuses a wrong password", () => {
    const key = generatePrivateKey();
    const ks = encryptKeystore(key, "correct horse", { n: 1024 });
    expect(ks.version).toBe(3);
    expect(decryptKeystore(JSON.parse(JSON.stringify(ks)), "correct horse")).toBe(key);
    expect(() => decryptKeystore(ks, "wrong")).toThrow(/wrong password/);
  });
});
