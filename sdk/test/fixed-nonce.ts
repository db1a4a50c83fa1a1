// Test helper: no public API takes a STREAM nonce prefix (a chosen one could be reused), so
// tests that compare two encryptions byte for byte fix the platform's random draw instead.
import { vi } from "vitest";

/**
 * Calls `fn` with every 16-byte draw from `crypto.getRandomValues` (a STREAM header's nonce
 * prefix) returning `prefix`, and restores the real draw as soon as `fn` returns, before any
 * promise it returned settles: the SDK draws a stream's prefix synchronously when the stream
 * (or encodeFile) starts.
 */
export function withNoncePrefix<T>(prefix: Uint8Array, fn: () => T): T {
  const crypto = globalThis.crypto;
  const real = crypto.getRandomValues.bind(crypto);
  const spy = vi
    .spyOn(crypto, "getRandomValues")
    .mockImplementation(<A extends ArrayBufferView | null>(array: A): A => {
      if (array instanceof Uint8Array && array.length === 16) array.set(prefix);
      else real(array as ArrayBufferView as Uint8Array);
      return array;
    });
  try {
    return fn();
  } finally {
    spy.mockRestore();
  }
}
