// Pure helpers of the Providers table: reliability as a percent and sorting by any column.
import { reliability, type ProviderSummary } from "@coop-cloud/sdk/client";

/** The sdk's reliability ((proven + 1) / (proven + missed + 2)) as "97.5%". */
export function reliabilityPercent(
  p: Pick<ProviderSummary, "provenEpochs" | "missedEpochs">,
): string {
  const v = reliability(p) * 100;
  return `${Number(v.toFixed(1))}%`;
}

export type ProviderColumn =
  | "address"
  | "endpoint"
  | "capacity"
  | "used"
  | "stake"
  | "provenEpochs"
  | "missedEpochs"
  | "reliability"
  | "status";

export type SortDirection = "ascending" | "descending";

/** Left, failed, or active: in that order when sorted ascending. */
export function providerStatus(p: Pick<ProviderSummary, "registered" | "failed">): string {
  return !p.registered ? "left" : p.failed ? "failed" : "active";
}

const STATUS_RANK: Record<string, number> = { left: 0, failed: 1, active: 2 };

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compare(a: ProviderSummary, b: ProviderSummary, column: ProviderColumn): number {
  switch (column) {
    case "address":
      return a.address.toLowerCase().localeCompare(b.address.toLowerCase());
    case "endpoint":
      return a.endpoint.localeCompare(b.endpoint);
    case "capacity":
      return cmpBig(a.capacity, b.capacity);
    case "used":
      return cmpBig(a.used, b.used);
    case "stake":
      return cmpBig(a.stake, b.stake);
    case "provenEpochs":
      return cmpBig(a.provenEpochs, b.provenEpochs);
    case "missedEpochs":
      return a.missedEpochs - b.missedEpochs;
    case "reliability":
      return reliability(a) - reliability(b);
    case "status":
      return STATUS_RANK[providerStatus(a)] - STATUS_RANK[providerStatus(b)];
  }
}

/** A sorted copy; ties are broken by address so the order is stable across refreshes. */
export function sortProviders(
  list: readonly ProviderSummary[],
  column: ProviderColumn,
  direction: SortDirection,
): ProviderSummary[] {
  const sign = direction === "ascending" ? 1 : -1;
  return [...list].sort(
    (a, b) =>
      sign * compare(a, b, column) ||
      a.address.toLowerCase().localeCompare(b.address.toLowerCase()),
  );
}

/** Clicking a header: the same column flips, a new one starts descending (numbers) or ascending (text). */
export function nextSort(
  current: { column: ProviderColumn; direction: SortDirection },
  clicked: ProviderColumn,
): { column: ProviderColumn; direction: SortDirection } {
  if (current.column === clicked)
    return {
      column: clicked,
      direction: current.direction === "ascending" ? "descending" : "ascending",
    };
  const text = clicked === "address" || clicked === "endpoint" || clicked === "status";
  return { column: clicked, direction: text ? "ascending" : "descending" };
}
