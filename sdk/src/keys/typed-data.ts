// The fixed EIP-712 message whose signature the owner's key-encryption key is derived from.
// The web dApp (wagmi `signTypedData`) and the CLI (a viem account's `signTypedData`) sign the
// object returned here, byte for byte the same typed data.
import { type Address, getAddress, isAddress } from "viem";
import { InvalidParametersError } from "../errors.ts";

/** EIP-712 domain name. */
export const KEY_DERIVATION_DOMAIN_NAME = "Co-operative Cloud";
/** EIP-712 domain version; a new version would derive different keys. */
export const KEY_DERIVATION_DOMAIN_VERSION = "1";

/** What the wallet shows the user: what signing does and why it must stay in our app. */
export const KEY_DERIVATION_PURPOSE =
  "Derive my Co-operative Cloud storage key. This signature unlocks every file I store: sign it only in a Co-operative Cloud app, never on another site.";

/** The EIP-712 types (EIP712Domain is implied by the domain's fields). */
export const keyDerivationTypes = {
  DeriveStorageKey: [
    { name: "purpose", type: "string" },
    { name: "account", type: "address" },
  ],
} as const;

/** The typed data to sign: pass it whole to viem's or wagmi's `signTypedData`. */
export interface KeyDerivationTypedData {
  readonly domain: { readonly name: string; readonly version: string; readonly chainId: number };
  readonly types: typeof keyDerivationTypes;
  readonly primaryType: "DeriveStorageKey";
  readonly message: { readonly purpose: string; readonly account: Address };
}

/** Parameters of {@link getKeyDerivationTypedData}. */
export interface GetKeyDerivationTypedDataParameters {
  /** The owner's wallet address (any case; checksummed in the message). */
  account: Address;
  /** The chain the wallet is on; a different chain id derives a different key. */
  chainId: number;
}

/** The EIP-712 typed data the owner signs to derive their key-encryption key. */
export function getKeyDerivationTypedData({
  account,
  chainId,
}: GetKeyDerivationTypedDataParameters): KeyDerivationTypedData {
  // All lower or all upper case carries no checksum (EIP-55); mixed case is one and must hold: a
  // mistyped address would derive another key.
  const hex = String(account).slice(2);
  const mixedCase = hex !== hex.toLowerCase() && hex !== hex.toUpperCase();
  if (
    typeof account !== "string" ||
    !isAddress(account, { strict: false }) ||
    (mixedCase && getAddress(account) !== account)
  ) {
    throw new InvalidParametersError(
      "account",
      account,
      "must be a 20-byte hex address (in mixed case, with a valid EIP-55 checksum)",
    );
  }
  if (!Number.isSafeInteger(chainId) || chainId <= 0) {
    throw new InvalidParametersError("chainId", chainId, "must be a positive integer");
  }
  return {
    domain: { name: KEY_DERIVATION_DOMAIN_NAME, version: KEY_DERIVATION_DOMAIN_VERSION, chainId },
    types: keyDerivationTypes,
    primaryType: "DeriveStorageKey",
    message: { purpose: KEY_DERIVATION_PURPOSE, account: getAddress(account) },
  };
}
