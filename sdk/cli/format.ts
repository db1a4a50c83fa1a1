// Output: JSON on stdout for machines (bigints as decimal strings), words for people. Amounts,
// times, durations and sizes are formatted by the client's format.ts (shared with the web app).

/** JSON with bigints as decimal strings and Uint8Arrays as 0x hex. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString("hex")}`;
    return v;
  });
}

/** Writes one JSON document (one line) to stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(toJson(value) + "\n");
}

/** Writes lines for people to stdout. */
export function printLines(...lines: string[]): void {
  process.stdout.write(lines.join("\n") + "\n");
}

/** Status and progress for people: stderr, so stdout stays clean. */
export function note(line: string): void {
  process.stderr.write(line + "\n");
}

/** Rows as aligned columns under a header. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
