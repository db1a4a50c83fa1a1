// The owner's key session: the key-encryption key (KEK) derived from one wallet signature,
// asked for once per session and kept in memory only (docs/protocol.md, "Key-encryption key").
import type { Address, Hex } from "viem";

import {
  getKeyDerivationTypedData,
  getKeyEncryptionKey,
  keySignaturesMatch,
} from "../keys/index.ts";
import { type CoopContracts, NoWalletError } from "./contracts.ts";

/** The wallet signs the key-derivation message to different bytes each time: it cannot keep a key. */
export class NonDeterministicWalletError extends Error {
  name = "NonDeterministicWalletError";
  constructor(account: Address) {
    super(
      `the wallet ${account} signed the key-derivation message twice to different signatures, so it could never derive the same storage key again: use a wallet with deterministic (RFC 6979) signatures, such as MetaMask, a hardware wallet or a local key`,
    );
  }
}

/** The owner's keys for one wallet on one chain, derived on first use and cached in memory. */
export interface KeySession {
  /** The wallet whose key this is. */
  readonly account: Address;
  /** The chain its key belongs to (the EIP-712 domain's chain id). */
  readonly chainId: number;
  /** The 32-byte KEK: asks the wallet for its signature the first time, then returns a copy. */
  kek(): Promise<Uint8Array>;
  /** Wipes the cached key; the next `kek()` asks the wallet again. */
  forget(): void;
}

export interface KeySessionOptions {
  /**
   * Ask for the signature twice and refuse a wallet whose two signatures differ
   * (NonDeterministicWalletError): do it on a wallet's first use in an app.
   * @default false
   */
  checkDeterministic?: boolean;
}

/**
 * A key session for the wallet of `c` (NoWalletError without one). Nothing is signed until the
 * first `kek()`; the signature itself is never kept, only the key derived from it.
 */
export function createKeySession(c: CoopContracts, options: KeySessionOptions = {}): KeySession {
  const wallet = c.walletClient;
  if (!wallet) throw new NoWalletError("deriving your storage key");
  const account = wallet.account.address;
  let chainId = c.publicClient.chain?.id ?? wallet.chain?.id ?? 0;
  let cached: Uint8Array | undefined;
  let pending: Promise<Uint8Array> | undefined;

  const derive = async (): Promise<Uint8Array> => {
    if (chainId === 0) chainId = await c.publicClient.getChainId();
    session.chainId = chainId;
    const typedData = getKeyDerivationTypedData({ account, chainId });
    const sign = (): Promise<Hex> =>
      wallet.signTypedData({ account: wallet.account, ...typedData } as never);
    const signature = await sign();
    if (options.checkDeterministic && !keySignaturesMatch(signature, await sign()))
      throw new NonDeterministicWalletError(account);
    return getKeyEncryptionKey({ account, chainId, signature });
  };

  const session = {
    account,
    chainId,
    async kek(): Promise<Uint8Array> {
      if (cached === undefined) {
        pending ??= derive().finally(() => (pending = undefined));
        cached = await pending;
      }
      return new Uint8Array(cached);
    },
    forget(): void {
      cached?.fill(0);
      cached = undefined;
    },
  };
  return session;
}
