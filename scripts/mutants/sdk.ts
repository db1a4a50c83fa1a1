// SDK mutants that StrykerJS reports as surviving but no test can tell apart from the code as
// written: each is explained here, and `npm run mutate` marks the matching survivor "equivalent"
// in docs/mutation-sdk.md with the reason. A survivor matches an entry by file, mutator,
// replacement and the text of the mutated source line (so line numbers may move), and where a line
// has two operands mutated alike, by the exact text replaced.

export interface EquivalentMutant {
  file: string;
  mutator: string;
  replacement: string;
  /** Text found on the mutated source line (the first line of a multi-line mutant). */
  code: string;
  /** The exact source text replaced, where the line holds several mutants of this kind. */
  span?: string;
  /** Why no caller can observe the change. */
  why: string;
}

export const EQUIVALENT: EquivalentMutant[] = [
  {
    file: "sdk/src/crypto/backend.ts",
    mutator: "CallExpression",
    replacement: ";",
    code: "k.fill(0);",
    why: "wipes the session's private key copy on dispose; a disposed session refuses every call, so no output or error changes (defence in depth against memory dumps only)",
  },
  {
    file: "sdk/src/crypto/backend.ts",
    mutator: "ConditionalExpression",
    replacement: "false",
    code: "if (sealed.length < TAG_LENGTH) return undefined;",
    why: "noble's decrypt throws on input shorter than the tag and the catch below returns undefined: the same result",
  },
  {
    file: "sdk/src/crypto/backend.ts",
    mutator: "BlockStatement",
    replacement: "{}",
    code: "} catch {",
    why: "an empty catch block falls off the end of open(), which returns undefined as the block does",
  },
  {
    file: "sdk/src/crypto/stream.ts",
    mutator: "BooleanLiteral",
    replacement: "true",
    code: "private keyCheckFailed = false;",
    why: "never read before openHeader() sets it, and finish() reads it only after a header was parsed",
  },
  {
    file: "sdk/src/crypto/stream.ts",
    mutator: "ConditionalExpression",
    replacement: "true",
    code: "if (index === 0 && this.keyCheckFailed) {",
    span: "index === 0",
    why: "with a failed key check chunk 0 always throws, so no chunk past 0 is ever opened and index === 0 always holds here",
  },
  {
    file: "sdk/src/crypto/stream.ts",
    mutator: "ConditionalExpression",
    replacement: "true",
    code: "if (index === 0 && this.keyCheckFailed && other === undefined) {",
    span: "index === 0",
    why: "as above: with a failed key check no chunk past 0 is ever opened",
  },
  {
    file: "sdk/src/crypto/stream.ts",
    mutator: "ConditionalExpression",
    replacement: "false",
    code: "if (piece.length === 0) return;",
    why: "an empty piece changes nothing on the general path either: no bytes counted, no unit produced",
  },
  {
    file: "sdk/src/crypto/stream.ts",
    mutator: "ConditionalExpression",
    replacement: "true",
    code: "this.expectedCiphertextLength !== undefined &&",
    span: "this.expectedCiphertextLength !== undefined",
    why: "when it is undefined the comparison that follows (with undefined) is false anyway",
  },
  {
    file: "sdk/src/crypto/stream.ts",
    mutator: "ConditionalExpression",
    replacement: "true",
    code: "this.pending.buffer === piece.buffer",
    span: "this.pending.buffer === piece.buffer",
    why: "only makes an extra copy of the held unit: the same bytes and results",
  },
  {
    file: "sdk/src/crypto/stream.ts",
    mutator: "ConditionalExpression",
    replacement: "true",
    code: "if (this.lastIndex !== undefined && this.index > this.lastIndex) return;",
    span: "this.lastIndex !== undefined",
    why: "when lastIndex is undefined, index > undefined is false anyway",
  },
  {
    file: "sdk/src/erasure/gf256.ts",
    mutator: "BlockStatement",
    replacement: "{}",
    code: "if (c === 0) {",
    why: "without the c = 0 fast path the table path multiplies by 0: dst is zeroed or XORed with 0, the same bytes",
  },
  {
    file: "sdk/src/erasure/gf256.ts",
    mutator: "ConditionalExpression",
    replacement: "false",
    code: "if (c === 1) {",
    why: "table16(1) is the identity: the general path writes the same words",
  },
  {
    file: "sdk/src/erasure/gf256.ts",
    mutator: "EqualityOperator",
    replacement: "i <= n",
    code: "if (accumulate) for (let i = 0; i < n; i++) dst[i] ^= t[src[i]];",
    why: "the extra step reads src[n] (undefined), and XOR with t[undefined] leaves dst[n] as it was",
  },
  {
    file: "sdk/src/erasure/gf256.ts",
    mutator: "ConditionalExpression",
    replacement: "false",
    code: "if (r === col || g === 0) continue;",
    span: "g === 0",
    why: "eliminating with g = 0 XORs zeros",
  },
  {
    file: "sdk/src/erasure/reed-solomon.ts",
    mutator: "ConditionalExpression",
    replacement: "false",
    code: "if (row[j] === 0) continue;",
    why: "mulRegion with c = 0 zeroes (first term) or XORs 0: the same output",
  },
  {
    file: "sdk/src/erasure/reed-solomon.ts",
    mutator: "ConditionalExpression",
    replacement: "false",
    code: "if (first) dst.fill(0);",
    why: "no row in use is all zeros (Cauchy parity rows have none; a decode row is a nonzero vector times an invertible matrix), so the fill never runs",
  },
  {
    file: "sdk/src/erasure/reed-solomon.ts",
    mutator: "ConditionalExpression",
    replacement: "false",
    code: "if (rows !== undefined) return rows;",
    why: "a cache miss recomputes the same rows",
  },
  {
    file: "sdk/src/erasure/reed-solomon.ts",
    mutator: "ConditionalExpression",
    replacement: "false",
    code: "if (inv === undefined) throw",
    why: "unreachable: every k rows of [I; P] are invertible (the code is MDS)",
  },
  {
    file: "sdk/src/erasure/reed-solomon.ts",
    mutator: "ConditionalExpression",
    replacement: "true",
    code: "if (n > k && len > 0) combine(parity, data, result);",
    why: "combine with no parity rows or zero-length blocks does nothing",
  },
  {
    file: "sdk/src/erasure/reed-solomon.ts",
    mutator: "LogicalOperator",
    replacement: "n > k || len > 0",
    code: "if (n > k && len > 0) combine(parity, data, result);",
    why: "combine with no parity rows or zero-length blocks does nothing",
  },
  {
    file: "sdk/src/erasure/reed-solomon.ts",
    mutator: "MethodExpression",
    replacement: "[...new Set(opts.wanted)]",
    code: ".sort((a, b) => a - b)",
    why: "results are placed by shard index; only the decode cache key's order changes",
  },
  {
    file: "sdk/src/erasure/reed-solomon.ts",
    mutator: "ArrowFunction",
    replacement: "() => undefined",
    code: ".sort((a, b) => a - b)",
    why: "results are placed by shard index; only the decode cache key's order changes",
  },
  {
    file: "sdk/src/erasure/reed-solomon.ts",
    mutator: "MethodExpression",
    replacement: "present",
    code: "const used = present.slice(0, k);",
    why: "pivots are found among the first k rows and the extra coefficients read as 0: the same output, slower",
  },
  {
    file: "sdk/src/erasure/reed-solomon.ts",
    mutator: "ConditionalExpression",
    replacement: "true",
    code: "if (len > 0)",
    why: "combine over zero-length blocks does nothing",
  },
  {
    file: "sdk/src/erasure/stripes.ts",
    mutator: "EqualityOperator",
    replacement: "this.#filled >= size",
    code: "if (this.#filled === size) {",
    why: "#filled never exceeds size",
  },
  {
    file: "sdk/src/erasure/stripes.ts",
    mutator: "EqualityOperator",
    replacement: "this.#pending.length > len",
    code: "if (this.#pending.length >= len) {",
    why: "the slower path copies the same bytes",
  },
  {
    file: "sdk/src/erasure/stripes.ts",
    mutator: "ConditionalExpression",
    replacement: "false",
    code: "if (this.#pending.length >= len) {",
    why: "the slower path copies the same bytes",
  },
  {
    file: "sdk/src/erasure/stripes.ts",
    mutator: "ConditionalExpression",
    replacement: "false",
    code: "take === block.length ? block : block.subarray(0, take)",
    span: "take === block.length",
    why: "a full-length subarray holds the same bytes",
  },
  {
    file: "sdk/src/keys/kek.ts",
    mutator: "CallExpression",
    replacement: ";",
    code: "ikm.fill(0);",
    why: "wipes a local copy of the signature that is never returned or kept: no output or error changes, only how long the secret stays in memory",
  },
  {
    file: "sdk/src/keys/kek.ts",
    mutator: "EqualityOperator",
    replacement: "i <= 64",
    code: "for (let i = 0; i < 64; i++) diff |= a[i]! ^ b[i]!;",
    why: "both arrays are exactly 64 bytes: the extra step XORs undefined with undefined (0) and leaves diff as it was",
  },
  {
    file: "sdk/src/erasure/stripes.ts",
    mutator: "UpdateOperator",
    replacement: "this.#index--",
    code: "return { index: this.#index++, blockSize: b, dataBytes: this.#filled, data };",
    why: "both hand back the old value as the last stripe's index, and the index is never read after finish()",
  },
  {
    file: "sdk/src/cid/unixfs.ts",
    mutator: "ArrayDeclaration",
    replacement: '["Stryker was here"]',
    code: "levels[l] = [];",
    why: "finish() has already ended the builder and the loop only moves up: the reset level is never read again",
  },
  {
    file: "sdk/src/erasure/stripes.ts",
    mutator: "BlockStatement",
    replacement: "{}",
    code: "if (this.#pending.length >= len) {",
    why: "without the fast path the general loop copies the same bytes from the held chunk and advances the same way: a copy instead of a view",
  },
  {
    file: "sdk/src/erasure/stripes.ts",
    mutator: "ObjectLiteral",
    replacement: "{}",
    code: "const full = codec.reconstruct(blocks, { wanted });",
    why: "without wanted the codec rebuilds every missing block, a superset, with the same rows: the wanted ones are the same bytes, only more parity work",
  },
  {
    file: "sdk/src/manifest/envelope.ts",
    mutator: "EqualityOperator",
    replacement: "length < MIN_MANIFEST_PADDING",
    code: "return length <= MIN_MANIFEST_PADDING",
    why: "differs only at length 4096, where the other branch gives 2 ** ceil(log2(4096)) = 4096 too",
  },
  {
    file: "sdk/src/merkle/tree.ts",
    mutator: "StringLiteral",
    replacement: '""',
    code: 'if (levels.length === 0 && level !== depth) fail("no levels stored below the root");',
    why: "levels is empty only when level >= depth, and a level above depth failed just before, so level === depth whenever levels is empty: this message is never built",
  },
];
