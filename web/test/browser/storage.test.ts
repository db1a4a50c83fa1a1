// A data owner's life on the Storage page, in a real browser against a real chain and four
// provider nodes: the price and the missing funds before anything is signed; a file stored
// (encoded in Web Workers, one key signature, one permit signature, one transaction; every shard
// accepted); the file listed from the chain, downloaded and compared byte for byte; a share link
// opened in a browser without a wallet and compared too; a tampered link refused in words; the
// deal extended and cancelled with its refund.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { type CoopAddresses, connectCoop, faucet } from "@coop-cloud/sdk/client";
import type { Download, Page } from "playwright-core";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type BrowserSession, type Stack, STACK_TIMEOUT, startStack } from "./stack.ts";

const OWNER = 11;

async function downloaded(page: Page, click: () => Promise<unknown>): Promise<Buffer> {
  const [download] = (await Promise.all([
    page.waitForEvent("download", { timeout: 120_000 }),
    click(),
  ])) as [Download, unknown];
  return readFileSync((await download.path())!);
}

describe("storage page", () => {
  let stack: Stack;
  let owner: BrowserSession;
  const workers: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), "coop-storage-test-"));
  const file = join(dir, "report.bin");
  const bytes = randomBytes(2 * 1024 * 1024 + 4321);
  writeFileSync(file, bytes);
  let dealId: string;
  let shareUrl: string;

  beforeAll(async () => {
    stack = await startStack();
    owner = await stack.newContext({ key: OWNER });
    owner.page.on("worker", (w) => workers.push(w.url()));
  }, STACK_TIMEOUT);
  afterAll(async () => {
    await stack?.stop();
  });

  const signatures = () =>
    owner.wallet!.calls.filter((m) => m === "eth_signTypedData_v4" || m === "personal_sign").length;
  const transactions = () => owner.wallet!.calls.filter((m) => m === "eth_sendTransaction").length;

  it("quotes the price before anything is signed and says when funds are missing", async () => {
    const { page } = owner;
    await page.goto(`${stack.appUrl}/storage`);
    await page.getByRole("button", { name: "Connect Test Wallet" }).click();
    await page.getByTestId("account").waitFor();
    await expect.poll(() => page.getByTestId("no-files").count(), { timeout: 30_000 }).toBe(1);

    await page.locator('input[type="file"]').setInputFiles(file);
    await expect
      .poll(() => page.getByTestId("durability").innerText(), { timeout: 30_000 })
      .toBe(
        "any 2 of 4 shards rebuild the file: survives 2 providers lost; 2× the file's size stored.",
      );
    await expect
      .poll(() => page.getByTestId("quote").innerText(), { timeout: 30_000 })
      .toMatch(/Price: [\d.,]+ \w+/);
    // A fresh account holds nothing: the page says so, links to the Co-op page, and won't store.
    const short = page.getByText(/Your wallet holds 0 \w+ but storing these costs/);
    await short.waitFor({ timeout: 30_000 });
    expect(await page.getByRole("link", { name: "Co-op page" }).getAttribute("href")).toBe("/coop");
    expect(await page.getByRole("button", { name: "Store file" }).isDisabled()).toBe(true);
    expect(signatures()).toBe(0);

    // Setup in the test process: tokens from the faucet. The page sees the new balance.
    const c = await connectCoop({
      rpcUrl: stack.rpcUrl,
      account: privateKeyToAccount(stack.devKey(OWNER)),
      addresses: stack.addresses as unknown as CoopAddresses,
    });
    await faucet(c);
    await short.waitFor({ state: "detached", timeout: 30_000 });
    expect(await page.getByRole("button", { name: "Store file" }).isEnabled()).toBe(true);
  });

  it("stores the file: workers encode, one key signature, one permit, one transaction, every shard accepted", async () => {
    const { page } = owner;
    await page.getByRole("button", { name: "Store file" }).click();
    const job = page.getByTestId("upload-job").first();
    await expect
      .poll(() => job.getAttribute("data-status"), { timeout: 240_000, interval: 500 })
      .toMatch(/done|failed/);
    const text = await job.innerText();
    expect(await job.getAttribute("data-status"), text).toBe("done");
    dealId = (await job.getAttribute("data-deal-id"))!;
    expect(dealId).toMatch(/^\d+$/);
    const phases = await job
      .getByTestId("shard")
      .evaluateAll((els) => els.map((e) => e.getAttribute("data-phase")));
    expect(phases).toEqual(["accepted", "accepted", "accepted", "accepted"]);
    expect(await job.getByTestId("accept-bar").innerText()).toMatch(/4 of 4 shards/);
    expect(await job.getByTestId("manifest-status").innerText()).toMatch(
      /encrypted manifest stored with [1-4] provider/,
    );
    expect(text).toMatch(new RegExp(`Stored as deal ${dealId}: paid`));
    // The pipeline ran in Web Workers (the bundled worker entry), not on the page's thread.
    expect(workers.length).toBeGreaterThan(0);
    // Key derivation + permit; the deal in one transaction.
    expect(signatures()).toBe(2);
    expect(transactions()).toBe(1);
    expect(await page.locator('[data-tx-phase="confirmed"]').count()).toBeGreaterThan(0);
  });

  it("lists the file from the chain with its health, and downloads it bit-exact", async () => {
    const { page } = owner;
    const row = page.locator(`[data-testid="file-row"][data-deal-id="${dealId}"]`);
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
    await expect
      .poll(() => row.locator("h3").innerText(), { timeout: 30_000 })
      .toMatch(/^report\.bin\s+2 MiB$/);
    await expect
      .poll(() => row.getByTestId("health").innerText(), { timeout: 30_000 })
      .toBe("4 of 4 shards healthy (needs 2)");
    await row.getByText("Shards and providers").click();
    expect(await row.getByTestId("shard-health").count()).toBe(4);
    // Then proofs land: every shard shows epochs proven by its provider.
    const proven = () =>
      row
        .getByTestId("shard-health")
        .evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-proven"))));
    await expect
      .poll(async () => Math.min(...(await proven())), { timeout: 180_000, interval: 1_000 })
      .toBeGreaterThan(0);

    const got = await downloaded(page, () => row.getByRole("button", { name: "Download" }).click());
    expect(got.length).toBe(bytes.length);
    expect(got.equals(bytes)).toBe(true);
    await row.locator('[data-download-phase="done"]').waitFor();
    // The storage key was derived once for the session.
    expect(signatures()).toBe(2);

    // The list comes from the chain: the same wallet in another browser sees the same file.
    const elsewhere = await stack.newContext({ key: OWNER });
    try {
      await elsewhere.page.goto(`${stack.appUrl}/storage`);
      await elsewhere.page.getByRole("button", { name: "Connect Test Wallet" }).click();
      const there = elsewhere.page.locator(`[data-testid="file-row"][data-deal-id="${dealId}"]`);
      await expect.poll(() => there.count(), { timeout: 30_000 }).toBe(1);
      await elsewhere.page.getByRole("button", { name: "Unlock names" }).click();
      await expect
        .poll(() => there.locator("h3").innerText(), { timeout: 30_000 })
        .toMatch(/^report\.bin\s+2 MiB$/);
    } finally {
      await elsewhere.context.close();
    }
  });

  it("shares it: a browser without a wallet opens the link and gets the same bytes", async () => {
    const { page } = owner;
    const row = page.locator(`[data-testid="file-row"][data-deal-id="${dealId}"]`);
    await row.getByRole("button", { name: "Share" }).click();
    await row.getByRole("button", { name: "Make a share link" }).click();
    const input = row.getByTestId("share-url");
    await input.waitFor({ timeout: 60_000 });
    shareUrl = await input.inputValue();
    expect(shareUrl).toMatch(new RegExp(`^${stack.appUrl}/share#coop://\\w+#k=[\\w-]+$`));
    expect(signatures()).toBe(2);

    const guest = await stack.newContext();
    try {
      const requested: string[] = [];
      guest.page.on("request", (r) => requested.push(r.url()));
      await guest.page.goto(shareUrl);
      await guest.page.getByTestId("shared-name").waitFor({ timeout: 60_000 });
      expect(await guest.page.getByTestId("shared-name").innerText()).toBe("report.bin");
      const got = await downloaded(guest.page, () =>
        guest.page.getByRole("button", { name: "Download report.bin" }).click(),
      );
      expect(got.equals(bytes)).toBe(true);
      // The key in the fragment never reached any server.
      const key = shareUrl.split("#k=")[1]!;
      expect(requested.some((u) => u.includes(key))).toBe(false);

      // One character of the key changed: the sdk's error, in words.
      const tampered = shareUrl.replace(
        /#k=(.)/,
        (_, ch: string) => `#k=${ch === "A" ? "B" : "A"}`,
      );
      await guest.page.goto(`${stack.appUrl}/`);
      await guest.page.goto(tampered);
      const error = guest.page.getByTestId("share-error");
      await error.waitFor({ timeout: 60_000 });
      expect(await error.innerText()).toMatch(/^This link does not open a file: .*key/);
      expect(await guest.page.getByRole("button", { name: /^Download/ }).count()).toBe(0);
    } finally {
      await guest.context.close();
    }
  });

  it("extends the deal and cancels it, showing the refund", async () => {
    const { page } = owner;
    const row = page.locator(`[data-testid="file-row"][data-deal-id="${dealId}"]`);
    const until = await row.innerText();
    await row.getByRole("button", { name: "Extend" }).click();
    const extend = row.getByTestId("extend-panel");
    await extend.getByLabel("Add epochs").fill("10");
    await expect.poll(() => extend.innerText(), { timeout: 30_000 }).toMatch(/costs [\d.,]+ \w+/);
    await extend.getByRole("button", { name: "Extend" }).click();
    await extend.getByText(/^Extended to epoch \d+; paid/).waitFor({ timeout: 60_000 });
    await expect.poll(() => row.innerText(), { timeout: 30_000 }).not.toBe(until);

    await row.getByRole("button", { name: "Cancel storage" }).click();
    const cancel = row.getByTestId("cancel-panel");
    await expect
      .poll(() => cancel.innerText(), { timeout: 30_000 })
      .toMatch(/About [\d.,]+ \w+ of escrow comes back/);
    await cancel.getByRole("button", { name: "Cancel storage of this file" }).click();
    const done = cancel.getByText(
      /^Cancelled: the deal ends at epoch \d+; [\d.,]+ \w+ of escrow refunded/,
    );
    await done.waitFor({ timeout: 60_000 });
    await expect
      .poll(() => row.innerText(), { timeout: 30_000 })
      .toMatch(/cancelled, ends at epoch \d+/);
  });
});
