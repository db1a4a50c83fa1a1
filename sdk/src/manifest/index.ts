// Manifests (validated, canonical, encrypted in an envelope) and share links.
export { type JsonValue, canonicalJson } from "./canonical-json.ts";
export {
  COMMITMENT_HASH,
  COMMITMENT_SEGMENT_SIZE,
  ENCRYPTION_SCHEME,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestShard,
  deserializeManifest,
  manifestDecodeOptions,
  parseManifest,
  serializeManifest,
} from "./manifest.ts";
export {
  ENVELOPE_MAGIC,
  ENVELOPE_PREFIX_LENGTH,
  ENVELOPE_VERSION,
  MAX_ENVELOPE_LENGTH,
  MIN_MANIFEST_PADDING,
  type DecryptManifestOptions,
  type EncryptManifestParameters,
  type ManifestEnvelope,
  type ManifestKey,
  type OpenedManifest,
  decryptManifest,
  deriveManifestKey,
  encryptManifest,
  generateFileId,
  paddedManifestLength,
  readManifestEnvelope,
} from "./envelope.ts";
export { MANIFEST_CID_CODEC, manifestCid, verifyManifestCid } from "./manifest-cid.ts";
export {
  SHARE_LINK_SCHEME,
  type ShareLink,
  formatShareLink,
  fromBase64Url,
  parseShareLink,
  toBase64Url,
} from "./share-link.ts";
