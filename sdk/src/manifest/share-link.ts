// Share links: `coop://<manifest CID>#k=<file key, base64url>`. The key sits in the URL
// fragment, which browsers never send to a server. A link opens one manifest and one file and
// nothing else: the file key is random per file and unrelated to the owner's KEK.
import type { CID } from "multiformats/cid";
import { parseCid } from "../cid/parse.ts";
import { InvalidShareLinkError } from "../errors.ts";
import { MANIFEST_CID_CODEC } from "./manifest-cid.ts";

export const SHARE_LINK_SCHEME = "coop:";

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** base64url without padding (RFC 4648 §5). */
export function toBase64Url(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i]!;
    const b1 = bytes[i + 1];
    const b2 = bytes[i + 2];
    out += B64URL[b0 >> 2]!;
    out += B64URL[((b0 & 3) << 4) | ((b1 ?? 0) >> 4)]!;
    if (b1 !== undefined) out += B64URL[((b1 & 15) << 2) | ((b2 ?? 0) >> 6)]!;
    if (b2 !== undefined) out += B64URL[b2 & 63]!;
  }
  return out;
}

/** Decodes unpadded base64url; undefined unless `text` is the canonical encoding of some bytes. */
export function fromBase64Url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (const ch of text) {
    value = (value << 6) | B64URL.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  if ((value & ((1 << bits) - 1)) !== 0) return undefined; // non-zero padding bits: not canonical
  return out;
}

/** What a share link carries. */
export interface ShareLink {
  /** CID of the manifest envelope (CIDv1, canonical base32). */
  readonly manifestCid: string;
  /** The file's 32-byte key. */
  readonly fileKey: Uint8Array;
}

/**
 * The manifest CID of a link in its canonical base32 form. Any multibase IPFS tools print is
 * read (upper-case base32, base36, base58btc, base16, …); the CID must be a manifest CID.
 */
function checkCid(text: string): string {
  let cid: CID;
  try {
    cid = parseCid(text);
  } catch {
    const shown = text.length > 100 ? `${text.slice(0, 100)}…` : text;
    throw new InvalidShareLinkError("cid", `${JSON.stringify(shown)} is not a CID`);
  }
  if (cid.version !== 1) throw new InvalidShareLinkError("cid", "the manifest CID must be a CIDv1");
  if (cid.code !== MANIFEST_CID_CODEC || cid.multihash.code !== 0x12)
    throw new InvalidShareLinkError(
      "cid",
      "a manifest CID has codec raw and a sha2-256 multihash (the envelope's own hash)",
    );
  return cid.toString();
}

/** Formats a share link for one file. */
export function formatShareLink({ manifestCid, fileKey }: ShareLink): string {
  if (!(fileKey instanceof Uint8Array) || fileKey.length !== 32) {
    throw new InvalidShareLinkError("key", "the file key must be 32 bytes");
  }
  if (typeof manifestCid !== "string")
    throw new InvalidShareLinkError("cid", "the manifest CID must be a string");
  return `coop://${checkCid(manifestCid)}#k=${toBase64Url(fileKey)}`;
}

/**
 * Parses a share link. InvalidShareLinkError says which part is wrong: the scheme, the CID,
 * the fragment or the key. Unknown fragment parameters are ignored (room for later versions).
 */
export function parseShareLink(link: string): ShareLink {
  if (typeof link !== "string")
    throw new InvalidShareLinkError("scheme", "a share link is a string");
  const text = link.trim();
  const schemeEnd = text.indexOf("//");
  if (schemeEnd < 0 || text.slice(0, schemeEnd).toLowerCase() !== SHARE_LINK_SCHEME) {
    throw new InvalidShareLinkError("scheme", 'it must start with "coop://"');
  }
  const rest = text.slice(schemeEnd + 2);
  const hash = rest.indexOf("#");
  if (hash < 0)
    throw new InvalidShareLinkError(
      "fragment",
      'it has no "#k=<key>" fragment: the key is missing',
    );
  const cidText = rest.slice(0, hash).replace(/\/$/, "");
  if (cidText === "" || /[/?]/.test(cidText)) {
    throw new InvalidShareLinkError("cid", "expected coop://<manifest CID>#k=<key>");
  }
  const manifestCid = checkCid(cidText);
  let key: string | undefined;
  for (const param of rest.slice(hash + 1).split("&")) {
    const eq = param.indexOf("=");
    const name = eq < 0 ? param : param.slice(0, eq);
    if (name !== "k") continue;
    if (key !== undefined) throw new InvalidShareLinkError("fragment", "the key (k) appears twice");
    key = eq < 0 ? "" : param.slice(eq + 1);
  }
  if (key === undefined)
    throw new InvalidShareLinkError(
      "fragment",
      'the fragment has no "k=<key>": the key is missing',
    );
  const fileKey = fromBase64Url(key);
  if (fileKey === undefined || fileKey.length !== 32) {
    throw new InvalidShareLinkError(
      "key",
      "the key must be 32 bytes in unpadded base64url (43 characters)",
    );
  }
  return { manifestCid, fileKey };
}
