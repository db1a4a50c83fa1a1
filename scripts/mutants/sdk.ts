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
];
