// Governance with the whole co-op running: members (an owner and three providers) propose a new
// price, vote, and the timelock executes it; a new put is priced at the new price while the
// running deal keeps its rate. Then the patronage period closes, governance declares its
// dividend, every member with points claims, and the sums add up to the unit. First, on the same
// co-op, bad input at every door is refused in words and changes nothing stored.
import { randomBytes } from "node:crypto";

import {
  type CoopContracts,
  type KeySession,
  type ProposalAction,
  castVote,
  chainTime,
  claimDividend,
  createKeySession,
  createShareLink,
  getFile,
  executeProposal,
  faucet,
  getProposal,
  joinCoop,
  patronageStatus,
  proposalActions,
  propose,
  putFile,
  queueProposal,
} from "@coop-cloud/sdk/client";
import { storageMarketAbi } from "@coop-cloud/sdk/contracts/generated/abis.ts";
import { decodeFunctionData } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestDeal, put as httpPut } from "../../provider-node/test/fixtures/deals.ts";

import {
  type Cluster,
  eventsOf,
  expectTokenSumsExact,
  marketEvents,
  readBack,
  rpc,
  sha256,
  startCluster,
  waitFor,
} from "./cluster.ts";

const MiB = 2 ** 20;
let co: Cluster;
let owner: CoopContracts;
let members: CoopContracts[];
let keys: KeySession;
let running: { dealId: bigint; sha: string; rate: bigint };
/** Non-members; each votes against every proposal, with no effect. */
const strangers: CoopContracts[] = [];

async function advance(seconds: bigint): Promise<void> {
  await rpc(co.chain.rpcUrl, "evm_increaseTime", [Math.max(0, Number(seconds))]);
  await rpc(co.chain.rpcUrl, "evm_mine");
}

async function pass(action: ProposalAction): Promise<void> {
  const { proposalId } = await propose(owner, action);
  await advance((await getProposal(owner, proposalId)).untilVoteStart);
  for (const m of members) await castVote(m, proposalId, "for");
  for (const s of strangers) expect((await castVote(s, proposalId, "against")).weight).toBe(0n);
  expect((await getProposal(owner, proposalId)).votes.against).toBe(0n);
  await advance((await getProposal(owner, proposalId)).untilVoteEnd);
  const { eta } = await queueProposal(owner, proposalId);
  await advance(eta - (await chainTime(owner)));
  await executeProposal(owner, proposalId);
}

const put = (data: Uint8Array, name: string) =>
  putFile(owner, data, { name, k: 2, n: 3, durationEpochs: 20_000, keys });

beforeAll(async () => {
  co = await startCluster({
    epochLength: 4,
    market: { acceptanceWindow: 30, pricePerByteEpoch: 10n ** 14n },
    providerKeys: [1, 2, 3],
  });
  owner = await co.connect(10);
  await faucet(owner);
  await joinCoop(owner);
  keys = createKeySession(owner);
  members = [owner, ...(await Promise.all([1, 2, 3].map((k) => co.connect(k))))];
  const data = new Uint8Array(randomBytes(MiB));
  const p = await put(data, "before.bin");
  running = {
    dealId: p.dealId,
    sha: sha256(data),
    rate: (await owner.market.read.getDeal([p.dealId])).shardRate,
  };
});

afterAll(async () => {
  await co?.stop();
});

describe("bad input at every door", () => {
  it("a provider refuses malformed, truncated, oversized and wrong-root uploads; nothing stored changes", async () => {
    const node = co.nodes[0]!;
    const status = async () =>
      (await (await fetch(`${node.url}/status`)).json()) as { shards: number };
    const before = await status();
    const deal = await createTestDeal(co.chain, [co.setups[0]!.address], { k: 1 });
    const url = `${node.url}/deals/${deal.dealId}/shards/0`;
    const shard = deal.shards[0]!;
    const wrongRoot = Uint8Array.from(shard);
    wrongRoot[777] ^= 1;
    const oversized = new Uint8Array(shard.length + 4096);
    oversized.set(shard);
    for (const [what, send, code] of [
      [
        "malformed (no such deal)",
        () => httpPut(`${node.url}/deals/not-a-deal/shards/0`, shard),
        undefined,
      ],
      ["truncated", () => httpPut(url, shard.subarray(0, shard.length - 100)), "wrong_size"],
      ["oversized", () => httpPut(url, oversized), undefined],
      ["wrong root", () => httpPut(url, wrongRoot), "root_mismatch"],
      // The owner's real shard, already held, cannot be overwritten.
      [
        "over a stored shard",
        () => httpPut(`${node.url}/deals/${running.dealId}/shards/0`, wrongRoot),
        undefined,
      ],
    ] as const) {
      const r = await send();
      expect(r.status, what).toBeGreaterThanOrEqual(400);
      expect(r.status, what).toBeLessThan(500);
      if (code) expect(r.json.code, what).toBe(code);
      expect(String(r.json.message ?? r.json.text ?? ""), what).not.toBe("");
    }
    expect((await owner.market.read.getShard([deal.dealId, 0n])).status).toBe(0); // still Assigned
    expect((await status()).shards).toBe(before.shards);
    expect(await readBack(owner, running.dealId, keys)).toBe(running.sha);
  });

  it("a proof for the wrong epoch or naming the wrong shard is refused; stake, balance and proven epochs stay", async () => {
    // Provider 0's own last proof, replayed by its own key: for the next epoch (other
    // challenges), for its own epoch again, and with its entry pointing at another shard.
    const address = co.setups[0]!.address;
    const asProvider = await co.connect(1);
    const node = co.nodes[0]!;
    const proven = await waitFor("an EpochProven of provider 0", async () => {
      const logs = (await marketEvents(co.chain)).filter(
        (l) =>
          l.eventName === "EpochProven" &&
          (l.args as { provider: string }).provider.toLowerCase() === address.toLowerCase(),
      );
      return logs.at(-1);
    });
    const tx = await owner.publicClient.getTransaction({ hash: proven.transactionHash });
    const { args } = decodeFunctionData({ abi: storageMarketAbi, data: tx.input });
    const [epoch, proofs] = args as unknown as [
      bigint,
      { entry: bigint; segment: `0x${string}`; path: `0x${string}`[] }[],
    ];
    // Paused, the node cannot prove the next epoch before the forged proofs are tried.
    node.proc.kill("SIGSTOP");
    try {
      const next = epoch + 1n;
      await waitFor("the next epoch's seed", async () => {
        const now = await owner.market.read.currentEpoch();
        if (now < next) return undefined;
        const [seed] = await owner.market.read.seedOf([next]);
        return /^0x0+$/.test(seed) ? undefined : seed;
      });
      const before = await owner.market.read.getProvider([address]);
      const balance = await owner.token.read.balanceOf([address]);
      const submit = (e: bigint, list: typeof proofs) =>
        asProvider
          .send("submitProof", {
            address: co.chain.addresses.StorageMarket,
            abi: storageMarketAbi,
            functionName: "submitProof",
            args: [e, list],
          })
          .then(
            () => "accepted",
            (x: Error) => x.message,
          );
      const otherShard = proofs.map((p, j) => (j === 0 ? { ...p, entry: p.entry + 1n } : p));
      for (const [what, e, list] of [
        ["last epoch's proof for the next epoch", next, proofs],
        ["the same proof again", epoch, proofs],
        ["a proof naming another shard", next, otherShard],
      ] as const) {
        const message = await submit(e, list);
        expect(message, what).not.toBe("accepted");
        expect(message, what).toMatch(/^submitProof: [A-Za-z].{10,}/);
        expect(message, what).not.toMatch(/0x[0-9a-f]{8}\b|reverted with the following signature/);
      }
      expect(await eventsOf(co.chain, "EpochProven", { provider: address, epoch: next })).toEqual(
        [],
      );
      const after = await owner.market.read.getProvider([address]);
      expect(after.stake).toBe(before.stake);
      expect(await owner.token.read.balanceOf([address])).toBe(balance);
    } finally {
      node.proc.kill("SIGCONT");
    }
    expect(await readBack(owner, running.dealId, keys)).toBe(running.sha);
  });

  it("a share link with a wrong key is refused; the right one still reads", async () => {
    const link = await createShareLink(owner, running.dealId, keys);
    const [base, key] = link.split("#k=") as [string, string];
    const wrong = `${base}#k=${key[0] === "A" ? "B" : "A"}${key.slice(1)}`;
    const anyone = await co.connect(0, false);
    const e = await getFile(anyone, { shareLink: wrong }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(/key/i);
    const got = await getFile(anyone, { shareLink: link });
    const parts: Uint8Array[] = [];
    for await (const part of got) parts.push(part);
    expect(sha256(new Uint8Array(Buffer.concat(parts)))).toBe(running.sha);
  });

  it("a non-member cannot register as a provider; its vote weighs nothing", async () => {
    const stranger = await co.connect(15);
    await faucet(stranger);
    const e = await stranger
      .send("register", {
        address: co.chain.addresses.StorageMarket,
        abi: storageMarketAbi,
        functionName: "register",
        args: ["http://127.0.0.1:1", [], 2n ** 30n, 10_000_000n],
      })
      .catch((x: unknown) => x);
    expect((e as Error).message).toMatch(/member/i);
    expect((await owner.market.read.getProvider([stranger.account()])).registered).toBe(false);
    strangers.push(stranger);
  });
});

describe("governance", () => {
  it("a price passed by the members prices new deals; the running deal keeps its rate", async () => {
    const before = await owner.market.read.params();
    const { shardSize } = await owner.market.read.getDeal([running.dealId]);
    const [oldQuote] = await owner.market.read.quoteDeal([shardSize, 3n, 20_000n]);
    expect(oldQuote).toBe(running.rate);
    // A gigabyte shard shows the factor exactly (small shards' rates round up to whole units).
    const [gbRate] = await owner.market.read.quoteDeal([10n ** 9n, 3n, 20_000n]);

    await pass(await proposalActions.setPrice(owner, before.pricePerByteEpoch * 3n));
    expect((await owner.market.read.params()).pricePerByteEpoch).toBe(
      before.pricePerByteEpoch * 3n,
    );
    expect((await owner.market.read.quoteDeal([10n ** 9n, 3n, 20_000n]))[0]).toBe(gbRate * 3n);
    const [newQuote] = await owner.market.read.quoteDeal([shardSize, 3n, 20_000n]);
    expect(newQuote).toBeGreaterThan(oldQuote);

    const data = new Uint8Array(randomBytes(MiB));
    const after = await put(data, "after.bin");
    expect((await owner.market.read.getDeal([after.dealId])).shardRate).toBe(newQuote);
    expect((await owner.market.read.getDeal([running.dealId])).shardRate).toBe(running.rate);
    expect(await readBack(owner, after.dealId, keys)).toBe(sha256(data));
    expect(await readBack(owner, running.dealId, keys)).toBe(running.sha);
  });

  it("a dividend declared for the closed period is claimed by every member with points, to the unit", async () => {
    const t = owner.treasury.read;
    await advance((await t.periodStart([1n])) - (await chainTime(owner)) + 1n);
    const dividend = await t.freeBalance();
    expect(dividend).toBeGreaterThan(0n);
    await pass(await proposalActions.declareDividend(owner, 0n, dividend));

    const treasuryBefore = await owner.token.read.balanceOf([owner.addresses.PatronageTreasury]);
    let points = 0n;
    let claimed = 0n;
    let totalPoints = 0n;
    for (const m of members) {
      const p0 = (await patronageStatus(m)).periods.find((p) => p.period === 0n);
      if (!p0 || p0.points === 0n) continue;
      expect(p0.dividend).toBe(dividend);
      totalPoints = p0.totalPoints;
      const wallet = await owner.token.read.balanceOf([m.account()]);
      const { amount } = await claimDividend(m, 0n);
      expect(amount).toBe((dividend * p0.points) / p0.totalPoints);
      expect(await owner.token.read.balanceOf([m.account()])).toBe(wallet + amount);
      points += p0.points;
      claimed += amount;
    }
    // Every point of the period belongs to these members: the owner and its providers.
    expect(points).toBe(totalPoints);
    expect(claimed).toBeLessThanOrEqual(dividend);
    expect(dividend - claimed).toBeLessThan(BigInt(members.length));
    expect(await owner.token.read.balanceOf([owner.addresses.PatronageTreasury])).toBe(
      treasuryBefore - claimed,
    );
    await expectTokenSumsExact(owner, (v, m) => expect(v, m));
    // The running deal survived the clock jumps of the votes and the period.
    expect(await readBack(owner, running.dealId, keys)).toBe(running.sha);
  });
});
