// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

/// @title IStorageMarket
/// @notice Storage deals between data owners and member providers, proven every epoch
/// against per-provider proof sets and paid from escrow. Types, errors and events live here;
/// docs/protocol.md ("Storage market") describes the rules.
interface IStorageMarket {
    // ───────────────────────────── types ─────────────────────────────

    /// @notice Governance parameters (set by the owner, the timelock).
    /// @param pricePerByteEpoch Price of storing one byte for one epoch, in 1e-18 token base
    /// units (WAD fixed point); a shard's per-epoch rate is ceil(shardSize · price / 1e18).
    /// @param minStakePerGiB Stake required per GiB (2^30 bytes) of declared capacity, in token units.
    /// @param missedEpochSlash Stake slashed for each reported missed epoch.
    /// @param declaredLostSlash Stake slashed when a provider declares one of its shards lost.
    /// @param targetedSlash Stake slashed when a targeted challenge goes unanswered.
    /// @param targetedChallengeFee Fee a challenger escrows for a targeted challenge.
    /// @param feeBps Co-op fee on top of the escrow, in basis points, sent to the treasury.
    /// @param bountyBps Share of a missed-epoch or targeted slash paid to the reporter, in bps
    /// (at most MAX_BOUNTY_BPS, so reporting oneself never returns a whole slash).
    /// @param challengesPerEpoch c, segments challenged per provider per epoch (1..16).
    /// @param maxMissedEpochs F, consecutive missed epochs after which all shards are lost.
    /// @param acceptanceWindow Epochs a provider has to accept an assigned shard (frozen per deal).
    /// @param challengeWindow Epochs to answer a targeted challenge once its segment is drawn
    /// (frozen per challenge).
    struct Params {
        uint128 pricePerByteEpoch;
        uint128 minStakePerGiB;
        uint128 missedEpochSlash;
        uint128 declaredLostSlash;
        uint128 targetedSlash;
        uint128 targetedChallengeFee;
        uint16 feeBps;
        uint16 bountyBps;
        uint8 challengesPerEpoch;
        uint8 maxMissedEpochs;
        uint32 acceptanceWindow;
        uint32 challengeWindow;
    }

    /// @notice Lifecycle of one shard slot of a deal.
    /// @dev A new deal writes no per-shard storage: an unaccepted shard's provider is the one
    /// in the deal's commitment (and the DealCreated event) until the owner reassigns it.
    enum ShardStatus {
        Assigned, // waiting for the assigned provider to accept
        Active, // accepted (or repaired) and in the holder's proof set
        Lost, // declared lost or failed a targeted challenge; open for repair
        Closed // settled at the end, refunded, or cancelled before acceptance
    }

    /// @notice One proof of one challenge in an epoch's batch proof.
    /// @param entry Index of the proof-set entry that holds the challenged live leaf.
    /// @param segment The challenged segment (512 bytes).
    /// @param path Sibling hashes, leaf level first.
    struct SegmentProof {
        uint256 entry;
        bytes segment;
        bytes32[] path;
    }

    /// @notice A deal as the views return it.
    struct DealView {
        address owner;
        uint8 k;
        uint8 n;
        uint64 shardSize;
        uint32 leafCount;
        uint32 createdEpoch;
        uint32 startEpoch;
        uint32 endEpoch;
        uint128 shardRate;
        bool cancelled;
        bytes32 shardsHash;
        bytes manifestCid;
    }

    /// @notice A shard slot as the views return it.
    /// @param provider The holder; while Assigned, zero unless reassigned (the assigned
    /// provider is then the deal's `providers[shard]`, see DealCreated).
    /// @param epoch While Assigned: the epoch of assignment (acceptance deadline = epoch +
    /// acceptanceWindow). While Active: the first epoch not yet paid to the holder.
    /// @param lost True when the shard is Lost, or Active with a holder that has failed.
    /// @param challengeSeedBlock The block whose hash draws an open targeted challenge's segment.
    /// @param challengeDeadline Last epoch to answer it; 0 until its segment is drawn (fixChallengeSeed).
    /// @param entry The holder's proof-set entry (Active, or Lost/Closed: the last holder's).
    struct ShardView {
        ShardStatus status;
        bool lost;
        address provider;
        bytes32 root;
        uint32 epoch;
        uint32 paidEpochs;
        uint128 repairReward;
        address challenger;
        uint64 challengeSeedBlock;
        uint32 challengeDeadline;
        uint32 entry;
    }

    /// @notice A provider as the views return it.
    struct ProviderView {
        bool registered;
        string endpoint;
        string[] multiaddrs;
        uint64 capacity;
        uint64 used;
        uint128 stake;
        uint32 entryCount;
        uint64 activeLeaves;
        uint32 activeShards;
        uint32 lastProvenEpoch;
        uint32 failedEpoch;
        uint256 provenEpochs;
    }

    /// @notice One entry of a provider's proof set: shard `shard` of deal `dealId`, in the set
    /// from the start of epoch addedEpoch + 1 to the start of epoch removedEpoch (0 while in it),
    /// so challengeable from addedEpoch + 1 through removedEpoch.
    struct ProofSetEntry {
        uint64 dealId;
        uint8 shard;
        uint32 leafCount;
        uint32 addedEpoch;
        uint32 removedEpoch;
    }

    /// @notice Arguments of createDeal.
    /// @param k Data shards needed to rebuild (1 ≤ k ≤ n).
    /// @param shardSize Bytes per shard (every shard of a deal has the same size).
    /// @param durationEpochs Epochs paid for, starting at the epoch after creation.
    /// @param roots Segment Merkle root of each shard (n = roots.length ≤ 32).
    /// @param providers Provider chosen for each shard (distinct, registered, members).
    /// @param manifestCid The encrypted manifest's CID in binary form: CIDv1, a one-byte codec
    /// (e.g. raw 0x55, dag-pb 0x70) and a sha2-256 multihash, 36 bytes.
    struct DealRequest {
        uint8 k;
        uint64 shardSize;
        uint32 durationEpochs;
        bytes32[] roots;
        address[] providers;
        bytes manifestCid;
    }

    // ───────────────────────────── errors ─────────────────────────────

    /// @notice `account` is not a co-op member.
    error MarketNotMember(address account);
    /// @notice `account` is not a registered provider.
    error MarketNotRegistered(address account);
    /// @notice `account` is already registered.
    error MarketAlreadyRegistered(address account);
    /// @notice `stake` is below the `required` minimum for the declared capacity.
    error MarketStakeTooLow(uint256 stake, uint256 required);
    /// @notice Capacity `capacity` is below what the provider already holds (`used`).
    error MarketCapacityBelowUsed(uint64 capacity, uint64 used);
    /// @notice `provider` lacks room for `needed` bytes (`free` available).
    error MarketInsufficientCapacity(address provider, uint256 needed, uint256 free);
    /// @notice The provider still holds `activeShards` shards or `used` reserved bytes.
    error MarketProviderBusy(address provider, uint32 activeShards, uint64 used);
    /// @notice `provider` has failed (missed too many epochs in a row) at `failedEpoch`.
    error MarketProviderFailed(address provider, uint32 failedEpoch);
    /// @notice Invalid deal shape: k, n, shard size or duration.
    error MarketInvalidDeal(uint256 k, uint256 n, uint256 shardSize, uint256 durationEpochs);
    /// @notice The manifest CID is not a CIDv1 with a one-byte codec and a sha2-256 multihash.
    error MarketInvalidManifestCid(bytes cid);
    /// @notice `provider` appears more than once in the deal (shard `shard`).
    error MarketDuplicateProvider(address provider, uint256 shard);
    /// @notice No deal with id `dealId`.
    error MarketUnknownDeal(uint256 dealId);
    /// @notice No shard `shard` in deal `dealId`.
    error MarketUnknownShard(uint256 dealId, uint256 shard);
    /// @notice `caller` is not the owner of deal `dealId`.
    error MarketNotDealOwner(uint256 dealId, address caller);
    /// @notice `caller` is not the provider assigned to (or holding) the shard.
    error MarketShardNotAssigned(uint256 dealId, uint256 shard, address caller);
    /// @notice The shard is in `status`, which does not allow this action.
    error MarketWrongShardStatus(uint256 dealId, uint256 shard, ShardStatus status);
    /// @notice The acceptance window of the shard closed at `deadline` (or is still open).
    error MarketAcceptanceWindow(uint256 dealId, uint256 shard, uint256 deadline);
    /// @notice The roots and providers given do not hash to the deal's commitment.
    error MarketCommitmentMismatch(uint256 dealId);
    /// @notice The deal ended at `endEpoch` (or has not ended yet, for settlement).
    error MarketDealEnded(uint256 dealId, uint256 endEpoch);
    /// @notice The seed of `epoch` (or of the draw committed to block `epoch`) is not known:
    /// not committed, its block not mined yet, or its block hash gone unsaved.
    error MarketSeedNotFixed(uint256 epoch);
    /// @notice Proofs for `epoch` are not accepted at `currentEpoch` (only during epoch and epoch + 1).
    error MarketProofWindowClosed(uint256 epoch, uint256 currentEpoch);
    /// @notice `epoch` is not after the provider's last proven epoch `lastProven`.
    error MarketEpochAlreadyProven(uint256 epoch, uint256 lastProven);
    /// @notice The provider had no leaves to challenge in `epoch`.
    error MarketNothingToProve(address provider, uint256 epoch);
    /// @notice `given` proofs where `expected` challenges were drawn.
    error MarketWrongProofCount(uint256 given, uint256 expected);
    /// @notice Challenge `challenge` (live leaf `leaf`) does not fall in proof-set entry `entry`.
    error MarketWrongEntry(uint256 challenge, uint256 entry, uint256 leaf);
    /// @notice The segment proof for challenge `challenge` is invalid.
    error MarketInvalidProof(uint256 challenge);
    /// @notice The missed-epoch report for `epoch` is not allowed: window open, not due, proven or reported.
    error MarketNotMissed(address provider, uint256 epoch);
    /// @notice A targeted challenge is already open on the shard.
    error MarketChallengeOpen(uint256 dealId, uint256 shard);
    /// @notice No targeted challenge is open on the shard.
    error MarketNoChallenge(uint256 dealId, uint256 shard);
    /// @notice The deadline `deadline` (epoch) has not passed yet, or has passed.
    error MarketDeadline(uint256 deadline, uint256 currentEpoch);
    /// @notice `provider` may not repair: it holds shard `heldShard` of the same deal.
    error MarketRepairIneligible(address provider, uint256 heldShard);
    /// @notice `caller` has no repair claim on the shard whose segment can still be drawn.
    error MarketNoRepairClaim(uint256 dealId, uint256 shard, address caller);
    /// @notice Nothing to withdraw.
    error MarketNothingToWithdraw(address account);
    /// @notice A governance parameter is out of range.
    error MarketInvalidParams();
    /// @notice StorageMarketExtension was called directly instead of through the market.
    error MarketDirectCall();
    /// @notice The extension given at deployment was built for another token, membership or
    /// treasury: its code, run by delegatecall, would move the wrong token or ask the wrong contracts.
    error MarketExtensionMismatch(address extension);
    /// @notice Ownership cannot be renounced: nobody could change the parameters again.
    error MarketRenounceDisabled();
    /// @notice An epoch length of zero.
    error MarketInvalidEpochLength(uint256 length);

    // ───────────────────────────── events ─────────────────────────────

    /// @notice A provider registered.
    event ProviderRegistered(
        address indexed provider,
        string endpoint,
        string[] multiaddrs,
        uint64 capacity,
        uint256 stake
    );
    /// @notice A provider changed its endpoint, addresses or capacity.
    event ProviderUpdated(address indexed provider, string endpoint, string[] multiaddrs, uint64 capacity);
    /// @notice A provider added `amount` to its stake.
    event StakeAdded(address indexed provider, uint256 amount, uint256 stake);
    /// @notice A provider left; its remaining `stake` moved to its withdrawable balance.
    event ProviderLeft(address indexed provider, uint256 stake);
    /// @notice A deal was created as `request` asked (roots, providers, manifest CID);
    /// `escrow` is held and `fee` went to the treasury.
    event DealCreated(
        uint256 indexed dealId,
        address indexed owner,
        DealRequest request,
        uint32 startEpoch,
        uint32 endEpoch,
        uint256 escrow,
        uint256 fee
    );
    /// @notice `provider` accepted shard `shard`; it is proof-set entry `entry`.
    event ShardAccepted(uint256 indexed dealId, uint8 indexed shard, address indexed provider, uint256 entry);
    /// @notice The owner reassigned an unaccepted shard to `provider`.
    event ShardReassigned(uint256 indexed dealId, uint8 indexed shard, address indexed provider);
    /// @notice A shard's unearned escrow `amount` was refunded to the owner and the shard closed.
    event ShardRefunded(uint256 indexed dealId, uint8 indexed shard, uint256 amount);
    /// @notice The owner extended the deal to `endEpoch`, paying `escrow` plus `fee`.
    event DealExtended(uint256 indexed dealId, uint32 endEpoch, uint256 escrow, uint256 fee);
    /// @notice The owner cancelled; the deal now ends at `endEpoch`; `refund` credited.
    event DealCancelled(uint256 indexed dealId, uint32 endEpoch, uint256 refund);
    /// @notice The seed of `epoch` will be the hash of block `seedBlock` (not mined yet).
    event SeedCommitted(uint256 indexed epoch, uint256 seedBlock);
    /// @notice The seed of `epoch` was saved.
    event SeedFixed(uint256 indexed epoch, bytes32 seed);
    /// @notice `provider` proved `epoch`.
    event EpochProven(address indexed provider, uint256 indexed epoch);
    /// @notice `provider` earned `amount` for `epochs` proven epochs of the shard.
    event ShardPaid(
        uint256 indexed dealId,
        uint8 indexed shard,
        address indexed provider,
        uint256 epochs,
        uint256 amount
    );
    /// @notice The shard's deal is over: `refund` (the unearned escrow) went to the owner,
    /// any unused repair reward to the treasury, and the shard is closed.
    event ShardSettled(uint256 indexed dealId, uint8 indexed shard, uint256 refund);
    /// @notice `provider` missed `epoch`: `slashed` from its stake, `bounty` to `reporter`.
    event EpochMissed(
        address indexed provider,
        uint256 indexed epoch,
        address indexed reporter,
        uint256 slashed,
        uint256 bounty
    );
    /// @notice `provider` missed too many epochs in a row; all its shards are lost.
    event ProviderFailed(address indexed provider, uint256 indexed epoch, uint256 repairPool);
    /// @notice The shard was lost (declared or a failed targeted challenge); `slashed` from
    /// the holder, of which `repairReward` now awaits a repairer.
    event ShardLost(
        uint256 indexed dealId,
        uint8 indexed shard,
        address indexed provider,
        uint256 slashed,
        uint256 repairReward
    );
    /// @notice `challenger` opened a targeted challenge on the shard; the hash of block
    /// `seedBlock` draws the segment to prove (also emitted when an unsaved draw is committed anew).
    event ShardChallenged(uint256 indexed dealId, uint8 indexed shard, address indexed challenger, uint256 seedBlock);
    /// @notice The challenged segment `segment` is fixed; the holder answers by epoch `deadline`.
    event ChallengeDrawn(uint256 indexed dealId, uint8 indexed shard, uint256 segment, uint32 deadline);
    /// @notice The holder answered the targeted challenge; the fee went to the holder.
    event ChallengeAnswered(uint256 indexed dealId, uint8 indexed shard, address indexed provider);
    /// @notice The targeted challenge went unanswered; fee refunded and `bounty` paid to the challenger.
    event ChallengeFailed(uint256 indexed dealId, uint8 indexed shard, address indexed challenger, uint256 bounty);
    /// @notice `provider` claimed the lost shard for repair; the hash of block `seedBlock`
    /// draws the segment it proves (within 256 blocks, else it claims again).
    event RepairClaimed(uint256 indexed dealId, uint8 indexed shard, address indexed provider, uint256 seedBlock);
    /// @notice `provider` took over the shard and was paid `reward`.
    event ShardRepaired(
        uint256 indexed dealId,
        uint8 indexed shard,
        address indexed provider,
        uint256 entry,
        uint256 reward
    );
    /// @notice `account` withdrew `amount`.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice Governance changed the parameters.
    event ParamsUpdated(Params params);
    /// @notice Governance changed the epoch length from `fromEpoch` on.
    event EpochLengthUpdated(uint256 indexed fromEpoch, uint256 length);
}
