// SDK mutants that StrykerJS reports as surviving but no test can tell apart from the code as
// written: each is explained here, and `npm run mutate` marks the matching survivor "equivalent"
// in docs/mutation-sdk.md with the reason. A survivor matches an entry by file, mutator,
// replacement and the text of the mutated source line (so line numbers may move).

export interface EquivalentMutant {
  file: string;
  mutator: string;
  replacement: string;
  /** Text found on the mutated source line. */
  code: string;
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
];
