// Faults on a real chain with real provider processes: a shard corrupted on disk is found by
// the scrubber and declared lost; another node rebuilds it from k others and takes it over;
// a provider that stops is reported for its missed epochs by the others' watchers.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { randomBytes } from "node:crypto";

import { computeShardCommitment, createReedSolomon } from "@coop-cloud/sdk";
import { faucetTokenAbi, storageMarketAbi } from "@coop-cloud/sdk/contracts/generated/abis.ts";
import { type Address, bytesToHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startLocalChain, type LocalChain } from "./fixtures/chain.ts";
import {
  clients,
  createTestDeal,
  marketEvents,
  put,
  waitFor,
  type TestDeal,
} from "./fixtures/deals.ts";
import {
  setupProvider,
  startProvider,
  type ProviderSetup,
  type RunningProvider,
} from "./fixtures/provider.ts";

let chain: LocalChain;
const setups: ProviderSetup[] = [];
const nodes: RunningProvider[] = [];
let deal: TestDeal;

beforeAll(async () => {
  chain = await startLocalChain({ epochLength: 4 });
  for (const k of [7, 8, 9, 10]) setups.push(await setupProvider(chain, k));
  nodes.push(await startProvider(setups[0], { COOP_PROVIDER_SCRUB_INTERVAL: "2" }));
  for (const s of setups.slice(1)) nodes.push(await startProvider(s));
  // Real erasure-coded shards (k = 2, n = 3): two data shards and their parity, coded with the
  // SDK's Reed–Solomon codec (bytewise, as every stripe of a shard is coded).
  const size = 2 ** 21 + 1024;
  const data = [new Uint8Array(randomBytes(size)), new Uint8Array(randomBytes(size))];
  const [parity] = createReedSolomon({ dataShards: 2, totalShards: 3 }).encode(data);
  deal = await createTestDeal(
    chain,
    setups.slice(0, 3).map((s) => s.address),
    { k: 2, shardSize: size, shards: [...data, parity] },
  );
  for (let i = 0; i < 3; i++)
    expect(
      (await put(`${nodes[i].url}/deals/${deal.dealId}/shards/${i}`, deal.shards[i])).status,
    ).toBe(201);
});

afterAll(async () => {
  for (const n of nodes) await n?.stop();
  await chain?.stop();
});

describe("scrub, repair, watcher", () => {
  it("a shard corrupted on disk is found by the scrubber and declared lost", async () => {
    // Flip one byte in the largest block file (a 1 MiB leaf of the only shard stored there).
    const dir = join(setups[0].dataDir, "blocks");
    const blocks = readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile() && d.name.endsWith(".data"))
      .map((d) => join(d.parentPath, d.name))
      .sort((a, b) => statSync(b).size - statSync(a).size);
    const bytes = readFileSync(blocks[0]);
    bytes[777] ^= 0xff;
    writeFileSync(blocks[0], bytes);
    await waitFor("ShardLost from the scrubbing node", async () =>
      (await marketEvents(chain)).find(
        (l) =>
          l.eventName === "ShardLost" &&
          l.args.dealId === deal.dealId &&
          l.args.provider === setups[0].address,
      ),
    );
    // …and dropped from the node.
    await waitFor("the damaged shard to be dropped", async () => {
      const status = (await (await fetch(`${nodes[0].url}/status`)).json()) as { shards: number };
      return status.shards === 0 ? true : undefined;
    });
  });

  it("another node rebuilds the lost shard from k others, takes it over, and every shard matches its root", async () => {
    const repairLogs = () =>
      nodes[3].logs
        .filter((l) => String(l.ns).includes("repair") || Number(l.level) >= 40)
        .map((l) => JSON.stringify(l))
        .join("\n");
    const repaired = await waitFor(
      () => `ShardRepaired; the repairing node said:\n${repairLogs()}`,
      async () =>
        (await marketEvents(chain)).find(
          (l) => l.eventName === "ShardRepaired" && l.args.dealId === deal.dealId,
        ),
    );
    expect((repaired.args as { provider: Address }).provider).toBe(setups[3].address);
    const holders = [nodes[3], nodes[1], nodes[2]];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${holders[i].url}/deals/${deal.dealId}/shards/${i}`);
      expect(res.status).toBe(200);
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect(bytesToHex((await computeShardCommitment([bytes])).root)).toBe(deal.roots[i]);
    }
    // The new holder proves it from then on.
    const since = Number(
      (await marketEvents(chain)).filter((l) => l.eventName === "EpochProven").length,
    );
    await waitFor("a proof by the repairing node", async () =>
      (await marketEvents(chain))
        .slice(since)
        .find((l) => l.eventName === "EpochProven" && l.args.provider === setups[3].address),
    );
  });

  it("a targeted challenge is answered by the holder as soon as its segment is drawn", async () => {
    const { pub, wallet } = clients(chain);
    const params = await pub.readContract({
      address: chain.addresses.StorageMarket,
      abi: storageMarketAbi,
      functionName: "params",
    });
    const send = async (req: object) => {
      const hash = await wallet.writeContract({ chain: null, ...req } as never);
      expect((await pub.waitForTransactionReceipt({ hash })).status).toBe("success");
    };
    await send({
      address: chain.addresses.FaucetToken,
      abi: faucetTokenAbi,
      functionName: "faucet",
    });
    await send({
      address: chain.addresses.FaucetToken,
      abi: faucetTokenAbi,
      functionName: "approve",
      args: [chain.addresses.StorageMarket, params.targetedChallengeFee],
    });
    await send({
      address: chain.addresses.StorageMarket,
      abi: storageMarketAbi,
      functionName: "challengeShard",
      args: [deal.dealId, 1n],
    });
    const answered = await waitFor(
      () =>
        `ChallengeAnswered; the holder said:\n${nodes[1].logs
          .slice(-15)
          .map((l) => JSON.stringify(l))
          .join("\n")}`,
      async () =>
        (await marketEvents(chain)).find(
          (l) =>
            l.eventName === "ChallengeAnswered" &&
            l.args.dealId === deal.dealId &&
            l.args.shard === 1,
        ),
    );
    expect((answered.args as { provider: Address }).provider).toBe(setups[1].address);
  });

  it("a provider that stops is reported for its missed epochs by the others' watchers", async () => {
    await nodes[2].stop("SIGKILL");
    const missed = await waitFor("EpochMissed for the stopped provider", async () =>
      (await marketEvents(chain)).find(
        (l) => l.eventName === "EpochMissed" && l.args.provider === setups[2].address,
      ),
    );
    const reporter = (missed.args as { reporter: Address }).reporter;
    expect([setups[0].address, setups[1].address, setups[3].address]).toContain(reporter);
  });
});
