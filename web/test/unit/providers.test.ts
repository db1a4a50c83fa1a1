import type { ProviderSummary } from "@coop-cloud/sdk/client";
import { describe, expect, it } from "vitest";

import { nextSort, providerStatus, reliabilityPercent, sortProviders } from "@/lib/providers";

const p = (address: string, over: Partial<ProviderSummary> = {}): ProviderSummary => ({
  address: address as `0x${string}`,
  endpoint: `http://${address.slice(2, 4)}.example`,
  multiaddrs: [],
  capacity: 100n,
  used: 0n,
  free: 100n,
  stake: 10n,
  provenEpochs: 0n,
  missedEpochs: 0,
  failed: false,
  registered: true,
  activeShards: 0,
  lastProvenEpoch: 0,
  failedEpoch: 0,
  ...over,
});

describe("reliabilityPercent", () => {
  it("starts a newcomer at 50% and rounds to a tenth", () => {
    expect(reliabilityPercent({ provenEpochs: 0n, missedEpochs: 0 })).toBe("50%");
    expect(reliabilityPercent({ provenEpochs: 98n, missedEpochs: 0 })).toBe("99%");
    expect(reliabilityPercent({ provenEpochs: 50n, missedEpochs: 0 })).toBe("98.1%");
    expect(reliabilityPercent({ provenEpochs: 0n, missedEpochs: 2 })).toBe("25%");
  });
});

describe("sortProviders", () => {
  const list = [
    p("0xbb", { capacity: 300n, provenEpochs: 10n }),
    p("0xaa", { capacity: 200n, provenEpochs: 10n, missedEpochs: 3 }),
    p("0xcc", { capacity: 200n, registered: false }),
    p("0xdd", { failed: true, failedEpoch: 4 }),
  ];
  const order = (col: Parameters<typeof sortProviders>[1], dir: "ascending" | "descending") =>
    sortProviders(list, col, dir).map((x) => x.address);
  it("sorts by numbers, breaking ties by address", () => {
    expect(order("capacity", "descending")).toEqual(["0xbb", "0xaa", "0xcc", "0xdd"]);
    expect(order("capacity", "ascending")).toEqual(["0xdd", "0xaa", "0xcc", "0xbb"]);
    expect(order("reliability", "descending")).toEqual(["0xbb", "0xaa", "0xcc", "0xdd"]);
  });
  it("sorts by text and status", () => {
    expect(order("address", "ascending")).toEqual(["0xaa", "0xbb", "0xcc", "0xdd"]);
    expect(order("status", "ascending")).toEqual(["0xcc", "0xdd", "0xaa", "0xbb"]);
  });
  it("does not change the list it was given", () => {
    sortProviders(list, "address", "descending");
    expect(list[0].address).toBe("0xbb");
  });
  it("names the status", () => {
    expect(list.map(providerStatus)).toEqual(["active", "active", "left", "failed"]);
  });
});

describe("nextSort", () => {
  it("flips the same column and starts numbers descending, text ascending", () => {
    const s = { column: "stake" as const, direction: "descending" as const };
    expect(nextSort(s, "stake")).toEqual({ column: "stake", direction: "ascending" });
    expect(nextSort(s, "used")).toEqual({ column: "used", direction: "descending" });
    expect(nextSort(s, "endpoint")).toEqual({ column: "endpoint", direction: "ascending" });
  });
});
