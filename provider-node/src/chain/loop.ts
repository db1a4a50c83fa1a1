// The chain loop: follows the market's events from a cursor kept in the data folder, and each
// epoch makes sure the seed gets fixed, reads the node's challenges and submits one batch proof
// early in the window; answers targeted challenges; settles ended shards and withdraws. Errors
// (an RPC outage) back off and retry; nothing is submitted twice across restarts: the chain's
// last proven epoch is read before every proof, and a sent transaction's hash is kept until it
// is mined.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { getContractEventsInRanges, logScan } from "@coop-cloud/sdk/client/events.ts";
import type { Address, Hex } from "viem";

import type { ProviderConfig } from "../config.ts";
import type { IpfsNode } from "../ipfs/node.ts";
import { createLogger, type Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { proveStoredSegment, ShardDamagedError } from "../prover/prove.ts";
import { writeFileAtomic } from "../store/files.ts";
import type { ShardRecord, ShardStore } from "../store/shards.ts";
import {
  answerChallenge,
  drawnSegment,
  fixChallengeSeed,
  ensureSeed,
  getEpochChallenges,
  submitProof,
  type SegmentProofArg,
} from "./epoch.ts";
import { type Market, revertName, shortError, storageMarketAbi } from "./market.ts";

interface LoopState {
  /** Last block whose market events were handled. */
  cursor: number;
  /** Token units withdrawn so far. */
  withdrawn: string;
  /** Owed epochs whose window closed unproven. */
  missed: number;
  /** Highest epoch checked for a miss. */
  missCheckedEpoch: number;
  /** A proof sent and not yet seen mined: epoch and transaction. */
  pendingProof?: { epoch: number; tx: Hex };
  /** Targeted challenges on our shards, waiting for their drawn segment. */
  challenges: { dealId: string; shard: number }[];
  /** Registered providers seen in the events (watched for missed epochs). */
  providers?: Address[];
  /** Last epoch whose misses were looked for (watcher). */
  watchedEpoch?: number;
  /** Missed epochs this node reported. */
  reported?: number;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

export class ChainLoop {
  readonly #config: ProviderConfig;
  readonly #market: Market;
  readonly #store: ShardStore;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #file: string;
  readonly #abort = new AbortController();
  readonly #logScan = logScan(2000);
  #state: LoopState;
  #running: Promise<void> | undefined;
  #lastEpoch = 0;
  #lastProven = 0;
  #provenEpochs = 0n;
  #balance = 0n;
  #lastError: string | undefined;

  constructor(
    config: ProviderConfig,
    market: Market,
    store: ShardStore,
    _ipfs: IpfsNode,
    metrics: Metrics,
  ) {
    this.#config = config;
    this.#market = market;
    this.#store = store;
    this.#metrics = metrics;
    this.#log = createLogger("provider:chain");
    this.#file = join(config.dataDir, "chain-state.json");
    this.#state = existsSync(this.#file)
      ? (JSON.parse(readFileSync(this.#file, "utf8")) as LoopState)
      : {
          cursor: config.chain.fromBlock - 1,
          withdrawn: "0",
          missed: 0,
          missCheckedEpoch: 0,
          challenges: [],
        };
  }

  #save(): void {
    writeFileAtomic(this.#file, JSON.stringify(this.#state, null, 2));
  }

  start(): void {
    this.#running = this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }

  /** Called for a shard lost anywhere (ShardLost) and for a failed provider (ProviderFailed). */
  onLost: ((dealId: bigint, shard: number, holder: Address) => void) | undefined;
  onProviderFailed: ((provider: Address) => void) | undefined;
  /** Called with another provider's registered multiaddrs (local mode dials only these). */
  onPeer: ((multiaddrs: string[]) => void) | undefined;

  /** Called when a proof finds a stored shard damaged (the scrubber declares it lost). */
  onDamaged: ((rec: ShardRecord) => void) | undefined;

  /** Called by the intake when a shard was accepted. */
  noteAccepted(_rec: ShardRecord): void {}

  async #run(): Promise<void> {
    const base = this.#config.chain.pollMs;
    let wait = base;
    while (!this.#abort.signal.aborted) {
      try {
        await this.tick();
        wait = base;
        if (this.#lastError) this.#log.info("chain reachable again");
        this.#lastError = undefined;
      } catch (e) {
        this.#metrics.chainErrors.inc();
        const msg = shortError(e);
        if (msg !== this.#lastError)
          this.#log.warn({ err: msg, retryMs: wait }, "chain step failed; retrying");
        this.#lastError = msg;
        // Capped low: after an outage the node must be back well inside a short epoch's window
        // (a system test lost two 10 s epochs to a 30 s cap); one request per 5 s is no load.
        wait = Math.min(wait * 2, 5_000);
      }
      await sleep(wait, this.#abort.signal);
    }
  }

  /** One pass: events, seed and proofs, targeted challenges, settlement, withdrawal, cleanup. */
  async tick(): Promise<void> {
    const market = this.#market;
    await this.#followEvents();
    const epoch = await market.currentEpoch();
    if (epoch !== this.#lastEpoch) {
      this.#log.debug({ epoch }, "new epoch");
      this.#lastEpoch = epoch;
    }
    const p = await market.getProvider();
    this.#lastProven = Number(p.lastProvenEpoch);
    this.#provenEpochs = p.provenEpochs;
    if (p.registered && p.failedEpoch === 0) {
      await this.#resolvePendingProof();
      for (const e of [epoch - 1, epoch]) {
        if (e < 1 || e <= this.#lastProven) continue;
        if (p.entryCount === 0) break;
        await this.#prove(e, epoch);
      }
      await this.#countMisses(epoch);
      await this.#answerChallenges();
    }
    if (this.#config.watcher.enabled) await this.#watch(epoch);
    await this.#settle(epoch);
    this.#dropLeft(epoch);
    await this.#withdraw();
  }

  async #resolvePendingProof(): Promise<void> {
    const pending = this.#state.pendingProof;
    if (!pending) return;
    // A proof sent before a restart: wait for it rather than send the same epoch again.
    const receipt = await this.#market.public
      .waitForTransactionReceipt({ hash: pending.tx, timeout: 30_000, pollingInterval: 200 })
      .catch(() => undefined);
    if (receipt?.status === "success") this.#lastProven = Math.max(this.#lastProven, pending.epoch);
    this.#state.pendingProof = undefined;
    this.#save();
  }

  async #prove(e: number, current: number): Promise<void> {
    const market = this.#market;
    if (e === current && !(await ensureSeed(market, e))) return;
    const challenges = await getEpochChallenges(market, market.address, e);
    if (challenges.length === 0) return;
    const t0 = performance.now();
    const proofs: SegmentProofArg[] = [];
    for (const c of challenges) {
      const rec = this.#store.get(c.dealId, c.shard);
      if (!rec) {
        this.#log.error(
          { epoch: e, dealId: String(c.dealId), shard: c.shard },
          "challenged shard is not held here: epoch cannot be proven",
        );
        return;
      }
      try {
        const pr = await proveStoredSegment(this.#store, rec, c.segment);
        proofs.push({ entry: BigInt(c.entry), ...pr });
      } catch (err) {
        if (err instanceof ShardDamagedError) {
          this.#log.error(
            { dealId: rec.dealId, shard: rec.shard, err: err.message },
            "cannot prove a damaged shard",
          );
          this.onDamaged?.(rec);
          return;
        }
        throw err;
      }
    }
    this.#metrics.proofSeconds.observe((performance.now() - t0) / 1000);
    try {
      const r = await submitProof(market, e, proofs, (tx) => {
        this.#state.pendingProof = { epoch: e, tx };
        this.#save();
      });
      this.#state.pendingProof = undefined;
      this.#save();
      this.#lastProven = e;
      this.#metrics.epochsProven.inc();
      this.#log.info(
        {
          epoch: e,
          challenges: challenges.length,
          tx: r.hash,
          ms: Math.round(performance.now() - t0),
        },
        "epoch proven",
      );
    } catch (err) {
      const name = revertName(err)?.name;
      if (name === "MarketEpochAlreadyProven") return;
      this.#log.error({ epoch: e, err: shortError(err) }, "proof refused");
      if (
        name !== "MarketInvalidProof" &&
        name !== "MarketSeedNotFixed" &&
        name !== "MarketProofWindowClosed"
      )
        throw err;
    }
  }

  async #countMisses(epoch: number): Promise<void> {
    // Epoch e's window closes when epoch e + 2 starts; an owed epoch (challenges drawn) that
    // was not proven by then is missed.
    const upTo = epoch - 2;
    if (upTo <= this.#state.missCheckedEpoch) return;
    for (let e = Math.max(this.#state.missCheckedEpoch + 1, upTo - 16, 1); e <= upTo; e++) {
      const proven = await this.#market.public.readContract({
        address: this.#market.market,
        abi: storageMarketAbi,
        functionName: "provenEpochsBetween",
        args: [this.#market.address, BigInt(e), BigInt(e + 1)],
      });
      if (proven > 0n) continue;
      const challenges = await getEpochChallenges(this.#market, this.#market.address, e);
      if (challenges.length > 0) {
        this.#state.missed++;
        this.#metrics.epochsMissed.inc();
        this.#log.warn({ epoch: e }, "epoch missed");
      }
    }
    this.#state.missCheckedEpoch = upTo;
    this.#save();
  }

  async #answerChallenges(): Promise<void> {
    for (const ch of [...this.#state.challenges]) {
      const dealId = BigInt(ch.dealId);
      const rec = this.#store.get(dealId, ch.shard);
      const done = () => {
        this.#state.challenges = this.#state.challenges.filter((c) => c !== ch);
        this.#save();
      };
      if (!rec) {
        done();
        continue;
      }
      const segment = await drawnSegment(this.#market, dealId, ch.shard);
      if (segment === undefined) continue; // its seed block is not mined yet
      const s = await this.#market.getShard(dealId, ch.shard);
      if (s.challenger === "0x0000000000000000000000000000000000000000") {
        done();
        continue;
      }
      // Saving the draw first makes the answer independent of the 256-block hash window.
      if (s.challengeDeadline === 0)
        await fixChallengeSeed(this.#market, dealId, ch.shard).catch(() => undefined);
      try {
        const pr = await proveStoredSegment(this.#store, rec, segment);
        const r = await answerChallenge(this.#market, dealId, ch.shard, pr.segment, pr.path);
        this.#log.info(
          { dealId: ch.dealId, shard: ch.shard, tx: r.hash },
          "targeted challenge answered",
        );
        done();
      } catch (e) {
        const name = revertName(e)?.name;
        if (
          name === "MarketNoChallenge" ||
          name === "MarketDeadline" ||
          e instanceof ShardDamagedError
        ) {
          this.#log.warn(
            { dealId: ch.dealId, shard: ch.shard, err: shortError(e) },
            "targeted challenge not answered",
          );
          done();
        } else throw e;
      }
    }
  }

  /**
   * Watcher: once epoch e's window has closed (e ≤ current − 2), reports every other provider
   * that owed e and did not prove it. The market decides what is owed; a report it would refuse
   * is caught by the simulation, costing nothing.
   */
  async #watch(epoch: number): Promise<void> {
    const upTo = epoch - 2;
    const from = Math.max((this.#state.watchedEpoch ?? upTo - 1) + 1, upTo - 3, 1);
    if (from > upTo) return;
    const me = this.#market.address.toLowerCase();
    for (let e = from; e <= upTo; e++) {
      for (const p of this.#state.providers ?? []) {
        if (p.toLowerCase() === me) continue;
        try {
          const r = await this.#market.reportMissedEpoch(p, e);
          this.#state.reported = (this.#state.reported ?? 0) + 1;
          this.#metrics.reports.inc();
          this.#log.info({ provider: p, epoch: e, tx: r.hash }, "reported a missed epoch");
        } catch (err) {
          const name = revertName(err)?.name;
          if (name === undefined) throw err; // the RPC, not the market: try again later
        }
      }
    }
    this.#state.watchedEpoch = upTo;
    this.#save();
  }

  async #settle(epoch: number): Promise<void> {
    for (const rec of this.#store.list()) {
      if (rec.state !== "accepted" || rec.leftEpoch !== undefined || rec.endEpoch === undefined)
        continue;
      if (epoch <= rec.endEpoch) continue;
      const dealId = BigInt(rec.dealId);
      try {
        const r = await this.#market.settleShard(dealId, rec.shard);
        this.#log.info({ dealId: rec.dealId, shard: rec.shard, tx: r.hash }, "shard settled");
      } catch (e) {
        const name = revertName(e)?.name;
        if (name !== "MarketWrongShardStatus" && name !== "MarketShardNotAssigned") {
          this.#log.warn(
            { dealId: rec.dealId, shard: rec.shard, err: shortError(e) },
            "settlement failed",
          );
          continue;
        }
      }
      rec.leftEpoch = epoch;
      rec.leftReason = "settled";
      this.#store.save(rec);
    }
  }

  /** Drops shards that left the proof set once the epoch they left in is proven or its window closed. */
  #dropLeft(epoch: number): void {
    for (const rec of this.#store.list()) {
      if (rec.leftEpoch === undefined) continue;
      if (this.#lastProven >= rec.leftEpoch || epoch > rec.leftEpoch + 1) {
        void this.#store
          .drop(rec.dealId, rec.shard, { gc: true })
          .catch((e) => this.#log.error({ err: (e as Error).message }, "drop failed"));
      }
    }
  }

  async #withdraw(): Promise<void> {
    const balance = await this.#market.balanceOf();
    this.#balance = balance;
    this.#metrics.balance.set(Number(balance));
    if (balance === 0n) return;
    const r = await this.#market.withdraw();
    this.#state.withdrawn = (BigInt(this.#state.withdrawn) + balance).toString();
    this.#save();
    this.#metrics.earned.inc(Number(balance));
    this.#balance = 0n;
    this.#log.info({ amount: balance.toString(), tx: r.hash }, "withdrew earnings");
  }

  async #followEvents(): Promise<void> {
    const market = this.#market;
    const head = Number(await market.public.getBlockNumber()) - this.#config.chain.confirmations;
    let from = this.#state.cursor + 1;
    while (from <= head) {
      const to = Math.min(head, from + 1999);
      // Split further (and remembered) when the RPC endpoint caps eth_getLogs below 2,000 blocks.
      const logs = await getContractEventsInRanges(
        market.public,
        {
          address: market.market,
          abi: storageMarketAbi,
          fromBlock: BigInt(from),
          toBlock: BigInt(to),
        },
        this.#logScan,
      );
      for (const log of logs)
        this.#onEvent(log as unknown as { eventName: string; args: Record<string, unknown> });
      this.#state.cursor = to;
      this.#save();
      from = to + 1;
    }
  }

  #onEvent(log: { eventName: string; args: Record<string, unknown> }): void {
    const me = this.#market.address.toLowerCase();
    const a = log.args;
    const held = (d: unknown, s: unknown) => this.#store.get(d as bigint, Number(s));
    switch (log.eventName) {
      case "ShardAccepted":
      case "ShardRepaired": {
        const rec = held(a.dealId, a.shard);
        if (rec && (a.provider as Address).toLowerCase() !== me && rec.leftEpoch === undefined) {
          rec.leftEpoch = this.#lastEpoch;
          rec.leftReason = "handed over";
          this.#store.save(rec);
        }
        break;
      }
      case "ProviderFailed": {
        if ((a.provider as Address).toLowerCase() !== me)
          this.onProviderFailed?.(a.provider as Address);
        this.#state.providers = (this.#state.providers ?? []).filter((p) => p !== a.provider);
        break;
      }
      case "ProviderRegistered":
      case "ProviderUpdated": {
        const list = (this.#state.providers ??= []);
        if (!list.includes(a.provider as Address)) list.push(a.provider as Address);
        if ((a.provider as Address).toLowerCase() !== me)
          this.onPeer?.([...(a.multiaddrs as string[])]);
        break;
      }
      case "ProviderLeft": {
        this.#state.providers = (this.#state.providers ?? []).filter((p) => p !== a.provider);
        break;
      }
      case "ShardLost": {
        this.onLost?.(a.dealId as bigint, Number(a.shard), a.provider as Address);
        const rec = held(a.dealId, a.shard);
        if (rec && (a.provider as Address).toLowerCase() === me && rec.leftEpoch === undefined) {
          rec.leftEpoch = this.#lastEpoch;
          rec.leftReason = "lost";
          this.#store.save(rec);
        }
        break;
      }
      case "ShardChallenged": {
        if (held(a.dealId, a.shard))
          this.#state.challenges.push({ dealId: String(a.dealId), shard: Number(a.shard) });
        break;
      }
      case "DealExtended":
      case "DealCancelled": {
        for (const rec of this.#store.list())
          if (rec.dealId === String(a.dealId)) {
            rec.endEpoch = Number(a.endEpoch);
            this.#store.save(rec);
          }
        break;
      }
    }
  }

  /** What /status reports. */
  async status() {
    const recs = this.#store.list().filter((r) => r.state === "accepted");
    return {
      address: this.#market.address,
      epoch: this.#lastEpoch,
      shards: recs.length,
      bytes: recs.reduce((n, r) => n + r.size, 0),
      lastProvenEpoch: this.#lastProven,
      epochsProven: Number(this.#provenEpochs),
      epochsMissed: this.#state.missed,
      missedEpochsReported: this.#state.reported ?? 0,
      balance: this.#balance.toString(),
      earnings: this.#state.withdrawn,
      chainError: this.#lastError ?? null,
    };
  }
}
