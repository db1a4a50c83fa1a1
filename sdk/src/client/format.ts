// Numbers as people read them: token amounts with the token's decimals and symbol, Unix times
// as UTC dates, seconds as durations, bytes in binary units. Used by the revert words, the
// client's descriptions (proposal texts) and the CLI.
import { formatUnits } from "viem";

/** How the payment token's base units are shown. */
export interface TokenUnits {
  decimals: number;
  symbol: string;
}

/**
 * Units used when none are given. `connectCoop` sets them from the connected token, so reverts
 * and descriptions name amounts as "100 cUSD", not "100000000".
 */
let defaultUnits: TokenUnits = { decimals: 6, symbol: "tokens" };

/** Sets the token units used by default (called by `connectCoop` with the token's own). */
export function setDefaultTokenUnits(units: TokenUnits): void {
  defaultUnits = units;
}

/** The token units used by default. */
export function getDefaultTokenUnits(): TokenUnits {
  return defaultUnits;
}

function group(intPart: string): string {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** `100000000n` → `"100 cUSD"`, `1234567890n` → `"1,234.56789 cUSD"` (exact, never rounded). */
export function formatAmount(amount: bigint, units: TokenUnits = defaultUnits): string {
  const s = formatUnits(amount, units.decimals);
  const neg = s.startsWith("-");
  const [i, f] = (neg ? s.slice(1) : s).split(".");
  return `${neg ? "-" : ""}${group(i)}${f ? `.${f}` : ""} ${units.symbol}`;
}

/** A Unix time in seconds as `"2026-12-02 17:03:10 UTC"`. */
export function formatTime(seconds: bigint | number): string {
  const d = new Date(Number(seconds) * 1000);
  return `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** Seconds as `"45 s"`, `"10 min"`, `"2 h 5 min"`, `"7 days"`. */
export function formatDuration(seconds: bigint | number): string {
  let s = Math.max(0, Math.round(Number(seconds)));
  if (s < 60) return `${s} s`;
  const days = Math.floor(s / 86400);
  s -= days * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const min = Math.floor(s / 60);
  const sec = s - min * 60;
  const parts: string[] = [];
  if (days) parts.push(`${days} day${days === 1 ? "" : "s"}`);
  if (h) parts.push(`${h} h`);
  if (min && days < 7) parts.push(`${min} min`);
  if (sec && !days && !h) parts.push(`${sec} s`);
  return parts.join(" ");
}

/** Bytes as `"512 B"`, `"1.5 KiB"`, `"1 GiB"` (binary units, up to two decimals). */
export function formatBytes(bytes: bigint | number): string {
  const n = Number(bytes);
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : Number(v.toFixed(2))} ${units[i]}`;
}
