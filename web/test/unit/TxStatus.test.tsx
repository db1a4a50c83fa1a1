import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { TxStatus } from "@/components/TxStatus";
import type { TxState } from "@/lib/tx";

const HASH = `0x${"ab".repeat(32)}` as const;

describe("TxStatus", () => {
  afterEach(() => {
    cleanup();
    vi.unstubAllEnvs();
  });

  it("shows nothing while idle", () => {
    const { container } = render(<TxStatus state={{ phase: "idle" }} />);
    expect(container.textContent).toBe("");
  });

  const phases: [TxState, string, string][] = [
    [
      { phase: "signing", what: "Join the co-op" },
      "status",
      "Join the co-op: confirm in your wallet…",
    ],
    [
      { phase: "pending", what: "Join the co-op", hash: HASH },
      "status",
      "Join the co-op: pending…",
    ],
    [
      { phase: "confirmed", what: "Join the co-op", hash: HASH },
      "status",
      "Join the co-op: confirmed.",
    ],
    [
      { phase: "failed", what: "Join the co-op", message: "join: you already are a member" },
      "alert",
      "Join the co-op failed: join: you already are a member",
    ],
  ];
  for (const [state, role, text] of phases)
    it(`${state.phase}: "${text}" (${role})`, () => {
      render(<TxStatus state={state} />);
      const el = screen.getByRole(role);
      expect(el.textContent).toBe(text);
      expect(el.getAttribute("data-tx-phase")).toBe(state.phase);
      // The local chain has no explorer: no link.
      expect(screen.queryByRole("link")).toBeNull();
    });

  it("links the transaction on a chain with an explorer", async () => {
    vi.stubEnv("NEXT_PUBLIC_EXPLORER_URL", "https://explorer.example/");
    vi.resetModules();
    const { TxStatus: Fresh } = await import("@/components/TxStatus");
    render(<Fresh state={{ phase: "pending", what: "Stake", hash: HASH }} />);
    const link = screen.getByRole("link", { name: "View on explorer" });
    expect(link.getAttribute("href")).toBe(`https://explorer.example/tx/${HASH}`);
  });
});
