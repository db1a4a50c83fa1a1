// The life of a file, as a member lives it through the coop CLI: a 32 MiB file put with k = 2,
// n = 4; all four providers accept; proofs land epoch after epoch; when the deal ends the nodes
// settle and every shard's escrow goes, to the unit, to its holder or back to the owner; both
// sides earn patronage points for exactly what was paid; the file reads back bit-exact; and every
// token unit on the chain is accounted for.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { CoopContracts } from "@coop-cloud/sdk/client";
import type { Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  type Cluster,
  coop,
  eventsOf,
  expectTokenSumsExact,
  sha256,
  startCluster,
  waitForEvent,
} from "./cluster.ts";

const MiB = 2 ** 20;
const EPOCHS = 25;
let co: Cluster;
let work: string;
let env: NodeJS.ProcessEnv;
let owner: CoopContracts;
let ownerAddress: Address;
let data: Uint8Array;
let put: {
  dealId: string;
  cost: { escrow: string; fee: string; total: string };
  shards: { index: number; provider: Address }[];
};

/** `coop <args> --json`, expecting exit 0. */
async function ok(args: string[]) {
  const r = await coop([...args, "--json"], env, work);
  expect(r.code, `coop ${args.join(" ")}:\n${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout);
}

beforeAll(async () => {
  co = await startCluster({
    epochLength: 4,
    market: { acceptanceWindow: 100 },
    providerKeys: [1, 2, 3, 4],
  });
  work = mkdtempSync(join(tmpdir(), "coop-life-"));
  writeFileSync(join(work, "addresses.json"), JSON.stringify(co.chain.addresses));
  env = {
    COOP_RPC_URL: co.chain.rpcUrl,
    COOP_ADDRESSES: join(work, "addresses.json"),
    COOP_DATA_DIR: join(work, "coop"),
    COOP_PRIVATE_KEY: co.chain.keys[10],
  };
  owner = await co.connect(10);
  ownerAddress = owner.account();
});

afterAll(async () => {
  await co?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("life of a file", () => {
  it("a member puts 32 MiB with the CLI (k = 2, n = 4) and every provider accepts", async () => {
    await ok(["faucet"]);
    await ok(["member", "join"]);
    data = new Uint8Array(randomBytes(32 * MiB));
    writeFileSync(join(work, "life.bin"), data);
    put = await ok(["put", "life.bin", "-k", "2", "-n", "4", "--epochs", String(EPOCHS)]);
    expect(put.shards).toHaveLength(4);
    expect(new Set(put.shards.map((s) => s.provider)).size).toBe(4);
    const accepted = await eventsOf(co.chain, "ShardAccepted", { dealId: BigInt(put.dealId) });
    expect(accepted.map((e) => e.args.shard).sort()).toEqual([0, 1, 2, 3]);

    const got = await ok(["get", put.dealId, "-o", join(work, "back.bin")]);
    expect(got.sha256).toBe(sha256(data));
    expect(sha256(readFileSync(join(work, "back.bin")))).toBe(sha256(data));
  });

  it("proofs land every epoch; at the end every shard's escrow is paid to its holder or refunded, to the unit", async () => {
    const dealId = BigInt(put.dealId);
    const deal = await owner.market.read.getDeal([dealId]);
    // Each holder settles its shard from the epoch after the deal's end.
    for (let shard = 0; shard < 4; shard++)
      await waitForEvent(co.chain, "ShardSettled", { dealId, shard }, 240_000);
    for (const s of put.shards) {
      const proofs = await eventsOf(co.chain, "EpochProven", { provider: s.provider });
      expect(proofs.length, `${s.provider} proved several epochs`).toBeGreaterThanOrEqual(5);
      const paid = await eventsOf(co.chain, "ShardPaid", { dealId, shard: s.index });
      expect(paid.every((p) => (p.args.provider as string) === s.provider)).toBe(true);
      const epochs = paid.reduce((a, p) => a + (p.args.epochs as bigint), 0n);
      const amount = paid.reduce((a, p) => a + (p.args.amount as bigint), 0n);
      expect(amount).toBe(epochs * deal.shardRate);
      expect(epochs).toBeGreaterThan(0n);
      const [settled] = await eventsOf(co.chain, "ShardSettled", { dealId, shard: s.index });
      // Paid plus refunded is the shard's whole escrow.
      expect(amount + (settled!.args.refund as bigint)).toBe(deal.shardRate * BigInt(EPOCHS));
    }
    const escrow = deal.shardRate * BigInt(EPOCHS) * 4n;
    expect(BigInt(put.cost.escrow)).toBe(escrow);
    expect(BigInt(put.cost.total)).toBe(escrow + BigInt(put.cost.fee));
  });

  it("patronage points accrue to the owner for what it paid and to each provider for what it earned", async () => {
    const dealId = BigInt(put.dealId);
    const paidTo = new Map<string, bigint>();
    for (const p of await eventsOf(co.chain, "ShardPaid", { dealId }))
      paidTo.set(
        p.args.provider as string,
        (paidTo.get(p.args.provider as string) ?? 0n) + (p.args.amount as bigint),
      );
    const sum = (periods: { paid: string; earned: string; points: string }[]) =>
      periods.reduce(
        (a, p) => ({
          paid: a.paid + BigInt(p.paid),
          earned: a.earned + BigInt(p.earned),
          points: a.points + BigInt(p.points),
        }),
        { paid: 0n, earned: 0n, points: 0n },
      );
    const mine = await ok(["patronage", "status"]);
    const totalPaid = [...paidTo.values()].reduce((a, b) => a + b, 0n);
    const o = sum(mine.periods);
    // The fee at creation, then every epoch's escrow spent on storage.
    expect(o.paid).toBe(BigInt(put.cost.fee) + totalPaid);
    expect(o.earned).toBe(0n);
    expect(o.points).toBe(o.paid * BigInt(mine.paidWeight));
    for (const s of put.shards) {
      const theirs = await ok(["patronage", "status", s.provider]);
      const t = sum(theirs.periods);
      expect(t.earned, `patronage earned by ${s.provider}`).toBe(paidTo.get(s.provider));
      expect(t.points).toBe(
        t.paid * BigInt(theirs.paidWeight) + t.earned * BigInt(theirs.earnedWeight),
      );
      expect(t.points).toBeGreaterThan(0n);
    }
  });

  it("the token sums over every account and contract add up exactly", async () => {
    const balances = await expectTokenSumsExact(owner, (v, m) => expect(v, m));
    // The owner's wallet: faucet, less the membership share, less the deal, plus what came back.
    const dealId = BigInt(put.dealId);
    const refunds = (await eventsOf(co.chain, "ShardSettled", { dealId })).reduce(
      (a, e) => a + (e.args.refund as bigint),
      0n,
    );
    const member = await ok(["member", "status"]);
    const inMarket = await owner.market.read.balanceOf([ownerAddress]);
    expect(inMarket).toBe(refunds);
    expect(balances.get(ownerAddress)).toBe(BigInt(member.balance));
    expect(BigInt(member.balance) + BigInt(member.sharePaid) + BigInt(put.cost.total)).toBe(
      10_000_000_000n,
    );
  });
});
