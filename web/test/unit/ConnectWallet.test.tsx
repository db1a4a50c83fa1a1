import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { ComponentType, ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { fakeWallet, type FakeWallet } from "./fake-wallet.ts";

// The app's own wagmi config, component and providers, loaded fresh for each test (wagmi keeps
// connections and the EIP-6963 wallets it has heard of in module state).
async function mount() {
  vi.resetModules();
  const { Providers } = (await import("@/app/providers")) as {
    Providers: ComponentType<{ children: ReactNode }>;
  };
  const { ConnectWallet } = await import("@/components/ConnectWallet");
  return render(
    <Providers>
      <ConnectWallet />
    </Providers>,
  );
}

const connectButton = (name: string) => screen.findByRole("button", { name: `Connect ${name}` });

describe("ConnectWallet", () => {
  let wallets: FakeWallet[] = [];
  beforeEach(() => {
    wallets = [];
    localStorage.clear();
  });
  afterEach(() => {
    cleanup();
    for (const w of wallets) w.dispose();
  });

  it("says that no wallet was found when the browser has none", async () => {
    await mount();
    expect(await screen.findByText(/No wallet found: install a browser wallet/)).toBeTruthy();
    expect(screen.queryByRole("button", { name: /Connect/ })).toBeNull();
  });

  it("offers one connect button per EIP-6963 wallet", async () => {
    wallets.push(fakeWallet("Alpha Wallet"), fakeWallet("Beta Wallet"));
    await mount();
    await connectButton("Alpha Wallet");
    await connectButton("Beta Wallet");
    expect(screen.queryByText(/No wallet found/)).toBeNull();
  });

  it("connects, shows the account, and disconnects", async () => {
    wallets.push(fakeWallet("Alpha Wallet"));
    await mount();
    fireEvent.click(await connectButton("Alpha Wallet"));
    const account = await screen.findByTestId("account");
    expect(account.textContent).toBe("0x7099…79C8");
    expect(screen.queryByRole("button", { name: /Wrong network/ })).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Disconnect" }));
    await connectButton("Alpha Wallet");
    expect(screen.queryByTestId("account")).toBeNull();
  });

  it("says in words that the user rejected the connection", async () => {
    const w = fakeWallet("Alpha Wallet");
    wallets.push(w);
    await mount();
    w.rejectNext = true;
    fireEvent.click(await connectButton("Alpha Wallet"));
    expect((await screen.findByRole("alert")).textContent).toBe(
      "You rejected the request in your wallet; nothing was sent.",
    );
    expect(screen.queryByTestId("account")).toBeNull();
  });

  it("on another chain: a wrong-network button that switches the wallet to the co-op's", async () => {
    const w = fakeWallet("Alpha Wallet", 1);
    w.allowSwitch = false; // the wallet does not switch on connect
    wallets.push(w);
    await mount();
    fireEvent.click(await connectButton("Alpha Wallet"));
    const wrong = await screen.findByRole("button", {
      name: "Wrong network (chain 1): switch to Co-op local chain",
    });
    w.allowSwitch = true;
    await act(async () => fireEvent.click(wrong));
    await waitFor(() => expect(screen.queryByRole("button", { name: /Wrong network/ })).toBeNull());
    expect(w.chainId).toBe(31337);
    expect(w.calls.filter((c) => c === "wallet_switchEthereumChain").length).toBe(2);
    expect(screen.getByTestId("account")).toBeTruthy();
  });

  it("a refused switch says so and keeps the wrong-network button", async () => {
    const w = fakeWallet("Alpha Wallet", 1);
    w.allowSwitch = false;
    wallets.push(w);
    await mount();
    fireEvent.click(await connectButton("Alpha Wallet"));
    const wrong = await screen.findByRole("button", { name: /Wrong network \(chain 1\)/ });
    w.rejectNext = true;
    fireEvent.click(wrong);
    expect((await screen.findByRole("alert")).textContent).toBe(
      "You rejected the request in your wallet; nothing was sent.",
    );
    expect(screen.getByRole("button", { name: /Wrong network \(chain 1\)/ })).toBeTruthy();
  });
});
