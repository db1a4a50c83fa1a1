// The owner's keys: a key-encryption key from a wallet signature, and file keys wrapped with it.
export {
  KEY_DERIVATION_DOMAIN_NAME,
  KEY_DERIVATION_DOMAIN_VERSION,
  KEY_DERIVATION_PURPOSE,
  type GetKeyDerivationTypedDataParameters,
  type KeyDerivationTypedData,
  getKeyDerivationTypedData,
  keyDerivationTypes,
} from "./typed-data.ts";
export {
  type KeySignatureParameters,
  deriveKeyEncryptionKey,
  getKeyEncryptionKey,
  keySignaturesMatch,
  normalizeKeySignature,
  verifyKeySignature,
} from "./kek.ts";
export {
  FILE_ID_LENGTH,
  MANIFEST_DIGEST_LENGTH,
  WRAPPED_KEY_LENGTH,
  type WrapContext,
  unwrapFileKey,
  wrapAssociatedData,
  wrapFileKey,
} from "./wrap.ts";
