// The wallet states as a person meets them in a real browser against a real chain: no wallet,
// connect (and still connected after a reload), the wallet moved to another network (the
// wrong-network button, one click back), a rejected connection, disconnect (and still
// disconnected after a reload).
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type Stack, STACK_TIMEOUT, startStack } from "./stack.ts";

const REJECTED = "You rejected the request in your wallet; nothing was sent.";

describe("wallet states", () => {
  let stack: Stack;
  beforeAll(async () => {
    // No provider is needed to connect a wallet.
    stack = await startStack({ providers: 0 });
  }, STACK_TIMEOUT);
  afterAll(async () => {
    await stack?.stop();
  });

  const short = (key: number) => {
    const a = privateKeyToAccount(stack.devKey(key)).address;
    return `${a.slice(0, 6)}…${a.slice(-4)}`;
  };

  it("without a wallet: says none was found, offers no button", async () => {
    const { page } = await stack.newContext();
    await page.goto(stack.appUrl);
    await expect
      .poll(() => page.getByText("No wallet found: install a browser wallet").count())
      .toBe(1);
    expect(await page.getByRole("button", { name: /^Connect/ }).count()).toBe(0);
    // The co-op itself is reachable read-only: no notice about a missing deployment.
    expect(await page.getByText(/no co-op deployment is known/).count()).toBe(0);
  });

  it("connects, shows the account, stays connected after a reload, disconnects for good", async () => {
    const { page, wallet } = await stack.newContext({ key: 16 });
    await page.goto(stack.appUrl);
    await page.getByRole("button", { name: "Connect Test Wallet" }).click();
    const account = page.getByTestId("account");
    await expect.poll(() => account.textContent()).toBe(short(16));
    expect(wallet!.calls).toContain("eth_requestAccounts");

    await page.reload();
    await expect.poll(() => account.textContent()).toBe(short(16));

    await page.getByRole("button", { name: "Disconnect" }).click();
    await expect
      .poll(() => page.getByRole("button", { name: "Connect Test Wallet" }).count())
      .toBe(1);
    expect(await account.count()).toBe(0);
    await page.reload();
    await expect
      .poll(() => page.getByRole("button", { name: "Connect Test Wallet" }).count())
      .toBe(1);
    expect(await account.count()).toBe(0);
  });

  it("the wallet on another network: a wrong-network button that switches it back", async () => {
    const { page, wallet } = await stack.newContext({ key: 17 });
    await page.goto(stack.appUrl);
    await page.getByRole("button", { name: "Connect Test Wallet" }).click();
    await expect.poll(() => page.getByTestId("account").textContent()).toBe(short(17));
    // The person picks another network in the wallet.
    await wallet!.switchChain(1);
    const wrong = page.getByRole("button", {
      name: "Wrong network (chain 1): switch to Co-op local chain",
    });
    await expect.poll(() => wrong.count()).toBe(1);
    await wrong.click();
    await expect.poll(() => wrong.count()).toBe(0);
    expect(wallet!.chainId()).toBe(stack.chainId);
    expect(wallet!.calls).toContain("wallet_switchEthereumChain");
    expect(await page.getByTestId("account").textContent()).toBe(short(17));
  });

  it("a wallet that starts on another network is switched when connecting", async () => {
    const { page, wallet } = await stack.newContext({ key: 18, chainId: 1 });
    await page.goto(stack.appUrl);
    await page.getByRole("button", { name: "Connect Test Wallet" }).click();
    await expect.poll(() => page.getByTestId("account").textContent()).toBe(short(18));
    expect(wallet!.chainId()).toBe(stack.chainId);
    expect(await page.getByRole("button", { name: /Wrong network/ }).count()).toBe(0);
  });

  it("a rejected connection says so in words and connects nothing", async () => {
    const { page, wallet } = await stack.newContext({ key: 19 });
    await page.goto(stack.appUrl);
    wallet!.rejectNext();
    await page.getByRole("button", { name: "Connect Test Wallet" }).click();
    await expect.poll(() => page.getByRole("alert").filter({ hasText: REJECTED }).count()).toBe(1);
    expect(await page.getByTestId("account").count()).toBe(0);
    // Trying again works.
    await page.getByRole("button", { name: "Connect Test Wallet" }).click();
    await expect.poll(() => page.getByTestId("account").textContent()).toBe(short(19));
    expect(await page.getByText(REJECTED).count()).toBe(0);
  });
});
