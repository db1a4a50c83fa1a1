// Shards that go bad on a provider's disk, end to end. Rot: one byte flipped in a stored shard;
// the node's scrubber finds it, declares it lost, a spare rebuilds it and takes it over, and the
// owner reads the file bit-exact. A silent deletion: a member's targeted challenge on the shard
// goes unanswered, the holder is slashed, the challenger gets its fee back and the bounty, and
// the shard is repaired. Five providers: deal A (k = 2, n = 4) on 0–3, deal B (k = 2, n = 3,
// shards of one block each) on 1–3; provider 4 is the spare, and 0 once its shard is gone.
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import {
  type CoopContracts,
  type KeySession,
  type PutResult,
  createKeySession,
  faucet,
  putFile,
} from "@coop-cloud/sdk/client";
import { faucetTokenAbi, storageMarketAbi } from "@coop-cloud/sdk/contracts/generated/abis.ts";
import { base32upper } from "multiformats/bases/base32";
import { CID } from "multiformats/cid";
import type { Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  type Cluster,
  eventsOf,
  readBack,
  rpc,
  sha256,
  startCluster,
  tail,
  waitFor,
  waitForEvent,
} from "./cluster.ts";

const MiB = 2 ** 20;
const TARGETED_SLASH = 5_000_000n;
const BOUNTY_BPS = 1000n;
const CHALLENGE_FEE = 1_000_000n;
let co: Cluster;
let owner: CoopContracts;
let keys: KeySession;
const deals: (PutResult & { sha: string })[] = [];

beforeAll(async () => {
  co = await startCluster({
    epochLength: 4,
    // A provider with a damaged shard misses epochs while its challenge is open: slashed a
    // little, never failed (the failure path is death.test.ts).
    market: {
      acceptanceWindow: 30,
      maxMissedEpochs: 100,
      missedEpochSlash: 1000n,
      targetedSlash: TARGETED_SLASH,
      bountyBps: Number(BOUNTY_BPS),
      targetedChallengeFee: CHALLENGE_FEE,
      challengeWindow: 2,
    },
    providerKeys: [1, 2, 3, 4, 5],
    providerEnv: (i) => ({ COOP_PROVIDER_SCRUB_INTERVAL: i === 0 ? "2" : "86400" }),
  });
  owner = await co.connect(10);
  await faucet(owner);
  keys = createKeySession(owner);
  for (const [on, size] of [
    [[0, 1, 2, 3], 4 * MiB + 99],
    [[1, 2, 3], MiB / 2],
  ] as const) {
    const data = new Uint8Array(randomBytes(size));
    const put = await putFile(owner, data, {
      name: `deal-${on.join("")}.bin`,
      k: 2,
      n: on.length,
      durationEpochs: 400,
      keys,
      providers: on.map((i) => co.setups[i]!.address),
    });
    deals.push({ ...put, sha: sha256(data) });
  }
});

afterAll(async () => {
  await co?.stop();
});

/** Waits for the shard's repair by a provider outside `not`; checks the file reads bit-exact. */
async function expectRepaired(deal: (typeof deals)[number], shard: number) {
  const repaired = await waitForEvent(
    co.chain,
    "ShardRepaired",
    { dealId: deal.dealId, shard },
    240_000,
    () => co.nodes.map((n) => tail(n, 5)).join("\n"),
  );
  const repairer = repaired.args.provider as Address;
  expect(deal.shards.map((s) => s.provider)).not.toContain(repairer);
  const view = await owner.market.read.getShard([deal.dealId, BigInt(shard)]);
  expect(view.status).toBe(1);
  expect(view.provider).toBe(repairer);
  expect(await readBack(owner, deal.dealId, keys)).toBe(deal.sha);
  return repaired;
}

describe("rot", () => {
  it("a shard corrupted on disk is found by scrub, declared lost, repaired elsewhere; the file reads bit-exact", async () => {
    const a = deals[0]!;
    // Provider 0 holds one shard only (deal A's shard 0): flip a byte in its largest block.
    const dir = join(co.setups[0]!.dataDir, "blocks");
    const biggest = readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile() && d.name.endsWith(".data"))
      .map((d) => join(d.parentPath, d.name))
      .sort((x, y) => statSync(y).size - statSync(x).size)[0]!;
    const bytes = readFileSync(biggest);
    bytes[4321] ^= 0x80;
    writeFileSync(biggest, bytes);

    const lost = await waitForEvent(co.chain, "ShardLost", { dealId: a.dealId, shard: 0 });
    expect(lost.args.provider).toBe(co.setups[0]!.address);
    // The client reads around the damaged shard meanwhile.
    expect(await readBack(owner, a.dealId, keys)).toBe(a.sha);
    const repaired = await expectRepaired(a, 0);
    expect(repaired.args.provider).toBe(co.setups[4]!.address);
    // The declared-lost slash was the repairer's reward.
    expect(repaired.args.reward).toBe(lost.args.repairReward);
  });
});

describe("a shard silently deleted", () => {
  it("fails its targeted challenge: holder slashed, challenger paid the bounty, shard repaired", async () => {
    const b = deals[1]!;
    const holder = co.setups[1]!;
    // Deleted while the node is down, so it cannot notice before the challenge is open.
    await co.nodes[1]!.stop();
    const mh = base32upper.encoder.encode(CID.parse(b.shards[0]!.cid).multihash.bytes);
    const file = join(holder.dataDir, "blocks", mh.slice(-2), `${mh}.data`);
    expect(statSync(file).size).toBeGreaterThan(0);
    rmSync(file);

    const challenger = await co.connect(11);
    await faucet(challenger);
    const send = async (
      address: Address,
      abi: typeof faucetTokenAbi | typeof storageMarketAbi,
      functionName: string,
      args: unknown[],
    ) => {
      const hash = await challenger.walletClient!.writeContract({
        address,
        abi,
        functionName,
        args,
        chain: null,
      } as never);
      const r = await challenger.publicClient.waitForTransactionReceipt({ hash });
      expect(r.status, functionName).toBe("success");
    };
    const market = co.chain.addresses.StorageMarket;
    const stakeBefore = (await owner.market.read.getProvider([holder.address])).stake;
    const tokensBefore = await challenger.token.read.balanceOf([challenger.account()]);
    await send(co.chain.addresses.FaucetToken, faucetTokenAbi, "approve", [market, CHALLENGE_FEE]);
    await send(market, storageMarketAbi, "challengeShard", [b.dealId, 0n]);
    await rpc(co.chain.rpcUrl, "evm_mine");
    await send(market, storageMarketAbi, "fixChallengeSeed", [b.dealId, 0n]);
    await co.restart(1);

    // Unanswerable: wait out the deadline, then the challenger finalizes.
    const { challengeDeadline } = await owner.market.read.getShard([b.dealId, 0n]);
    expect(challengeDeadline).toBeGreaterThan(0);
    await waitFor(
      "the challenge deadline to pass",
      async () =>
        (await owner.market.read.currentEpoch()) > BigInt(challengeDeadline) ? true : undefined,
      120_000,
    );
    expect(await eventsOf(co.chain, "ChallengeAnswered", { dealId: b.dealId })).toEqual([]);
    await send(market, storageMarketAbi, "finalizeChallenge", [b.dealId, 0n]);

    const [failed] = await eventsOf(co.chain, "ChallengeFailed", { dealId: b.dealId, shard: 0 });
    const bounty = (TARGETED_SLASH * BOUNTY_BPS) / 10_000n;
    expect(failed!.args.challenger).toBe(challenger.account());
    expect(failed!.args.bounty).toBe(bounty);
    const [lost] = await eventsOf(co.chain, "ShardLost", { dealId: b.dealId, shard: 0 });
    expect(lost!.args.provider).toBe(holder.address);
    expect(lost!.args.slashed).toBe(TARGETED_SLASH);
    // The holder's stake lost the targeted slash and whatever epochs it missed meanwhile.
    const missed = (await eventsOf(co.chain, "EpochMissed", { provider: holder.address })).reduce(
      (s, e) => s + (e.args.slashed as bigint),
      0n,
    );
    expect((await owner.market.read.getProvider([holder.address])).stake).toBe(
      stakeBefore - TARGETED_SLASH - missed,
    );
    // The challenger: fee back and the bounty, credited in the market; its wallet paid the fee.
    expect(await owner.market.read.balanceOf([challenger.account()])).toBe(CHALLENGE_FEE + bounty);
    expect(await challenger.token.read.balanceOf([challenger.account()])).toBe(
      tokensBefore - CHALLENGE_FEE,
    );

    const repaired = await expectRepaired(b, 0);
    expect(repaired.args.reward).toBe(TARGETED_SLASH - bounty);
  });
});
