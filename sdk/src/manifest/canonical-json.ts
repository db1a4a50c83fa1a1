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
  // Array.from visits holes too (as undefined, refused below): map would skip them into "[1,,3]".
  if (Array.isArray(value)) return `[${Array.from(value, (v) => canonicalJson(v)).join(",")}]`;
  if (typeof value === "object") {
    // Only plain objects: a Map, Set, Date or typed array would otherwise be written as {} or
    // an object of indices, silently losing what it holds.
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto !== Object.prototype && proto !== null)
      throw new InvalidParametersError("value", value.constructor.name, "is not JSON");
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
