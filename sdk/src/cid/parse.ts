// Parsing CIDs in any multibase that IPFS tools print (`ipfs cid bases`): multiformats' CID.parse
// alone reads only base32, base36 and base58btc, so an upper-case base32 CID (what some tools and
// case-folding URLs produce) or a base16 one would be refused.
import { CID } from "multiformats/cid";
import * as base10 from "multiformats/bases/base10";
import * as base16 from "multiformats/bases/base16";
import * as base2 from "multiformats/bases/base2";
import * as base256emoji from "multiformats/bases/base256emoji";
import * as base32 from "multiformats/bases/base32";
import * as base36 from "multiformats/bases/base36";
import * as base58 from "multiformats/bases/base58";
import * as base64 from "multiformats/bases/base64";
import * as base8 from "multiformats/bases/base8";
import type { MultibaseDecoder } from "multiformats/bases/interface";
import { InvalidParametersError } from "../errors.ts";

/** multiformats' decoders compose with `or` (the interface type does not declare it). */
interface Decoder extends MultibaseDecoder<string> {
  or(other: Decoder): Decoder;
}
type Codec = { prefix: string; decoder: Decoder };

// Every printable multibase of multiformats (not "identity", whose prefix is a NUL byte;
// base256emoji separately, below).
const codecs: Codec[] = [base2, base8, base10, base16, base32, base36, base58, base64]
  .flatMap((module) => Object.values(module) as Codec[])
  .filter((c) => typeof c?.prefix === "string" && c.decoder !== undefined);
const anyBase: MultibaseDecoder<string> = codecs.map((c) => c.decoder).reduce((a, b) => a.or(b));

/**
 * Parses a CID written in any multibase IPFS tools print (base32 in either case, base36, base58,
 * base16, base64, …), or a CIDv0 (`Qm…`). InvalidParametersError if `text` is not a CID.
 */
export function parseCid(text: string): CID {
  if (typeof text !== "string")
    throw new InvalidParametersError("cid", typeof text, "must be a string");
  try {
    // multiformats dispatches on the first UTF-16 unit, which cannot name base256emoji's 🚀.
    if (text.startsWith(base256emoji.base256emoji.prefix))
      return CID.decode(base256emoji.base256emoji.decoder.decode(text));
    return CID.parse(text, anyBase);
  } catch {
    throw new InvalidParametersError(
      "cid",
      text.length > 100 ? `${text.slice(0, 100)}…` : text,
      "is not a CID in any multibase encoding",
    );
  }
}
