// Event scans in block ranges a public RPC accepts. Public endpoints cap eth_getLogs: a range
// over some number of blocks (500, 2,000, 10,000, 50,000 depending on the provider) or a result
// over ~10,000 logs is refused. A scan from the co-op's deployment block to the head therefore
// runs in pieces: it starts with a range (10,000 blocks by default), halves it whenever the node
// refuses a piece as too wide or too large, and remembers the range that worked for the next scan.
import type {
  Abi,
  BlockNumber,
  BlockTag,
  Chain,
  ContractEventName,
  GetContractEventsParameters,
  GetContractEventsReturnType,
  PublicClient,
  Transport,
} from "viem";

/** Blocks per eth_getLogs request before a node has refused one. */
export const DEFAULT_LOG_RANGE = 10_000;

/**
 * The range (in blocks) scans ask for; shared by the scans of one connection, which lower it
 * when a node refuses a range and keep the lower value.
 */
export interface LogScan {
  range: number;
}

/** A new LogScan starting at `range` blocks (a positive whole number). */
export function logScan(range: number = DEFAULT_LOG_RANGE): LogScan {
  if (!Number.isSafeInteger(range) || range < 1)
    throw new RangeError(`the log range must be a whole number of blocks ≥ 1, not ${range}`);
  return { range };
}

/** The node refused eth_getLogs even for a single block. */
export class LogRangeError extends Error {
  name = "LogRangeError";
  /** The block the node would not return the logs of. */
  readonly block: bigint;
  constructor(block: bigint, cause: unknown) {
    super(
      `the RPC refuses eth_getLogs even for the single block ${block} (${nodeMessage(cause)}): use an RPC endpoint without this limit (your own node or a paid plan)`,
      { cause },
    );
    this.block = block;
  }
}

// What public RPCs answer when a range is too wide or its result too large (Infura, Alchemy,
// QuickNode, Ankr, BSC/geth-style nodes, Erigon, dRPC, Cloudflare…), whatever JSON-RPC code
// they use (-32005, -32600, -32602, -32000, -32614…). Rate limits share some of those codes, so
// the message decides.
const REFUSALS = [
  /block range/i, // "block range is too wide", "exceed maximum block range: 2000", "query exceeds max block range"
  /range (is )?too (wide|large|big|long)/i,
  /max(imum)? range|range limit|limited to an? [\d,.]+k? (block )?range/i, // "eth_getLogs is limited to a 10,000 range"
  /ranges? (over|greater than|of more than) [\d,.]+k? blocks/i,
  /more than [\d,.]+k? (results|logs)|max(imum)? results|too many (results|logs|events)/i, // "query returned more than 10000 results"
  /response size|response (is )?too (big|large)|query timeout/i, // "Log response size exceeded"
];

/** Whether `e` (or any error in its cause chain) is a node refusing an eth_getLogs range or result size. */
export function isLogRangeRefusal(e: unknown): boolean {
  for (let x = e, depth = 0; x && typeof x === "object" && depth < 10; depth++) {
    const { message, details } = x as { message?: unknown; details?: unknown };
    for (const text of [message, details])
      if (typeof text === "string" && REFUSALS.some((r) => r.test(text))) return true;
    x = (x as { cause?: unknown }).cause;
  }
  return false;
}

/** The node's own words: the deepest message in the cause chain. */
function nodeMessage(e: unknown): string {
  let text = String((e as Error)?.message ?? e);
  for (let x = e, depth = 0; x && typeof x === "object" && depth < 10; depth++) {
    const { message, details } = x as { message?: unknown; details?: unknown };
    if (typeof details === "string" && details) text = details;
    else if (typeof message === "string" && message) text = message;
    x = (x as { cause?: unknown }).cause;
  }
  return text;
}

/**
 * `client.getContractEvents(parameters)` in block ranges: "latest" (or no `toBlock`) is read
 * once as a block number, then [fromBlock, toBlock] is asked for in pieces of `scan.range`
 * blocks. A piece the node refuses as too wide or too large is halved and asked again, down to
 * one block (then LogRangeError), and `scan.range` keeps the smaller range for later scans.
 * Other errors are thrown unchanged. The logs come back in chain order (block, log index),
 * typed as viem types them. A scan by block hash, or to a "pending"/"safe"/"finalized" tag, is
 * one request as before.
 */
export async function getContractEventsInRanges<
  const abi extends Abi | readonly unknown[],
  eventName extends ContractEventName<abi> | undefined = undefined,
  strict extends boolean | undefined = undefined,
  fromBlock extends BlockNumber | BlockTag | undefined = undefined,
  toBlock extends BlockNumber | BlockTag | undefined = undefined,
>(
  client: PublicClient<Transport, Chain | undefined>,
  parameters: GetContractEventsParameters<abi, eventName, strict, fromBlock, toBlock>,
  scan: LogScan = logScan(),
): Promise<GetContractEventsReturnType<abi, eventName, strict, fromBlock, toBlock>> {
  type Result = GetContractEventsReturnType<abi, eventName, strict, fromBlock, toBlock>;
  const once = (p: object) => client.getContractEvents(p as never) as unknown as Promise<Result>;
  const fromTag = parameters.fromBlock ?? "latest";
  const toTag = parameters.toBlock ?? "latest";
  const resolvable = (b: bigint | string) =>
    typeof b === "bigint" || b === "latest" || b === "earliest";
  if (parameters.blockHash !== undefined || !resolvable(fromTag) || !resolvable(toTag))
    return once(parameters);
  // Not viem's cached block number: a scan right after a transaction must see its block.
  const head =
    fromTag === "latest" || toTag === "latest"
      ? await client.getBlockNumber({ cacheTime: 0 })
      : undefined;
  const number = (b: bigint | string) =>
    typeof b === "bigint" ? b : b === "earliest" ? 0n : head!;
  const from = number(fromTag);
  const to = number(toTag);
  if (from > to) return once(parameters);

  const logs: Result[number][] = [];
  let size = BigInt(scan.range);
  for (let start = from; start <= to;) {
    if (size > BigInt(scan.range)) size = BigInt(scan.range);
    const end = start + size - 1n < to ? start + size - 1n : to;
    let piece: Result;
    try {
      piece = await once({ ...parameters, fromBlock: start, toBlock: end });
    } catch (e) {
      if (!isLogRangeRefusal(e)) throw e;
      if (end === start) throw new LogRangeError(start, e);
      size = (end - start + 1n) / 2n;
      scan.range = Math.min(scan.range, Number(size));
      continue;
    }
    logs.push(...piece);
    start = end + 1n;
  }
  return logs as Result;
}
