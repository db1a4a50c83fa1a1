import { ContractCallError, type SendOptions } from "@coop-cloud/sdk/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, renderHook } from "@testing-library/react";
import type { ReactNode } from "react";
import { UserRejectedRequestError } from "viem";
import { describe, expect, it } from "vitest";

import { errorSentence, useTx } from "@/lib/tx";

const REJECTED = "You rejected the request in your wallet; nothing was sent.";
const HASH = `0x${"cd".repeat(32)}` as const;

describe("errorSentence", () => {
  it("a wallet's rejection (EIP-1193 code 4001) in words", () => {
    expect(errorSentence(Object.assign(new Error("whatever"), { code: 4001 }))).toBe(REJECTED);
    expect(errorSentence(new UserRejectedRequestError(new Error("User denied")))).toBe(REJECTED);
    expect(
      errorSentence(new Error("MetaMask Tx Signature: User denied transaction signature.")),
    ).toBe(REJECTED);
  });

  it("keeps the sdk's ContractCallError sentence (the revert in words)", () => {
    const e = new ContractCallError("createDeal", "you are not a member of the co-op: join first", {
      errorName: "MarketNotMember",
    });
    expect(errorSentence(e)).toBe("createDeal: you are not a member of the co-op: join first");
  });

  it("one line of anything else", () => {
    expect(errorSentence(new Error("fetch failed\n    at x (y.js:1:1)"))).toBe("fetch failed");
    expect(errorSentence("plain")).toBe("plain");
  });
});

describe("useTx", () => {
  const wrapper = ({ children }: { children: ReactNode }) => (
    <QueryClientProvider client={new QueryClient()}>{children}</QueryClientProvider>
  );

  it("follows a write from signing to confirmed and returns its result", async () => {
    const { result } = renderHook(() => useTx(), { wrapper });
    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let out: Promise<number | undefined>;
    act(() => {
      out = result.current.run("Stake", async ({ onStatus }: SendOptions) => {
        onStatus!({ stage: "signing", what: "stake" });
        onStatus!({ stage: "sent", what: "stake", hash: HASH });
        await gate;
        return 42;
      });
    });
    seen.push(result.current.state.phase);
    expect(result.current.state).toEqual({ phase: "pending", what: "stake", hash: HASH });
    expect(result.current.busy).toBe(true);
    await act(async () => {
      release();
      expect(await out).toBe(42);
    });
    expect(result.current.state).toEqual({ phase: "confirmed", what: "Stake", hash: HASH });
    expect(result.current.busy).toBe(false);
  });

  it("a failed write ends in words, and reset() clears it", async () => {
    const { result } = renderHook(() => useTx(), { wrapper });
    await act(async () => {
      const r = await result.current.run("Join", async () => {
        throw Object.assign(new Error("rejected"), { code: 4001 });
      });
      expect(r).toBeUndefined();
    });
    expect(result.current.state).toEqual({ phase: "failed", what: "Join", message: REJECTED });
    act(() => result.current.reset());
    expect(result.current.state).toEqual({ phase: "idle" });
  });
});
