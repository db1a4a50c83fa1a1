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
