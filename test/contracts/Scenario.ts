/**
 * One long end-to-end story on the real deployment: the whole system deployed by the Ignition
 * module `ignition/modules/CoopCloudLocal.ts` (the one `npm start` runs), then members join, a
 * file is stored over three providers and proven epoch by epoch, a provider misses an epoch and
 * is reported, a shard is lost and repaired, governance changes the price and declares a
 * dividend, the deal ends and is settled, a provider leaves and a member exits. Each `it` is one step of the
 * story; they share state and run in order (a failed step skips the rest).
 *
 * Amounts are what a user sees: cUSD with 6 decimals, at the module's local parameters (at
 * 1e10 WAD per byte-epoch a 1 MiB shard costs ceil(0.0105) = 1 base unit per epoch). Expected
 * payments are computed from the proofs this test submitted, not read back from the market.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { describe, it, type TestContext } from "node:test";

import { network } from "hardhat";
import {
  type Address,
  type Hex,
  type TransactionReceipt,
  encodeFunctionData,
  getAddress,
  keccak256,
  maxUint256,
  parseEventLogs,
  parseUnits,
  toHex,
  zeroAddress,
  zeroHash,
} from "viem";

import CoopCloudLocal from "../../ignition/modules/CoopCloudLocal.ts";
import { signPermit } from "./fixtures/coop.ts";
import { buildSegmentTree, segmentProof, type SegmentTree } from "./helpers/merkle.ts";

const cUSD = (amount: string) => parseUnits(amount, 6);
const WAD = 10n ** 18n;
const GIB = 1n << 30n;
const MIB = 1n << 20n;

const ROLE = {
  admin: zeroHash,
  proposer: keccak256(toHex("PROPOSER_ROLE")),
  executor: keccak256(toHex("EXECUTOR_ROLE")),
  canceller: keccak256(toHex("CANCELLER_ROLE")),
};
const ProposalState = { Pending: 0, Active: 1, Succeeded: 4, Queued: 5, Executed: 7 } as const;
const Vote = { Against: 0, For: 1, Abstain: 2 } as const;
const ShardStatus = { Assigned: 0, Active: 1, Lost: 2, Closed: 3 } as const;

describe("Scenario: a co-op cloud on the production deployment", async function () {
  const { viem, ignition, networkHelpers } = await network.create();
  const { time } = networkHelpers;
  const publicClient = await viem.getPublicClient();
  const assertions = viem.assertions;
  type Wallet = Awaited<ReturnType<typeof viem.getWalletClients>>[number];

  // ─────────────────────────── cast ───────────────────────────
  const wallets = await viem.getWalletClients();
  const [deployer, alice, bob, carol, dave, erin, frank, grace, watcher] = wallets;
  /** alice stores a file; bob, carol and dave hold its shards; erin repairs; frank and grace vote. */
  const members = { alice, bob, carol, dave, erin, frank, grace };
  const nameOf = new Map<string, string>([
    ...Object.entries(members).map(
      ([n, w]) => [getAddress(w.account.address), n] as [string, string],
    ),
    [getAddress(deployer.account.address), "deployer"],
    [getAddress(watcher.account.address), "watcher"],
  ]);

  // ─────────────────────────── shared state ───────────────────────────
  /**
   * The deployment's contracts. The module's token future is typed by a name known only at run
   * time (the production module points it at an existing stablecoin), so it is re-read as the
   * FaucetToken it is on a local chain.
   */
  const deploy = async () => {
    const deployed = await ignition.deploy(CoopCloudLocal);
    const tokenAddress = (deployed.token as unknown as { address: Address }).address;
    return { ...deployed, token: await viem.getContractAt("FaucetToken", tokenAddress) };
  };
  let sys: Awaited<ReturnType<typeof deploy>>;

  /** A provider node as the test drives it: the shard bytes it keeps and the epochs it proved. */
  interface Node {
    name: string;
    wallet: Wallet;
    address: Address;
    /** Shard trees it holds, by `${dealId}:${shard}`; a lost or finished shard is dropped. */
    data: Map<string, SegmentTree>;
    /** First epoch it owes a proof (the epoch after its first shard joined its proof set). */
    owesFrom?: bigint;
    /** Epochs whose batch proof the market accepted. */
    proven: Set<bigint>;
    /** Stops proving (a node that is down). */
    offline: boolean;
  }
  const nodes = new Map<string, Node>();
  const nodeOf = (w: Wallet): Node => {
    const key = getAddress(w.account.address);
    let n = nodes.get(key);
    if (n === undefined) {
      n = {
        name: nameOf.get(key)!,
        wallet: w,
        address: key,
        data: new Map(),
        proven: new Set(),
        offline: false,
      };
      nodes.set(key, n);
    }
    return n;
  };

  /** The stored file: its shards and what the test expects of each. */
  interface ShardModel {
    bytes: Buffer;
    tree: SegmentTree;
    holder: Node;
    /** First epoch not yet paid to the holder. */
    paidFrom: bigint;
    /** Epochs paid to any holder so far. */
    paidEpochs: bigint;
  }
  const deal = {
    id: 0n,
    k: 2,
    shardSize: MIB,
    duration: 0n,
    start: 0n,
    end: 0n,
    rate: 0n,
    escrow: 0n,
    fee: 0n,
    roots: [] as Hex[],
    providers: [] as Address[],
    manifestCid: "0x" as Hex,
    shards: [] as ShardModel[],
  };
  /** Patronage the test expects each member to have earned or paid in period 0. */
  const points0 = new Map<Address, bigint>();
  const addPoints = async (who: Address, amount: bigint) => {
    if ((await sys.treasury.read.currentPeriod()) !== 0n || amount === 0n) return;
    const key = getAddress(who);
    points0.set(key, (points0.get(key) ?? 0n) + amount);
  };
  let lossEpoch = 0n;
  let dividend = 0n;

  // ─────────────────────────── helpers ───────────────────────────
  const send = async (hash: Promise<Hex>): Promise<TransactionReceipt> => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
    assert.equal(receipt.status, "success");
    return receipt;
  };
  const as = async (w: Wallet) => ({
    token: await viem.getContractAt("FaucetToken", sys.token.address, { client: { wallet: w } }),
    membership: await viem.getContractAt("CoopMembership", sys.membership.address, {
      client: { wallet: w },
    }),
    governor: await viem.getContractAt("CoopGovernor", sys.governor.address, {
      client: { wallet: w },
    }),
    treasury: await viem.getContractAt("PatronageTreasury", sys.treasury.address, {
      client: { wallet: w },
    }),
    market: await viem.getContractAt("StorageMarket", sys.market.address, {
      client: { wallet: w },
    }),
  });
  const tokenBalance = (a: Address) => sys.token.read.balanceOf([a]);
  const epoch = () => sys.market.read.currentEpoch();
  const shardKey = (i: number) => `${deal.id}:${i}`;

  /** Moves to the first second of the next epoch. */
  const toNextEpoch = async () => {
    const [anchorTime, anchorEpoch, length] = await sys.market.read.epochClock();
    const next = (await epoch()) + 1n;
    await time.increaseTo(anchorTime + (next - BigInt(anchorEpoch)) * BigInt(length));
    return next;
  };

  /**
   * The batch proof `node` owes for epoch `e`, as a provider node builds it: challenges from the
   * market's view, the entry holding each from its proof set, the segment and path from the
   * shard bytes it keeps.
   */
  const buildProof = async (node: Node, e: bigint) => {
    const [entries, segments] = await sys.market.read.getEpochChallenges([node.address, e]);
    const { challengesPerEpoch } = await sys.market.read.params();
    assert.equal(
      entries.length,
      challengesPerEpoch,
      `${node.name} has ${challengesPerEpoch} challenges in epoch ${e}`,
    );
    const set = await sys.market.read.getProofSet([node.address, 0n, 64n]);
    return entries.map((index, i) => {
      const entry = set[Number(index)];
      assert.ok(
        BigInt(entry.addedEpoch) < e &&
          (entry.removedEpoch === 0 || BigInt(entry.removedEpoch) >= e) &&
          segments[i] < BigInt(entry.leafCount),
        "the view names an entry live when the epoch began, and a segment inside it",
      );
      const tree = node.data.get(`${entry.dealId}:${entry.shard}`);
      if (tree === undefined) throw new Error(`${node.name} holds no data for entry ${index}`);
      return { entry: index, ...segmentProof(tree, Number(segments[i])) };
    });
  };

  const prove = async (node: Node, e: bigint) => {
    const proofs = await buildProof(node, e);
    const receipt = await send((await as(node.wallet)).market.write.submitProof([e, proofs]));
    const [log] = parseEventLogs({
      abi: sys.market.abi,
      logs: receipt.logs,
      eventName: "EpochProven",
    });
    assert.deepEqual(log.args, { provider: node.address, epoch: e });
    node.proven.add(e);
  };

  /**
   * `w` fixes the current epoch's seed: its call commits the seed to the hash of the next
   * block (unknown to it), it waits for that block and saves the seed with a second call.
   */
  const fixSeed = async (w: Wallet) => {
    const c = await as(w);
    await send(c.market.write.fixSeed());
    await networkHelpers.mine();
    await send(c.market.write.fixSeed());
    assert.notEqual((await sys.market.read.seedOf([await epoch()]))[0], zeroHash);
  };

  /** The first online node fixes the seed, every online node that owes epoch `e` proves it. */
  const proveOwed = async (e: bigint) => {
    const provers = [...nodes.values()].filter(
      (n) => !n.offline && n.owesFrom !== undefined && n.owesFrom <= e,
    );
    if (provers.length > 0) {
      await fixSeed(provers[0].wallet);
      for (const n of provers) await prove(n, e);
    }
  };

  /** Next epoch, proven by the nodes that owe it. */
  const runEpoch = async () => {
    const e = await toNextEpoch();
    await proveOwed(e);
    return e;
  };

  /** Runs epochs (nodes keep proving) until the chain's time is past `timestamp`. */
  const runUntil = async (timestamp: bigint) => {
    while (BigInt(await time.latest()) <= timestamp) await runEpoch();
  };

  /** Proven epochs of `node` in [from, to). */
  const provenIn = (node: Node, from: bigint, to: bigint) =>
    BigInt([...node.proven].filter((e) => e >= from && e < to).length);

  /**
   * Settles shard `i` (by its holder) mid-deal: the holder is paid `rate` per epoch it proved
   * whose window has closed, i.e. in [paidFrom, min(end, current - 1)). Returns the amount.
   */
  const settleMidDeal = async (i: number) => {
    const s = deal.shards[i];
    const cur = await epoch();
    const stop = cur - 1n < deal.end ? cur - 1n : deal.end;
    const epochs = provenIn(s.holder, s.paidFrom, stop);
    const expected = deal.rate * epochs;
    const receipt = await send(
      (await as(s.holder.wallet)).market.write.settleShard([deal.id, BigInt(i)]),
    );
    const paid = parseEventLogs({
      abi: sys.market.abi,
      logs: receipt.logs,
      eventName: "ShardPaid",
    });
    const amount = paid.reduce((a, l) => a + l.args.amount, 0n);
    assert.equal(
      amount,
      expected,
      `${s.holder.name} is paid ${epochs} proven epochs of shard ${i} at the locked rate`,
    );
    if (expected !== 0n) assert.equal(paid[0].args.provider, s.holder.address);
    s.paidFrom = stop;
    s.paidEpochs += epochs;
    await addPoints(s.holder.address, amount);
    await addPoints(alice.account.address, amount);
    return amount;
  };

  /** Withdraws `w`'s market balance and checks its token balance rose by exactly `expected`. */
  const withdrawExactly = async (w: Wallet, expected: bigint, what: string) => {
    assert.equal(
      await sys.market.read.balanceOf([w.account.address]),
      expected,
      `${what}: market balance`,
    );
    const before = await tokenBalance(w.account.address);
    await send((await as(w)).market.write.withdraw());
    assert.equal(
      (await tokenBalance(w.account.address)) - before,
      expected,
      `${what}: tokens received`,
    );
    assert.equal(await sys.market.read.balanceOf([w.account.address]), 0n);
  };

  /** A proposal through the whole life cycle, providers proving all along. */
  const passProposal = async (
    calls: { target: Address; data: Hex }[],
    description: string,
    votes: [Wallet, number][],
  ) => {
    const targets = calls.map((c) => c.target);
    const values = calls.map(() => 0n);
    const datas = calls.map((c) => c.data);
    const descriptionHash = keccak256(toHex(description));
    const proposer = (await as(votes[0][0])).governor;
    const id = await sys.governor.read.hashProposal([targets, values, datas, descriptionHash]);
    await send(proposer.write.propose([targets, values, datas, description]));
    assert.equal(await sys.governor.read.state([id]), ProposalState.Pending);

    await runUntil(await sys.governor.read.proposalSnapshot([id]));
    assert.equal(await sys.governor.read.state([id]), ProposalState.Active);
    for (const [w, support] of votes)
      await send((await as(w)).governor.write.castVote([id, support]));
    const tally = (s: number) => BigInt(votes.filter(([, v]) => v === s).length);
    assert.deepEqual(await sys.governor.read.proposalVotes([id]), [
      tally(Vote.Against),
      tally(Vote.For),
      tally(Vote.Abstain),
    ]);

    await runUntil(await sys.governor.read.proposalDeadline([id]));
    assert.equal(await sys.governor.read.state([id]), ProposalState.Succeeded);
    await send(proposer.write.queue([targets, values, datas, descriptionHash]));
    assert.equal(await sys.governor.read.state([id]), ProposalState.Queued);
    // The timelock holds it for its delay: executing early fails.
    await assertions.revertWithCustomError(
      proposer.write.execute([targets, values, datas, descriptionHash]),
      sys.timelock,
      "TimelockUnexpectedOperationState",
    );

    await runUntil((await sys.governor.read.proposalEta([id])) - 1n);
    const receipt = await send(proposer.write.execute([targets, values, datas, descriptionHash]));
    assert.equal(await sys.governor.read.state([id]), ProposalState.Executed);
    return receipt;
  };

  /** Token conservation: every drip is somewhere, and the market's books match its balance. */
  const checkConservation = async () => {
    const drips = await publicClient.getContractEvents({
      address: sys.token.address,
      abi: sys.token.abi,
      eventName: "FaucetDripped",
      fromBlock: 0n,
    });
    const minted = drips.reduce((a, l) => a + l.args.amount!, 0n);
    const supply = await sys.token.read.totalSupply();
    assert.equal(supply, minted, "total supply = sum of faucet drips");
    const extension = await sys.market.read.extension();
    const holders = [
      ...wallets.map((w) => w.account.address),
      sys.market.address,
      extension,
      sys.treasury.address,
      sys.membership.address,
      sys.timelock.address,
      sys.governor.address,
      sys.token.address,
    ];
    let sum = 0n;
    for (const h of holders) sum += await tokenBalance(h);
    assert.equal(sum, supply, "accounts + contracts hold the whole supply");
    const [balances, escrow, stakes, pools] = await sys.market.read.totals();
    assert.equal(
      balances + escrow + stakes + pools,
      await tokenBalance(sys.market.address),
      "market books = its balance",
    );
    assert.equal(
      (await sys.treasury.read.freeBalance()) + (await sys.treasury.read.totalReserved()),
      await tokenBalance(sys.treasury.address),
      "treasury free + reserved = its balance",
    );
    const memberCount = await sys.membership.read.memberCount();
    assert.equal(
      await tokenBalance(sys.membership.address),
      memberCount * cUSD("100"),
      "membership holds the shares",
    );
    return { minted, supply };
  };

  // Steps depend on each other: once one fails, the rest are skipped rather than failing on
  // a state the story never reached.
  let broken: string | undefined;
  const step = (name: string, fn: () => Promise<void>) =>
    it(name, async (t: TestContext) => {
      if (broken !== undefined) {
        t.skip(`skipped: step "${broken}" failed`);
        return;
      }
      try {
        await fn();
      } catch (err) {
        broken = name;
        throw err;
      }
    });

  // ─────────────────────────── the story ───────────────────────────

  step(
    "0. the co-op is deployed by ignition/modules/CoopCloudLocal.ts, wired, and the deployer holds no role",
    async () => {
      sys = await deploy();
      const me = deployer.account.address;
      const { timelock, membership, governor, treasury, market, token } = sys;
      assert.equal(
        await timelock.read.hasRole([ROLE.admin, me]),
        false,
        "deployer renounced the timelock admin role",
      );
      for (const role of [ROLE.proposer, ROLE.canceller, ROLE.executor]) {
        assert.equal(await timelock.read.hasRole([role, me]), false);
      }
      assert.equal(
        await timelock.read.hasRole([ROLE.admin, timelock.address]),
        true,
        "the timelock administers itself",
      );
      assert.equal(await timelock.read.hasRole([ROLE.proposer, governor.address]), true);
      assert.equal(await timelock.read.hasRole([ROLE.canceller, governor.address]), true);
      assert.equal(
        await timelock.read.hasRole([ROLE.executor, zeroAddress]),
        true,
        "anyone executes a ready operation",
      );
      for (const owned of [membership, treasury, market]) {
        assert.equal(await owned.read.owner(), getAddress(timelock.address));
      }
      assert.equal(await governor.read.timelock(), getAddress(timelock.address));
      assert.equal(await governor.read.token(), getAddress(membership.address));
      assert.equal(
        await treasury.read.recorder(),
        getAddress(market.address),
        "the market records patronage",
      );
      assert.equal(await market.read.token(), getAddress(token.address));
      assert.equal(await market.read.treasury(), getAddress(treasury.address));
      assert.equal(await market.read.membership(), getAddress(membership.address));
      assert.equal(await token.read.decimals(), 6);
      assert.equal(await token.read.symbol(), "cUSD");
      assert.equal(await token.read.totalSupply(), 0n);
      assert.equal(await epoch(), 1n, "epoch 1 starts at deployment");
      // Governance setters refuse the deployer.
      await assertions.revertWithCustomError(
        market.write.setParams([await market.read.params()]),
        market,
        "OwnableUnauthorizedAccount",
      );
    },
  );

  step(
    "1. members join with faucet tokens (frank with a permit); one member, one vote",
    async () => {
      const share = await sys.membership.read.shareAmount();
      assert.equal(share, cUSD("100"));
      for (const [name, w] of Object.entries(members)) {
        const c = await as(w);
        await send(c.token.write.faucet());
        assert.equal(
          await tokenBalance(w.account.address),
          cUSD("10000"),
          `${name} got 10,000 cUSD from the faucet`,
        );
        if (w === frank) {
          assert.equal(
            await sys.token.read.allowance([w.account.address, sys.membership.address]),
            0n,
          );
          const deadline = BigInt(await time.latest()) + 3600n;
          const p = await signPermit(viem, sys.token, w, sys.membership.address, share, deadline);
          await send(c.membership.write.joinWithPermit([p.deadline, p.v, p.r, p.s]));
        } else {
          await send(c.token.write.approve([sys.membership.address, share]));
          await send(c.membership.write.join());
        }
        assert.equal(
          await tokenBalance(w.account.address),
          cUSD("9900"),
          `${name} paid the 100 cUSD share`,
        );
        assert.deepEqual(await sys.membership.read.getMember([w.account.address]), [share, 0n]);
        assert.equal(
          await sys.membership.read.getVotes([w.account.address]),
          1n,
          `${name} has one vote`,
        );
      }
      // The faucet is rate limited.
      await assertions.revertWithCustomError(
        (await as(alice)).token.write.faucet(),
        sys.token,
        "FaucetTokenCooldownActive",
      );
      const count = BigInt(Object.keys(members).length);
      assert.equal(await sys.membership.read.memberCount(), count);
      await networkHelpers.mine();
      const t = BigInt(await time.latest()) - 1n;
      assert.equal(
        await sys.membership.read.getPastTotalSupply([t]),
        count,
        "total votes = members",
      );
      for (const outsider of [deployer, watcher]) {
        assert.equal(await sys.membership.read.isMember([outsider.account.address]), false);
        assert.equal(await sys.membership.read.getVotes([outsider.account.address]), 0n);
      }
      assert.equal(await tokenBalance(sys.membership.address), count * share);
    },
  );

  step(
    "2. bob, carol, dave and erin register as providers with endpoint, multiaddrs, capacity and stake",
    async () => {
      const params = await sys.market.read.params();
      const capacity = 10n * GIB;
      const required = (capacity * params.minStakePerGiB + GIB - 1n) / GIB;
      assert.equal(required, cUSD("10"), "1 cUSD of stake per GiB");
      const stake = cUSD("25");
      // Below the minimum, and a non-member, are refused.
      await send((await as(bob)).token.write.approve([sys.market.address, maxUint256]));
      await assertions.revertWithCustomErrorWithArgs(
        (await as(bob)).market.write.register([
          "http://127.0.0.1:7001",
          [],
          capacity,
          required - 1n,
        ]),
        sys.market,
        "MarketStakeTooLow",
        [required - 1n, required],
      );
      await assertions.revertWithCustomErrorWithArgs(
        (await as(watcher)).market.write.register(["http://127.0.0.1:7009", [], capacity, stake]),
        sys.market,
        "MarketNotMember",
        [getAddress(watcher.account.address)],
      );
      const marketBefore = await tokenBalance(sys.market.address);
      for (const [i, w] of [bob, carol, dave, erin].entries()) {
        const c = await as(w);
        const endpoint = `http://127.0.0.1:${7001 + i}`;
        const multiaddrs = [`/ip4/127.0.0.1/tcp/${4001 + i}`, `/ip4/127.0.0.1/tcp/${4101 + i}/ws`];
        await send(c.token.write.approve([sys.market.address, maxUint256]));
        const before = await tokenBalance(w.account.address);
        await assertions.emitWithArgs(
          c.market.write.register([endpoint, multiaddrs, capacity, stake]),
          sys.market,
          "ProviderRegistered",
          [getAddress(w.account.address), endpoint, multiaddrs, capacity, stake],
        );
        assert.equal(before - (await tokenBalance(w.account.address)), stake);
        const v = await sys.market.read.getProvider([w.account.address]);
        assert.equal(v.registered, true);
        assert.equal(v.endpoint, endpoint);
        assert.deepEqual(v.multiaddrs, multiaddrs);
        assert.equal(v.capacity, capacity);
        assert.equal(v.stake, stake);
        assert.equal(v.used, 0n);
      }
      assert.equal((await tokenBalance(sys.market.address)) - marketBefore, 4n * stake);
      const [, , stakes] = await sys.market.read.totals();
      assert.equal(stakes, 4n * stake);
    },
  );

  step(
    "3. alice stores a file: real shards (k=2, n=3), segment roots, a permit, fee to the treasury, escrow to the market",
    async () => {
      // The file's ciphertext, erasure-coded as docs/protocol.md says: one stripe of two 1 MiB data
      // blocks, and parity shard k = the XOR of the data blocks (the normalised Cauchy row of ones).
      const size = Number(deal.shardSize);
      const ciphertext = randomBytes(2 * size);
      const d0 = ciphertext.subarray(0, size);
      const d1 = ciphertext.subarray(size);
      const parity = Buffer.alloc(size);
      for (let b = 0; b < size; b++) parity[b] = d0[b] ^ d1[b];
      const shardBytes = [Buffer.from(d0), Buffer.from(d1), parity];
      const trees = shardBytes.map((b) => buildSegmentTree(b));
      for (const t of trees) assert.equal(t.leafCount, size / 512);
      deal.roots = trees.map((t) => t.root);
      assert.equal(new Set(deal.roots).size, 3);
      const holders = [bob, carol, dave].map(nodeOf);
      deal.providers = holders.map((n) => n.address);
      // The manifest's CID: CIDv1, raw codec, sha2-256 of its (encrypted) bytes.
      const manifestDigest = createHash("sha256").update(randomBytes(300)).digest("hex");
      deal.manifestCid = `0x01551220${manifestDigest}`;

      // Long enough to span the patronage period and the two governance rounds ahead.
      const [, , length] = await sys.market.read.epochClock();
      const governance =
        (await sys.governor.read.votingDelay()) +
        (await sys.governor.read.votingPeriod()) +
        (await sys.timelock.read.getMinDelay());
      const periodEnd = await sys.treasury.read.periodStart([1n]);
      const now = BigInt(await time.latest());
      deal.duration = (periodEnd + 2n * governance - now) / BigInt(length) + 30n;

      const params = await sys.market.read.params();
      const [rate, escrow, fee] = await sys.market.read.quoteDeal([
        deal.shardSize,
        3n,
        deal.duration,
      ]);
      assert.equal(
        rate,
        (deal.shardSize * params.pricePerByteEpoch + WAD - 1n) / WAD,
        "rate = ceil(size · price)",
      );
      assert.equal(escrow, rate * 3n * deal.duration);
      assert.equal(fee, (escrow * BigInt(params.feeBps)) / 10_000n);
      Object.assign(deal, { rate, escrow, fee });

      const request = {
        k: deal.k,
        shardSize: deal.shardSize,
        durationEpochs: Number(deal.duration),
        roots: deal.roots,
        providers: deal.providers,
        manifestCid: deal.manifestCid,
      };
      const a = await as(alice);
      assert.equal(
        await sys.token.read.allowance([alice.account.address, sys.market.address]),
        0n,
        "no approval beforehand",
      );
      const permit = await signPermit(
        viem,
        sys.token,
        alice,
        sys.market.address,
        escrow + fee,
        now + 3600n,
      );
      const before = {
        alice: await tokenBalance(alice.account.address),
        treasury: await tokenBalance(sys.treasury.address),
        market: await tokenBalance(sys.market.address),
      };
      const created = await epoch();
      const receipt = await send(
        a.market.write.createDealWithPermit([
          request,
          escrow + fee,
          permit.deadline,
          permit.v,
          permit.r,
          permit.s,
        ]),
      );
      const [log] = parseEventLogs({
        abi: sys.market.abi,
        logs: receipt.logs,
        eventName: "DealCreated",
      });
      deal.id = log.args.dealId;
      deal.start = created + 1n;
      deal.end = deal.start + deal.duration;
      assert.equal(deal.id, 1n);
      assert.equal(log.args.owner, getAddress(alice.account.address));
      assert.deepEqual(
        [BigInt(log.args.startEpoch), BigInt(log.args.endEpoch), log.args.escrow, log.args.fee],
        [deal.start, deal.end, escrow, fee],
      );
      assert.equal(
        before.alice - (await tokenBalance(alice.account.address)),
        escrow + fee,
        "alice paid escrow + fee",
      );
      assert.equal(
        (await tokenBalance(sys.treasury.address)) - before.treasury,
        fee,
        "the fee reached the treasury",
      );
      assert.equal(
        (await tokenBalance(sys.market.address)) - before.market,
        escrow,
        "the escrow is in the market",
      );
      assert.equal((await sys.market.read.totals())[1], escrow);
      // Only the fee counts now; the escrow counts as it is paid out to the holders.
      await addPoints(alice.account.address, fee);
      assert.equal((await sys.treasury.read.getPatronage([0n, alice.account.address])).points, fee);

      const v = await sys.market.read.getDeal([deal.id]);
      assert.equal(v.owner, getAddress(alice.account.address));
      assert.deepEqual(
        [v.k, v.n, v.shardSize, v.leafCount, v.shardRate],
        [2, 3, deal.shardSize, size / 512, rate],
      );
      assert.equal(v.manifestCid, deal.manifestCid);
      for (let i = 0; i < 3; i++) {
        const s = await sys.market.read.getShard([deal.id, BigInt(i)]);
        assert.equal(s.status, ShardStatus.Assigned);
        deal.shards.push({
          bytes: shardBytes[i],
          tree: trees[i],
          holder: holders[i],
          paidFrom: deal.start,
          paidEpochs: 0n,
        });
      }
    },
  );

  step(
    "4. each provider checks and accepts its shard, proves epoch after epoch and is paid exactly for the proven epochs",
    async () => {
      // Someone else's shard cannot be taken.
      await assertions.revertWithCustomErrorWithArgs(
        (await as(carol)).market.write.acceptShard([deal.id, 0n, deal.roots, deal.providers]),
        sys.market,
        "MarketShardNotAssigned",
        [deal.id, 0n, getAddress(carol.account.address)],
      );
      const accepted = await epoch();
      for (const [i, s] of deal.shards.entries()) {
        // The node checks the bytes it received against the committed root before accepting.
        assert.equal(buildSegmentTree(s.bytes).root, deal.roots[i]);
        const c = await as(s.holder.wallet);
        await assertions.emitWithArgs(
          c.market.write.acceptShard([deal.id, BigInt(i), deal.roots, deal.providers]),
          sys.market,
          "ShardAccepted",
          [deal.id, i, s.holder.address, 0n],
        );
        s.holder.data.set(shardKey(i), s.tree);
        s.holder.owesFrom = accepted + 1n;
        const v = await sys.market.read.getShard([deal.id, BigInt(i)]);
        assert.deepEqual(
          [v.status, v.provider, v.root, BigInt(v.epoch)],
          [ShardStatus.Active, s.holder.address, deal.roots[i], deal.start],
        );
        assert.equal((await sys.market.read.getProvider([s.holder.address])).used, deal.shardSize);
      }

      // First epoch: a tampered segment and a proof at another position are refused, the real one passes.
      const e = await toNextEpoch();
      assert.equal(e, deal.start);
      const bobNode = nodeOf(bob);
      await assertions.revertWithCustomErrorWithArgs(
        (await as(bob)).market.write.submitProof([e, []]),
        sys.market,
        "MarketSeedNotFixed",
        [e],
      );
      // bob's call commits the seed to the next block's hash: in that block it is still unknown.
      const commit = await send((await as(bob)).market.write.fixSeed());
      assert.deepEqual(await sys.market.read.seedOf([e]), [zeroHash, commit.blockNumber + 1n]);
      await assertions.revertWithCustomErrorWithArgs(
        (await as(bob)).market.write.submitProof([e, []]),
        sys.market,
        "MarketSeedNotFixed",
        [e],
      );
      await networkHelpers.mine();
      await send((await as(bob)).market.write.fixSeed());
      const proofs = await buildProof(bobNode, e);
      const tampered = proofs.map((p, i) =>
        i === 2
          ? {
              ...p,
              segment: `0x${(BigInt(p.segment) ^ 1n).toString(16).padStart(1024, "0")}` as Hex,
            }
          : p,
      );
      await assertions.revertWithCustomErrorWithArgs(
        (await as(bob)).market.write.submitProof([e, tampered]),
        sys.market,
        "MarketInvalidProof",
        [2n],
      );
      const [, segments] = await sys.market.read.getEpochChallenges([bob.account.address, e]);
      const moved = proofs.map((p, i) =>
        i === 0
          ? {
              ...p,
              ...segmentProof(
                deal.shards[0].tree,
                Number((segments[0] + 1n) % BigInt(deal.shards[0].tree.leafCount)),
              ),
            }
          : p,
      );
      await assertions.revertWithCustomErrorWithArgs(
        (await as(bob)).market.write.submitProof([e, moved]),
        sys.market,
        "MarketInvalidProof",
        [0n],
      );
      for (const n of [bob, carol, dave].map(nodeOf)) await prove(n, e);
      // A replay of the same epoch is refused.
      await assertions.revertWithCustomErrorWithArgs(
        (await as(bob)).market.write.submitProof([e, proofs]),
        sys.market,
        "MarketEpochAlreadyProven",
        [e, e],
      );

      // Four more epochs, then each provider settles what is final and withdraws.
      for (let i = 0; i < 4; i++) await runEpoch();
      const cur = await epoch();
      assert.equal(cur, deal.start + 4n);
      for (const [i, s] of deal.shards.entries()) {
        const amount = await settleMidDeal(i);
        assert.equal(
          amount,
          3n * deal.rate,
          "epochs start..start+2 are final, start+3 can still be proven",
        );
        await withdrawExactly(s.holder.wallet, amount, `${s.holder.name}'s earnings`);
        const v = await sys.market.read.getShard([deal.id, BigInt(i)]);
        assert.deepEqual([v.paidEpochs, BigInt(v.epoch)], [3, cur - 1n]);
      }

      // The nodes keep proving, epoch after epoch, through the patronage period; shortly before
      // it closes they collect again (earnings count as patronage of the period they are paid in).
      const periodEnd = await sys.treasury.read.periodStart([1n]);
      const [, , length] = await sys.market.read.epochClock();
      await runUntil(periodEnd - 4n * BigInt(length));
      const now = await epoch();
      for (const [i, s] of deal.shards.entries()) {
        const from = s.paidFrom;
        const amount = await settleMidDeal(i);
        assert.ok(now - 1n - from > 100n, "over a hundred epochs proven");
        assert.equal(amount, deal.rate * (now - 1n - from), "every epoch was proven and is paid");
        await withdrawExactly(s.holder.wallet, amount, `${s.holder.name}'s earnings`);
      }
      assert.equal(await sys.treasury.read.currentPeriod(), 0n);
    },
  );

  step(
    "5. dave misses an epoch; a watcher reports it: dave is slashed, the watcher gets the bounty",
    async () => {
      const daveNode = nodeOf(dave);
      daveNode.offline = true;
      const missed = await runEpoch();
      daveNode.offline = false;
      assert.equal(daveNode.proven.has(missed), false);
      const w = await as(watcher);
      // Still inside the proof window: dave could yet prove it, so it is not missed.
      await runEpoch();
      await assertions.revertWithCustomErrorWithArgs(
        w.market.write.reportMissedEpoch([dave.account.address, missed]),
        sys.market,
        "MarketNotMissed",
        [getAddress(dave.account.address), missed],
      );
      await runEpoch();
      const params = await sys.market.read.params();
      const slash = params.missedEpochSlash;
      const bounty = (slash * BigInt(params.bountyBps)) / 10_000n;
      assert.deepEqual([slash, bounty], [cUSD("1"), cUSD("0.1")]);
      const stakeBefore = (await sys.market.read.getProvider([dave.account.address])).stake;
      const poolsBefore = (await sys.market.read.totals())[3];
      const treasuryBefore = await tokenBalance(sys.treasury.address);
      await assertions.emitWithArgs(
        w.market.write.reportMissedEpoch([dave.account.address, missed]),
        sys.market,
        "EpochMissed",
        [
          getAddress(dave.account.address),
          missed,
          getAddress(watcher.account.address),
          slash,
          bounty,
        ],
      );
      assert.equal(
        stakeBefore - (await sys.market.read.getProvider([dave.account.address])).stake,
        cUSD("1"),
        "dave lost 1 cUSD of stake",
      );
      assert.equal(
        (await tokenBalance(sys.treasury.address)) - treasuryBefore,
        slash - bounty,
        "0.9 cUSD to the co-op's treasury (not to the owners of dave's shards)",
      );
      assert.equal((await sys.market.read.totals())[3], poolsBefore, "nothing held back for them");
      // Once only; and a proven epoch cannot be reported.
      await assertions.revertWithCustomError(
        w.market.write.reportMissedEpoch([dave.account.address, missed]),
        sys.market,
        "MarketNotMissed",
      );
      await assertions.revertWithCustomError(
        w.market.write.reportMissedEpoch([carol.account.address, missed]),
        sys.market,
        "MarketNotMissed",
      );
      await withdrawExactly(watcher, cUSD("0.1"), "the watcher's bounty");
      // dave is not paid for the missed epoch.
      const from = deal.shards[2].paidFrom;
      const stop = (await epoch()) - 1n;
      assert.ok(from <= missed && missed < stop);
      const amount = await settleMidDeal(2);
      assert.equal(
        amount,
        deal.rate * (stop - from - 1n),
        "dave is paid every final epoch but the missed one",
      );
      await withdrawExactly(dave, amount, "dave's pay");
    },
  );

  let bobPaidAtLoss = 0n;
  let bobProvenBeforeLoss = 0n;
  step(
    "6. bob loses shard 0 and declares it; erin rebuilds it from carol's and dave's shards, proves the root and takes the slot",
    async () => {
      const bobNode = nodeOf(bob);
      // bob's disk fails at the start of an epoch: it proves no more and declares the loss. The
      // epoch's draw was fixed over bob's set as it began, so bob still owes that epoch.
      bobNode.offline = true;
      lossEpoch = await runEpoch();
      bobNode.owesFrom = undefined;
      const s0 = deal.shards[0];
      bobProvenBeforeLoss = provenIn(bobNode, s0.paidFrom, lossEpoch);
      assert.ok(bobNode.proven.has(lossEpoch - 1n), "bob proved the epoch before the loss");
      const declaredSlash = (await sys.market.read.params()).declaredLostSlash;
      assert.equal(declaredSlash, cUSD("0.5"));
      const stakeBefore = (await sys.market.read.getProvider([bob.account.address])).stake;
      const receipt = await send((await as(bob)).market.write.declareLost([deal.id, 0n]));
      const [lost] = parseEventLogs({
        abi: sys.market.abi,
        logs: receipt.logs,
        eventName: "ShardLost",
      });
      assert.deepEqual(
        [lost.args.provider, lost.args.slashed, lost.args.repairReward],
        [bobNode.address, declaredSlash, declaredSlash],
      );
      const paid = parseEventLogs({
        abi: sys.market.abi,
        logs: receipt.logs,
        eventName: "ShardPaid",
      });
      bobPaidAtLoss = paid.reduce((a, l) => a + l.args.epochs, 0n);
      await addPoints(bob.account.address, bobPaidAtLoss * deal.rate);
      await addPoints(alice.account.address, bobPaidAtLoss * deal.rate);
      s0.paidEpochs += bobPaidAtLoss;
      bobNode.data.delete(shardKey(0));
      assert.equal(
        stakeBefore - (await sys.market.read.getProvider([bob.account.address])).stake,
        cUSD("0.5"),
        "a declared loss costs 0.5 cUSD",
      );
      const v = await sys.market.read.getShard([deal.id, 0n]);
      assert.deepEqual([v.status, v.lost, v.repairReward], [ShardStatus.Lost, true, declaredSlash]);
      const bobView = await sys.market.read.getProvider([bob.account.address]);
      assert.deepEqual([bobView.activeShards, bobView.used], [0, 0n], "bob holds nothing now");

      // erin rebuilds shard 0 from any k = 2 others (XOR here), no key needed, and checks the root.
      const rebuilt = Buffer.alloc(Number(deal.shardSize));
      for (let b = 0; b < rebuilt.length; b++)
        rebuilt[b] = deal.shards[1].bytes[b] ^ deal.shards[2].bytes[b];
      assert.ok(rebuilt.equals(s0.bytes));
      const rebuiltTree = buildSegmentTree(rebuilt);
      assert.equal(rebuiltTree.root, v.root, "the rebuilt shard has the committed root");

      // carol already holds a shard of this deal: not eligible.
      await assertions.revertWithCustomErrorWithArgs(
        (await as(carol)).market.write.claimRepair([deal.id, 0n, deal.roots, deal.providers]),
        sys.market,
        "MarketRepairIneligible",
        [getAddress(carol.account.address), 1n],
      );
      const e = await as(erin);
      const seedBlock = (await publicClient.getBlockNumber()) + 2n;
      await assertions.emitWithArgs(
        e.market.write.claimRepair([deal.id, 0n, deal.roots, deal.providers]),
        sys.market,
        "RepairClaimed",
        [deal.id, 0, getAddress(erin.account.address), seedBlock],
      );
      // The segment to prove is drawn from the hash of the next block, unknown at claim time.
      await assertions.revertWithCustomErrorWithArgs(
        sys.market.read.drawnSegment([deal.id, 0n, erin.account.address]),
        sys.market,
        "MarketSeedNotFixed",
        [seedBlock],
      );
      const repairEpoch = await runEpoch();
      const index = await sys.market.read.drawnSegment([deal.id, 0n, erin.account.address]);
      const wrong = segmentProof(rebuiltTree, Number((index + 1n) % BigInt(rebuiltTree.leafCount)));
      await assertions.revertWithCustomError(
        e.market.write.completeRepair([
          deal.id,
          0n,
          wrong.segment,
          wrong.path,
          deal.roots,
          deal.providers,
        ]),
        sys.market,
        "MarketInvalidProof",
      );
      const right = segmentProof(rebuiltTree, Number(index));
      const period = await sys.treasury.read.currentPeriod();
      const erinPoints = async () =>
        (await sys.treasury.read.getPatronage([period, erin.account.address])).points;
      const pointsBefore = await erinPoints();
      await assertions.emitWithArgs(
        e.market.write.completeRepair([
          deal.id,
          0n,
          right.segment,
          right.path,
          deal.roots,
          deal.providers,
        ]),
        sys.market,
        "ShardRepaired",
        [deal.id, 0, getAddress(erin.account.address), 0n, cUSD("0.5")],
      );
      // The reward is bob's slashed stake: no patronage for it.
      assert.equal(await erinPoints(), pointsBefore, "a repair reward earns no points");
      const erinNode = nodeOf(erin);
      erinNode.data.set(shardKey(0), rebuiltTree);
      erinNode.owesFrom = repairEpoch + 1n;
      s0.holder = erinNode;
      s0.paidFrom = repairEpoch + 1n;
      const after = await sys.market.read.getShard([deal.id, 0n]);
      assert.deepEqual(
        [after.status, after.lost, after.provider, after.repairReward],
        [ShardStatus.Active, false, erinNode.address, 0n],
      );

      // erin proves from the next epoch on and is paid for it, plus the repair reward.
      for (let i = 0; i < 4; i++) await runEpoch();
      const earned = await settleMidDeal(0);
      assert.equal(earned, 2n * deal.rate, "erin's first two epochs are final");
      await withdrawExactly(erin, cUSD("0.5") + earned, "erin's repair reward and pay");
      // bob still owed the epoch of the loss (its draw covered the shard) and could not prove
      // it: the watcher reports it. The epochs after it are not bob's to prove.
      const w = await as(watcher);
      const { missedEpochSlash, bountyBps } = await sys.market.read.params();
      const bounty = (missedEpochSlash * BigInt(bountyBps)) / 10_000n;
      await assertions.emitWithArgs(
        w.market.write.reportMissedEpoch([bob.account.address, lossEpoch]),
        sys.market,
        "EpochMissed",
        [
          getAddress(bob.account.address),
          lossEpoch,
          getAddress(watcher.account.address),
          missedEpochSlash,
          bounty,
        ],
      );
      await assertions.revertWithCustomErrorWithArgs(
        w.market.write.reportMissedEpoch([bob.account.address, lossEpoch + 1n]),
        sys.market,
        "MarketNotMissed",
        [getAddress(bob.account.address), lossEpoch + 1n],
      );
      await withdrawExactly(watcher, bounty, "the watcher's bounty for bob's loss epoch");
      await withdrawExactly(bob, bobPaidAtLoss * deal.rate, "bob's last earnings");

      // frank doubts the repair and challenges the shard; erin answers and earns the fee.
      const fee = (await sys.market.read.params()).targetedChallengeFee;
      assert.equal(fee, cUSD("1"));
      const f = await as(frank);
      await send(f.token.write.approve([sys.market.address, fee]));
      const frankBefore = await tokenBalance(frank.account.address);
      const challengeBlock = (await publicClient.getBlockNumber()) + 2n;
      await assertions.emitWithArgs(
        f.market.write.challengeShard([deal.id, 0n]),
        sys.market,
        "ShardChallenged",
        [deal.id, 0, getAddress(frank.account.address), challengeBlock],
      );
      assert.equal(frankBefore - (await tokenBalance(frank.account.address)), fee);
      // An open challenge holds the shard's settlement.
      await assertions.revertWithCustomError(
        e.market.write.settleShard([deal.id, 0n]),
        sys.market,
        "MarketChallengeOpen",
      );
      await runEpoch();
      // frank fixes the draw: erin must answer by the end of the challenge window from now.
      const drawnIndex = await sys.market.read.drawnSegment([deal.id, 0n, zeroAddress]);
      const { challengeWindow } = await sys.market.read.params();
      await assertions.emitWithArgs(
        f.market.write.fixChallengeSeed([deal.id, 0n]),
        sys.market,
        "ChallengeDrawn",
        [deal.id, 0, drawnIndex, Number(await epoch()) + challengeWindow],
      );
      const drawn = segmentProof(rebuiltTree, Number(drawnIndex));
      await assertions.emitWithArgs(
        e.market.write.answerChallenge([deal.id, 0n, drawn.segment, drawn.path]),
        sys.market,
        "ChallengeAnswered",
        [deal.id, 0, erinNode.address],
      );
      assert.equal((await sys.market.read.getShard([deal.id, 0n])).challenger, zeroAddress);
      await withdrawExactly(erin, fee, "erin's answered-challenge fee");
      await checkConservation();
    },
  );

  step(
    "6b. a provider that declares a shard lost is paid for every epoch it proved before",
    async () => {
      assert.equal(
        bobPaidAtLoss,
        bobProvenBeforeLoss,
        `bob proved ${bobProvenBeforeLoss} epochs since his last settlement (the last one, ` +
          `epoch ${lossEpoch - 1n}, just before declaring the loss) and was paid for ${bobPaidAtLoss}`,
      );
    },
  );

  step(
    "7. a proposal raises the price through the governor and the timelock; new quotes use it, the deal keeps its price",
    async () => {
      const old = await sys.market.read.params();
      const newPrice = 10n ** 12n; // ≈ 0.001 cUSD per GiB per epoch, 100 × the local default
      assert.notEqual(old.pricePerByteEpoch, newPrice);
      const [oldRate] = await sys.market.read.quoteDeal([deal.shardSize, 3n, 10n]);
      const call = {
        target: sys.market.address,
        data: encodeFunctionData({
          abi: sys.market.abi,
          functionName: "setParams",
          args: [{ ...old, pricePerByteEpoch: newPrice }],
        }),
      };
      const receipt = await passProposal([call], "Raise the storage price to 1e12 per byte-epoch", [
        [frank, Vote.For],
        [alice, Vote.For],
        [grace, Vote.For],
        [carol, Vote.For],
        [dave, Vote.Against],
      ]);
      assert.equal(
        parseEventLogs({ abi: sys.market.abi, logs: receipt.logs, eventName: "ParamsUpdated" })
          .length,
        1,
      );
      const now = await sys.market.read.params();
      assert.equal(now.pricePerByteEpoch, newPrice);
      assert.deepEqual(
        { ...now, pricePerByteEpoch: 0n },
        { ...old, pricePerByteEpoch: 0n },
        "nothing else changed",
      );
      const [rate, escrow, fee] = await sys.market.read.quoteDeal([deal.shardSize, 3n, 10n]);
      assert.equal(oldRate, 1n);
      assert.equal(rate, 2n, "a 1 MiB shard now costs ceil(1.048576) = 2 units per epoch");
      assert.deepEqual([escrow, fee], [60n, 3n]);
      const [gibRate] = await sys.market.read.quoteDeal([GIB, 1n, 1n]);
      assert.equal(gibRate, 1074n, "1 GiB: 0.001074 cUSD per epoch");
      assert.equal(
        (await sys.market.read.getDeal([deal.id])).shardRate,
        deal.rate,
        "the running deal keeps its locked rate",
      );
      // Paid at the locked rate after the change.
      const paid = await settleMidDeal(1);
      assert.ok(paid > 0n);
      await withdrawExactly(carol, paid, "carol's pay at the locked rate");
      // The deployer cannot do what governance just did.
      await assertions.revertWithCustomError(
        sys.market.write.setParams([old]),
        sys.market,
        "OwnableUnauthorizedAccount",
      );
    },
  );

  step(
    "8. after the patronage period closes, governance declares a dividend; the payer and the earners claim pro rata, once",
    async () => {
      await runUntil(await sys.treasury.read.periodStart([1n]));
      assert.equal(await sys.treasury.read.currentPeriod(), 1n);

      const period = await sys.treasury.read.getPeriod([0n]);
      let total = 0n;
      for (const [who, pts] of points0) {
        assert.equal(
          (await sys.treasury.read.getPatronage([0n, who])).points,
          pts,
          `${nameOf.get(who)}'s patronage points`,
        );
        total += pts;
      }
      assert.equal(period.totalPoints, total, "the period's points are the members' points");
      for (const w of [erin, frank, grace])
        assert.equal((await sys.treasury.read.getPatronage([0n, w.account.address])).points, 0n);

      dividend = await sys.treasury.read.freeBalance();
      // The deal's fee, and dave's and bob's missed-epoch slashes less the watcher's bounties.
      const { missedEpochSlash, bountyBps } = await sys.market.read.params();
      const slashKept = missedEpochSlash - (missedEpochSlash * BigInt(bountyBps)) / 10_000n;
      assert.equal(
        dividend,
        deal.fee + 2n * slashKept,
        "the treasury holds the deal's fee and two missed-epoch slashes",
      );
      const call = {
        target: sys.treasury.address,
        data: encodeFunctionData({
          abi: sys.treasury.abi,
          functionName: "declareDividend",
          args: [0n, dividend],
        }),
      };
      await passProposal([call], "Dividend for period 0: the whole free balance", [
        [grace, Vote.For],
        [frank, Vote.For],
        [erin, Vote.For],
      ]);
      assert.equal(await sys.treasury.read.totalReserved(), dividend);
      assert.equal(await sys.treasury.read.freeBalance(), 0n);

      let claimed = 0n;
      for (const [who, pts] of points0) {
        const w = wallets.find((x) => getAddress(x.account.address) === who)!;
        const expected = (dividend * pts) / total;
        assert.ok(expected > 0n, `${nameOf.get(who)}'s share is not lost to rounding`);
        assert.equal(await sys.treasury.read.claimableDividend([0n, who]), expected);
        const before = await tokenBalance(who);
        await send((await as(w)).treasury.write.claimDividend([0n]));
        assert.equal(
          (await tokenBalance(who)) - before,
          expected,
          `${nameOf.get(who)} gets dividend · points / total`,
        );
        claimed += expected;
      }
      assert.deepEqual(
        [...points0.keys()].map((a) => nameOf.get(a)).sort(),
        ["alice", "bob", "carol", "dave"],
        "the payer and every provider who earned have points",
      );
      assert.ok(
        claimed <= dividend && dividend - claimed < BigInt(points0.size),
        "claims add up to the dividend, less rounding",
      );
      assert.equal((await sys.treasury.read.getPeriod([0n])).unclaimed, dividend - claimed);
      await assertions.revertWithCustomErrorWithArgs(
        (await as(alice)).treasury.write.claimDividend([0n]),
        sys.treasury,
        "PatronageTreasuryAlreadyClaimed",
        [0n, getAddress(alice.account.address)],
      );
      await assertions.revertWithCustomErrorWithArgs(
        (await as(frank)).treasury.write.claimDividend([0n]),
        sys.treasury,
        "PatronageTreasuryNoPoints",
        [0n, getAddress(frank.account.address)],
      );
    },
  );

  step(
    "9a. the deal runs out: the shards stay in the holders' proof sets, so the nodes prove epoch `end` too (unpaid)",
    async () => {
      while ((await epoch()) < deal.end) await runEpoch();
      assert.equal(await epoch(), deal.end);
      for (const n of [erin, carol, dave].map(nodeOf)) {
        assert.ok(n.proven.has(deal.end - 1n), `${n.name} proved the last paid epoch`);
        assert.ok(n.proven.has(deal.end), `${n.name} proved the epoch after it`);
      }
      // No shard can be closed yet: a settlement during `end` only pays what is final.
      const paid = await settleMidDeal(1);
      await withdrawExactly(carol, paid, "carol's pay up to the end");
      assert.equal((await sys.market.read.getShard([deal.id, 1n])).status, ShardStatus.Active);
    },
  );

  step(
    "9b. in the epoch after the end every shard is settled: the holders get their last epochs, alice the unearned escrow",
    async () => {
      const e = await toNextEpoch();
      assert.equal(e, deal.end + 1n);
      const before = await sys.market.read.balanceOf([alice.account.address]);
      const unpaidEpochs = (i: number) => {
        const s = deal.shards[i];
        return deal.duration - s.paidEpochs - provenIn(s.holder, s.paidFrom, deal.end);
      };
      // carol proved every epoch; dave missed one; shard 0 had no paying holder in bob's loss
      // epoch and erin's repair epoch (plus bob's last proven epoch while 6b stands).
      assert.equal(unpaidEpochs(1), 0n);
      assert.equal(unpaidEpochs(2), 1n);
      assert.equal(unpaidEpochs(0), 2n + (bobProvenBeforeLoss - bobPaidAtLoss));
      const treasuryBefore = await tokenBalance(sys.treasury.address);
      let refunds = 0n;
      for (let i = 0; i < 3; i++) {
        const s = deal.shards[i];
        const toHolder = deal.rate * provenIn(s.holder, s.paidFrom, deal.end);
        assert.ok(toHolder > 0n);
        // Only the escrow of the unpaid epochs: slashes went to the treasury, not to alice.
        const refund = deal.rate * unpaidEpochs(i);
        const holderBefore = await sys.market.read.balanceOf([s.holder.address]);
        await assertions.emitWithArgs(
          (await as(alice)).market.write.settleShard([deal.id, BigInt(i)]),
          sys.market,
          "ShardSettled",
          [deal.id, i, refund],
        );
        assert.equal(
          (await sys.market.read.balanceOf([s.holder.address])) - holderBefore,
          toHolder,
          `${s.holder.name}'s last epochs`,
        );
        assert.equal(
          (await sys.market.read.getShard([deal.id, BigInt(i)])).status,
          ShardStatus.Closed,
        );
        refunds += refund;
        await withdrawExactly(s.holder.wallet, toHolder, `${s.holder.name}'s final pay`);
      }
      assert.equal((await sys.market.read.balanceOf([alice.account.address])) - before, refunds);
      await withdrawExactly(alice, refunds, "alice's refund");
      assert.equal(await tokenBalance(sys.treasury.address), treasuryBefore);
      const [balances, escrow, , pools] = await sys.market.read.totals();
      assert.deepEqual(
        [balances, escrow, pools],
        [0n, 0n, 0n],
        "nothing of the deal is left in the market but the stakes",
      );
      await assertions.revertWithCustomError(
        (await as(alice)).market.write.settleShard([deal.id, 0n]),
        sys.market,
        "MarketWrongShardStatus",
      );
      // Settled during this epoch, the shards are still in its draw: the nodes prove it too,
      // then drop the data.
      await proveOwed(e);
      for (const n of [erin, carol, dave].map(nodeOf)) {
        assert.ok(n.proven.has(e), `${n.name} proved the epoch of settlement`);
        n.owesFrom = undefined;
        n.data.delete(shardKey(deal.shards.findIndex((s) => s.holder === n)));
        const v = await sys.market.read.getProvider([n.address]);
        assert.deepEqual([v.activeShards, v.activeLeaves, v.used], [0, 0n, 0n]);
      }
    },
  );

  step(
    "9c. once its shards are settled a provider owes nothing more; carol leaves with her stake once that is final",
    async () => {
      const settled = deal.end + 1n;
      await toNextEpoch();
      await toNextEpoch();
      const c = await as(carol);
      // Until the epoch of its last change has been reportable for a whole epoch, carol stays.
      await assertions.revertWithCustomErrorWithArgs(
        c.market.write.leave(),
        sys.market,
        "MarketProviderBusy",
        [getAddress(carol.account.address), 0, 0n],
      );
      await toNextEpoch();
      assert.equal(await epoch(), settled + 3n);
      const w = await as(watcher);
      for (const n of [erin, carol, dave].map(nodeOf)) {
        // Proven while owed, and not owed after the epoch of settlement.
        for (const e of [deal.end, settled, settled + 1n]) {
          await assertions.revertWithCustomErrorWithArgs(
            w.market.write.reportMissedEpoch([n.address, e]),
            sys.market,
            "MarketNotMissed",
            [n.address, e],
          );
        }
      }
      const stake = (await sys.market.read.getProvider([carol.account.address])).stake;
      await assertions.emitWithArgs(c.market.write.leave(), sys.market, "ProviderLeft", [
        getAddress(carol.account.address),
        stake,
      ]);
      assert.equal((await sys.market.read.getProvider([carol.account.address])).registered, false);
      await withdrawExactly(carol, stake, "carol's stake");
    },
  );

  step(
    "10. grace asks to leave, waits the notice, and gets her share back; votes drop by one",
    async () => {
      const g = await as(grace);
      const count = await sys.membership.read.memberCount();
      const receipt = await send(g.membership.write.requestExit());
      const notice = await sys.membership.read.exitNotice();
      const requestedAt = (await publicClient.getBlock({ blockNumber: receipt.blockNumber }))
        .timestamp;
      const [, availableAt] = await sys.membership.read.getMember([grace.account.address]);
      assert.equal(availableAt, requestedAt + notice);
      assert.equal(
        await sys.membership.read.getVotes([grace.account.address]),
        1n,
        "a member with a pending exit still votes",
      );
      await assertions.revertWithCustomErrorWithArgs(
        g.membership.write.completeExit(),
        sys.membership,
        "CoopMembershipExitNotReady",
        [getAddress(grace.account.address), availableAt],
      );
      await time.increaseTo(availableAt);
      const before = await tokenBalance(grace.account.address);
      await assertions.emitWithArgs(
        g.membership.write.completeExit(),
        sys.membership,
        "MemberExited",
        [getAddress(grace.account.address), cUSD("100")],
      );
      assert.equal(
        (await tokenBalance(grace.account.address)) - before,
        cUSD("100"),
        "the share came back",
      );
      assert.equal(await sys.membership.read.isMember([grace.account.address]), false);
      assert.equal(await sys.membership.read.getVotes([grace.account.address]), 0n);
      assert.equal(await sys.membership.read.memberCount(), count - 1n);
      await networkHelpers.mine();
      assert.equal(
        await sys.membership.read.getPastTotalSupply([BigInt(await time.latest()) - 1n]),
        count - 1n,
        "total votes = members",
      );
    },
  );

  step(
    "11. every token is accounted for and governance is still the timelock's alone",
    async () => {
      const { supply } = await checkConservation();
      // 7 members drew 10,000 cUSD each.
      assert.equal(supply, 7n * cUSD("10000"));
      const me = deployer.account.address;
      for (const role of Object.values(ROLE))
        assert.equal(await sys.timelock.read.hasRole([role, me]), false);
      for (const owned of [sys.membership, sys.treasury, sys.market]) {
        assert.equal(await owned.read.owner(), getAddress(sys.timelock.address));
      }
      assert.equal(await tokenBalance(me), 0n, "the deployer never held a token");
    },
  );
});
