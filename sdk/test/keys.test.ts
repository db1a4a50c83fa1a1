import { hashTypedData } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { generateFileKey } from "../src/crypto/index.ts";
import { InvalidKeySignatureError, InvalidParametersError, WrongKeyError } from "../src/errors.ts";
import {
  KEY_DERIVATION_PURPOSE,
  WRAPPED_KEY_LENGTH,
  deriveKeyEncryptionKey,
  getKeyDerivationTypedData,
  getKeyEncryptionKey,
  keySignaturesMatch,
  normalizeKeySignature,
  unwrapFileKey,
  verifyKeySignature,
  wrapAssociatedData,
  wrapFileKey,
} from "../src/keys/index.ts";
import vectors from "./vectors/keys.json" with { type: "json" };

const hex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string): Uint8Array =>
  Uint8Array.from(s.replace(/^0x/, "").match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (b: Uint8Array): `0x${string}` => `0x${hex(b)}`;
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const fileId = unhex("000102030405060708090a0b0c0d0e0f");
/** Stands in for SHA-256 of an envelope's encrypted manifest. */
const manifestDigest = unhex("ab".repeat(32));

describe("key-derivation typed data", () => {
  it("is the fixed EIP-712 message: domain, types, purpose, checksummed account", () => {
    const account = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
    const td = getKeyDerivationTypedData({ account, chainId: 31337 });
    expect(td.domain).toEqual({ name: "Co-operative Cloud", version: "1", chainId: 31337 });
    expect(td.primaryType).toBe("DeriveStorageKey");
    expect(td.message).toEqual({
      purpose: KEY_DERIVATION_PURPOSE,
      account: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    });
    expect(td.message.purpose).toMatch(/Derive my Co-operative Cloud storage key/);
  });

  it("hashes to the pinned vector (the dApp and the CLI sign exactly this)", () => {
    const v = vectors.keyDerivation;
    const td = getKeyDerivationTypedData({
      account: v.account as `0x${string}`,
      chainId: v.chainId,
    });
    expect(hashTypedData(td)).toBe(v.typedDataHash);
  });

  it("rejects a malformed account or chain id", () => {
    expect(() => getKeyDerivationTypedData({ account: "0x1234", chainId: 1 })).toThrow(
      InvalidParametersError,
    );
    expect(() =>
      getKeyDerivationTypedData({
        account: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
        chainId: 0,
      }),
    ).toThrow(InvalidParametersError);
  });

  it("a chain id that is not a positive integer is named, with what it must be", () => {
    for (const chainId of [0, -1, 1.5]) {
      let error: unknown;
      try {
        getKeyDerivationTypedData({
          account: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
          chainId,
        });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidParametersError);
      expect(error).toMatchObject({ parameter: "chainId", value: chainId });
      expect((error as Error).message).toBe(`chainId = ${chainId}: must be a positive integer`);
    }
  });
});

describe("key-encryption key from a wallet signature (viem local accounts)", () => {
  const chainId = 31337;

  it("matches the pinned vector: signature and KEK of Hardhat account #0", async () => {
    const v = vectors.keyDerivation;
    const account = privateKeyToAccount(v.privateKey as `0x${string}`);
    const signature = await account.signTypedData(
      getKeyDerivationTypedData({ account: account.address, chainId: v.chainId }),
    );
    expect(signature).toBe(v.signature);
    expect(hex(deriveKeyEncryptionKey(signature))).toBe(v.kek);
  });

  it("the same wallet gets the same KEK on every device (RFC 6979 signatures are deterministic)", async () => {
    const privateKey = generatePrivateKey();
    const laptop = privateKeyToAccount(privateKey);
    const phone = privateKeyToAccount(privateKey);
    const s1 = await laptop.signTypedData(
      getKeyDerivationTypedData({ account: laptop.address, chainId }),
    );
    const s2 = await phone.signTypedData(
      getKeyDerivationTypedData({ account: phone.address, chainId }),
    );
    expect(s2).toBe(s1);
    expect(keySignaturesMatch(s1, s2)).toBe(true);
    expect(deriveKeyEncryptionKey(s2)).toEqual(deriveKeyEncryptionKey(s1));
    expect(await getKeyEncryptionKey({ account: phone.address, chainId, signature: s2 })).toEqual(
      deriveKeyEncryptionKey(s1),
    );
  });

  it("another wallet, or another chain, gets another KEK, and unwrapping fails with WrongKeyError", async () => {
    const owner = privateKeyToAccount(generatePrivateKey());
    const other = privateKeyToAccount(generatePrivateKey());
    const kek = deriveKeyEncryptionKey(
      await owner.signTypedData(getKeyDerivationTypedData({ account: owner.address, chainId })),
    );
    const otherKek = deriveKeyEncryptionKey(
      await other.signTypedData(getKeyDerivationTypedData({ account: other.address, chainId })),
    );
    const otherChainKek = deriveKeyEncryptionKey(
      await owner.signTypedData(getKeyDerivationTypedData({ account: owner.address, chainId: 1 })),
    );
    expect(otherKek).not.toEqual(kek);
    const ownSig = await owner.signTypedData(
      getKeyDerivationTypedData({ account: owner.address, chainId }),
    );
    const otherSig = await other.signTypedData(
      getKeyDerivationTypedData({ account: other.address, chainId }),
    );
    expect(keySignaturesMatch(ownSig, otherSig)).toBe(false);
    expect(otherChainKek).not.toEqual(kek);
    const fileKey = generateFileKey();
    const wrapped = wrapFileKey(kek, fileKey, { fileId, manifestVersion: 1, manifestDigest });
    expect(unwrapFileKey(kek, wrapped, { fileId, manifestVersion: 1, manifestDigest })).toEqual(
      fileKey,
    );
    expect(() =>
      unwrapFileKey(otherKek, wrapped, { fileId, manifestVersion: 1, manifestDigest }),
    ).toThrow(WrongKeyError);
    expect(() =>
      unwrapFileKey(otherChainKek, wrapped, { fileId, manifestVersion: 1, manifestDigest }),
    ).toThrow(WrongKeyError);
  });

  it("verifies who signed: another account's signature is refused before deriving", async () => {
    const owner = privateKeyToAccount(generatePrivateKey());
    const other = privateKeyToAccount(generatePrivateKey());
    const signature = await other.signTypedData(
      getKeyDerivationTypedData({ account: owner.address, chainId }),
    );
    expect(await verifyKeySignature({ account: owner.address, chainId, signature })).toBe(false);
    await expect(
      getKeyEncryptionKey({ account: owner.address, chainId, signature }),
    ).rejects.toThrow(InvalidKeySignatureError);
    const own = await owner.signTypedData(
      getKeyDerivationTypedData({ account: owner.address, chainId }),
    );
    expect(await verifyKeySignature({ account: owner.address, chainId, signature: own })).toBe(
      true,
    );
    expect(await verifyKeySignature({ account: owner.address, chainId: 5, signature: own })).toBe(
      false,
    );
  });

  it("v as 0/1 or 27/28, EIP-2098 compact form and a malleated high s all derive the same KEK", () => {
    const sig = unhex(vectors.keyDerivation.signature);
    const kek = deriveKeyEncryptionKey(sig);
    const v01 = sig.slice();
    v01[64] = sig[64]! - 27;
    expect(deriveKeyEncryptionKey(v01)).toEqual(kek);
    const compact = sig.slice(0, 64);
    if (sig[64] === 28) compact[32]! |= 0x80;
    expect(deriveKeyEncryptionKey(compact)).toEqual(kek);
    const s = BigInt(toHex(sig.subarray(32, 64)));
    const highS = sig.slice();
    highS.set(unhex((N - s).toString(16).padStart(64, "0")), 32);
    expect(deriveKeyEncryptionKey(highS)).toEqual(kek);
    expect(normalizeKeySignature(highS)).toEqual(sig.subarray(0, 64));
  });

  it("verifyKeySignature accepts every encoding of the owner's signature", async () => {
    const v = vectors.keyDerivation;
    const account = v.account as `0x${string}`;
    const sig = unhex(v.signature);
    const v01 = sig.slice();
    v01[64] = sig[64]! - 27;
    const compact = sig.slice(0, 64);
    if (sig[64] === 28) compact[32]! |= 0x80;
    const s = BigInt(toHex(sig.subarray(32, 64)));
    const highS = sig.slice();
    highS.set(unhex((N - s).toString(16).padStart(64, "0")), 32);
    highS[64] = sig[64] === 27 ? 28 : 27; // the malleated twin has the other parity
    for (const form of [sig, v01, compact, highS]) {
      expect(
        await verifyKeySignature({ account, chainId: v.chainId, signature: toHex(form) }),
      ).toBe(true);
    }
    const wrongParity = sig.slice();
    wrongParity[64] = sig[64] === 27 ? 28 : 27;
    expect(
      await verifyKeySignature({ account, chainId: v.chainId, signature: toHex(wrongParity) }),
    ).toBe(false);
  });

  it("rejects malformed signatures with InvalidKeySignatureError", () => {
    const sig = unhex(vectors.keyDerivation.signature);
    const bad: (string | Uint8Array)[] = [
      "0x1234",
      "not hex",
      "0x" + "zz".repeat(65),
      sig.subarray(0, 63),
      new Uint8Array(66),
      (() => {
        const b = sig.slice();
        b[64] = 29;
        return b;
      })(),
      (() => {
        const b = sig.slice();
        b.fill(0, 0, 32);
        return b;
      })(), // r = 0
      (() => {
        const b = sig.slice();
        b.fill(0xff, 32, 64);
        return b;
      })(), // s >= n
      (() => {
        const b = sig.slice();
        b.fill(0, 32, 64);
        return b;
      })(), // s = 0
    ];
    for (const signature of bad) {
      expect(() => deriveKeyEncryptionKey(signature as `0x${string}`), String(signature)).toThrow(
        InvalidKeySignatureError,
      );
    }
  });

  it("an empty hex signature is refused as 0 bytes long, saying which signatures can derive a key", () => {
    for (const signature of ["0x", new Uint8Array(0)] as const) {
      expect(() => deriveKeyEncryptionKey(signature)).toThrow(InvalidKeySignatureError);
      expect(() => deriveKeyEncryptionKey(signature)).toThrow(
        /^signature is 0 bytes: expected a 65-byte \(r, s, v\) or 64-byte EIP-2098 ECDSA signature/,
      );
    }
  });

  it("a well-formed signature whose r is no point's x (nothing can be recovered) is nobody's signature", async () => {
    // x = 5: 5³ + 7 is not a square mod p, so no curve point has it and recovery fails.
    const signature = toHex(
      Uint8Array.from([...new Uint8Array(31), 5, ...new Uint8Array(31), 1, 27]),
    );
    const account = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    expect(await verifyKeySignature({ account, chainId: 1, signature })).toBe(false);
    await expect(getKeyEncryptionKey({ account, chainId: 1, signature })).rejects.toThrow(
      /^the signature is not 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266's signature of the Co-operative Cloud key-derivation message on chain 1$/,
    );
  });
});

describe("file key wrapping", () => {
  const kek = generateFileKey();

  it("matches the pinned vector's AAD and opens its wrapped key", () => {
    const v = vectors.wrap;
    const context = {
      fileId: unhex(v.fileId),
      manifestVersion: v.manifestVersion,
      manifestDigest: unhex(v.manifestDigest),
    };
    expect(hex(wrapAssociatedData(context))).toBe(v.aad);
    expect(hex(unwrapFileKey(unhex(v.kek), unhex(v.wrapped), context))).toBe(v.fileKey);
  });

  it("round trips with a fresh nonce each time", () => {
    const fileKey = generateFileKey();
    const a = wrapFileKey(kek, fileKey, { fileId, manifestVersion: 1, manifestDigest });
    const b = wrapFileKey(kek, fileKey, { fileId, manifestVersion: 1, manifestDigest });
    expect(a.length).toBe(WRAPPED_KEY_LENGTH);
    expect(a).not.toEqual(b);
    expect(unwrapFileKey(kek, b, { fileId, manifestVersion: 1, manifestDigest })).toEqual(fileKey);
  });

  it("is bound to its file id, manifest version and encrypted manifest, and detects alteration", () => {
    const wrapped = wrapFileKey(kek, generateFileKey(), {
      fileId,
      manifestVersion: 1,
      manifestDigest,
    });
    const otherId = fileId.slice();
    otherId[0]! ^= 1;
    expect(() =>
      unwrapFileKey(kek, wrapped, { fileId: otherId, manifestVersion: 1, manifestDigest }),
    ).toThrow(WrongKeyError);
    expect(() =>
      unwrapFileKey(kek, wrapped, { fileId, manifestVersion: 2, manifestDigest }),
    ).toThrow(WrongKeyError);
    const otherDigest = manifestDigest.slice();
    otherDigest[31]! ^= 1;
    expect(() =>
      unwrapFileKey(kek, wrapped, { fileId, manifestVersion: 1, manifestDigest: otherDigest }),
    ).toThrow(WrongKeyError);
    const altered = wrapped.slice();
    altered[40]! ^= 1;
    expect(() =>
      unwrapFileKey(kek, altered, { fileId, manifestVersion: 1, manifestDigest }),
    ).toThrow(WrongKeyError);
  });

  it("rejects wrong sizes", () => {
    expect(() =>
      wrapFileKey(kek, new Uint8Array(31), { fileId, manifestVersion: 1, manifestDigest }),
    ).toThrow(InvalidParametersError);
    expect(() =>
      wrapFileKey(kek, generateFileKey(), {
        fileId: new Uint8Array(15),
        manifestVersion: 1,
        manifestDigest,
      }),
    ).toThrow(InvalidParametersError);
    expect(() =>
      unwrapFileKey(kek, new Uint8Array(71), { fileId, manifestVersion: 1, manifestDigest }),
    ).toThrow(InvalidParametersError);
    expect(() =>
      wrapFileKey(kek, generateFileKey(), {
        fileId,
        manifestVersion: 1,
        manifestDigest: new Uint8Array(31),
      }),
    ).toThrow(InvalidParametersError);
  });
});

describe("signature parsing at its boundaries (a KEK must never come from a malformed signature)", () => {
  const chainId = 31337;
  const valid = vectors.keyDerivation.signature; // 0x + 130 hex digits, v = 0x1c
  const compactHex = `0x${valid.slice(2, 130)}`; // r ‖ s, s below 2^255 and the parity bit 0
  /** 65 bytes r ‖ s ‖ v from numbers, written big-endian by hand. */
  const rsv = (r: bigint, s: bigint, v = 27): Uint8Array =>
    unhex(r.toString(16).padStart(64, "0") + s.toString(16).padStart(64, "0") + v.toString(16));
  const twoTo256 = 1n << 256n;
  /** (n − 1) / 2, the largest low s, and (n + 1) / 2 = n − (n − 1) / 2, the smallest high one. */
  const halfN = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;
  const halfNPlus1 = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1n;

  it("a hex signature is exactly 0x and whole bytes: a stray character, a leading space, a trailing newline, an extra digit or a non-string is refused, naming the format", () => {
    const notHex = valid.slice(0, 100) + "g" + valid.slice(101); // a typo inside s
    const bad: unknown[] = [
      notHex,
      ` ${valid}`,
      ` ${compactHex}`,
      `${valid}\n`,
      `${valid}zz`,
      `${valid}0`, // 131 digits: half a byte too many
      `${compactHex}0`,
      valid.slice(2), // no 0x
      `0X${valid.slice(2)}`,
      [valid], // a JavaScript caller passing an array that holds the signature
    ];
    for (const signature of bad) {
      const derive = () => deriveKeyEncryptionKey(signature as `0x${string}`);
      expect(derive, JSON.stringify(signature)).toThrow(InvalidKeySignatureError);
      expect(derive, JSON.stringify(signature)).toThrow(/0x-prefixed hex or bytes/);
    }
    // Either letter case of the digits is the same signature.
    expect(deriveKeyEncryptionKey(`0x${valid.slice(2).toUpperCase()}`)).toEqual(
      deriveKeyEncryptionKey(unhex(valid)),
    );
  });

  it("v may be 0, 1, 27 or 28 (the same KEK for each); any other v is refused naming it and the four allowed", () => {
    const sig = unhex(valid);
    const kek = hex(deriveKeyEncryptionKey(sig));
    for (const v of [0, 1, 27, 28]) {
      const b = sig.slice();
      b[64] = v;
      expect(hex(deriveKeyEncryptionKey(b)), `v = ${v}`).toBe(kek);
    }
    for (const v of [2, 26, 29, 255]) {
      const b = sig.slice();
      b[64] = v;
      expect(() => deriveKeyEncryptionKey(b)).toThrow(InvalidKeySignatureError);
      expect(() => deriveKeyEncryptionKey(b)).toThrow(
        new RegExp(`v = ${v}: expected 0, 1, 27 or 28`),
      );
    }
  });

  it("a signature of another length than 65 or 64 bytes is refused naming its length and both accepted forms", () => {
    for (const length of [0, 63, 66]) {
      const derive = () => deriveKeyEncryptionKey(new Uint8Array(length).fill(1));
      expect(derive).toThrow(InvalidKeySignatureError);
      expect(derive).toThrow(new RegExp(`signature is ${length} bytes`));
      expect(derive).toThrow(/65-byte \(r, s, v\)/);
      expect(derive).toThrow(/64-byte EIP-2098/);
    }
  });

  it("r and s must lie in 1..n-1: 1 and n-1 are accepted, 0, n and 2^256-1 are refused naming which one", () => {
    const one = 1n;
    expect(hex(normalizeKeySignature(rsv(one, one)))).toBe(
      "00".repeat(31) + "01" + "00".repeat(31) + "01",
    );
    expect(normalizeKeySignature(rsv(N - 1n, one))).toEqual(rsv(N - 1n, one).subarray(0, 64));
    // s = n - 1 is the high twin of s = 1.
    expect(normalizeKeySignature(rsv(one, N - 1n))).toEqual(rsv(one, one).subarray(0, 64));
    for (const r of [0n, N, N + 1n, twoTo256 - 1n]) {
      const derive = () => deriveKeyEncryptionKey(rsv(r, one));
      expect(derive, `r = ${r}`).toThrow(InvalidKeySignatureError);
      expect(derive, `r = ${r}`).toThrow(/signature r is outside 1\.\.n-1/);
    }
    for (const s of [0n, N, N + 1n, twoTo256 - 1n]) {
      const derive = () => deriveKeyEncryptionKey(rsv(one, s));
      expect(derive, `s = ${s}`).toThrow(InvalidKeySignatureError);
      expect(derive, `s = ${s}`).toThrow(/signature s is outside 1\.\.n-1/);
    }
  });

  it("folds s only above n/2: s = (n-1)/2 is kept, s = (n+1)/2 becomes (n-1)/2, and both derive one KEK", () => {
    expect(halfN * 2n + 1n).toBe(N);
    expect(halfNPlus1).toBe(N - halfN);
    const r = 0x1234n;
    expect(normalizeKeySignature(rsv(r, halfN))).toEqual(rsv(r, halfN).subarray(0, 64));
    expect(normalizeKeySignature(rsv(r, halfNPlus1))).toEqual(rsv(r, halfN).subarray(0, 64));
    expect(normalizeKeySignature(rsv(r, halfNPlus1 + 1n))).toEqual(
      rsv(r, halfN - 1n).subarray(0, 64),
    );
    expect(deriveKeyEncryptionKey(rsv(r, halfNPlus1, 28))).toEqual(
      deriveKeyEncryptionKey(rsv(r, halfN, 27)),
    );
    expect(keySignaturesMatch(rsv(r, halfN), rsv(r, halfNPlus1))).toBe(true);
    expect(keySignaturesMatch(rsv(r, halfN), rsv(r, halfN - 1n))).toBe(false);
  });

  it("for either y parity, the compact form and the high-s twin verify and the wrong parity does not", async () => {
    const signers = [
      privateKeyToAccount(`0x${"01".repeat(32)}`),
      privateKeyToAccount(`0x${"02".repeat(32)}`),
    ];
    const seen = new Set<number>();
    for (const signer of signers) {
      const account = signer.address;
      const sig = unhex(
        await signer.signTypedData(getKeyDerivationTypedData({ account, chainId })),
      );
      const v = sig[64]!;
      seen.add(v);
      const parity = v - 27;
      const s = BigInt(toHex(sig.subarray(32, 64)));
      expect(s * 2n < N).toBe(true); // viem signs with low s
      // EIP-2098: the top bit of the second word is the y parity.
      const compact = sig.slice(0, 64);
      compact[32]! |= parity << 7;
      const compactWrong = sig.slice(0, 64);
      compactWrong[32]! |= (1 - parity) << 7;
      // The malleated twin: s' = n - s with the other parity.
      const twin = sig.slice();
      twin.set(unhex((N - s).toString(16).padStart(64, "0")), 32);
      twin[64] = 27 + (1 - parity);
      const twinWrong = twin.slice();
      twinWrong[64] = v;
      const verify = (form: Uint8Array) =>
        verifyKeySignature({ account, chainId, signature: toHex(form) });
      expect(await verify(compact), `compact, v = ${v}`).toBe(true);
      expect(await verify(twin), `twin, v = ${v}`).toBe(true);
      expect(await verify(compactWrong), `compact wrong parity, v = ${v}`).toBe(false);
      expect(await verify(twinWrong), `twin wrong parity, v = ${v}`).toBe(false);
      const kek = deriveKeyEncryptionKey(sig);
      expect(deriveKeyEncryptionKey(compact)).toEqual(kek);
      expect(deriveKeyEncryptionKey(twin)).toEqual(kek);
    }
    expect([...seen].sort()).toEqual([27, 28]); // both parities were exercised
  });

  it("getKeyEncryptionKey refuses another's signature naming the account and the chain", async () => {
    const owner = privateKeyToAccount(`0x${"01".repeat(32)}`);
    const other = privateKeyToAccount(`0x${"02".repeat(32)}`);
    const signature = await other.signTypedData(
      getKeyDerivationTypedData({ account: owner.address, chainId }),
    );
    const get = getKeyEncryptionKey({ account: owner.address, chainId, signature });
    await expect(get).rejects.toThrow(InvalidKeySignatureError);
    await expect(get).rejects.toThrow(
      new RegExp(`not ${owner.address}'s signature .* on chain ${chainId}`),
    );
  });
});

describe("key-derivation typed data: the account parameter", () => {
  const checksummed = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

  it("takes the address checksummed, all lower or all upper case (no checksum), and checksums it", () => {
    for (const account of [
      checksummed,
      checksummed.toLowerCase(),
      `0x${checksummed.slice(2).toUpperCase()}`,
    ]) {
      const td = getKeyDerivationTypedData({ account: account as `0x${string}`, chainId: 1 });
      expect(td.message.account, account).toBe(checksummed);
    }
  });

  it("refuses a mixed-case address whose EIP-55 checksum fails: a typo would derive another key", () => {
    for (const typo of [checksummed.replace("Fd6", "fD6"), checksummed.replace("F6F4", "f6F4")]) {
      expect(() =>
        getKeyDerivationTypedData({ account: typo as `0x${string}`, chainId: 1 }),
      ).toThrow(
        `account = ${typo}: must be a 20-byte hex address (in mixed case, with a valid EIP-55 checksum)`,
      );
    }
  });

  it("refuses a malformed or non-string account with InvalidParametersError naming the parameter", () => {
    for (const account of ["0x1234", `${checksummed}00`, [checksummed], 42]) {
      const build = () =>
        getKeyDerivationTypedData({ account: account as `0x${string}`, chainId: 1 });
      expect(build, String(account)).toThrow(InvalidParametersError);
      expect(build, String(account)).toThrow(
        /^account = .*: must be a 20-byte hex address \(in mixed case, with a valid EIP-55 checksum\)$/,
      );
    }
  });
});

describe("file key wrapping: what a caller is told when a parameter is wrong", () => {
  const kek = unhex("11".repeat(32));
  const fileKey = unhex("22".repeat(32));
  const context = { fileId, manifestVersion: 1, manifestDigest };

  /** The InvalidParametersError `fn` throws: its parameter name and message. */
  function refusal(fn: () => unknown): { parameter: string; message: string } {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidParametersError);
      const { parameter, message } = error as InvalidParametersError;
      return { parameter, message };
    }
    throw new Error("expected InvalidParametersError");
  }

  it("a key of the wrong size or type is refused naming which key, the size given and the 32 bytes required", () => {
    for (const [fn, parameter, given] of [
      [() => wrapFileKey(new Uint8Array(31), fileKey, context), "kek", "31 bytes"],
      [() => wrapFileKey(kek, new Uint8Array(33), context), "fileKey", "33 bytes"],
      [
        () => wrapFileKey("k".repeat(32) as unknown as Uint8Array, fileKey, context),
        "kek",
        "string",
      ],
      [() => unwrapFileKey(new Uint8Array(16), new Uint8Array(72), context), "kek", "16 bytes"],
    ] as const) {
      const r = refusal(fn);
      expect(r.parameter).toBe(parameter);
      expect(r.message).toContain(`${parameter} = ${given}`);
      expect(r.message).toMatch(/must be 32 bytes/);
    }
  });

  it("a wrapped key of the wrong size is refused naming its size and the 72 bytes required", () => {
    const r = refusal(() => unwrapFileKey(kek, new Uint8Array(71), context));
    expect(r.parameter).toBe("wrappedKey");
    expect(r.message).toContain("wrappedKey = 71 bytes");
    expect(r.message).toMatch(/must be 72 bytes/);
    expect(
      refusal(() => unwrapFileKey(kek, [] as unknown as Uint8Array, context)).message,
    ).toContain("wrappedKey = object");
  });

  it("a file id or manifest digest of the wrong size is refused naming it, the size given and the size required", () => {
    const id = refusal(() => wrapAssociatedData({ ...context, fileId: new Uint8Array(15) }));
    expect(id.parameter).toBe("fileId");
    expect(id.message).toContain("fileId = 15 bytes");
    expect(id.message).toMatch(/must be 16 bytes/);
    const digest = refusal(() =>
      wrapFileKey(kek, fileKey, { ...context, manifestDigest: new Uint8Array(31) }),
    );
    expect(digest.parameter).toBe("manifestDigest");
    expect(digest.message).toContain("manifestDigest = 31 bytes");
    expect(digest.message).toMatch(/must be 32 bytes \(SHA-256 of the encrypted manifest\)/);
  });

  it("the manifest version is a u32: 0 and 2^32-1 are bound, -1, 2^32, 1.5 and NaN are refused (not wrapped around into another version's AAD)", () => {
    for (const manifestVersion of [0, 1, 0xffffffff]) {
      const wrapped = wrapFileKey(kek, fileKey, { ...context, manifestVersion });
      expect(unwrapFileKey(kek, wrapped, { ...context, manifestVersion })).toEqual(fileKey);
    }
    const top = wrapAssociatedData({ ...context, manifestVersion: 0xffffffff });
    expect(hex(top)).toContain(`ffffffff${hex(fileId)}`);
    for (const manifestVersion of [-1, 0x100000000, 1.5, Number.NaN]) {
      const r = refusal(() => wrapAssociatedData({ ...context, manifestVersion }));
      expect(r.parameter).toBe("manifestVersion");
      expect(r.message).toMatch(/must be a 32-bit unsigned integer/);
    }
  });

  it("a KEK that does not open the wrapped key: WrongKeyError naming the wrapped file key and saying the key is wrong", () => {
    const wrapped = wrapFileKey(kek, fileKey, context);
    try {
      unwrapFileKey(unhex("33".repeat(32)), wrapped, context);
      throw new Error("expected WrongKeyError");
    } catch (error) {
      expect(error).toBeInstanceOf(WrongKeyError);
      expect((error as WrongKeyError).target).toBe("wrapped file key");
      expect((error as WrongKeyError).message).toMatch(/^wrong key: .*key-encryption key/);
    }
  });
});
