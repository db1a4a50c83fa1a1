// Contract custom errors in words: one sentence per error that says what went wrong and, where
// there is one, what to do. Unknown errors fall back to their name and arguments.

type Describe = (args: readonly unknown[]) => string;

const WORDS: Record<string, Describe> = {
  MarketNotMember: ([a]) => `${String(a)} is not a co-op member: join first (coop member join)`,
};

/** One sentence for a contract custom error. */
export function describeRevert(errorName: string, args: readonly unknown[]): string {
  const d = WORDS[errorName];
  return d ? d(args) : `the contract refused it with ${errorName}(${args.map(String).join(", ")})`;
}
