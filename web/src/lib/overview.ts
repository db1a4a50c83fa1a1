// Pure figures and chart series of the Overview and Co-op pages, built from the market's and the
// treasury's events. No chain access here: the pages read, these functions reduce.

/** Blocks scanned back from the head for charts and histories (older events are not shown). */
export const SCAN_BLOCKS = 20_000n;

/** First block of a bounded scan: SCAN_BLOCKS back from the head, never before the deployment. */
export function scanFrom(head: bigint, deploymentBlock = 0n): bigint {
  const back = head > SCAN_BLOCKS ? head - SCAN_BLOCKS : 0n;
  return back > deploymentBlock ? back : deploymentBlock;
}

/** A deal as it occupies storage, from startEpoch until endEpoch. */
export interface DealSpan {
  dealId: bigint;
  /** Bytes held by providers: shard size × shards accepted. */
  bytes: bigint;
  /** Bytes of data before redundancy: shard size × k, once k shards are accepted (else 0). */
  dataBytes: bigint;
  startEpoch: number;
  endEpoch: number;
}

interface Created {
  dealId: bigint;
  k: number;
  n: number;
  shardSize: bigint;
  startEpoch: number;
  endEpoch: number;
}
/** DealExtended or DealCancelled: the deal's new end epoch, in chain order. */
interface EndChange {
  dealId: bigint;
  endEpoch: number;
  blockNumber: bigint;
  logIndex: number;
}

/**
 * Each deal's span, with the end epoch of its latest extension or cancellation. `accepted`
 * gives the ShardAccepted events (deal id and shard index): only shards a provider took count
 * as stored; without it every shard counts.
 */
export function dealSpans(
  created: readonly Created[],
  endChanges: readonly EndChange[],
  accepted?: readonly { dealId: bigint; shard: number }[],
): DealSpan[] {
  const ends = new Map<bigint, number>();
  const ordered = [...endChanges].sort((a, b) =>
    a.blockNumber === b.blockNumber
      ? a.logIndex - b.logIndex
      : a.blockNumber < b.blockNumber
        ? -1
        : 1,
  );
  for (const e of ordered) ends.set(e.dealId, e.endEpoch);
  const shards = new Map<bigint, Set<number>>();
  for (const a of accepted ?? []) {
    const set = shards.get(a.dealId) ?? new Set<number>();
    set.add(a.shard);
    shards.set(a.dealId, set);
  }
  return created.map((d) => {
    const held = accepted ? Math.min(d.n, shards.get(d.dealId)?.size ?? 0) : d.n;
    return {
      dealId: d.dealId,
      bytes: d.shardSize * BigInt(held),
      dataBytes: held >= d.k ? d.shardSize * BigInt(d.k) : 0n,
      startEpoch: d.startEpoch,
      endEpoch: ends.get(d.dealId) ?? d.endEpoch,
    };
  });
}

/** A deal holds storage in epoch e when startEpoch ≤ e < endEpoch. */
export const dealActiveAt = (d: DealSpan, epoch: number) =>
  d.startEpoch <= epoch && epoch < d.endEpoch;

/** Deals not yet over at `epoch` (including those whose start is still ahead). */
export function activeDeals(spans: readonly DealSpan[], epoch: number) {
  const live = spans.filter((d) => epoch < d.endEpoch);
  return {
    count: live.length,
    bytes: live.reduce((s, d) => s + d.bytes, 0n),
    dataBytes: live.reduce((s, d) => s + d.dataBytes, 0n),
  };
}

/** The epochs [from, to] shown by a chart: at most `max` of them, ending at `to`. */
export function epochWindow(current: number, max: number): { from: number; to: number } {
  return { from: Math.max(0, current - max + 1), to: current };
}

/** Bytes held in each epoch of [from, to]. */
export function storedBytesSeries(
  spans: readonly DealSpan[],
  from: number,
  to: number,
): { epoch: number; bytes: number }[] {
  const out: { epoch: number; bytes: number }[] = [];
  for (let e = from; e <= to; e++) {
    let bytes = 0n;
    for (const d of spans) if (dealActiveAt(d, e)) bytes += d.bytes;
    out.push({ epoch: e, bytes: Number(bytes) });
  }
  return out;
}

/** Proofs submitted (EpochProven) and epochs reported missed (EpochMissed) per epoch of [from, to]. */
export function proofSeries(
  proven: readonly { epoch: bigint | number }[],
  missed: readonly { epoch: bigint | number }[],
  from: number,
  to: number,
): { epoch: number; proven: number; missed: number }[] {
  const count = (list: readonly { epoch: bigint | number }[]) => {
    const m = new Map<number, number>();
    for (const x of list) {
      const e = Number(x.epoch);
      if (e >= from && e <= to) m.set(e, (m.get(e) ?? 0) + 1);
    }
    return m;
  };
  const p = count(proven);
  const m = count(missed);
  const out = [];
  for (let e = from; e <= to; e++) out.push({ epoch: e, proven: p.get(e) ?? 0, missed: m.get(e) ?? 0 });
  return out;
}

/** A change of the treasury's token balance: a transfer in (+) or out (−). */
export interface BalanceChange {
  blockNumber: bigint;
  logIndex: number;
  delta: bigint;
}

/**
 * The balance after each change, worked backwards from the balance now, so a bounded scan (the
 * latest blocks only) still shows true figures. The first point is the balance before the
 * earliest change in the range; the last is the balance now at `headBlock`.
 */
export function balanceSeries(
  changes: readonly BalanceChange[],
  balanceNow: bigint,
  headBlock: bigint,
): { block: number; balance: bigint }[] {
  const ordered = [...changes].sort((a, b) =>
    a.blockNumber === b.blockNumber
      ? a.logIndex - b.logIndex
      : a.blockNumber < b.blockNumber
        ? -1
        : 1,
  );
  const points: { block: number; balance: bigint }[] = [];
  let balance = balanceNow;
  points.push({ block: Number(headBlock), balance });
  for (let i = ordered.length - 1; i >= 0; i--) {
    const c = ordered[i];
    // Several changes in one block: keep only the balance at the end of the block.
    const last = points[points.length - 1];
    balance -= c.delta;
    const before = Number(c.blockNumber) - 1;
    if (last.block === before) last.balance = balance;
    else points.push({ block: before, balance });
  }
  return points.reverse();
}

/**
 * The epoch the clock is in at `now` (Unix seconds) and the seconds left in it. The clock is
 * the market's epochClock(): epoch `anchorEpoch` began at `anchorTime`, each lasting `length` s.
 */
export function epochAt(
  clock: { anchorTime: bigint | number; anchorEpoch: number; length: number },
  now: number,
): { epoch: number; secondsLeft: number; endsAt: number } {
  const anchor = Number(clock.anchorTime);
  if (now < anchor)
    return { epoch: clock.anchorEpoch, secondsLeft: anchor - now, endsAt: anchor };
  const passed = Math.floor((now - anchor) / clock.length);
  const endsAt = anchor + (passed + 1) * clock.length;
  return { epoch: clock.anchorEpoch + passed, secondsLeft: endsAt - now, endsAt };
}

/** Average seconds per block over a span of recent blocks (undefined when it cannot tell). */
export function secondsPerBlock(
  older: { number: bigint; timestamp: bigint },
  newer: { number: bigint; timestamp: bigint },
): number | undefined {
  const blocks = Number(newer.number - older.number);
  const seconds = Number(newer.timestamp - older.timestamp);
  if (blocks <= 0 || seconds < 0) return undefined;
  return seconds / blocks;
}

/** Share of capacity used, as a whole percent string ("0%" when nothing is offered). */
export function percent(part: bigint, whole: bigint, digits = 0): string {
  if (whole <= 0n) return "0%";
  const scale = 10 ** digits;
  const v = Number((part * 100n * BigInt(scale)) / whole) / scale;
  return `${v.toFixed(digits)}%`;
}
