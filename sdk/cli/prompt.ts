// Reading secrets: a hidden prompt on a terminal, or all of stdin when it is piped.
import { CliError, EXIT, walletError } from "./errors.ts";

/** Reads a line from the terminal without echoing it; WalletError when there is no terminal. */
export function promptHidden(question: string, what: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY || !process.stderr.isTTY)
    return Promise.reject(
      walletError(`no ${what} given and no terminal to ask on: set it in the environment`),
    );
  process.stderr.write(question);
  input.setRawMode(true);
  input.setEncoding("utf8");
  input.resume();
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = () => {
      input.setRawMode(false);
      input.pause();
      input.off("data", onData);
      process.stderr.write("\n");
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") {
          finish();
          resolve(value);
          return;
        }
        if (ch === "\u0003") {
          finish();
          reject(new CliError(EXIT.interrupted, "interrupted"));
          return;
        }
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else if (ch >= " ") value += ch;
      }
    };
    input.on("data", onData);
  });
}

/** All of stdin as text (for a key piped in), or undefined when stdin is a terminal. */
export async function readStdin(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
