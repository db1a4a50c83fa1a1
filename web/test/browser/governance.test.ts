// Governance as a member does it in the browser, against a real chain: a price proposal from the
// template (preview, propose), each state shown as the chain's clock moves (the test mines
// blocks and advances time between steps, as members would wait), vote, queue, execute; the
// Overview then shows the new price.
import { connectCoop, faucet, joinCoop } from "@coop-cloud/sdk/client";
import type { Page } from "playwright-core";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { passTime as pass, type Stack, STACK_TIMEOUT, startStack } from "./stack.ts";

const MEMBER = 13;

const card = (page: Page) => page.getByTestId("proposal").first();
const stateOf = (page: Page) => card(page).getAttribute("data-state");

describe("governance", () => {
  let stack: Stack;
  beforeAll(async () => {
    // Governance needs no provider: prices are the market's parameters.
    stack = await startStack({ providers: 0 });
    // The member joins before the proposal, so it has a vote at the snapshot.
    const c = await connectCoop({
      rpcUrl: stack.rpcUrl,
      addresses: stack.addresses as never,
      account: privateKeyToAccount(stack.devKey(MEMBER)),
    });
    await faucet(c);
    await joinCoop(c);
  }, STACK_TIMEOUT);
  afterAll(async () => {
    await stack?.stop();
  });

  it("proposes a price from the template, votes, queues, executes; the Overview shows it", async () => {
    const { page } = await stack.newContext({ key: MEMBER });
    await page.goto(`${stack.appUrl}/governance`);
    await page.getByRole("button", { name: "Connect Test Wallet" }).click();
    await page.getByTestId("account").waitFor();
    await expect.poll(() => page.getByText("No proposals yet.").count()).toBe(1);

    // Bad input is refused in words, and there is nothing to propose.
    const price = page.getByLabel(/New price/);
    await price.fill("cheap");
    await expect.poll(() => page.getByText(/The price must be a number like/).count()).toBe(1);
    expect(await page.getByRole("button", { name: "Propose" }).isDisabled()).toBe(true);

    await price.fill("0.00002");
    const preview = page.getByTestId("proposal-preview").first();
    await expect
      .poll(() => preview.textContent(), { timeout: 20_000 })
      .toMatch(/^Set the storage price to 0\.000019999999 cUSD per GiB per epoch/);
    await page.getByRole("button", { name: "Propose" }).click();
    await expect
      .poll(() => page.getByTestId("propose-result").textContent(), { timeout: 30_000 })
      .toMatch(/^Proposed \(id \d+\): voting opens in 1 min\./);

    // Pending: no buttons, the wait in time and blocks.
    await expect.poll(() => stateOf(page), { timeout: 20_000 }).toBe("Pending");
    expect(await card(page).getByTestId("next-step").textContent()).toMatch(/^Voting opens in /);
    expect(await card(page).getByRole("button").count()).toBe(0);

    await pass(stack, 61);
    await expect.poll(() => stateOf(page), { timeout: 20_000 }).toBe("Active");
    expect(await card(page).getByTestId("next-step").textContent()).toMatch(/^Voting closes in /);
    await card(page).getByRole("button", { name: "Vote for" }).click();
    await expect
      .poll(() => card(page).getByRole("status").textContent(), { timeout: 30_000 })
      .toBe("Vote for: confirmed.");
    await expect
      .poll(() => card(page).getByTestId("tally").textContent())
      .toMatch(/^For 1 · Against 0 · Abstain 0 .* · you voted$/);
    // One vote per member: the vote buttons are gone.
    expect(await card(page).getByRole("button", { name: /^Vote/ }).count()).toBe(0);

    await pass(stack, 301);
    await expect.poll(() => stateOf(page), { timeout: 20_000 }).toBe("Succeeded");
    await card(page).getByRole("button", { name: "Queue in the timelock" }).click();
    await expect.poll(() => stateOf(page), { timeout: 30_000 }).toBe("Queued");
    expect(await card(page).getByTestId("next-step").textContent()).toMatch(
      /^In the timelock: executable in /,
    );
    expect(await card(page).getByRole("button", { name: "Execute" }).count()).toBe(0);

    await pass(stack, 61);
    await card(page).getByRole("button", { name: "Execute" }).click({ timeout: 20_000 });
    await expect.poll(() => stateOf(page), { timeout: 30_000 }).toBe("Executed");
    expect(await card(page).getByRole("button").count()).toBe(0);

    // On a phone (390 px) the long ids and calls wrap instead of running off the side.
    await page.setViewportSize({ width: 390, height: 844 });
    await expect
      .poll(() => page.evaluate(() => document.documentElement.scrollWidth))
      .toBeLessThanOrEqual(390);

    await page.getByRole("link", { name: "Overview" }).click();
    await expect
      .poll(() => page.getByTestId("fig-price").textContent(), { timeout: 20_000 })
      .toBe("0.000019999999 cUSD");
  });

  it("shows a defeated proposal as defeated, with no buttons", async () => {
    const { page } = await stack.newContext({ key: MEMBER });
    await page.goto(`${stack.appUrl}/governance`);
    await page.getByRole("button", { name: "Connect Test Wallet" }).click();
    await page.getByTestId("account").waitFor();
    await page.getByText("Co-op fee", { exact: true }).click();
    await page.getByLabel(/New fee/).fill("7.5");
    await expect
      .poll(() => page.getByTestId("proposal-preview").first().textContent(), { timeout: 20_000 })
      .toBe("Set the co-op fee on storage deals to 7.5% (was 5%).");
    await page.getByRole("button", { name: "Propose" }).click();
    await expect
      .poll(() => page.getByTestId("propose-result").count(), { timeout: 30_000 })
      .toBe(1);
    await pass(stack, 61);
    await card(page).getByRole("button", { name: "Vote against" }).click({ timeout: 20_000 });
    await expect
      .poll(() => card(page).getByTestId("tally").textContent(), { timeout: 30_000 })
      .toMatch(/^For 0 · Against 1 /);
    await pass(stack, 301);
    await expect.poll(() => stateOf(page), { timeout: 20_000 }).toBe("Defeated");
    // The quorum is at least one For or Abstain vote: a lone Against vote misses both.
    expect(await card(page).getByTestId("next-step").textContent()).toBe(
      "Defeated: not more For than Against votes, and the quorum (For + Abstain votes) was not reached.",
    );
    expect(await card(page).getByRole("button").count()).toBe(0);
  });
});
