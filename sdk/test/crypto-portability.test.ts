// The browser path: crypto, keys and manifest (and everything they import from the SDK) must
// load without any node: module, so the web app can bundle them. node:crypto is reached only at
// run time, through process.getBuiltinModule, when the runtime has it.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = resolve(dirname(fileURLToPath(import.meta.url)), "../src");

/** Runtime (non-type) import specifiers of a module. */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^;]*?from\s+"([^"]+)"/gms)) {
    if (m[2] === undefined) out.push(m[3]!);
  }
  for (const m of text.matchAll(/import\(\s*"([^"]+)"\s*\)/g)) out.push(m[1]!);
  return out;
}

/** Every SDK module reachable from `entry` through runtime imports, with the bare specifiers they use. */
function closure(entry: string): { files: Set<string>; bare: Set<string> } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of runtimeImports(file)) {
      if (spec.startsWith(".")) stack.push(resolve(dirname(file), spec));
      else bare.add(spec);
    }
  }
  return { files, bare };
}

describe("browser path: no node: modules", () => {
  it.each(["crypto/index.ts", "keys/index.ts", "manifest/index.ts"])(
    "%s imports nothing from node:",
    (entry) => {
      const { files, bare } = closure(resolve(src, entry));
      expect(files.size).toBeGreaterThan(1);
      const nodeImports = [...bare].filter(
        (spec) => spec.startsWith("node:") || ["crypto", "fs", "path", "buffer"].includes(spec),
      );
      expect(nodeImports).toEqual([]);
    },
  );
});
