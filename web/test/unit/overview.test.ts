import { describe, expect, it } from "vitest";

import {
  activeDeals,
  balanceSeries,
  dealSpans,
  epochAt,
  epochWindow,
  percent,
  proofSeries,
  SCAN_BLOCKS,
  scanFrom,
  secondsPerBlock,
  storedBytesSeries,
} from "@/lib/overview";

const deal = (dealId: bigint, startEpoch: number, endEpoch: number, shardSize = 100n) => ({
  dealId,
  k: 2,
  n: 4,
  shardSize,
  startEpoch,
  endEpoch,
});

describe("dealSpans", () => {
  it("takes the end of the latest extension or cancellation, in chain order", () => {
    const spans = dealSpans(
      [deal(1n, 0, 10), deal(2n, 5, 20)],
      [
        { dealId: 1n, endEpoch: 30, blockNumber: 9n, logIndex: 0 },
        { dealId: 1n, endEpoch: 12, blockNumber: 7n, logIndex: 3 },
        { dealId: 2n, endEpoch: 8, blockNumber: 4n, logIndex: 1 },
        { dealId: 2n, endEpoch: 25, blockNumber: 4n, logIndex: 0 },
      ],
    );
    expect(spans.map((s) => s.endEpoch)).toEqual([30, 8]);
    expect(spans[0]).toMatchObject({ bytes: 400n, dataBytes: 200n, startEpoch: 0 });
  });

  it("counts only accepted shards when acceptances are given (each shard once)", () => {
    const [a, b, c] = dealSpans(
      [deal(1n, 0, 10), deal(2n, 0, 10), deal(3n, 0, 10)],
      [],
      [
        { dealId: 1n, shard: 0 },
        { dealId: 1n, shard: 0 },
        { dealId: 1n, shard: 3 },
        { dealId: 2n, shard: 1 },
      ],
    );
    expect([a.bytes, a.dataBytes]).toEqual([200n, 200n]);
    expect([b.bytes, b.dataBytes]).toEqual([100n, 0n]);
    expect([c.bytes, c.dataBytes]).toEqual([0n, 0n]);
  });
});

describe("activeDeals and storedBytesSeries", () => {
  const spans = dealSpans([deal(1n, 2, 5), deal(2n, 4, 8, 50n)], []);
  it("counts deals not yet over, including those not started", () => {
    expect(activeDeals(spans, 1)).toEqual({ count: 2, bytes: 600n, dataBytes: 300n });
    expect(activeDeals(spans, 5)).toEqual({ count: 1, bytes: 200n, dataBytes: 100n });
    expect(activeDeals(spans, 8).count).toBe(0);
  });
  it("holds a deal's bytes from its start epoch up to (not including) its end", () => {
    expect(storedBytesSeries(spans, 1, 8).map((p) => p.bytes)).toEqual([
      0, 400, 400, 600, 200, 200, 200, 0,
    ]);
    expect(storedBytesSeries([], 3, 3)).toEqual([{ epoch: 3, bytes: 0 }]);
  });
});

describe("epochWindow", () => {
  it("ends at the current epoch and never starts below 0", () => {
    expect(epochWindow(100, 60)).toEqual({ from: 41, to: 100 });
    expect(epochWindow(5, 60)).toEqual({ from: 0, to: 5 });
  });
});

describe("proofSeries", () => {
  it("counts proofs and misses per epoch inside the window, zero elsewhere", () => {
    const s = proofSeries(
      [{ epoch: 3n }, { epoch: 3n }, { epoch: 4n }, { epoch: 99n }],
      [{ epoch: 4 }],
      3,
      5,
    );
    expect(s).toEqual([
      { epoch: 3, proven: 2, missed: 0 },
      { epoch: 4, proven: 1, missed: 1 },
      { epoch: 5, proven: 0, missed: 0 },
    ]);
  });
});

describe("balanceSeries", () => {
  it("works backwards from the balance now, one point per block", () => {
    const s = balanceSeries(
      [
        { blockNumber: 10n, logIndex: 0, delta: 50n },
        { blockNumber: 20n, logIndex: 1, delta: -30n },
        { blockNumber: 20n, logIndex: 0, delta: 5n },
      ],
      125n,
      30n,
    );
    expect(s).toEqual([
      { block: 9, balance: 100n },
      { block: 19, balance: 150n },
      { block: 30, balance: 125n },
    ]);
  });
  it("is the balance now alone when nothing moved", () => {
    expect(balanceSeries([], 7n, 3n)).toEqual([{ block: 3, balance: 7n }]);
  });
});

describe("epochAt", () => {
  const clock = { anchorTime: 1000n, anchorEpoch: 5, length: 10 };
  it("finds the epoch and the seconds left in it", () => {
    expect(epochAt(clock, 1000)).toEqual({ epoch: 5, secondsLeft: 10, endsAt: 1010 });
    expect(epochAt(clock, 1027)).toEqual({ epoch: 7, secondsLeft: 3, endsAt: 1030 });
  });
  it("waits for the anchor when it is ahead", () => {
    expect(epochAt(clock, 990)).toEqual({ epoch: 5, secondsLeft: 10, endsAt: 1000 });
  });
});

describe("secondsPerBlock and percent", () => {
  it("averages the pace and refuses an empty span", () => {
    expect(
      secondsPerBlock({ number: 10n, timestamp: 100n }, { number: 30n, timestamp: 150n }),
    ).toBe(2.5);
    expect(
      secondsPerBlock({ number: 10n, timestamp: 100n }, { number: 10n, timestamp: 100n }),
    ).toBeUndefined();
  });
  it("formats shares of a whole", () => {
    expect(percent(1n, 3n, 1)).toBe("33.3%");
    expect(percent(5n, 0n)).toBe("0%");
    expect(percent(10n, 10n)).toBe("100%");
  });
});

describe("scanFrom", () => {
  it("goes SCAN_BLOCKS back, never before block 0 or the deployment", () => {
    expect(scanFrom(SCAN_BLOCKS + 500n)).toBe(500n);
    expect(scanFrom(10n)).toBe(0n);
    expect(scanFrom(SCAN_BLOCKS + 500n, 900n)).toBe(900n);
    expect(scanFrom(SCAN_BLOCKS + 500n, 100n)).toBe(500n);
  });
});
