// coop wallet new | import | address: the encrypted keystore in the data folder.
import type { Command } from "commander";
import { generatePrivateKey } from "viem/accounts";

import { walletError } from "../errors.ts";
import { promptHidden, readStdin } from "../prompt.ts";
import { action } from "../run.ts";
import { keystorePath, parsePrivateKey, saveKeystore, walletInfo } from "../wallet.ts";

const KDF_N_HELP = "scrypt cost of the keystore, a power of two (lower only for test wallets)";

export function registerWallet(program: Command): void {
  const wallet = program
    .command("wallet")
    .description("your wallet: an encrypted keystore in the data folder");

  wallet
    .command("new")
    .description(
      "create a new key and store it encrypted (password from COOP_PASSWORD or a prompt)",
    )
    .option("--kdf-n <n>", KDF_N_HELP, "262144")
    .action(
      action(async (cli, o: { kdfN: string }) => {
        const address = await saveKeystore(cli.g.dataDir, generatePrivateKey(), Number(o.kdfN));
        const keystore = keystorePath(cli.g.dataDir);
        cli.out({ address, keystore }, () => [
          `New wallet ${address}`,
          `Encrypted keystore: ${keystore} (back it up; without it and the password the key is lost)`,
        ]);
      }),
    );

  wallet
    .command("import")
    .description(
      "store an existing key encrypted: read from COOP_PRIVATE_KEY, from stdin when piped, or a hidden prompt",
    )
    .option("--kdf-n <n>", KDF_N_HELP, "262144")
    .action(
      action(async (cli, o: { kdfN: string }) => {
        let text = process.env.COOP_PRIVATE_KEY;
        let where = "COOP_PRIVATE_KEY";
        if (!text) {
          where = "the key on stdin";
          text = (await readStdin()) ?? (await promptHidden("Private key (hex): ", "private key"));
        }
        if (!text.trim())
          throw walletError("no private key given: pipe it in or type it at the prompt");
        const address = await saveKeystore(
          cli.g.dataDir,
          parsePrivateKey(text, where),
          Number(o.kdfN),
        );
        const keystore = keystorePath(cli.g.dataDir);
        cli.out({ address, keystore }, () => [
          `Imported wallet ${address}`,
          `Encrypted keystore: ${keystore}`,
        ]);
      }),
    );

  wallet
    .command("address")
    .description(
      "print the wallet's address (COOP_PRIVATE_KEY if set, else the keystore; no password needed)",
    )
    .action(
      action(async (cli) => {
        const info = walletInfo(cli.g.dataDir);
        if (!info)
          throw walletError(
            `no wallet in ${cli.g.dataDir}: create one (coop wallet new), import one (coop wallet import) or set COOP_PRIVATE_KEY`,
          );
        cli.out(info, () => [
          info.address,
          ...(info.source === "env"
            ? ["(from COOP_PRIVATE_KEY)"]
            : [`(keystore ${info.keystore})`]),
        ]);
      }),
    );
}
