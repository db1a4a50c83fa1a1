// The wallet key at rest: a Web3 Secret Storage v3 keystore (scrypt + AES-128-CTR, keccak-256
// MAC), the format geth, MetaMask and Foundry's `cast wallet` read and write.
import {
  createCipheriv,
  createDecipheriv,
  randomBytes,
  randomUUID,
  scryptSync,
  timingSafeEqual,
} from "node:crypto";

import { bytesToHex, hexToBytes, keccak256, type Hex } from "viem";
import { privateKeyToAddress } from "viem/accounts";

/** The keystore could not be opened (wrong password, corrupt file, unsupported format). */
export class KeystoreError extends Error {
  override name = "KeystoreError";
}

export interface KeystoreV3 {
  version: 3;
  id: string;
  address: string;
  crypto: {
    cipher: "aes-128-ctr";
    ciphertext: string;
    cipherparams: { iv: string };
    kdf: "scrypt";
    kdfparams: { dklen: number; n: number; r: number; p: number; salt: string };
    mac: string;
  };
}

export interface EncryptOptions {
  /** scrypt cost N (a power of two). @default 262144 (geth's standard) */
  n?: number;
}

function derive(password: string, p: KeystoreV3["crypto"]["kdfparams"]): Buffer {
  const { n, r, p: par, dklen, salt } = p;
  return scryptSync(password.normalize("NFKC"), Buffer.from(salt, "hex"), dklen, {
    N: n,
    r,
    p: par,
    maxmem: 256 * n * r + 2 ** 20,
  });
}

/** Encrypts a private key under a password. */
export function encryptKeystore(
  privateKey: Hex,
  password: string,
  options: EncryptOptions = {},
): KeystoreV3 {
  const kdfparams = {
    dklen: 32,
    n: options.n ?? 262144,
    r: 8,
    p: 1,
    salt: randomBytes(32).toString("hex"),
  };
  const dk = derive(password, kdfparams);
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-128-ctr", dk.subarray(0, 16), iv);
  const ciphertext = Buffer.concat([cipher.update(hexToBytes(privateKey)), cipher.final()]);
  const mac = keccak256(Buffer.concat([dk.subarray(16, 32), ciphertext])).slice(2);
  return {
    version: 3,
    id: randomUUID(),
    address: privateKeyToAddress(privateKey).slice(2).toLowerCase(),
    crypto: {
      cipher: "aes-128-ctr",
      ciphertext: ciphertext.toString("hex"),
      cipherparams: { iv: iv.toString("hex") },
      kdf: "scrypt",
      kdfparams,
      mac,
    },
  };
}

/** Opens a keystore; KeystoreError when the password is wrong or the file is not a v3 keystore. */
export function decryptKeystore(json: unknown, password: string): Hex {
  const ks = json as Partial<KeystoreV3>;
  if (ks?.version !== 3 || ks.crypto?.kdf !== "scrypt" || ks.crypto.cipher !== "aes-128-ctr")
    throw new KeystoreError("not a v3 scrypt/aes-128-ctr keystore");
  const c = ks.crypto;
  const dk = derive(password, c.kdfparams);
  const ciphertext = Buffer.from(c.ciphertext, "hex");
  const mac = Buffer.from(
    keccak256(Buffer.concat([dk.subarray(16, 32), ciphertext])).slice(2),
    "hex",
  );
  if (!timingSafeEqual(mac, Buffer.from(c.mac, "hex")))
    throw new KeystoreError("wrong password for the keystore (MAC mismatch)");
  const decipher = createDecipheriv(
    "aes-128-ctr",
    dk.subarray(0, 16),
    Buffer.from(c.cipherparams.iv, "hex"),
  );
  return bytesToHex(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
}
