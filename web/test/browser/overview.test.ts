// The Overview and Providers pages in a real browser against a real chain with four provider
// nodes holding a demo deal: the figures as the chain has them, the charts drawn once proofs
// arrive, the provider table sortable with the mouse and the keyboard, and phones (390 px).
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type Stack, STACK_TIMEOUT, startStack } from "./stack.ts";

describe("overview and providers", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ demoDeal: true });
  }, STACK_TIMEOUT);
  afterAll(async () => {
    await stack?.stop();
  });

  const figure = (page: Page, id: string) => page.getByTestId(id).textContent();

  it("shows the co-op's figures and charts its stored bytes and proofs, without a wallet", async () => {
    const { page } = await stack.newContext();
    await page.goto(stack.appUrl);
    // The four providers are the members; account #0's demo deal holds 4 shards of 1.5 MiB.
    await expect.poll(() => figure(page, "fig-members"), { timeout: 20_000 }).toBe("4");
    expect(await figure(page, "fig-providers")).toBe("4");
    await expect.poll(() => figure(page, "fig-deals")).toBe("1");
    await expect.poll(() => figure(page, "fig-stored"), { timeout: 30_000 }).toBe("6 MiB");
    expect(await figure(page, "fig-capacity")).toBe("6 MiB of 16 GiB");
    expect(await figure(page, "fig-price")).toBe("0.000010737418 cUSD");
    expect(await figure(page, "fig-epoch")).toMatch(/^\d+$/);

    // Charts: bytes held per epoch at once, proofs once the providers have proven an epoch.
    await expect
      .poll(() => page.locator("#chart-stored figure[role=img]").getAttribute("aria-label"), {
        timeout: 30_000,
      })
      .toMatch(/now 6 MiB\.$/);
    await expect
      .poll(() => page.locator("#chart-proofs figure[role=img]").getAttribute("aria-label"), {
        timeout: 90_000,
      })
      .toMatch(/: [1-9]\d* proven, \d+ missed\.$/);
    expect(await page.locator("#chart-proofs svg").count()).toBeGreaterThan(0);

    await page.setViewportSize({ width: 390, height: 844 });
    await expect
      .poll(() => page.evaluate(() => document.documentElement.scrollWidth))
      .toBeLessThanOrEqual(390);
  });

  it("lists the providers, sortable by a column with the mouse or the keyboard", async () => {
    const { page } = await stack.newContext();
    await page.goto(`${stack.appUrl}/providers`);
    const rows = page.getByTestId("provider-row");
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(4);
    const endpoints = () => rows.locator("td:nth-child(2)").allTextContents();
    const want = await endpoints();
    expect(new Set(want).size).toBe(4);

    const header = page.getByRole("columnheader", { name: /Endpoint/ });
    await header.getByRole("button").click();
    await expect.poll(() => header.getAttribute("aria-sort")).toBe("ascending");
    expect(await endpoints()).toEqual([...want].sort());
    await header.getByRole("button").focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => header.getAttribute("aria-sort")).toBe("descending");
    expect(await endpoints()).toEqual([...want].sort().reverse());
    expect(await rows.first().locator("td").last().textContent()).toBe("active");

    // How to become one: the recipe names this chain's market.
    const recipe = page.locator("#become-provider");
    expect(await recipe.textContent()).toContain(stack.addresses.StorageMarket);

    // Phones get one card per provider and a sort select.
    await page.setViewportSize({ width: 390, height: 844 });
    await expect.poll(() => page.getByLabel("Sort by").isVisible()).toBe(true);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );
  });
});
