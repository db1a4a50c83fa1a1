// Choosing the chunk AEAD implementation, and the chunk sessions the stream and pipeline code
// build on (internal: a session seals under any nonce it is given, so it is tested from its module).
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createChunkSession,
  isNativeAvailable,
  resolveImplementation,
} from "../src/crypto/backend.ts";
import { InvalidParametersError } from "../src/errors.ts";

const key = Uint8Array.from({ length: 32 }, (_, i) => i);
const prefix = Uint8Array.from({ length: 16 }, (_, i) => 100 + i);
const aad = Uint8Array.of(1, 2, 3);
const tail = (i: number): Uint8Array => Uint8Array.of(0, 0, 0, 0, 0, 0, i, 0);
const join = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

describe("resolveImplementation", () => {
  it("resolves auto, and no argument, to native in Node", () => {
    expect(isNativeAvailable()).toBe(true);
    expect(resolveImplementation()).toBe("native");
    expect(resolveImplementation("auto")).toBe("native");
    expect(resolveImplementation("native")).toBe("native");
    expect(resolveImplementation("noble")).toBe("noble");
  });

  it("refuses a name that is not auto, native or noble, listing the three", () => {
    for (const name of ["fast", "", "NOBLE"]) {
      const f = () => resolveImplementation(name as "auto");
      expect(f).toThrow(InvalidParametersError);
      expect(f).toThrow(`implementation = ${name}: must be "auto", "native" or "noble"`);
    }
  });
});

describe("a runtime without node:crypto (a browser)", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.resetModules();
  });

  it("resolves auto to noble, refuses native saying why, and seals with noble", async () => {
    const builtin = process.getBuiltinModule.bind(process);
    vi.spyOn(process, "getBuiltinModule").mockImplementation(((id: string) =>
      id === "node:crypto" ? undefined : builtin(id)) as typeof process.getBuiltinModule);
    vi.resetModules();
    const fresh = await import("../src/crypto/backend.ts");
    expect(fresh.isNativeAvailable()).toBe(false);
    expect(fresh.resolveImplementation()).toBe("noble");
    expect(fresh.resolveImplementation("auto")).toBe("noble");
    const err = (() => {
      try {
        fresh.resolveImplementation("native");
      } catch (e) {
        return e as Error;
      }
    })();
    // The fresh module graph has its own error classes: check the name, not the class.
    expect(err?.name).toBe("InvalidParametersError");
    expect(err?.message).toMatch(
      /^implementation = native: node:crypto with chacha20-poly1305 is not available in this runtime$/,
    );
    const session = fresh.createChunkSession(key, prefix, aad);
    expect(session.implementation).toBe("noble");
    const native = createChunkSession(key, prefix, aad, "native");
    expect(join(session.seal(tail(1), aad))).toEqual(join(native.seal(tail(1), aad)));
  });
});

describe("chunk sessions", () => {
  it("refuses a key that is not 32 bytes when the session is made, on either path", () => {
    for (const implementation of ["native", "noble"] as const) {
      for (const length of [16, 33]) {
        const f = () => createChunkSession(new Uint8Array(length), prefix, aad, implementation);
        expect(f).toThrow(InvalidParametersError);
        expect(f).toThrow(`key = ${length} bytes: must be 32 bytes`);
      }
    }
  });

  it("refuses a nonce prefix that is not 16 bytes, saying how long it was", () => {
    for (const length of [0, 15, 24]) {
      const f = () => createChunkSession(key, new Uint8Array(length), aad, "noble");
      expect(f).toThrow(InvalidParametersError);
      expect(f).toThrow(`noncePrefix = ${length} bytes: must be 16 bytes`);
    }
  });

  it("native and noble seal the same bytes and open each other's; a changed byte or a short input opens to nothing", () => {
    const plaintext = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
    const native = createChunkSession(key, prefix, aad, "native");
    const noble = createChunkSession(key, prefix, aad, "noble");
    const sealed = join(native.seal(tail(5), plaintext));
    expect(join(noble.seal(tail(5), plaintext))).toEqual(sealed);
    for (const session of [native, noble]) {
      expect(session.open(tail(5), sealed), session.implementation).toEqual(plaintext);
      expect(session.open(tail(6), sealed)).toBeUndefined();
      const altered = Uint8Array.from(sealed);
      altered[10] ^= 1;
      expect(session.open(tail(5), altered)).toBeUndefined();
      for (const n of [0, 15]) expect(session.open(tail(5), sealed.subarray(0, n))).toBeUndefined();
    }
  });

  it("a disposed session refuses to seal or open", () => {
    for (const implementation of ["native", "noble"] as const) {
      const session = createChunkSession(key, prefix, aad, implementation);
      const sealed = join(session.seal(tail(0), Uint8Array.of(9)));
      session.dispose();
      expect(() => session.seal(tail(1), Uint8Array.of(9)), implementation).toThrow(
        /used after dispose/,
      );
      expect(() => session.open(tail(0), sealed), implementation).toThrow(/used after dispose/);
    }
  });
});
