// How the pipeline behaves inside a caller's process (issue 8): a script that encodes with the
// default options exits on its own (the idle shared worker pool keeps nothing alive), and sinks
// given as a function may return promises of sinks (e.g. createFileSink), or fail in words.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it, vi } from "vitest";

import { InvalidParametersError } from "../src/errors.ts";
import { decodeFile, encodeFile } from "../src/pipeline/index.ts";
import { createFileSink, readShardFile } from "../src/pipeline/node.ts";

const sdkIndex = fileURLToPath(new URL("../src/index.ts", import.meta.url));

/** Runs a script with this Node; resolves with its exit code and output, or "timeout". */
function runScript(
  source: string,
  timeoutMs: number,
): Promise<{ code: number | "timeout"; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), "coop-pipeline-exit-"));
  const file = join(dir, "script.ts");
  writeFileSync(file, source);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve({ code: "timeout", out });
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    });
  });
}

describe("the pipeline in a caller's process", () => {
  it("a script that encodes and decodes with the default options exits by itself", async () => {
    const { code, out } = await runScript(
      `import { encodeFile, decodeFile } from ${JSON.stringify(sdkIndex)};
const shards = Array.from({ length: 6 }, () => []);
const data = new Uint8Array(3 * 1024 * 1024 + 5).fill(7);
const r = await encodeFile(data, { sinks: (i) => ({ write: (b) => void shards[i].push(b) }) });
let length = 0;
for await (const piece of decodeFile(shards, { ...r, key: r.key, header: r.header })) length += piece.length;
console.log("decoded", length);
`,
      60_000,
    );
    expect(out).toContain(`decoded ${3 * 1024 * 1024 + 5}`);
    expect(code).toBe(0);
  });

  it("sinks from a function returning promises (createFileSink) are awaited", async () => {
    const dir = mkdtempSync(join(tmpdir(), "coop-sinks-"));
    const data = new Uint8Array(2 * 1024 * 1024 + 3).map((_, i) => i % 251);
    const r = await encodeFile(data, {
      dataShards: 2,
      totalShards: 3,
      workers: "inline",
      sinks: (i) => createFileSink(join(dir, `shard-${i}`)),
    });
    expect(readFileSync(join(dir, "shard-2")).length).toBe(r.shardSize);
    const back: Uint8Array[] = [];
    for await (const piece of decodeFile(
      [undefined, readShardFile(join(dir, "shard-1")), readShardFile(join(dir, "shard-2"))],
      {
        ...r,
        workers: "inline",
        expected: r.shards,
      },
    ))
      back.push(new Uint8Array(piece));
    expect(Buffer.concat(back).equals(Buffer.from(data))).toBe(true);
  });

  it("a sink function whose promise holds no sink fails with InvalidParametersError naming it", async () => {
    const closed: number[] = [];
    const err = await encodeFile(new Uint8Array(10), {
      dataShards: 2,
      totalShards: 3,
      workers: "inline",
      sinks: (i) =>
        (i === 1
          ? Promise.resolve({ nothing: true })
          : Promise.resolve({ write() {}, abort: () => void closed.push(i) })) as never,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidParametersError);
    expect((err as InvalidParametersError).parameter).toBe("sinks[1]");
    expect((err as Error).message).toMatch(/must be a sink/);
    // The sinks that were made are aborted, not left open.
    expect(closed.sort()).toEqual([0, 2]);
  });
});

describe("shard files (pipeline/node.ts)", () => {
  const bytes = (n: number, seed: number): Uint8Array =>
    Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) % 256);

  it("a file sink is done with a write's bytes when it settles: overwriting them after changes no byte of the file", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "coop-sink-")), "shard");
    const sink = await createFileSink(path);
    expect(sink.releasesBytes).toBe(true); // so encodeFile may reuse the stripe buffers
    const first = bytes(5000, 1);
    const kept = first.slice();
    await sink.write(first);
    first.fill(0);
    await sink.write(bytes(300, 2));
    await sink.close?.();
    expect(readFileSync(path)).toEqual(Buffer.concat([kept, bytes(300, 2)]));
  });

  it("a file sink finishes a write the system takes in parts, and closes its file on close and on abort", async () => {
    // A file handle that writes at most 1000 bytes per call and checks its arguments as Node does.
    const files: { data: number[]; closed: boolean }[] = [];
    const open = async (): Promise<unknown> => {
      const file = { data: [] as number[], closed: false };
      files.push(file);
      return {
        async write(buffer: Uint8Array, offset: number, length: number) {
          if (offset + length > buffer.length) throw new RangeError("out of range");
          const n = Math.min(length, 1000);
          file.data.push(...buffer.subarray(offset, offset + n));
          return { bytesWritten: n, buffer };
        },
        async close() {
          file.closed = true;
        },
      };
    };
    vi.resetModules();
    vi.doMock("node:fs/promises", () => ({ open }));
    try {
      const { createFileSink: sinkOn } = await import("../src/pipeline/node.ts");
      const sink = await sinkOn("shard-0");
      await sink.write(bytes(2500, 3));
      expect(files[0]!.data).toEqual([...bytes(2500, 3)]);
      expect(files[0]!.closed).toBe(false);
      await sink.close?.();
      expect(files[0]!.closed).toBe(true);
      await (await sinkOn("shard-1")).abort?.(new Error("stopped"));
      expect(files[1]!.closed).toBe(true);
    } finally {
      vi.doUnmock("node:fs/promises");
      vi.resetModules();
    }
  });

  it("a shard file source may be closed before any read, and reads nothing once closed", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "coop-source-")), "shard");
    writeFileSync(path, bytes(100, 4));
    await expect(readShardFile(path).close?.()).resolves.toBeUndefined();
    const source = readShardFile(path);
    const dst = new Uint8Array(40);
    expect(await source.read(dst)).toBe(40);
    expect(dst).toEqual(bytes(100, 4).subarray(0, 40));
    await source.close?.();
    expect(await source.read(dst)).toBe(0);
  });
});
