// Gas figures for `npm run bench`: a gas test calls recordGas with the receipt
// of each named operation; when COOP_GAS_REPORT names a file (scripts/bench.ts
// sets it), the figure is appended there as a JSON line. Tests never assert
// on these numbers beyond the hard budgets.
import { appendFileSync } from "node:fs";

export function recordGas(name: string, gasUsed: bigint): void {
  const file = process.env.COOP_GAS_REPORT;
  if (!file) return;
  appendFileSync(file, JSON.stringify({ name, value: Number(gasUsed), unit: "gas" }) + "\n");
}
