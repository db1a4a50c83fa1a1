// Hand-picked mutants over the contract rules that move money and draw challenges: each is
// one small edit a refactor could plausibly make. `npm run mutate:contracts` applies each in a
// scratch copy of the repository and runs the contract tests; a mutant is killed when they fail.

export interface Mutant {
  /** Short name, stable across runs (used in bench/results.json and docs/benchmarks.md). */
  id: string;
  file: string;
  /** Exact text to replace; must occur exactly once in the file. */
  from: string;
  to: string;
  /** What the bug would do to a user. */
  why: string;
  /** Set when no test can tell the mutant apart: why it behaves like the original. */
  equivalent?: string;
}

const BASE = "contracts/market/StorageMarketBase.sol";
const MARKET = "contracts/market/StorageMarket.sol";
const EXT = "contracts/market/StorageMarketExtension.sol";
const TREE = "contracts/libraries/LiveLeafTree.sol";
const GOV = "contracts/coop/CoopGovernor.sol";
const TREASURY = "contracts/coop/PatronageTreasury.sol";

export const MUTANTS: Mutant[] = [
  {
    id: "hint-from-le",
    file: BASE,
    from: "(hint == 0 || a[hint - 1] < x)",
    to: "(hint == 0 || a[hint - 1] <= x)",
    why: "a settlement hint one past a proven epoch is trusted: an epoch paid twice or early",
  },
  {
    id: "hint-to-gt",
    file: BASE,
    from: "(hint == hi || a[hint] >= x)",
    to: "(hint == hi || a[hint] > x)",
    why: "a settlement hint one before a proven epoch is trusted: a proven epoch never paid",
    equivalent:
      "it only rejects a correct hint that lands on a proven epoch, which then falls back to binary search with the same result (more gas, same payment)",
  },
  {
    id: "self-pay-patronage",
    file: BASE,
    from: "if (d.owner != holder) {",
    to: "if (true) {",
    why: "a provider paying itself earns patronage on both sides",
  },
  {
    id: "forfeit-to-owner",
    file: BASE,
    from: "if (forfeit != 0) _token.safeTransfer(address(_treasury), forfeit);",
    to: "_credit(d.owner, forfeit);",
    why: "unused slashes go back to the owner, who may be the slashed provider",
  },
  {
    id: "draw-range-minus-one",
    file: BASE,
    from: "return uint256(keccak256(abi.encode(seed, provider, i))) % range;",
    to: "return uint256(keccak256(abi.encode(seed, provider, i))) % (range > 1 ? range - 1 : range);",
    why: "the last live leaf is never challenged",
  },
  {
    id: "seed-previous-block",
    file: BASE,
    from: "bytes32 h = blockhash(seedBlock);\n        return h == 0",
    to: "bytes32 h = blockhash(seedBlock - 1);\n        return h == 0",
    why: "the seed is the hash of the block that committed it, known to its sender",
  },
  {
    id: "draw-without-claimant",
    file: BASE,
    from: "keccak256(abi.encode(h, dealId, shard, claimant))",
    to: "keccak256(abi.encode(h, dealId, shard, address(0)))",
    why: "every claimant proves the same segment",
  },
  {
    id: "lost-slash-halved",
    file: BASE,
    from: "slashed = Math.min(amount, p.stake);",
    to: "slashed = Math.min(amount, p.stake) / 2;",
    why: "a lost shard costs its holder half the slash",
  },
  {
    id: "proof-window-wider",
    file: MARKET,
    from: "if (epoch > cur || epoch + 1 < cur) revert MarketProofWindowClosed(epoch, cur);",
    to: "if (epoch > cur || epoch + 2 < cur) revert MarketProofWindowClosed(epoch, cur);",
    why: "proofs land after a missed epoch became reportable",
  },
  {
    id: "proof-replay",
    file: MARKET,
    from: "if (epoch <= p.lastProven)",
    to: "if (epoch < p.lastProven)",
    why: "the same epoch is proven (and paid) twice",
  },
  {
    id: "entry-added-same-epoch",
    file: MARKET,
    from: "if (e.addedEpoch >= epoch || (e.removedEpoch != 0 && e.removedEpoch < epoch))",
    to: "if (e.addedEpoch > epoch || (e.removedEpoch != 0 && e.removedEpoch < epoch))",
    why: "a shard accepted during the epoch answers its challenges",
    equivalent:
      "entries are appended in order, so one added during the epoch sits after every leaf live at its start: the prefix check already refuses it",
  },
  {
    id: "entry-removed-before",
    file: MARKET,
    from: "if (e.addedEpoch >= epoch || (e.removedEpoch != 0 && e.removedEpoch < epoch))",
    to: "if (e.addedEpoch >= epoch || (e.removedEpoch != 0 && e.removedEpoch < epoch - 1))",
    why: "a shard that left before the epoch answers its challenges (a hole)",
  },
  {
    id: "entry-range-end",
    file: MARKET,
    from: "if (leaf < start || leaf >= start + e.leafCount)",
    to: "if (leaf < start || leaf > start + e.leafCount)",
    why: "the first leaf after an entry is answered by naming that entry",
  },
  {
    id: "seed-current-block",
    file: MARKET,
    from: "_seedBlocks[epoch] = block.number + 1;",
    to: "_seedBlocks[epoch] = block.number;",
    why: "the seed is the hash of the committing block",
  },
  {
    id: "fee-halved",
    file: MARKET,
    from: "fee = (escrow * _params.feeBps) / BPS;",
    to: "fee = (escrow * _params.feeBps) / BPS / 2;",
    why: "deals pay half the co-op fee",
  },
  {
    id: "bounty-uncapped",
    file: MARKET,
    from: "p.bountyBps > MAX_BOUNTY_BPS ||",
    to: "p.bountyBps > BPS ||",
    why: "a provider reporting itself gets its whole slash back",
  },
  {
    id: "acceptance-window-unfrozen",
    file: MARKET,
    from: "uint256 deadline = _assignedEpoch(d, s) + d.acceptanceWindow;\n        if (cur > deadline)",
    to: "uint256 deadline = _assignedEpoch(d, s) + _params.acceptanceWindow;\n        if (cur > deadline)",
    why: "governance moves running deals' acceptance deadlines",
  },
  {
    id: "report-window-open",
    file: EXT,
    from: "epoch + 2 > cur ||",
    to: "epoch + 1 > cur ||",
    why: "an epoch is reported missed while its proof window is still open",
  },
  {
    id: "report-not-owed",
    file: EXT,
    from: "_trees[provider].totalAt(epoch) == 0 ||",
    to: "false ||",
    why: "a provider is slashed for an epoch in which it held nothing",
  },
  {
    id: "bounty-whole-slash",
    file: EXT,
    from: "uint256 bounty = (slashed * params_.bountyBps) / BPS;",
    to: "uint256 bounty = slashed;",
    why: "the reporter takes the whole slash, the treasury nothing",
  },
  {
    id: "fail-run-short",
    file: EXT,
    from: "return run >= f;",
    to: "return run + 1 >= f;",
    why: "a provider fails after F − 1 misses",
  },
  {
    id: "report-void-epoch",
    file: EXT,
    from: "_epochSeed(epoch) == 0 ||",
    to: "false ||",
    why: "every provider is slashed for an epoch whose seed nobody could know",
  },
  {
    id: "leave-early",
    file: EXT,
    from: "_currentEpoch() <= lastChange + 2",
    to: "_currentEpoch() <= lastChange + 1",
    why: "a provider leaves with its stake before its last miss is reportable",
  },
  {
    id: "challenge-deadline-early",
    file: EXT,
    from: "_checkDeadline(deadline, true);",
    to: "_checkDeadline(deadline - 1, true);",
    why: "a targeted challenge is finalized one epoch early",
  },
  {
    id: "challenge-window-unfrozen",
    file: EXT,
    from: "uint32(_currentEpoch() + s.challengeWindow)",
    to: "uint32(_currentEpoch() + _params.challengeWindow)",
    why: "governance shortens an open challenge's window",
  },
  {
    id: "repair-own-slash",
    file: EXT,
    from: "if (s.provider == msg.sender) revert MarketRepairIneligible(msg.sender, shard);",
    to: "",
    why: "the holder that lost a shard repairs it and wins its slash back",
  },
  {
    id: "repair-reward-patronage",
    file: EXT,
    from: "_credit(msg.sender, reward);\n        emit ShardRepaired",
    to: "_credit(msg.sender, reward);\n        _recordPatronage(msg.sender, 0, reward);\n        emit ShardRepaired",
    why: "a repair reward (slashed stake) earns patronage",
  },
  {
    id: "tree-read-b1",
    file: TREE,
    from: "if (m.u0 < epoch) return m.b1;",
    to: "if (m.u0 <= epoch) return m.b1;",
    why: "a removal during the window re-rolls the window's draw",
  },
  {
    id: "tree-remove-short",
    file: TREE,
    from: "for (uint256 i = entry + 1; i <= count; i += i & (~i + 1)) {",
    to: "for (uint256 i = entry + 1; i < count; i += i & (~i + 1)) {",
    why: "a removed shard's leaves stay in the draw",
  },
  {
    id: "vote-after-exit",
    file: GOV,
    from: "if (!ICoopMembership(address(token())).isMember(account)) return 0;",
    to: "",
    why: "a member who took its share back still votes",
  },
  {
    id: "quorum-now",
    file: GOV,
    from: "token().getPastTotalSupply(timepoint),",
    to: "token().getPastTotalSupply(clock() - 1),",
    why: "members joining during a vote change its quorum",
  },
  {
    id: "dividend-round-up",
    file: TREASURY,
    from: "uint256 amount = Math.mulDiv(totals.dividend, points, totals.totalPoints);",
    to: "uint256 amount = Math.mulDiv(totals.dividend, points, totals.totalPoints, Math.Rounding.Ceil);",
    why: "claims can add up to more than the declared dividend",
  },
];
