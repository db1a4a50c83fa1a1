import { describe, expect, it } from "vitest";

import {
  allowedActions,
  nextStep,
  outcome,
  parseAddress,
  parseClosedPeriod,
  parseEpochLength,
  parseFeePercent,
  parsePositiveAmount,
  parsePricePerGiB,
  parseTokenAmount,
  pricePerGiBText,
  waitText,
  waitingUnits,
} from "@/lib/governance";

const units = { decimals: 6, symbol: "cUSD" };
const TS = "mode=timestamp";

type State =
  "Pending" | "Active" | "Canceled" | "Defeated" | "Succeeded" | "Queued" | "Expired" | "Executed";

const proposal = (state: State, over: Record<string, unknown> = {}) => ({
  state,
  hasVoted: false,
  untilExecutable: 0n,
  untilVoteStart: 0n,
  untilVoteEnd: 0n,
  clockMode: TS,
  votes: { for: 0n, against: 0n, abstain: 0n },
  quorum: undefined as bigint | undefined,
  ...over,
});

describe("allowedActions", () => {
  const me = { connected: true, member: true };
  it("offers each button only in the state that allows it", () => {
    const table: [State, Record<string, unknown>, string[]][] = [
      ["Pending", {}, []],
      ["Active", {}, ["vote"]],
      ["Active", { hasVoted: true }, []],
      ["Succeeded", {}, ["queue"]],
      ["Queued", { untilExecutable: 30n }, []],
      ["Queued", { untilExecutable: 1n }, ["execute"]],
      ["Queued", { untilExecutable: 0n }, ["execute"]],
      ["Defeated", {}, []],
      ["Executed", {}, []],
      ["Canceled", {}, []],
      ["Expired", {}, []],
    ];
    for (const [state, over, want] of table) {
      const a = allowedActions(proposal(state, over), me);
      const got = Object.entries(a)
        .filter(([, v]) => v)
        .map(([k]) => k);
      expect(
        got,
        `${state} ${JSON.stringify(over, (_, v) => (typeof v === "bigint" ? `${v}` : v))}`,
      ).toEqual(want);
    }
  });
  it("offers nothing without a wallet, and no vote to a non-member", () => {
    expect(allowedActions(proposal("Succeeded"), { connected: false, member: true })).toEqual({
      vote: false,
      queue: false,
      execute: false,
    });
    expect(allowedActions(proposal("Active"), { connected: true, member: false }).vote).toBe(false);
  });
});

describe("waitText and nextStep", () => {
  it("says a timestamp wait in time and about how many blocks", () => {
    expect(waitText(TS, 45n, 5)).toBe("45 s (≈ 9 blocks at one every 5 s)");
    expect(waitText(TS, 3n, 5)).toBe("3 s (≈ 1 block at one every 5 s)");
    expect(waitText(TS, 120n)).toBe("2 min");
  });
  it("says a block wait in blocks and about how long", () => {
    expect(waitText("mode=blocknumber&from=default", 12n, 5)).toBe("12 blocks (≈ 1 min)");
    expect(waitText("mode=blocknumber&from=default", 1n)).toBe("1 block");
  });
  it("names the next step of each state", () => {
    expect(nextStep(proposal("Pending", { untilVoteStart: 60n }))).toBe("Voting opens in 1 min.");
    expect(nextStep(proposal("Active", { untilVoteEnd: 30n }), 2)).toBe(
      "Voting closes in 30 s (≈ 15 blocks at one every 2 s).",
    );
    expect(nextStep(proposal("Queued", { untilExecutable: 50n }))).toBe(
      "In the timelock: executable in 50 s.",
    );
    expect(nextStep(proposal("Queued", { untilExecutable: 1n }))).toMatch(/^Ready/);
    expect(
      nextStep(proposal("Defeated", { quorum: 2n, votes: { for: 1n, against: 0n, abstain: 0n } })),
    ).toBe("Defeated: the quorum (For + Abstain votes) was not reached.");
    expect(
      nextStep(proposal("Defeated", { quorum: 1n, votes: { for: 0n, against: 1n, abstain: 0n } })),
    ).toBe(
      "Defeated: not more For than Against votes, and the quorum (For + Abstain votes) was not reached.",
    );
    expect(
      nextStep(proposal("Defeated", { quorum: 1n, votes: { for: 1n, against: 2n, abstain: 0n } })),
    ).toMatch(/not more For than Against/);
  });
  it("waits only in the states that wait", () => {
    expect(waitingUnits(proposal("Pending", { untilVoteStart: 5n }))).toBe(5n);
    expect(waitingUnits(proposal("Active", { untilVoteEnd: 7n }))).toBe(7n);
    expect(waitingUnits(proposal("Queued", { untilExecutable: 1n }))).toBe(0n);
    expect(waitingUnits(proposal("Succeeded"))).toBe(0n);
  });
  it("counts For + Abstain for the quorum", () => {
    expect(outcome({ quorum: 2n, votes: { for: 1n, against: 3n, abstain: 1n } })).toEqual({
      quorumMet: true,
      majority: false,
    });
    expect(outcome({ quorum: undefined, votes: { for: 1n, against: 0n, abstain: 0n } })).toEqual({
      quorumMet: undefined,
      majority: true,
    });
  });
});

describe("template inputs", () => {
  it("reads token amounts with the token's decimals", () => {
    expect(parseTokenAmount("12.5", units).value).toBe(12_500_000n);
    expect(parseTokenAmount("", units).error).toMatch(/Enter the amount/);
    expect(parseTokenAmount("1e3", units).error).toMatch(/number like/);
    expect(parseTokenAmount("0.0000001", units).error).toMatch(/more than 6 decimals/);
    expect(parsePositiveAmount("0", units).error).toMatch(/more than zero/);
  });
  it("turns a price per GiB per epoch into pricePerByteEpoch, rounding like the CLI", () => {
    // The local chain's price: 10_000_000_000 per byte-epoch ≈ 0.000010737418 cUSD per GiB-epoch.
    const text = pricePerGiBText(10_000_000_000n, units);
    expect(text).toBe("0.00001073741824");
    expect(parsePricePerGiB(text, units).value).toBe(10_000_000_000n);
    expect(parsePricePerGiB("0.00002", units).value).toBe(
      (20n * 10n ** 18n + 2n ** 29n) / 2n ** 30n,
    );
    expect(parsePricePerGiB("0", units).error).toMatch(/rounds to zero/);
    expect(parsePricePerGiB("cheap", units).error).toMatch(/number like/);
  });
  it("reads fees in percent as basis points", () => {
    expect(parseFeePercent("2.5").value).toBe(250);
    expect(parseFeePercent("5%").value).toBe(500);
    expect(parseFeePercent("100").value).toBe(10_000);
    expect(parseFeePercent("100.01").error).toBeDefined();
    expect(parseFeePercent("1.234").error).toBeDefined();
  });
  it("reads epoch lengths, periods and addresses", () => {
    expect(parseEpochLength("30").value).toBe(30);
    expect(parseEpochLength("0").error).toMatch(/out of range/);
    expect(parseEpochLength("1.5").error).toMatch(/whole number/);
    expect(parseClosedPeriod("2", 3n).value).toBe(2n);
    expect(parseClosedPeriod("3", 3n).error).toMatch(/has not closed/);
    expect(parseAddress("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266").value).toBe(
      "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    );
    expect(parseAddress("0x123").error).toMatch(/40 hexadecimal/);
  });
});
