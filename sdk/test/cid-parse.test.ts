// parseCid: what a caller sees when the text is not a CID (share links, manifest CIDs).
import { describe, expect, it } from "vitest";
import { InvalidParametersError } from "../src/errors.ts";
import { parseCid } from "../src/cid/index.ts";

/** The error parseCid throws for `text`. */
function refusal(text: unknown): InvalidParametersError {
  try {
    parseCid(text as string);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidParametersError);
    return e as InvalidParametersError;
  }
  throw new Error(`parseCid accepted ${String(text)}`);
}

describe("parseCid refusals", () => {
  it("reads a CID (the empty file's raw CID) in base32 of either case", () => {
    const cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
    expect(parseCid(cid).toString()).toBe(cid);
    expect(parseCid(cid.toUpperCase()).toString()).toBe(cid);
  });

  it("refuses text that is not a CID, naming the cid parameter and saying why", () => {
    const err = refusal("hello");
    expect(err.parameter).toBe("cid");
    expect(err.value).toBe("hello");
    expect(err.message).toMatch(/^cid = hello: /);
    expect(err.message).toMatch(/not a CID in any multibase encoding/);
  });

  it("quotes refused text of up to 100 characters whole, and cuts longer text to 100 and an ellipsis", () => {
    const exactly100 = "x".repeat(100);
    expect(refusal(exactly100).value).toBe(exactly100);
    const long = "y".repeat(100) + "z".repeat(5000);
    expect(refusal(long).value).toBe(`${"y".repeat(100)}…`);
    expect(refusal(long).message).not.toContain("z");
    expect(refusal("x".repeat(99)).value).toBe("x".repeat(99));
  });

  it("refuses a value that is not a string with a message saying it must be one", () => {
    for (const value of [123, null, undefined, { toString: () => "bafy" }]) {
      const err = refusal(value);
      expect(err.parameter).toBe("cid");
      expect(err.value).toBe(typeof value);
      expect(err.message).toMatch(/must be a string/);
    }
  });
});
