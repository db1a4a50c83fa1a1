// Event scans against an RPC that caps eth_getLogs, as public endpoints do: a real local chain
// (hardhat node + the CoopCloudLocal deployment) with token transfers spread over a few hundred
// blocks, read through a transport that refuses wide ranges. The scans must return exactly what
// one uncapped request returns, in order; other errors must come through as they were.
import {
  type CoopContracts,
  LogRangeError,
  connectCoop,
  dealRecords,
  faucet,
  listProposals,
  listProviders,
  patronageStatus,
} from "@coop-cloud/sdk/client";
import { faucetTokenAbi } from "@coop-cloud/sdk/contracts/generated/abis.ts";
import {
  type Hex,
  type Transport,
  BaseError,
  LimitExceededRpcError,
  RpcRequestError,
  custom,
  http,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type LocalChain, rpc, startLocalChain } from "../../provider-node/test/fixtures/chain.ts";

/** The emulated RPC's eth_getLogs cap, in blocks. */
const CAP = 7n;

let chain: LocalChain;
/** Connected straight to the local chain, which has no cap. */
let plain: CoopContracts;
let senders: CoopContracts[];
let head: bigint;

interface Counts {
  getLogs: number;
  refused: number;
  /** The error object the emulated RPC threw last. */
  thrown?: Error;
}

interface JsonRpcError {
  code: number;
  message: string;
}

/** A range refusal as nodes word it, here for CAP blocks (geth/BSC-style nodes, viem's InvalidInputRpcError). */
const TOO_WIDE: JsonRpcError = { code: -32000, message: `exceed maximum block range: ${CAP}` };

/**
 * A transport to the local chain that behaves like a public RPC endpoint with an eth_getLogs
 * cap: eth_getLogs over more than `cap` blocks is refused with `error`. The public endpoint is
 * the one part that cannot run here, so this stands in for it: every request still goes to the
 * real chain over HTTP, and a refusal is thrown exactly as viem's http transport throws a
 * JSON-RPC error (an RpcRequestError, which viem then wraps by its code). No retries: viem
 * retries a -32005 three times by default, which only slows the test down.
 */
function cappedRpc(counts: Counts, error: JsonRpcError = TOO_WIDE, cap = CAP): Transport {
  const local = http(chain.rpcUrl)({ retryCount: 0 });
  return custom(
    {
      async request({ method, params }: { method: string; params?: unknown }) {
        if (method === "eth_getLogs") {
          counts.getLogs++;
          const [filter] = params as [{ fromBlock: Hex; toBlock: Hex }];
          if (BigInt(filter.toBlock) - BigInt(filter.fromBlock) + 1n > cap) {
            counts.refused++;
            counts.thrown = new RpcRequestError({
              body: { jsonrpc: "2.0", id: 1, method, params },
              error,
              url: chain.rpcUrl,
            });
            throw counts.thrown;
          }
        }
        return local.request({ method, params } as never);
      },
    },
    { retryCount: 0 },
  );
}

function connectCapped(
  counts: Counts,
  options: { error?: JsonRpcError; cap?: bigint; logRange?: number; pollingInterval?: number } = {},
) {
  return connectCoop({
    rpcUrl: chain.rpcUrl,
    addresses: chain.addresses,
    transport: cappedRpc(counts, options.error, options.cap),
    logRange: options.logRange,
    pollingInterval: options.pollingInterval,
  });
}

const transfers = () =>
  ({
    address: chain.addresses.FaucetToken,
    abi: faucetTokenAbi,
    eventName: "Transfer",
    fromBlock: 0n,
    toBlock: head,
  }) as const;

beforeAll(async () => {
  chain = await startLocalChain();
  plain = await connectCoop({ rpcUrl: chain.rpcUrl, addresses: chain.addresses });
  senders = await Promise.all(
    [8, 9, 10].map((k) =>
      connectCoop({
        rpcUrl: chain.rpcUrl,
        addresses: chain.addresses,
        account: privateKeyToAccount(chain.keys[k]),
      }),
    ),
  );
  for (const s of senders) await faucet(s);
  const transfer = (from: number, to: number, amount: bigint) =>
    senders[from].send("transfer", {
      address: chain.addresses.FaucetToken,
      abi: faucetTokenAbi,
      functionName: "transfer",
      args: [senders[to].account(), amount],
    });
  // Transfers spread out: each followed by a run of empty blocks of another length.
  for (let i = 0; i < 12; i++) {
    await transfer(i % 3, (i + 1) % 3, BigInt(i + 1));
    await rpc(chain.rpcUrl, "hardhat_mine", [`0x${(3 * i + 1).toString(16)}`]);
  }
  // Three transfers in one block: there the order is the log index.
  await rpc(chain.rpcUrl, "evm_setAutomine", [false]);
  const hashes: Hex[] = [];
  for (const [i, s] of senders.entries())
    hashes.push(
      await s.walletClient!.writeContract({
        address: chain.addresses.FaucetToken,
        abi: faucetTokenAbi,
        functionName: "transfer",
        args: [senders[(i + 2) % 3].account(), 100n + BigInt(i)],
        chain: s.walletClient!.chain ?? null,
      }),
    );
  await rpc(chain.rpcUrl, "evm_mine");
  await rpc(chain.rpcUrl, "evm_setAutomine", [true]);
  for (const hash of hashes) await plain.publicClient.waitForTransactionReceipt({ hash });
  await rpc(chain.rpcUrl, "hardhat_mine", ["0x20"]);
  head = await plain.publicClient.getBlockNumber();
});

afterAll(async () => {
  await chain?.stop();
});

describe("event scans on an RPC that caps eth_getLogs", () => {
  it("return the same logs, in the same order, as one uncapped request", async () => {
    expect(head).toBeGreaterThan(30n * CAP);
    const whole = await plain.publicClient.getContractEvents(transfers());
    expect(whole.length).toBeGreaterThanOrEqual(18); // 3 faucet mints + 12 + 3 transfers
    const sameBlock = whole.filter((l) => l.blockNumber === whole.at(-1)!.blockNumber);
    expect(sameBlock.map((l) => l.args.value)).toEqual([100n, 101n, 102n]);
    // The cap is real: one request over the whole range is refused.
    const counts: Counts = { getLogs: 0, refused: 0 };
    const capped = await connectCapped(counts);
    await expect(capped.publicClient.getContractEvents(transfers())).rejects.toThrow(
      /exceed maximum block range: 7/,
    );

    const got = await capped.getContractEvents(transfers());
    expect(got).toEqual(whole);
    const order = got.map((l) => [l.blockNumber, l.logIndex] as const);
    const sorted = [...order].sort(([b1, i1], [b2, i2]) =>
      b1 !== b2 ? (b1 < b2 ? -1 : 1) : i1 - i2,
    );
    expect(order).toEqual(sorted);
    // Halved from the whole range down to one the RPC takes, never below half the cap.
    expect(capped.logScan.range).toBeLessThanOrEqual(Number(CAP));
    expect(capped.logScan.range).toBeGreaterThanOrEqual(Number(CAP) / 2);

    // Filtered by an indexed argument, and to "latest" (read once, as a number).
    const to = senders[1].account();
    const mine = await capped.getContractEvents({
      ...transfers(),
      args: { to },
      toBlock: "latest",
    });
    expect(mine).toEqual(
      await plain.publicClient.getContractEvents({ ...transfers(), args: { to } }),
    );
    expect(mine.length).toBe(6); // the mint and five transfers
  });

  it("remember the range that worked: later scans are never refused", async () => {
    const counts: Counts = { getLogs: 0, refused: 0 };
    const capped = await connectCapped(counts);
    await capped.getContractEvents(transfers());
    expect(counts.refused).toBeGreaterThan(0);
    const range = capped.logScan.range;

    counts.getLogs = counts.refused = 0;
    const again = await capped.getContractEvents({ ...transfers(), fromBlock: 5n });
    expect(again).toEqual(
      await plain.publicClient.getContractEvents({ ...transfers(), fromBlock: 5n }),
    );
    expect(counts.refused).toBe(0);
    expect(counts.getLogs).toBe(Math.ceil(Number(head - 5n + 1n) / range));
  });

  it("make the client's listings work there (providers, proposals, patronage, files)", async () => {
    const counts: Counts = { getLogs: 0, refused: 0 };
    const capped = await connectCapped(counts);
    const who = senders[0].account();
    const [providers, proposals, patronage, deals] = await Promise.all([
      listProviders(capped),
      listProposals(capped),
      patronageStatus(capped, who),
      dealRecords(capped),
    ]);
    expect(counts.refused).toBeGreaterThan(0);
    expect(providers).toEqual(await listProviders(plain));
    expect(proposals).toEqual(await listProposals(plain));
    expect(patronage).toEqual(await patronageStatus(plain, who));
    expect(deals).toEqual(await dealRecords(plain));
  });

  // What public RPCs answer to a range too wide or a result too large, with their codes.
  it.each([
    [{ code: -32005, message: "query returned more than 10000 results" }],
    [{ code: -32600, message: "block range is too wide" }],
    [{ code: -32602, message: "Log response size exceeded." }],
    [{ code: -32000, message: "query exceeds max block range" }],
    [{ code: -32614, message: "eth_getLogs is limited to a 10,000 range" }],
    [{ code: -32000, message: "eth_getLogs is limited to a 10000 block range" }],
  ])("recognise the refusal %j", async (error) => {
    const counts: Counts = { getLogs: 0, refused: 0 };
    const capped = await connectCapped(counts, { error, logRange: 40 });
    const from = head - 100n;
    const got = await capped.getContractEvents({ ...transfers(), fromBlock: from });
    expect(got).toEqual(
      await plain.publicClient.getContractEvents({ ...transfers(), fromBlock: from }),
    );
    expect(counts.refused).toBe(3); // 40 → 20 → 10 → 5
    expect(capped.logScan.range).toBe(5);
  });

  it("pass any other error on unchanged, after one request", async () => {
    const counts: Counts = { getLogs: 0, refused: 0 };
    // The same code as a result-size refusal, but a rate limit: halving would not help.
    const limited = { code: -32005, message: "daily request count exceeded, request rate limited" };
    const capped = await connectCapped(counts, { error: limited, cap: 0n });
    const e = await capped.getContractEvents(transfers()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LimitExceededRpcError);
    expect((e as BaseError).walk((x) => x === counts.thrown)).toBe(counts.thrown);
    expect((e as BaseError).details).toBe(limited.message);
    expect(counts.getLogs).toBe(1);
    expect(capped.logScan.range).toBe(10_000);
  });

  it("give up with a LogRangeError when even one block is refused", async () => {
    const counts: Counts = { getLogs: 0, refused: 0 };
    const error = { code: -32005, message: "query returned more than 10000 results" };
    const capped = await connectCapped(counts, { error, cap: 0n, logRange: 4 });
    const e = await capped
      .getContractEvents({ ...transfers(), fromBlock: head - 9n })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LogRangeError);
    expect((e as LogRangeError).block).toBe(head - 9n);
    expect((e as Error).message).toBe(
      `the RPC refuses eth_getLogs even for the single block ${head - 9n} (query returned more than 10000 results): use an RPC endpoint without this limit (your own node or a paid plan)`,
    );
    expect(((e as Error).cause as BaseError).walk((x) => x === counts.thrown)).toBe(counts.thrown);
    expect(counts.getLogs).toBe(3); // 4 → 2 → 1 blocks
  });

  it("see a transaction mined just before: the head is asked for, not taken from a cache", async () => {
    // viem caches the block number for a polling interval: a long one makes a stale head certain.
    const counts: Counts = { getLogs: 0, refused: 0 };
    const capped = await connectCapped(counts, { pollingInterval: 60_000 });
    const scan = () =>
      capped.getContractEvents({ ...transfers(), fromBlock: head - 40n, toBlock: "latest" });
    expect((await scan()).length).toBe(3); // the three in one block
    expect(await capped.publicClient.getBlockNumber()).toBe(head);
    const sent = await senders[1].send("transfer", {
      address: chain.addresses.FaucetToken,
      abi: faucetTokenAbi,
      functionName: "transfer",
      args: [senders[0].account(), 7n],
    });
    expect((await scan()).at(-1)?.transactionHash).toBe(sent.transactionHash);
  });
});
