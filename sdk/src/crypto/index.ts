// File encryption: STREAM chunked XChaCha20-Poly1305 (docs/protocol.md, "Encryption format").
// Nothing exported here lets a caller choose a nonce: every stream draws its own prefix, and
// sealing single chunks under a given header (what the pipeline's workers do) stays internal,
// since sealing one chunk index twice would reuse its keystream.
export {
  DEFAULT_CHUNK_SIZE,
  KEY_LENGTH,
  MAX_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
  STREAM_HEADER_LENGTH,
  STREAM_VERSION,
  TAG_LENGTH,
  type CreateStreamHeaderOptions,
  type StreamHeader,
  chunkNonceTail,
  computeKeyCheck,
  createStreamHeader,
  getCiphertextLength,
  getPlaintextLength,
  keyMatchesHeader,
  parseStreamHeader,
} from "./format.ts";
export { type Implementation, isNativeAvailable, resolveImplementation } from "./backend.ts";
export { hchacha20 } from "./hchacha.ts";
export {
  type ByteSource,
  type CipherOptions,
  type DecryptOptions,
  type EncryptOptions,
  StreamDecryptor,
  StreamEncryptor,
  createDecryptionStream,
  createEncryptionStream,
  decryptBytes,
  decryptChunk,
  decryptStream,
  encryptBytes,
  encryptStream,
  generateFileKey,
  verifyStreamKey,
} from "./stream.ts";
