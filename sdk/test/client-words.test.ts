// The client's pure parts: contract errors in words (every declared error worded, amounts and
// times readable, bubbled errors decoded) and the choice of providers for a deal.
import { type Address, encodeErrorResult, keccak256, toHex } from "viem";
import { describe, expect, it } from "vitest";

import {
  NotEnoughProvidersError,
  type ProviderSummary,
  WORDED_ERRORS,
  chooseProviders,
  decodeRevertData,
  describeRevert,
  formatAmount,
  formatBytes,
  formatDuration,
  formatTime,
  reliability,
  setDefaultTokenUnits,
} from "../src/client/index.ts";
import * as abis from "../src/contracts/generated/abis.ts";

setDefaultTokenUnits({ decimals: 6, symbol: "cUSD" });
const A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

describe("describeRevert", () => {
  it("words every custom error the co-op's contracts can raise", () => {
    const declared = new Set<string>();
    for (const abi of Object.values(abis))
      for (const item of abi as readonly { type: string; name?: string }[])
        if (item.type === "error") declared.add(item.name!);
    const missing = [...declared].filter((e) => !WORDED_ERRORS.includes(e));
    expect(missing).toEqual([]);
  });

  it("names amounts in the token's units and times as UTC dates", () => {
    expect(describeRevert("ERC20InsufficientBalance", [A, 0n, 100_000_000n])).toBe(
      `${A} holds 0 cUSD but 100 cUSD is needed: top up the wallet (coop faucet on a local chain)`,
    );
    expect(
      describeRevert("PatronageTreasuryInsufficientFreeBalance", [1_234_567_891n, 5_500_000n]),
    ).toBe(
      "1,234.567891 cUSD exceeds the treasury's free balance of 5.5 cUSD: ask for at most that much",
    );
    expect(describeRevert("CoopMembershipExitNotReady", [A, 1_800_000_000n])).toBe(
      `the exit notice of ${A} has not passed yet: complete the exit from 2027-01-15 08:00:00 UTC`,
    );
  });

  it("says which proposal state is needed and what to do", () => {
    // Succeeded (4) when Queued (5) was needed: bitmap with bit 5 set.
    expect(
      describeRevert("GovernorUnexpectedProposalState", [7n, 4, toHex(1n << 5n, { size: 32 })]),
    ).toBe(
      "proposal 7 is Succeeded but this needs it Queued: it passed and must be queued before it can run",
    );
    expect(
      describeRevert("GovernorUnexpectedProposalState", [
        7n,
        0,
        toHex((1n << 1n) | (1n << 4n), { size: 32 }),
      ]),
    ).toMatch(
      /^proposal 7 is Pending but this needs it Active or Succeeded: its vote has not started/,
    );
    expect(
      describeRevert("AccessControlUnauthorizedAccount", [A, keccak256(toHex("PROPOSER_ROLE"))]),
    ).toBe(`${A} lacks the timelock's proposer role: changes go through a proposal`);
    expect(describeRevert("MarketWrongShardStatus", [3n, 1n, 2])).toMatch(
      /^shard 1 of deal 3 is Lost, which does not allow this/,
    );
    expect(describeRevert("MarketInsufficientCapacity", [A, 2n ** 20n, 1536n])).toBe(
      `provider ${A} has only 1.5 KiB free for a 1 MiB shard: choose another provider or smaller shards`,
    );
  });

  it("falls back to the name and arguments for an unknown error", () => {
    expect(describeRevert("SomethingNew", [1n, "x"])).toBe(
      "the contract refused it with SomethingNew(1, x)",
    );
  });

  it("decodes an error raised by another contract than the one called", () => {
    const raw = encodeErrorResult({
      abi: abis.faucetTokenAbi,
      errorName: "ERC20InsufficientAllowance",
      args: [A, 0n, 100_000_000n],
    });
    expect(decodeRevertData(raw)).toEqual({
      errorName: "ERC20InsufficientAllowance",
      args: [A, 0n, 100_000_000n],
    });
    expect(decodeRevertData("0xdeadbeef")).toBeUndefined();
    expect(decodeRevertData(undefined)).toBeUndefined();
  });
});

describe("format", () => {
  it("shows amounts, times, durations and sizes exactly", () => {
    expect(formatAmount(10_000_000_000n)).toBe("10,000 cUSD");
    expect(formatAmount(1n)).toBe("0.000001 cUSD");
    expect(formatAmount(5n, { decimals: 0, symbol: "wei" })).toBe("5 wei");
    expect(formatTime(0)).toBe("1970-01-01 00:00:00 UTC");
    expect(formatDuration(45)).toBe("45 s");
    expect(formatDuration(600)).toBe("10 min");
    expect(formatDuration(7500)).toBe("2 h 5 min");
    expect(formatDuration(7 * 86400)).toBe("7 days");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(2 ** 30)).toBe("1 GiB");
  });
});

let n = 0;
function provider(over: Partial<ProviderSummary> = {}): ProviderSummary {
  n++;
  const address = `0x${n.toString(16).padStart(40, "0")}` as Address;
  return {
    address,
    endpoint: `http://host${n}.example:8080`,
    multiaddrs: [],
    capacity: 2n ** 30n,
    used: 0n,
    free: 2n ** 30n,
    stake: 10_000_000n,
    provenEpochs: 100n,
    missedEpochs: 0,
    failed: false,
    registered: true,
    activeShards: 0,
    lastProvenEpoch: 0,
    failedEpoch: 0,
    ...over,
  };
}

describe("chooseProviders", () => {
  it("takes only registered, healthy providers with room for a shard, never twice", () => {
    const ok = provider();
    const full = provider({ free: 1000n, used: 2n ** 30n - 1000n });
    const failed = provider({ failed: true, failedEpoch: 9 });
    const left = provider({ registered: false });
    const excluded = provider();
    const chosen = chooseProviders([ok, full, failed, left, excluded, { ...ok }], {
      count: 1,
      shardSize: 4096,
      exclude: [excluded.address.toUpperCase() as Address],
    });
    expect(chosen.map((p) => p.address)).toEqual([ok.address]);
    expect(() => chooseProviders([ok, ok], { count: 2, shardSize: 1 })).toThrow(
      NotEnoughProvidersError,
    );
  });

  it("ranks by reliability, then stake", () => {
    const flaky = provider({ provenEpochs: 90n, missedEpochs: 10 });
    const rich = provider({ stake: 50_000_000n });
    const solid = provider();
    const fresh = provider({ provenEpochs: 0n });
    expect(reliability(fresh)).toBe(0.5);
    const chosen = chooseProviders([fresh, flaky, solid, rich], { count: 4, shardSize: 1 });
    expect(chosen.map((p) => p.address)).toEqual([rich, solid, flaky, fresh].map((p) => p.address));
  });

  it("spreads the shards over hosts before putting two on one host", () => {
    const a1 = provider({ endpoint: "http://a.example:1", stake: 40n });
    const a2 = provider({ endpoint: "http://a.example:2", stake: 30n });
    const a3 = provider({ endpoint: "http://a.example:3", stake: 20n });
    const b1 = provider({ endpoint: "https://b.example", stake: 1n });
    const c1 = provider({ endpoint: "http://C.example/x", stake: 2n });
    const chosen = chooseProviders([a1, a2, a3, b1, c1], { count: 4, shardSize: 1 });
    expect(chosen.map((p) => p.address)).toEqual([a1, c1, b1, a2].map((p) => p.address));
  });

  it("says why there are not enough providers", () => {
    const list = [provider(), provider({ failed: true }), provider({ free: 10n })];
    expect(() => chooseProviders(list, { count: 3, shardSize: 2n ** 20n })).toThrow(
      "3 providers are needed but only 1 can take the shards (3 known, 1 failed, 1 without 1 MiB free): use fewer shards (smaller n) or smaller shards, or wait for more providers",
    );
  });
});
