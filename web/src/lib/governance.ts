// Pure rules of the Governance page: what a proposal's state allows, how long it still waits
// (time and blocks), and the checks of the template forms (no calldata typed by hand: the
// sdk's proposalActions build it from these values).
import { formatDuration, type ProposalInfo, type TokenUnits } from "@coop-cloud/sdk/client";
import { getAddress, isAddress, parseUnits, type Address } from "viem";

export type Parsed<T> = { value: T; error?: undefined } | { value?: undefined; error: string };

const GIB = 2n ** 30n;

type ProposalView = Pick<
  ProposalInfo,
  | "state"
  | "hasVoted"
  | "untilExecutable"
  | "untilVoteStart"
  | "untilVoteEnd"
  | "clockMode"
  | "votes"
  | "quorum"
>;

export interface AllowedActions {
  vote: boolean;
  queue: boolean;
  execute: boolean;
}

/**
 * Which buttons a proposal shows: vote while Active (once per member), queue once Succeeded,
 * execute once Queued and the timelock delay has passed (one second left is enough: the next
 * block is at least a second later). Nothing without a wallet.
 */
export function allowedActions(
  p: ProposalView,
  me: { connected: boolean; member: boolean },
): AllowedActions {
  if (!me.connected) return { vote: false, queue: false, execute: false };
  return {
    vote: p.state === "Active" && me.member && p.hasVoted !== true,
    queue: p.state === "Succeeded",
    execute: p.state === "Queued" && p.untilExecutable <= 1n,
  };
}

const isTimestamp = (clockMode: string) => clockMode.includes("timestamp");

/**
 * A wait in the governor's clock as people read it: "45 s (≈ 9 blocks at one every 5 s)" for a
 * timestamp clock, "12 blocks (≈ 1 min)" for a block clock.
 */
export function waitText(clockMode: string, units: bigint, secondsPerBlock?: number): string {
  const pace = secondsPerBlock && secondsPerBlock > 0 ? secondsPerBlock : undefined;
  if (isTimestamp(clockMode)) {
    const blocks = pace ? Math.max(1, Math.ceil(Number(units) / pace)) : undefined;
    return `${formatDuration(units)}${
      blocks !== undefined
        ? ` (≈ ${blocks} block${blocks === 1 ? "" : "s"} at one every ${formatPace(pace!)})`
        : ""
    }`;
  }
  return `${units} block${units === 1n ? "" : "s"}${
    pace ? ` (≈ ${formatDuration(Number(units) * pace)})` : ""
  }`;
}

function formatPace(seconds: number): string {
  return seconds < 10 ? `${Number(seconds.toFixed(1))} s` : formatDuration(seconds);
}

/** Did the For votes win and was the quorum (For + Abstain) met? */
export function outcome(p: Pick<ProposalInfo, "votes" | "quorum">): {
  quorumMet: boolean | undefined;
  majority: boolean;
} {
  const counted = p.votes.for + p.votes.abstain;
  return {
    quorumMet: p.quorum === undefined ? undefined : counted >= p.quorum,
    majority: p.votes.for > p.votes.against,
  };
}

/** What happens next to a proposal, in one sentence. */
export function nextStep(p: ProposalView, secondsPerBlock?: number): string {
  const wait = (u: bigint) => waitText(p.clockMode, u, secondsPerBlock);
  switch (p.state) {
    case "Pending":
      return `Voting opens in ${wait(p.untilVoteStart)}.`;
    case "Active":
      return `Voting closes in ${wait(p.untilVoteEnd)}.`;
    case "Succeeded":
      return "Passed: queue it in the timelock, then execute it after the delay.";
    case "Queued":
      return p.untilExecutable > 1n
        ? `In the timelock: executable in ${waitText("mode=timestamp", p.untilExecutable, secondsPerBlock)}.`
        : "Ready: anyone may execute it now.";
    case "Defeated": {
      const o = outcome(p);
      if (o.quorumMet === false && !o.majority)
        return "Defeated: not more For than Against votes, and the quorum (For + Abstain votes) was not reached.";
      return o.quorumMet === false
        ? "Defeated: the quorum (For + Abstain votes) was not reached."
        : "Defeated: not more For than Against votes.";
    }
    case "Executed":
      return "Executed: the change is in force.";
    case "Canceled":
      return "Canceled.";
    case "Expired":
      return "Expired: it was not executed in time.";
  }
}

/**
 * The clock waits as a number of units still to pass, for "waiting" notes: the chain's clock
 * only moves when blocks are mined, so on a quiet local chain a proposal waits for blocks.
 */
export function waitingUnits(p: ProposalView): bigint {
  if (p.state === "Pending") return p.untilVoteStart;
  if (p.state === "Active") return p.untilVoteEnd;
  if (p.state === "Queued") return p.untilExecutable > 1n ? p.untilExecutable : 0n;
  return 0n;
}

// ---- template inputs ------------------------------------------------------------------

/** A token amount typed as a decimal number ("12.5"), in base units. */
export function parseTokenAmount(
  text: string,
  units: TokenUnits,
  what = "amount",
): Parsed<bigint> {
  const t = text.trim();
  if (t === "") return { error: `Enter the ${what} in ${units.symbol}.` };
  if (!/^\d+(\.\d+)?$/.test(t))
    return { error: `The ${what} must be a number like 12.5 (${units.symbol}).` };
  const decimals = t.split(".")[1]?.length ?? 0;
  if (decimals > units.decimals)
    return { error: `The ${what} has more than ${units.decimals} decimals.` };
  return { value: parseUnits(t, units.decimals) };
}

/** A positive token amount. */
export function parsePositiveAmount(
  text: string,
  units: TokenUnits,
  what = "amount",
): Parsed<bigint> {
  const r = parseTokenAmount(text, units, what);
  if (r.error === undefined && r.value === 0n)
    return { error: `The ${what} must be more than zero.` };
  return r;
}

/**
 * A price typed in tokens per GiB per epoch, as the market's pricePerByteEpoch (1e-18 base
 * units per byte and epoch), rounded to the nearest unit, as the CLI does.
 */
export function parsePricePerGiB(text: string, units: TokenUnits): Parsed<bigint> {
  const t = text.trim();
  if (t === "") return { error: `Enter a price in ${units.symbol} per GiB per epoch.` };
  if (!/^\d+(\.\d+)?$/.test(t))
    return { error: `The price must be a number like 0.00002 (${units.symbol} per GiB per epoch).` };
  // Up to 18 more decimals than the token: the price per byte is a fraction of a base unit.
  const frac = t.split(".")[1]?.length ?? 0;
  if (frac > units.decimals + 18) return { error: "The price has too many decimals." };
  const scaled = parseUnits(t, units.decimals + 18); // base units × 1e18 per GiB-epoch
  const perByte = (scaled + GIB / 2n) / GIB;
  if (perByte === 0n) return { error: `A price of ${t} per GiB per epoch rounds to zero.` };
  if (perByte >= 2n ** 128n) return { error: "The price is too large." };
  return { value: perByte };
}

/** pricePerByteEpoch back to tokens per GiB per epoch, as a plain decimal string. */
export function pricePerGiBText(perByteEpoch: bigint, units: TokenUnits): string {
  const scaled = perByteEpoch * GIB; // base units × 1e18
  const digits = units.decimals + 18;
  const s = scaled.toString().padStart(digits + 1, "0");
  const int = s.slice(0, -digits);
  const frac = s.slice(-digits).replace(/0+$/, "");
  return frac ? `${int}.${frac}` : int;
}

/** A fee in percent with up to two decimals ("2.5", "5%"), as basis points. */
export function parseFeePercent(text: string): Parsed<number> {
  const m = /^(\d{1,3})(?:\.(\d{1,2}))?%?$/.exec(text.trim());
  const bps = m ? Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0")) : NaN;
  if (!(bps >= 0 && bps <= 10_000))
    return { error: "The fee must be a percentage from 0 to 100, with two decimals at most." };
  return { value: bps };
}

/** An epoch length in whole seconds (1 s to 2^32 − 1 s). */
export function parseEpochLength(text: string): Parsed<number> {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return { error: "The epoch length must be a whole number of seconds." };
  const s = BigInt(t);
  if (s === 0n || s > 2n ** 32n - 1n) return { error: "The epoch length is out of range." };
  return { value: Number(s) };
}

/** A closed patronage period (before the current one). */
export function parseClosedPeriod(text: string, currentPeriod: bigint): Parsed<bigint> {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return { error: "Choose a period (a whole number)." };
  const p = BigInt(t);
  if (p >= currentPeriod)
    return {
      error: `Period ${p} has not closed yet: a dividend can only be declared for periods before ${currentPeriod}.`,
    };
  return { value: p };
}

/** An Ethereum address (any case), checksummed. */
export function parseAddress(text: string): Parsed<Address> {
  const t = text.trim();
  if (!isAddress(t, { strict: false }))
    return { error: "Enter a 0x address of 40 hexadecimal digits." };
  return { value: getAddress(t) };
}
