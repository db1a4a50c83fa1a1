// A tiny libp2p protocol that tells a peer the CID of a shard held here, by deal and index: what
// a repairing node needs to fetch it over bitswap when the holder's HTTP endpoint is down (the
// chain records segment roots, not CIDs). The answer is only a hint: the repairer checks the
// bytes it fetches against the on-chain root and against the CID.
import type { Libp2p, Stream } from "@libp2p/interface";
import { multiaddr } from "@multiformats/multiaddr";
import { CID } from "multiformats/cid";

/** Protocol id. Request: `<dealId>/<shard>\n` (UTF-8); answer: the CID string and `\n`, or `\n`. */
export const SHARD_CID_PROTOCOL = "/coop-cloud/shard-cid/1.0.0";
const MAX_MESSAGE = 128;

/** Reads one `\n`-terminated line (without it): no side waits for the other to close. */
async function readLine(stream: Stream): Promise<string> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of stream) {
    const b = c instanceof Uint8Array ? c : c.subarray();
    const end = b.indexOf(0x0a);
    parts.push(end >= 0 ? b.subarray(0, end) : b);
    n += b.length;
    if (end >= 0) break;
    if (n > MAX_MESSAGE)
      throw new Error(`a ${SHARD_CID_PROTOCOL} message is over ${MAX_MESSAGE} bytes`);
  }
  return Buffer.concat(parts).toString("utf8");
}

/** Aborts `stream` when `signal` fires (a stuck peer must not hold a request forever). */
function abortOn(stream: Stream, signal: AbortSignal): () => void {
  const abort = () => stream.abort(new Error(`${SHARD_CID_PROTOCOL}: no answer in time`));
  signal.addEventListener("abort", abort, { once: true });
  return () => signal.removeEventListener("abort", abort);
}

/** Answers SHARD_CID_PROTOCOL requests with `lookup` (the CID of an accepted shard, if held). */
export async function serveShardCids(
  libp2p: Libp2p,
  lookup: (dealId: bigint, shard: number) => string | undefined,
): Promise<void> {
  await libp2p.handle(SHARD_CID_PROTOCOL, async (stream) => {
    const done = abortOn(stream, AbortSignal.timeout(10_000));
    try {
      const m = /^(\d{1,30})\/(\d{1,3})$/.exec(await readLine(stream));
      const cid = m ? lookup(BigInt(m[1]), Number(m[2])) : undefined;
      stream.send(new TextEncoder().encode(`${cid ?? ""}\n`));
      await stream.close();
    } catch (e) {
      stream.abort(e as Error);
    } finally {
      done();
    }
  });
}

/** Asks a peer (its registered multiaddrs) for the CID of shard `shard` of deal `dealId`. */
export async function askShardCid(
  libp2p: Libp2p,
  addrs: readonly string[],
  dealId: bigint,
  shard: number,
  signal: AbortSignal = AbortSignal.timeout(10_000),
): Promise<CID | undefined> {
  const stream = await libp2p.dialProtocol(
    addrs.map((a) => multiaddr(a)),
    SHARD_CID_PROTOCOL,
    { signal },
  );
  const done = abortOn(stream, signal);
  try {
    stream.send(new TextEncoder().encode(`${dealId}/${shard}\n`));
    const answer = await readLine(stream);
    signal.throwIfAborted();
    await stream.close({ signal });
    return answer ? CID.parse(answer) : undefined;
  } catch (e) {
    stream.abort(e as Error);
    throw e;
  } finally {
    done();
  }
}
