// Exit codes and the one place that turns any error into one sentence and a code.
import { BaseError, HttpRequestError, TimeoutError } from "viem";

/** The documented exit codes of `coop` (docs/cli.md, "Exit codes"). */
export const EXIT = {
  ok: 0,
  /** Unknown command, bad flag or argument. */
  usage: 1,
  /** The chain or a contract refused (a revert, not a member, not enough tokens…). */
  refused: 2,
  /** Data could not be verified or decrypted (wrong key, tampered or missing shards, bad link). */
  data: 3,
  /** The chain's RPC or the providers could not be reached. */
  network: 4,
  /** No wallet, wrong password or an unreadable keystore. */
  wallet: 5,
  /** Interrupted (Ctrl-C); `coop put` resumes where it stopped. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI raises itself, with its exit code and a sentence that says what to do. */
export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: ExitCode;
  constructor(exitCode: ExitCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** A bad argument or flag value (exit code 1). */
export const usageError = (message: string) => new CliError(EXIT.usage, message);
/** Something about the wallet (exit code 5). */
export const walletError = (message: string, cause?: unknown) =>
  new CliError(EXIT.wallet, message, { cause });

// Error classes by name (callers branch on `name`, which the sdk keeps stable), so the CLI does
// not need to import every module to classify what it throws.
const DATA_ERRORS = new Set([
  "WrongKeyError",
  "TamperedDataError",
  "TruncatedDataError",
  "ExtendedDataError",
  "UnsupportedFormatError",
  "InvalidManifestError",
  "InvalidShareLinkError",
  "ManifestCidMismatchError",
  "ShardMismatchError",
  "NotEnoughShardsError",
  "InvalidFormatError",
  "InvalidKeySignatureError",
  "MemoryLimitError",
  "ShardFetchError",
  "NonDeterministicWalletError",
  "NotFileOwnerError",
]);
const WALLET_ERRORS = new Set(["NoWalletError", "KeystoreError"]);
const NETWORK_ERRORS = new Set(["HttpRequestError", "TimeoutError", "RpcUnreachableError"]);
const REFUSED_ERRORS = new Set([
  "ContractCallError",
  "NotEnoughProvidersError",
  "UnknownNetworkError",
  "WrongNetworkError",
  "ContractsNotDeployedError",
  "InsufficientFundsError",
  "InvalidParametersError",
  "UnknownDealError",
  "PutFailedError",
]);

/** The error and its causes, outermost first (viem's `walk` plus plain `cause` chains). */
function chain(e: unknown): unknown[] {
  const out: unknown[] = [];
  let cur: unknown = e;
  while (cur && out.length < 12 && !out.includes(cur)) {
    out.push(cur);
    cur = (cur as { cause?: unknown }).cause;
  }
  return out;
}

const codeOf = (x: unknown) => (x as { code?: unknown })?.code;
const NET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EHOSTUNREACH", "ETIMEDOUT"]);

/** A provider that was not reached at all (its requests carry HTTP status 0). */
const unreachableProvider = (x: unknown) =>
  (x as Error)?.name === "ProviderRequestError" && (x as { status?: number }).status === 0;

function isNetwork(e: unknown): boolean {
  return chain(e).some(
    (x) =>
      x instanceof HttpRequestError ||
      unreachableProvider(x) ||
      x instanceof TimeoutError ||
      NETWORK_ERRORS.has((x as Error)?.name) ||
      NET_CODES.has(String(codeOf(x))) ||
      (x instanceof TypeError && x.message === "fetch failed"),
  );
}

/** The exit code for an error: the innermost known class decides, network trouble wins. */
export function exitCodeOf(e: unknown): ExitCode {
  if (e instanceof CliError) return e.exitCode;
  if ((e as Error)?.name === "AbortError") return EXIT.interrupted;
  if (isNetwork(e)) return EXIT.network;
  const name = (e as Error)?.name;
  if (WALLET_ERRORS.has(name)) return EXIT.wallet;
  if (DATA_ERRORS.has(name)) return EXIT.data;
  if (REFUSED_ERRORS.has(name) || name === "ProviderRequestError") return EXIT.refused;
  // An error wrapping a known one (a put that failed on a shard, say).
  for (const x of chain(e).slice(1)) {
    const n = (x as Error)?.name;
    if (DATA_ERRORS.has(n)) return EXIT.data;
    if (WALLET_ERRORS.has(n)) return EXIT.wallet;
  }
  return EXIT.refused;
}

/** One sentence for the user: the error's own words, with a hint for network trouble. */
export function messageOf(e: unknown, rpcUrl: string): string {
  if (e instanceof CliError) return e.message;
  const links = chain(e);
  if (
    isNetwork(e) &&
    !links.some((x) => unreachableProvider(x) || (x as Error)?.name === "RpcUnreachableError") &&
    links.some((x) => x instanceof BaseError)
  )
    return `cannot reach the chain at ${rpcUrl}: start it (npm start) or pass --rpc-url / COOP_RPC_URL`;
  const msg = (e as Error)?.message ?? String(e);
  // viem's multi-line messages: the first line is the sentence.
  return msg.split("\n")[0]!.trim();
}
