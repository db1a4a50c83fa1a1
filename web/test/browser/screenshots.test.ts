// Pictures of every page for docs/web.md (docs/web/*.png), taken from a co-op with something
// in it: four providers holding a demo deal, and the person on the pictures (dev account #19)
// a member with tokens, two files stored and a proposal open. Each page must answer 200, show
// its heading and the data set up, and throw no error in the page. Runs last (see
// vitest.browser.config.ts).
import { randomBytes } from "node:crypto";
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";

import {
  type CoopAddresses,
  connectCoop,
  createKeySession,
  faucet,
  joinCoop,
  propose,
  proposalActions,
  putFile,
} from "@coop-cloud/sdk/client";
import type { Page } from "playwright-core";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type BrowserSession, repoRoot, type Stack, STACK_TIMEOUT, startStack } from "./stack.ts";

const PERSON = 19;
const OUT = join(repoRoot, "docs/web");
const FILES: [string, number, string][] = [
  ["holiday-photos.zip", 3 * 1024 * 1024 + 12_345, "application/zip"],
  ["thesis.pdf", 700 * 1024, "application/pdf"],
];

describe("screenshots of every page", () => {
  let stack: Stack;
  let session: BrowserSession;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ demoDeal: true });
    const c = await connectCoop({
      rpcUrl: stack.rpcUrl,
      account: privateKeyToAccount(stack.devKey(PERSON)),
      addresses: stack.addresses as unknown as CoopAddresses,
    });
    await faucet(c);
    await joinCoop(c, { method: "permit" });
    const keys = createKeySession(c);
    for (const [name, size, mimeType] of FILES)
      await putFile(c, new Uint8Array(randomBytes(size)), {
        name,
        size,
        mimeType,
        durationEpochs: 2000,
        keys,
      });
    await propose(c, await proposalActions.treasurySpend(c, c.account("propose"), 25_000_000n));

    session = await stack.newContext({ key: PERSON });
    session.page.on("pageerror", (e) => pageErrors.push(e.message));
    await session.page.goto(stack.appUrl);
    await session.page.getByRole("button", { name: "Connect Test Wallet" }).click();
    await session.page.getByTestId("account").waitFor();
    mkdirSync(OUT, { recursive: true });
  }, STACK_TIMEOUT);
  afterAll(async () => {
    await stack?.stop();
  });

  /** Opens `path` (the wallet reconnects on load) and waits for its heading. */
  async function open(path: string, heading: string): Promise<Page> {
    const { page } = session;
    const res = await page.goto(`${stack.appUrl}${path}`);
    expect(res?.status()).toBe(200);
    await page.getByRole("heading", { level: 1, name: heading }).waitFor();
    await page.getByTestId("account").waitFor();
    return page;
  }

  async function shoot(page: Page, name: string) {
    // Figures that read the chain every block settle within a few blocks.
    await page.waitForTimeout(3_000);
    const file = join(OUT, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(20_000);
    expect(pageErrors).toEqual([]);
  }

  it("Overview", async () => {
    const page = await open("/", "Co-operative Cloud");
    await shoot(page, "overview");
  });

  it("Storage, with the person's two files unlocked", async () => {
    const page = await open("/storage", "Storage");
    await page.getByRole("button", { name: "Unlock names" }).click();
    for (const [name] of FILES)
      await page.getByTestId("file-row").filter({ hasText: name }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("file-row").count()).toBe(FILES.length);
    await shoot(page, "storage");
  });

  it("Providers, the four of the stack", async () => {
    const page = await open("/providers", "Providers");
    await expect.poll(() => page.getByTestId("provider-row").count(), { timeout: 30_000 }).toBe(4);
    await shoot(page, "providers");
  });

  it("Co-op, as a member", async () => {
    const page = await open("/coop", "The co-op");
    await expect
      .poll(() => page.getByTestId("membership-status").innerText(), { timeout: 30_000 })
      .toMatch(/member/i);
    await shoot(page, "coop");
  });

  it("Governance, with the open proposal", async () => {
    const page = await open("/governance", "Governance");
    await expect.poll(() => page.getByTestId("proposal").count(), { timeout: 30_000 }).toBe(1);
    await shoot(page, "governance");
  });
});
