// The Co-op page in a real browser against a real chain and provider nodes: test tokens from the
// faucet, joining with one permit signature, leaving after the notice with the share refunded,
// and claiming a patronage dividend the members declared (set up with the sdk, as members would
// through the Governance page), with the treasury's history showing it.
import {
  castVote,
  connectCoop,
  createKeySession,
  executeProposal,
  faucet,
  formatAmount,
  joinCoop,
  patronageStatus,
  propose,
  proposalActions,
  putFile,
  queueProposal,
  setDefaultTokenUnits,
  type CoopContracts,
} from "@coop-cloud/sdk/client";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { passTime as pass, type Stack, STACK_TIMEOUT, startStack } from "./stack.ts";

const JOINER = 13;
const PATRON = 14;

describe("the co-op page", () => {
  let stack: Stack;
  const connect = (key: number) =>
    connectCoop({
      rpcUrl: stack.rpcUrl,
      addresses: stack.addresses as never,
      account: privateKeyToAccount(stack.devKey(key)),
    });

  beforeAll(async () => {
    stack = await startStack({ providers: 2 });
  }, STACK_TIMEOUT);
  afterAll(async () => {
    await stack?.stop();
  });

  it("gets test tokens, joins with one signature, leaves after the notice with the share back", async () => {
    const { page, wallet } = await stack.newContext({ key: JOINER });
    await page.goto(`${stack.appUrl}/coop`);
    await page.getByRole("button", { name: "Connect Test Wallet" }).click();
    const status = page.getByTestId("membership-status");
    await expect
      .poll(() => status.textContent(), { timeout: 20_000 })
      .toMatch(/^You are not a member\. Joining costs 100 cUSD/);
    expect(await page.getByTestId("balance").textContent()).toBe("0 cUSD");
    // No tokens yet: joining is not offered as possible.
    expect(await page.getByRole("button", { name: "Join (100 cUSD)" }).isDisabled()).toBe(true);

    await page.getByRole("button", { name: "Get test tokens" }).click();
    await expect
      .poll(() => page.getByTestId("balance").textContent(), { timeout: 30_000 })
      .toBe("10,000 cUSD");

    // The member first refuses the permit in the wallet: said in words, nothing sent.
    wallet!.rejectNext();
    await page.getByRole("button", { name: "Join (100 cUSD)" }).click();
    const membership = page.locator("#membership");
    await expect
      .poll(() => membership.getByRole("alert").textContent(), { timeout: 30_000 })
      .toBe("Join the co-op failed: You rejected the request in your wallet; nothing was sent.");
    expect(await status.textContent()).toMatch(/^You are not a member\./);

    await page.getByRole("button", { name: "Join (100 cUSD)" }).click();
    await expect
      .poll(() => page.getByTestId("membership-result").textContent(), { timeout: 30_000 })
      .toBe("Joined: 100 cUSD paid as your share.");
    await expect
      .poll(() => status.textContent())
      .toMatch(/^You are a member: share paid 100 cUSD, 1 vote\./);
    // One permit signature (after the refused one) and one transaction (plus the faucet's).
    expect(wallet!.calls.filter((m) => m === "eth_signTypedData_v4")).toHaveLength(2);
    expect(wallet!.calls.filter((m) => m === "eth_sendTransaction")).toHaveLength(2);
    await expect.poll(() => page.getByTestId("balance").textContent()).toBe("9,900 cUSD");

    await page.getByRole("button", { name: "Leave the co-op…" }).click();
    await page.getByRole("button", { name: "Ask to leave" }).click();
    const exit = page.getByTestId("exit-status");
    await expect
      .poll(() => exit.textContent(), { timeout: 30_000 })
      .toMatch(/^You asked to leave: you can complete the exit from .* \(in (9|10) min/);
    const complete = page.getByRole("button", { name: "Complete the exit" });
    expect(await complete.isDisabled()).toBe(true);

    await pass(stack, 601);
    await expect.poll(() => complete.isDisabled(), { timeout: 20_000 }).toBe(false);
    await complete.click();
    await expect
      .poll(() => page.getByTestId("membership-result").textContent(), { timeout: 30_000 })
      .toBe("You left the co-op; 100 cUSD refunded.");
    await expect.poll(() => status.textContent()).toMatch(/^You are not a member\./);
    await expect.poll(() => page.getByTestId("balance").textContent()).toBe("10,000 cUSD");

    // On a phone (390 px) nothing runs off the side: wide tables scroll inside their box.
    await page.setViewportSize({ width: 390, height: 844 });
    await expect
      .poll(() => page.evaluate(() => document.documentElement.scrollWidth))
      .toBeLessThanOrEqual(390);
  });

  it("claims a declared dividend, and the treasury's history shows it", async () => {
    // A member stores a small file: the deal's fee goes to the treasury and earns it points.
    const c: CoopContracts = await connect(PATRON);
    await faucet(c);
    await joinCoop(c);
    await putFile(c, new Uint8Array(64 * 1024).fill(7), {
      name: "points.bin",
      k: 1,
      n: 2,
      durationEpochs: 10,
      keys: createKeySession(c),
    });
    const before = await patronageStatus(c);
    const period = before.currentPeriod;
    expect(before.periods.find((p) => p.period === period)!.points).toBeGreaterThan(0n);
    const amount = before.freeBalance;
    expect(amount).toBeGreaterThan(0n);

    // The providers have done their part; the chain's clock now jumps past the period.
    for (const p of stack.providers) p.process.kill("SIGTERM");
    await pass(stack, 3601);

    // The members declare the dividend (the Governance page does the same through the sdk).
    const action = await proposalActions.declareDividend(c, period, amount);
    const { proposalId } = await propose(c, action);
    await pass(stack, 61);
    await castVote(c, proposalId, "for");
    await pass(stack, 301);
    await queueProposal(c, proposalId);
    await pass(stack, 61);
    await executeProposal(c, proposalId);
    setDefaultTokenUnits({ decimals: 6, symbol: "cUSD" });
    const share = formatAmount(amount);

    // On a phone: the period's Claim button is on screen, not at the end of a wide table.
    const { page } = await stack.newContext({ key: PATRON });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${stack.appUrl}/coop`);
    await page.getByRole("button", { name: "Connect Test Wallet" }).click();
    await expect
      .poll(() => page.getByTestId("total-claimable").textContent(), { timeout: 30_000 })
      .toBe(share);
    const claim = page.getByRole("button", { name: `Claim ${share}` });
    const box = (await claim.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    await claim.click();
    await expect
      .poll(() => page.getByTestId("claim-result").textContent(), { timeout: 30_000 })
      .toBe(`Claimed ${share}.`);
    await expect.poll(() => page.getByTestId("total-claimable").textContent()).toBe("0 cUSD");
    const treasury = page.locator("#treasury");
    await expect
      .poll(() => treasury.getByText(`dividend of ${share} declared for period ${period}`).count())
      .toBe(1);
    await expect
      .poll(() => treasury.getByText(`claimed ${share} of period ${period}`).count())
      .toBe(1);
  });
});
