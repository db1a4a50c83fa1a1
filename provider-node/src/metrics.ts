// Prometheus metrics (prom-client): what the node holds, proves, earns and serves, plus
// Node's default process metrics. docs/provider.md says what each one means.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

import type { ShardStore } from "./store/shards.ts";

export class Metrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  readonly epochsProven: Counter;
  readonly epochsMissed: Counter;
  readonly proofSeconds: Histogram;
  readonly ingestBytes: Counter;
  readonly ingestSeconds: Histogram;
  readonly gatewayBytes: Counter;
  readonly balance: Gauge;
  readonly earned: Counter;
  readonly chainErrors: Counter;
  readonly scrubbedBytes: Counter;
  readonly shardsLost: Counter;
  readonly repairs: Counter;
  readonly reports: Counter;

  constructor(store: ShardStore) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "coop_provider_" });
    new Gauge({
      name: "coop_provider_shards",
      help: "Shards held and accepted on-chain",
      registers,
      collect() {
        this.set(store.list().filter((r) => r.state === "accepted").length);
      },
    });
    new Gauge({
      name: "coop_provider_stored_bytes",
      help: "Bytes of shard data held",
      registers,
      collect() {
        this.set(store.usedBytes());
      },
    });
    this.epochsProven = new Counter({
      name: "coop_provider_epochs_proven_total",
      help: "Epoch proofs accepted on-chain",
      registers,
    });
    this.epochsMissed = new Counter({
      name: "coop_provider_epochs_missed_total",
      help: "Owed epochs this node failed to prove in their window",
      registers,
    });
    this.proofSeconds = new Histogram({
      name: "coop_provider_proof_build_seconds",
      help: "Time to build one epoch's batch proof from the stored shards",
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    this.ingestBytes = new Counter({
      name: "coop_provider_ingest_bytes_total",
      help: "Shard bytes accepted over HTTP",
      registers,
    });
    this.ingestSeconds = new Histogram({
      name: "coop_provider_ingest_seconds",
      help: "Time from first byte to acceptShard for one shard upload",
      buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 300],
      registers,
    });
    this.gatewayBytes = new Counter({
      name: "coop_provider_gateway_bytes_total",
      help: "Bytes served by the trustless gateway",
      labelNames: ["format"],
      registers,
    });
    this.balance = new Gauge({
      name: "coop_provider_market_balance",
      help: "Withdrawable market balance, token base units",
      registers,
    });
    this.earned = new Counter({
      name: "coop_provider_withdrawn_total",
      help: "Token base units withdrawn from the market",
      registers,
    });
    this.chainErrors = new Counter({
      name: "coop_provider_chain_errors_total",
      help: "Failed chain calls (RPC down, reverts)",
      registers,
    });
    this.scrubbedBytes = new Counter({
      name: "coop_provider_scrubbed_bytes_total",
      help: "Bytes re-hashed by the scrubber",
      registers,
    });
    this.shardsLost = new Counter({
      name: "coop_provider_shards_declared_lost_total",
      help: "Shards found damaged and declared lost",
      registers,
    });
    this.repairs = new Counter({
      name: "coop_provider_repairs_total",
      help: "Repairs completed by this node",
      registers,
    });
    this.reports = new Counter({
      name: "coop_provider_missed_epoch_reports_total",
      help: "Missed epochs of other providers reported",
      registers,
    });
  }

  ingested(bytes: number, seconds: number): void {
    this.ingestBytes.inc(bytes);
    this.ingestSeconds.observe(seconds);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
