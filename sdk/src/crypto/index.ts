// File encryption: STREAM chunked XChaCha20-Poly1305 (docs/protocol.md, "Encryption format").
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
  createStreamHeader,
  getCiphertextLength,
  getPlaintextLength,
  parseStreamHeader,
} from "./format.ts";
export {
  type ChunkSession,
  type Implementation,
  createChunkSession,
  isNativeAvailable,
  resolveImplementation,
} from "./backend.ts";
export { hchacha20 } from "./hchacha.ts";
export {
  type ByteSource,
  type ChunkCipher,
  type CipherOptions,
  type DecryptOptions,
  type EncryptOptions,
  StreamDecryptor,
  StreamEncryptor,
  createChunkCipher,
  createDecryptionStream,
  createEncryptionStream,
  decryptBytes,
  decryptChunk,
  decryptStream,
  encryptBytes,
  encryptChunk,
  encryptStream,
  generateFileKey,
  verifyStreamKey,
} from "./stream.ts";
