// The manifest CID (docs/protocol.md, "Manifest CID"): the address of a manifest envelope that
// createDeal records and share links carry. CIDv1, codec raw (0x55), sha2-256 of the whole
// envelope. An envelope is at most 1 MiB, one UnixFS chunk under the shard import parameters
// (raw leaves, reduceSingleLeafToSelf), so an IPFS import of it has this very CID. The client
// and the provider node check envelopes with the same function, verifyManifestCid.
import { sha256 } from "@noble/hashes/sha2.js";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import { parseCid } from "../cid/parse.ts";
import {
  InvalidParametersError,
  ManifestCidMismatchError,
  UnsupportedFormatError,
} from "../errors.ts";

/** Largest envelope: one UnixFS chunk (SHARD_UNIXFS_PARAMS.chunkSize), so its IPFS CID is raw. */
export const MAX_ENVELOPE_LENGTH = 1024 * 1024;
/** The manifest CID's codec: raw. */
export const MANIFEST_CID_CODEC = 0x55;
const SHA2_256 = 0x12;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkEnvelope(envelope: Uint8Array): void {
  if (!(envelope instanceof Uint8Array))
    throw new InvalidParametersError("envelope", typeof envelope, "must be bytes");
  if (envelope.length > MAX_ENVELOPE_LENGTH)
    throw new UnsupportedFormatError(
      "manifest envelope",
      undefined,
      `${envelope.length} bytes is larger than the ${MAX_ENVELOPE_LENGTH}-byte limit`,
    );
}

/** The manifest CID of envelope bytes: CIDv1, raw, sha2-256 of all of them. */
export function manifestCid(envelope: Uint8Array): CID {
  checkEnvelope(envelope);
  return CID.createV1(MANIFEST_CID_CODEC, Digest.create(SHA2_256, sha256(envelope)));
}

function toCid(cid: CID | string | Uint8Array): CID {
  if (typeof cid === "string") return parseCid(cid);
  if (cid instanceof Uint8Array) {
    try {
      return CID.decode(cid);
    } catch {
      throw new InvalidParametersError("cid", `${cid.length} bytes`, "are not a binary CID");
    }
  }
  const parsed = CID.asCID(cid);
  if (parsed === null) throw new InvalidParametersError("cid", typeof cid, "is not a CID");
  return parsed;
}

/**
 * Checks envelope bytes against a manifest CID: a CID, its string in any multibase, or its
 * binary form (as the market returns it). Returns the CID; throws ManifestCidMismatchError when
 * the bytes are not the ones named (or the CID is no manifest CID), UnsupportedFormatError for
 * bytes over 1 MiB, InvalidParametersError when `cid` is not a CID.
 */
export function verifyManifestCid(envelope: Uint8Array, cid: CID | string | Uint8Array): CID {
  const expected = toCid(cid);
  const actual = manifestCid(envelope);
  if (
    expected.version !== 1 ||
    expected.code !== MANIFEST_CID_CODEC ||
    expected.multihash.code !== SHA2_256
  )
    throw new ManifestCidMismatchError(
      expected.toString(),
      actual.toString(),
      `${expected.toString()} is not a manifest CID (CIDv1, codec raw, sha2-256)`,
    );
  if (!sameBytes(expected.bytes, actual.bytes))
    throw new ManifestCidMismatchError(
      expected.toString(),
      actual.toString(),
      `the envelope's manifest CID is ${actual.toString()}, not ${expected.toString()}: it is not the manifest named`,
    );
  return actual;
}
