/**
 * Gas benchmark of the storage market (measured, not asserted beyond the 300k and
 * 400k budgets and the proof's logarithmic growth with the shards held).
 * Each measured operation runs once, after a warm-up of the same kind so that one-time
 * storage initialisation (first deal id, first escrow total...) does not count:
 *   createDeal (n = 3), createDeal (n = 6), acceptShard, submitProof at c = 5 for a provider
 *   holding 10 shards and one holding 10,000 shards, reportMissedEpoch, settleShard.
 * `npx hardhat test nodejs test/contracts/StorageMarket.gas.ts --gas-stats` shows them per
 * function; this file also prints each figure by name.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";

import { network } from "hardhat";
import type { Address, Hex } from "viem";

import { recordGas } from "./helpers/gas-report.js";
import { buildSegmentTree } from "./helpers/merkle.js";
import {
  GIB,
  MANIFEST_CID,
  MARKET_DEFAULTS,
  UNIT,
  buildEpochProof,
  dealRequest,
  deployMarket,
  fixSeed,
  marketAs,
  minStake,
  nextEpoch,
  send,
  tokenAs,
  type MarketFixture,
  type TreeBook,
  type WalletClient,
} from "./fixtures/market.js";

const SHARD_SIZE = 262_144n; // 256 KiB: 512 segments, proof depth 9
const BULK_SHARDS = 10_000;
const BATCH = 40;
/** Most gas a live-leaf tree node adds to a proof: a cold (first) or warm storage read, and the loop. */
const COLD_NODE_GAS = 3_000n;
const WARM_NODE_GAS = 600n;

describe("StorageMarket gas", async function () {
  const { viem, networkHelpers } = await network.create();
  const results: { name: string; value: bigint }[] = [];
  const record = (name: string, value: bigint) => {
    results.push({ name, value });
    recordGas(name, value);
  };
  after(() => {
    console.log("\n  StorageMarket gas (per transaction, gasUsed)");
    for (const r of results)
      console.log(`    ${r.name.padEnd(52)} ${r.value.toLocaleString("en-US").padStart(10)}`);
  });

  const tree = buildSegmentTree(randomBytes(Number(SHARD_SIZE)));
  const params = { ...MARKET_DEFAULTS, pricePerByteEpoch: 10n ** 15n };
  let f: MarketFixture;

  async function createDeal(n: number, duration = 20, providers?: WalletClient[]) {
    const ps = providers ?? f.providers.slice(0, n);
    const req = dealRequest({
      k: Math.max(1, n - 2),
      shardSize: SHARD_SIZE,
      duration,
      roots: ps.map(() => tree.root),
      providers: ps.map((p) => p.account.address),
      manifestCid: `0x01551220${"cd".repeat(32)}`,
    });
    const { result: dealId } = await f.market.simulate.createDeal([req], {
      account: f.owner.account.address,
    });
    const receipt = await send(f, (await marketAs(f, f.owner)).write.createDeal([req]));
    return { dealId, receipt, roots: req.roots as Hex[], providers: req.providers as Address[] };
  }

  /** Gas of the provider's proof for the current epoch, and the live-leaf tree nodes it reads. */
  async function proofGas(provider: WalletClient, book: TreeBook) {
    const e = await f.market.read.currentEpoch();
    const proofs = await buildEpochProof(f, provider.account.address, e, book);
    const receipt = await send(f, (await marketAs(f, provider)).write.submitProof([e, proofs]));
    assert.equal(receipt.status, "success");
    // Checking that challenge i falls in entry x sums the live leaves before x in a Fenwick
    // tree: nodes x, x - lowbit(x), ... (one per set bit). A node read again is warm.
    const visited = new Set<bigint>();
    let reads = 0n;
    for (const { entry } of proofs) {
      for (let i = entry; i > 0n; i -= i & -i) {
        visited.add(i);
        reads++;
      }
    }
    const cold = BigInt(visited.size);
    return { gas: receipt.gasUsed, cold, warm: reads - cold };
  }

  it("deploys the co-op and the market", async function () {
    f = await deployMarket(viem, networkHelpers, { params, capacity: 4n * GIB });
    // Fund the owner for many deals.
    await networkHelpers.time.increase(3_600n);
    await send(f, (await tokenAs(f, f.owner)).write.faucet());
    for (const p of f.providers) {
      await send(f, (await marketAs(f, p)).write.topUp([minStake(params, 3n * GIB)]));
    }
  });

  it("createDeal (n = 3) and createDeal (n = 6)", async function () {
    await createDeal(3); // warm-up
    const three = await createDeal(3);
    record("createDeal (n = 3)", three.receipt.gasUsed);
    await createDeal(6); // warm-up
    const six = await createDeal(6);
    record("createDeal (n = 6)", six.receipt.gasUsed);
    assert.ok(six.receipt.gasUsed <= 400_000n, `createDeal(n = 6) ${six.receipt.gasUsed} > 400k`);
  });

  it("acceptShard", async function () {
    const d = await createDeal(3);
    const p = f.providers[0];
    await send(f, (await marketAs(f, p)).write.acceptShard([d.dealId, 0n, d.roots, d.providers])); // warm-up (first entry)
    const d2 = await createDeal(3);
    const receipt = await send(
      f,
      (await marketAs(f, p)).write.acceptShard([d2.dealId, 0n, d2.roots, d2.providers]),
    );
    record("acceptShard", receipt.gasUsed);
  });

  let tenShards: { provider: WalletClient; book: TreeBook };
  let tenThousand: { provider: WalletClient; book: TreeBook };

  it("fills one provider with 10 shards and another with 10,000 shards", async function () {
    // Provider 6 holds 10 one-shard deals.
    const p = f.providers[6];
    const book: TreeBook = new Map();
    for (let i = 0; i < 10; i++) {
      const d = await createDeal(1, 20, [p]);
      await send(f, (await marketAs(f, p)).write.acceptShard([d.dealId, 0n, d.roots, d.providers]));
      book.set(d.dealId, [tree]);
    }
    tenShards = { provider: p, book };

    // A contract member that is its own data owner fills its proof set in batches.
    const funder = f.spare;
    const bulk = await viem.deployContract("MarketBulkProvider", [
      f.market.address,
      f.coop.token.address,
      f.coop.membership.address,
    ]);
    const token = await tokenAs(f, funder);
    await send(f, token.write.transfer([bulk.address, 9_000n * UNIT]));
    await send(f, bulk.write.join([f.coop.membership.address]));
    const capacity = SHARD_SIZE * BigInt(BULK_SHARDS);
    await send(f, bulk.write.register([capacity, minStake(params, capacity)]));
    const firstId = (
      await f.market.simulate.createDeal(
        [
          dealRequest({
            k: 1,
            shardSize: 512n,
            duration: 1,
            roots: [tree.root],
            providers: [f.providers[0].account.address],
            manifestCid: MANIFEST_CID,
          }),
        ],
        { account: f.owner.account.address },
      )
    ).result;
    for (let done = 0; done < BULK_SHARDS; done += BATCH) {
      await send(
        f,
        bulk.write.createAndAccept(
          [BigInt(Math.min(BATCH, BULK_SHARDS - done)), SHARD_SIZE, 20, tree.root],
          { gas: 16_000_000n },
        ),
      );
    }
    const bulkBook: TreeBook = new Map();
    for (let i = 0n; i < BigInt(BULK_SHARDS); i++) bulkBook.set(firstId + i, [tree]);
    await networkHelpers.impersonateAccount(bulk.address);
    await networkHelpers.setBalance(bulk.address, 10n ** 20n);
    tenThousand = { provider: await viem.getWalletClient(bulk.address as Address), book: bulkBook };
    const v = await f.market.read.getProvider([bulk.address]);
    assert.equal(v.entryCount, BULK_SHARDS);
  });

  it("submitProof (c = 5) for 10 shards and for 10,000 shards", async function () {
    await nextEpoch(f);
    await fixSeed(f);
    // Warm-up: each provider's first proof also creates its proven-epoch list.
    await proofGas(tenShards.provider, tenShards.book);
    await proofGas(tenThousand.provider, tenThousand.book);
    await nextEpoch(f);
    await fixSeed(f);
    const ten = await proofGas(tenShards.provider, tenShards.book);
    const big = await proofGas(tenThousand.provider, tenThousand.book);
    record("submitProof (c = 5, 10 shards)", ten.gas);
    record("submitProof (c = 5, 10,000 shards)", big.gas);
    const ratio = Number(big.gas - ten.gas) / Number(ten.gas);
    const nodes = (x: typeof ten) => `${x.cold} + ${x.warm} warm tree nodes`;
    console.log(
      `      proof gas: 10 shards ${ten.gas} (${nodes(ten)}), 10,000 shards ${big.gas} ` +
        `(${nodes(big)}), +${(ratio * 100).toFixed(1)}%`,
    );
    assert.ok(
      ten.gas <= 300_000n && big.gas <= 300_000n,
      `proof gas ${ten.gas} / ${big.gas} > 300k`,
    );
    // The challenges are drawn over the live leaves, so each proof's entry is checked against
    // a Fenwick tree of them: the cost grows with the tree nodes read (at most log2 of the
    // entries per challenge), never linearly with the shards held.
    const more = (a: bigint, b: bigint) => (a > b ? a - b : 0n);
    const bound =
      more(big.cold, ten.cold) * COLD_NODE_GAS + more(big.warm, ten.warm) * WARM_NODE_GAS + 5_000n;
    assert.ok(
      big.gas - ten.gas <= bound,
      `10,000 shards cost ${big.gas - ten.gas} more, beyond ${bound} for their tree nodes`,
    );
  });

  it("reportMissedEpoch", async function () {
    // Provider 0 holds the accepted shards from the acceptShard step and has proven nothing.
    const e = await f.market.read.currentEpoch();
    await nextEpoch(f, 2n);
    const m = await marketAs(f, f.spare);
    await send(f, m.write.reportMissedEpoch([f.providers[0].account.address, e - 1n])); // warm-up
    const receipt = await send(f, m.write.reportMissedEpoch([f.providers[0].account.address, e]));
    record("reportMissedEpoch", receipt.gasUsed);
  });

  it("settleShard (per shard, at the end of the deal), without and with hints", async function () {
    const [first, second, third] = [...tenShards.book.keys()];
    await nextEpoch(f, 20n);
    await send(f, f.market.write.settleShard([first, 0n])); // warm-up
    const receipt = await send(f, f.market.write.settleShard([second, 0n]));
    record("settleShard (per shard)", receipt.gasUsed);
    const holder = tenShards.provider.account.address;
    const from = BigInt((await f.market.read.getShard([third, 0n])).epoch);
    const stop = BigInt((await f.market.read.getDeal([third])).endEpoch);
    const hints = [
      await f.market.read.provenIndex([holder, from]),
      await f.market.read.provenIndex([holder, stop]),
    ] as const;
    const hinted = await send(
      f,
      f.market.write.settleShardWithHints([third, 0n, hints[0], hints[1]]),
    );
    record("settleShardWithHints (per shard)", hinted.gasUsed);
  });

  it("submitProof (c = 5) for one 64 MiB shard: proof depth 17 instead of 9", async function () {
    // Proof gas grows with the depth of the challenged shard's tree (≈ 6.4k gas per level at
    // c = 5, mostly calldata); with the shards held only through the live-leaf tree (above).
    const size = 64n * 1024n * 1024n;
    const bigTree = buildSegmentTree(randomBytes(Number(size)));
    const p = f.providers[5];
    const req = dealRequest({
      k: 1,
      shardSize: size,
      duration: 20,
      roots: [bigTree.root],
      providers: [p.account.address],
      manifestCid: MANIFEST_CID,
    });
    const { result: dealId } = await f.market.simulate.createDeal([req], {
      account: f.owner.account.address,
    });
    await send(f, (await marketAs(f, f.owner)).write.createDeal([req]));
    await send(f, (await marketAs(f, p)).write.acceptShard([dealId, 0n, req.roots, req.providers]));
    const book: TreeBook = new Map([[dealId, [bigTree]]]);
    await nextEpoch(f);
    await fixSeed(f);
    await proofGas(p, book); // warm-up: the first proof creates the proven-epoch list
    await nextEpoch(f);
    await fixSeed(f);
    const deep = (await proofGas(p, book)).gas;
    record("submitProof (c = 5, one 64 MiB shard, depth 17)", deep);
    assert.ok(deep <= 300_000n, `proof gas at depth 17: ${deep} > 300k`);
  });
});
