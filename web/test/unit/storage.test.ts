import type { PutProgress } from "@coop-cloud/sdk/client";
import { encodeFile, nullSink } from "@coop-cloud/sdk/pipeline/index.ts";
import { describe, expect, it } from "vitest";

import {
  acceptedCount,
  cancelRefund,
  durabilityWords,
  epochsFor,
  extendCost,
  formatRate,
  initialPutView,
  linkFromHash,
  overheadWords,
  percent,
  reducePut,
  shardSizeFor,
  shareUrl,
  validateUpload,
} from "@/lib/storage";

const A = "0x1111111111111111111111111111111111111111" as const;
const B = "0x2222222222222222222222222222222222222222" as const;

describe("durability in words", () => {
  it("says how many shards rebuild the file and how many providers it survives", () => {
    expect(durabilityWords(2, 4)).toBe(
      "any 2 of 4 shards rebuild the file: survives 2 providers lost",
    );
    expect(durabilityWords(3, 4)).toBe(
      "any 3 of 4 shards rebuild the file: survives 1 provider lost",
    );
    expect(durabilityWords(4, 4)).toBe(
      "all 4 shards are needed: losing any one provider loses the file",
    );
    expect(durabilityWords(1, 1)).toBe(
      "one shard, on one provider: losing any one provider loses the file",
    );
  });
  it("gives the storage overhead n/k", () => {
    expect(overheadWords(2, 4)).toBe("2× the file's size stored");
    expect(overheadWords(4, 6)).toBe("1.5× the file's size stored");
    expect(overheadWords(3, 4)).toBe("1.33× the file's size stored");
  });
});

describe("shard size for the quote", () => {
  it("matches what encodeFile produces, so the quoted price is the price paid", async () => {
    for (const [size, k, n] of [
      [1, 1, 1],
      [3 * 1024 * 1024 + 123, 2, 4],
      [5 * 1024 * 1024, 4, 6],
      [65_536, 3, 5],
    ] as const) {
      const encoded = await encodeFile(new Uint8Array(size), {
        dataShards: k,
        totalShards: n,
        workers: "inline",
        sinks: () => nullSink,
      });
      expect(shardSizeFor(size, k, n), `${size} bytes, ${k} of ${n}`).toBe(encoded.shardSize);
    }
  });
});

describe("upload form", () => {
  const file = [{ name: "a.txt", size: 10 }];
  it("accepts a sound form", () => {
    expect(validateUpload({ k: 2, n: 4, epochs: 100 }, file, 4)).toEqual({});
  });
  it("needs files, and no empty one", () => {
    expect(validateUpload({ k: 2, n: 4, epochs: 1 }, [], 4).files).toMatch(/at least one file/);
    expect(validateUpload({ k: 2, n: 4, epochs: 1 }, [{ name: "e", size: 0 }], 4).files).toMatch(
      /e is empty/,
    );
  });
  it("keeps k within n and n within the providers that can take a shard", () => {
    expect(validateUpload({ k: 5, n: 4, epochs: 1 }, file, 4).k).toMatch(/k cannot exceed n \(4\)/);
    expect(validateUpload({ k: 0, n: 4, epochs: 1 }, file, 4).k).toMatch(/at least 1/);
    expect(validateUpload({ k: 1.5, n: 4, epochs: 1 }, file, 4).k).toMatch(/whole number/);
    expect(validateUpload({ k: 2, n: 5, epochs: 1 }, file, 4).n).toMatch(/n can be at most 4/);
    expect(validateUpload({ k: 1, n: 1, epochs: 1 }, file, 0).n).toMatch(/No provider/);
  });
  it("needs a whole number of epochs", () => {
    expect(validateUpload({ k: 2, n: 4, epochs: 0 }, file, 4).epochs).toMatch(/at least 1/);
    expect(validateUpload({ k: 2, n: 4, epochs: NaN }, file, 4).epochs).toMatch(/whole number/);
    expect(validateUpload({ k: 2, n: 4, epochs: 2 ** 32 }, file, 4).epochs).toMatch(/too long/);
  });
  it("turns a time into epochs, rounding up", () => {
    expect(epochsFor(86_400, 10)).toBe(8640);
    expect(epochsFor(15, 10)).toBe(2);
    expect(epochsFor(1, 3600)).toBe(1);
  });
});

describe("put progress", () => {
  const run = (events: PutProgress[], n = 2) => {
    let v = initialPutView(n, 1000, 0);
    let t = 0;
    for (const e of events) v = reducePut(v, e, (t += 1000));
    return v;
  };

  it("follows a put from encode to done", () => {
    const v1 = run([{ stage: "encode", plaintextBytes: 500, totalBytes: 1000, shardBytes: 500 }]);
    expect(v1.phase).toBe("encode");
    expect(percent(v1.encode.bytes, v1.encode.total)).toBe(50);
    expect(v1.encode.rate).toBe(500);

    const v2 = run([
      { stage: "encode", plaintextBytes: 1000, totalBytes: 1000, shardBytes: 1000 },
      { stage: "deal", status: "quote", escrow: 10n, fee: 1n },
      { stage: "deal", status: "signing" },
      { stage: "deal", status: "sent", hash: "0xab" },
      { stage: "deal-created", dealId: 7n, escrow: 10n, fee: 1n },
    ]);
    expect(v2.phase).toBe("upload");
    expect(v2.deal).toMatchObject({
      status: "created",
      dealId: 7n,
      escrow: 10n,
      fee: 1n,
      hash: "0xab",
    });
    expect(v2.shards.map((s) => s.phase)).toEqual(["uploading", "uploading"]);

    const v3 = run([
      { stage: "deal-created", dealId: 7n, escrow: 10n, fee: 1n },
      { stage: "upload", shard: 0, provider: A, bytes: 256, total: 512, rate: 256 },
      { stage: "upload", shard: 0, provider: A, bytes: 512, total: 512, rate: 300 },
      { stage: "accepted", shard: 0, provider: A },
      { stage: "manifest", provider: A },
      { stage: "manifest", provider: A },
    ]);
    expect(v3.shards[0]).toMatchObject({ phase: "accepted", provider: A, bytes: 512, total: 512 });
    expect(v3.shards[1]!.phase).toBe("uploading");
    expect(acceptedCount(v3)).toBe(1);
    expect(v3.manifestAt).toEqual([A]);

    const v4 = run([
      { stage: "deal-created", dealId: 7n, escrow: 10n, fee: 1n },
      { stage: "accepted", shard: 0, provider: A },
      { stage: "accepted", shard: 1, provider: B },
      { stage: "done", dealId: 7n },
    ]);
    expect(v4.phase).toBe("done");
    expect(acceptedCount(v4)).toBe(2);
  });

  it("tells retries and reassignments in words", () => {
    const v = run([
      { stage: "deal-created", dealId: 7n, escrow: 10n, fee: 1n },
      { stage: "retry", shard: 1, provider: A, attempt: 1, error: "unreachable", delayMs: 500 },
    ]);
    expect(v.shards[1]).toMatchObject({ phase: "retrying" });
    expect(v.shards[1]!.note).toMatch(/attempt 1 failed \(unreachable\); retrying in 0.5 s/);
    const w = reducePut(v, { stage: "reassign", shard: 1, from: A, to: B, reason: "refused" }, 9e3);
    expect(w.shards[1]).toMatchObject({ phase: "uploading", provider: B, startedAt: 9e3 });
    expect(w.log.at(-1)).toMatch(/Shard 1 moved from 0x1111…1111 to 0x2222…2222 \(refused\)/);
  });

  it("keeps an accepted shard accepted when a resume starts", () => {
    const v = run([
      { stage: "accepted", shard: 0, provider: A },
      { stage: "deal-created", dealId: 7n, escrow: 10n, fee: 1n },
    ]);
    expect(v.shards.map((s) => s.phase)).toEqual(["accepted", "uploading"]);
  });
});

describe("numbers", () => {
  it("formats rates and percentages", () => {
    expect(formatRate(0)).toBe("");
    expect(formatRate(512)).toBe("512 B/s");
    expect(formatRate(1536)).toBe("1.5 KiB/s");
    expect(formatRate(200 * 1024 * 1024)).toBe("200 MiB/s");
    expect(percent(1, 3)).toBe(33);
    expect(percent(5, 0)).toBe(0);
    expect(percent(7, 5)).toBe(100);
  });
  it("prices an extension and a cancel as the market does", () => {
    expect(extendCost({ shardRate: 3n, openShards: 4, epochs: 10, feeBps: 500 })).toEqual({
      escrow: 120n,
      fee: 6n,
      total: 126n,
    });
    const deal = { shardRate: 3n, openShards: 4, startEpoch: 11, endEpoch: 20, cancelled: false };
    expect(cancelRefund({ ...deal, currentEpoch: 14 })).toBe(3n * 4n * 5n);
    // Before the deal started: everything from its start comes back.
    expect(cancelRefund({ ...deal, currentEpoch: 10 })).toBe(3n * 4n * 9n);
    expect(cancelRefund({ ...deal, currentEpoch: 19 })).toBe(0n);
    expect(cancelRefund({ ...deal, currentEpoch: 25 })).toBe(0n);
    expect(cancelRefund({ ...deal, currentEpoch: 14, cancelled: true })).toBe(0n);
  });
});

describe("share addresses", () => {
  const link = "coop://bafkreiabc#k=AAAA";
  it("puts the link in the fragment and reads it back", () => {
    const url = shareUrl("https://coop.example/", link);
    expect(url).toBe("https://coop.example/share#coop://bafkreiabc#k=AAAA");
    expect(linkFromHash(new URL(url).hash)).toBe(link);
  });
  it("reads a percent-encoded link and an empty fragment", () => {
    expect(linkFromHash(`#${encodeURIComponent(link)}`)).toBe(link);
    expect(linkFromHash("")).toBe("");
    expect(linkFromHash("#")).toBe("");
  });
});
