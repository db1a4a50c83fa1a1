// Canonical JSON for manifests: RFC 8785 (JCS) restricted to what a manifest holds (objects,
// arrays, strings, safe integers, booleans, null). For that subset JCS is JSON.stringify with
// object keys sorted by UTF-16 code units and no whitespace, which is what this does.
import { InvalidParametersError } from "../errors.ts";

/** A JSON value of the canonical subset. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Serializes `value` canonically; throws on non-integer numbers, undefined, functions, etc. */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value === "boolean" || typeof value === "string")
    return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new InvalidParametersError("value", value, "canonical JSON holds only safe integers");
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const keys = Object.keys(value).sort();
    const members: string[] = [];
    for (const key of keys) {
      const member = value[key];
      if (member === undefined) continue; // absent optional fields
      members.push(`${JSON.stringify(key)}:${canonicalJson(member)}`);
    }
    return `{${members.join(",")}}`;
  }
  throw new InvalidParametersError("value", typeof value, "is not JSON");
}
