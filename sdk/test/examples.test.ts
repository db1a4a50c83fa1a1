// The README's examples are the files under sdk/examples, shown verbatim, and the encode/decode
// one runs (the put/get one needs a chain and providers: test/client/files.test.ts runs it).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

const sdk = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

describe("sdk/README.md examples", () => {
  it("shows every example file exactly as it is", () => {
    const readme = readFileSync(sdk("README.md"), "utf8");
    for (const file of ["examples/encode-decode.ts", "examples/put-get.ts"])
      expect(readme, file).toContain(readFileSync(sdk(file), "utf8").trim());
  });

  it("encode-decode.ts encodes to shard files, decodes from 4 of 6 and exits by itself", () => {
    const r = spawnSync(process.execPath, [sdk("examples/encode-decode.ts")], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/→ 6 shards of \d+ bytes/);
    expect(r.stdout).toContain("decoded bit-exact from shards 1, 2, 4, 5");
    expect(r.status).toBe(0);
  });
});
