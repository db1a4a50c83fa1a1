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
  parseManifest,
  serializeManifest,
} from "./manifest.ts";
export {
  ENVELOPE_MAGIC,
  ENVELOPE_PREFIX_LENGTH,
  ENVELOPE_VERSION,
  MAX_ENVELOPE_LENGTH,
  type EncryptManifestParameters,
  type ManifestEnvelope,
  type ManifestKey,
  type OpenedManifest,
  decryptManifest,
  deriveManifestKey,
  encryptManifest,
  generateFileId,
  readManifestEnvelope,
} from "./envelope.ts";
export {
  SHARE_LINK_SCHEME,
  type ShareLink,
  formatShareLink,
  fromBase64Url,
  parseShareLink,
  toBase64Url,
} from "./share-link.ts";
