// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";

import {LiveLeafTree} from "../libraries/LiveLeafTree.sol";

import {ICoopMembership} from "../interfaces/ICoopMembership.sol";
import {IPatronageTreasury} from "../interfaces/IPatronageTreasury.sol";
import {IStorageMarket} from "../interfaces/IStorageMarket.sol";

/// @title StorageMarketBase
/// @notice Storage layout and shared rules of the storage market. StorageMarket (deals,
/// proofs, views, governance) and StorageMarketExtension (deal management, faults and repair, reached by
/// delegatecall from StorageMarket so the market fits the 24 KiB code-size limit) both
/// inherit it, so both see the same storage at the same slots.
/// @dev Never add state variables to StorageMarket or StorageMarketExtension themselves: only here.
abstract contract StorageMarketBase is IStorageMarket {
    using SafeERC20 for IERC20;
    using BitMaps for BitMaps.BitMap;
    using LiveLeafTree for LiveLeafTree.Tree;

    uint256 internal constant MAX_SHARDS_ = 32;
    uint256 internal constant BPS = 10_000;
    uint256 internal constant WAD = 1e18;
    uint256 internal constant GIB = 1 << 30;
    uint256 internal constant MAX_LEAVES = type(uint32).max;
    /// @dev "No hint": look the position up by binary search.
    uint256 internal constant NO_HINT = type(uint256).max;

    IERC20 internal immutable _token;
    ICoopMembership internal immutable _membership;
    IPatronageTreasury internal immutable _treasury;

    struct Deal {
        address owner;
        uint32 startEpoch;
        uint32 endEpoch;
        uint8 k;
        uint8 n;
        bool cancelled;
        uint8 manifestCodec; // multicodec of the manifest CID (one-byte varint)
        uint96 shardRate;
        uint64 shardSize;
        uint32 leafCount;
        uint32 createdEpoch;
        uint32 acceptanceWindow; // frozen at creation: governance cannot move a running deal's deadlines
        bytes32 shardsHash; // keccak256(abi.encode(roots, providers))
        bytes32 manifestDigest; // sha2-256 digest of the manifest CID
    }

    /// @dev Nothing is written at deal creation (all zero = Assigned to the committed provider);
    /// acceptance, reassignment and repair write it.
    struct Shard {
        address provider; // zero while assigned to the committed provider
        uint32 epoch; // Assigned: assignment epoch; Active: first epoch not yet paid
        uint32 paidEpochs;
        ShardStatus status;
        bytes32 root;
        uint128 repairReward;
        uint128 challengeFee;
        address challenger;
        uint64 challengeSeedBlock; // the block whose hash draws the challenged segment
        uint32 challengeDeadline; // last epoch to answer; 0 until the draw is fixed
        // Frozen when the challenge opens, so a parameter change never reaches it.
        uint128 challengeSlash;
        uint16 challengeBountyBps;
        uint32 challengeWindow;
        uint32 entry; // the holder's proof-set entry
    }

    /// @dev Slot 1 is all a batch proof reads and writes (besides the tree, entries and seeds).
    struct Provider {
        uint128 stake;
        uint64 capacity;
        uint64 used;
        // slot 1
        uint32 entryCount;
        uint32 lastProven;
        uint32 failedEpoch;
        bool registered;
        uint32 liveShards;
        uint64 liveLeaves;
        // slot 2
        uint128 failPool; // stake left at failure, shared among its shards by leaves
        uint64 failLeaves;
    }

    struct ProviderInfo {
        string endpoint;
        string[] multiaddrs;
    }

    struct Clock {
        uint64 anchorTime;
        uint32 anchorEpoch;
        uint32 length;
    }

    struct Totals {
        uint128 balances;
        uint128 escrow;
        uint128 stakes;
        uint128 pools; // repair rewards, failure pools, challenge fees
    }

    Params internal _params;
    Clock internal _clock;
    Totals internal _totals;
    uint64 internal _lastDealId;

    mapping(uint256 dealId => Deal) internal _deals;
    mapping(uint256 dealId => mapping(uint256 shard => Shard)) internal _shards;
    mapping(address provider => Provider) internal _providers;
    mapping(address provider => ProviderInfo) internal _infos;
    mapping(address provider => mapping(uint256 entry => ProofSetEntry)) internal _entries;
    mapping(address provider => LiveLeafTree.Tree) internal _trees;
    /// @dev Proven epochs of each provider, strictly increasing (8 per slot).
    mapping(address provider => uint32[]) internal _proven;
    mapping(address provider => BitMaps.BitMap) internal _reported;
    /// @dev An epoch's seed is the hash of a block committed to before it was mined.
    mapping(uint256 epoch => uint256) internal _seedBlocks;
    mapping(uint256 epoch => bytes32) internal _seeds;
    /// @dev Hashes of committed blocks, saved before they leave the EVM's 256-block window.
    mapping(uint256 blockNumber => bytes32) internal _blockHashes;
    mapping(uint256 dealId => mapping(uint256 shard => mapping(address claimant => uint256 seedBlock)))
        internal _claims;
    mapping(address account => uint256) internal _balances;

    /// @param token_ Payment token.
    /// @param membership_ Co-op membership.
    /// @param treasury_ Patronage treasury.
    constructor(IERC20 token_, ICoopMembership membership_, IPatronageTreasury treasury_) {
        _token = token_;
        _membership = membership_;
        _treasury = treasury_;
    }

    /// @dev The current epoch: see StorageMarket.currentEpoch.
    function _currentEpoch() internal view returns (uint256) {
        Clock memory c = _clock;
        if (block.timestamp < c.anchorTime) return c.anchorEpoch - 1;
        return c.anchorEpoch + (block.timestamp - c.anchorTime) / c.length;
    }

    /// @dev Adds to an account's withdrawable balance (pull payment).
    function _credit(address account, uint256 amount) internal {
        if (amount == 0) return;
        _balances[account] += amount;
        _totals.balances += uint128(amount);
    }

    /// @dev Pulls escrow + fee from the caller, forwards the fee and records the fee as paid
    /// patronage. The escrow counts only as it is paid out (see _pay): escrow that is refunded
    /// (cancel, refund, unearned at settlement) must not earn points.
    function _collect(uint256 escrow, uint256 fee) internal {
        _token.safeTransferFrom(msg.sender, address(this), escrow + fee);
        if (fee != 0) _token.safeTransfer(address(_treasury), fee);
        _recordPatronage(msg.sender, fee, 0);
    }

    /// @dev Records patronage while this market is the treasury's recorder. Once governance
    /// points the recorder elsewhere (a new market, or none), payments and refunds go on
    /// unrecorded instead of reverting, so escrow and stakes can never be frozen by it.
    function _recordPatronage(address member, uint256 paid, uint256 earned) internal {
        if (_treasury.recorder() == address(this)) _treasury.recordPatronage(member, paid, earned);
    }

    /// @dev Reverts unless `stake` covers `capacity` at minStakePerGiB (rounded up).
    function _checkStake(uint256 stake, uint64 capacity) internal view {
        uint256 required = Math.mulDiv(capacity, _params.minStakePerGiB, GIB, Math.Rounding.Ceil);
        if (stake < required) revert MarketStakeTooLow(stake, required);
    }

    /// @dev The provider record of a registered account, or a revert.
    function _registered(address account) internal view returns (Provider storage p) {
        p = _providers[account];
        if (!p.registered) revert MarketNotRegistered(account);
    }

    /// @dev A provider that may take a shard: registered, still a member, not failed.
    function _checkProvider(address account) internal view returns (Provider storage p) {
        p = _registered(account);
        if (p.failedEpoch != 0) revert MarketProviderFailed(account, p.failedEpoch);
        if (!_membership.isMember(account)) revert MarketNotMember(account);
    }

    /// @dev Reverts unless `account` may take a shard of `size` bytes now.
    function _checkRoom(address account, uint64 size) internal view returns (Provider storage p) {
        p = _checkProvider(account);
        uint256 free = p.capacity - p.used;
        if (size > free) revert MarketInsufficientCapacity(account, size, free);
    }

    /// @dev Reserves capacity: at acceptance and at a repair claim (not at deal creation).
    function _reserve(address account, uint64 size) internal {
        _checkRoom(account, size).used += size;
    }

    /// @dev A deal and one of its shard slots, or a revert for unknown ids.
    function _shard(uint256 dealId, uint256 shard) internal view returns (Deal storage d, Shard storage s) {
        d = _deals[dealId];
        if (d.owner == address(0)) revert MarketUnknownDeal(dealId);
        if (shard >= d.n) revert MarketUnknownShard(dealId, shard);
        s = _shards[dealId][shard];
    }

    /// @dev A deal the caller owns, or a revert.
    function _ownedDeal(uint256 dealId) internal view returns (Deal storage d) {
        d = _deals[dealId];
        if (d.owner == address(0)) revert MarketUnknownDeal(dealId);
        if (d.owner != msg.sender) revert MarketNotDealOwner(dealId, msg.sender);
    }

    /// @dev A shard of the caller's deal that is still unaccepted after its acceptance window.
    function _ownedUnaccepted(uint256 dealId, uint256 shard) internal view returns (Deal storage d, Shard storage s) {
        d = _ownedDeal(dealId);
        (, s) = _shard(dealId, shard);
        if (s.status != ShardStatus.Assigned) revert MarketWrongShardStatus(dealId, shard, s.status);
        uint256 deadline = _assignedEpoch(d, s) + d.acceptanceWindow;
        if (_currentEpoch() <= deadline) revert MarketAcceptanceWindow(dealId, shard, deadline);
    }

    /// @dev Epoch from which an unaccepted shard's acceptance window runs.
    function _assignedEpoch(Deal storage d, Shard storage s) internal view returns (uint256) {
        return s.provider == address(0) ? d.createdEpoch : s.epoch;
    }

    /// @dev Checks `roots` and `providers` against the deal's commitment.
    function _checkCommitment(
        Deal storage d,
        uint256 dealId,
        bytes32[] calldata roots,
        address[] calldata providers
    ) internal view {
        if (keccak256(abi.encode(roots, providers)) != d.shardsHash) revert MarketCommitmentMismatch(dealId);
    }

    /// @dev Reverts when `account` is assigned or holds (not lost) any shard of the deal;
    /// `providers` is the deal's committed list (checked by the caller).
    function _checkNotHolding(
        Deal storage d,
        uint256 dealId,
        address account,
        address[] calldata providers
    ) internal view {
        for (uint256 i = 0; i < d.n; ++i) {
            Shard storage s = _shards[dealId][i];
            address holder = s.provider == address(0) ? providers[i] : s.provider;
            if (holder != account) continue;
            if (s.status == ShardStatus.Assigned || (s.status == ShardStatus.Active && !_isLost(s))) {
                revert MarketRepairIneligible(account, i);
            }
        }
    }

    /// @dev Shards of the deal not yet closed (n ≤ 32).
    function _openShards(Deal storage d, uint256 dealId) internal view returns (uint256 open) {
        for (uint256 i = 0; i < d.n; ++i) {
            if (_shards[dealId][i].status != ShardStatus.Closed) ++open;
        }
    }

    /// @dev Lost explicitly, or held by a provider that has failed.
    function _isLost(Shard storage s) internal view returns (bool) {
        return
            s.status == ShardStatus.Lost || (s.status == ShardStatus.Active && _providers[s.provider].failedEpoch != 0);
    }

    /// @dev Appends the shard to `account`'s proof set and live-leaf tree; it is challengeable
    /// and paid from the next epoch on.
    function _join(
        Deal storage d,
        uint256 dealId,
        uint256 shard,
        Shard storage s,
        address account,
        uint256 cur
    ) internal returns (uint256 entry) {
        Provider storage p = _providers[account];
        uint32 leafCount = d.leafCount;
        entry = p.entryCount;
        _entries[account][entry] = ProofSetEntry({
            dealId: uint64(dealId),
            shard: uint8(shard),
            leafCount: leafCount,
            addedEpoch: uint32(cur),
            removedEpoch: 0
        });
        _trees[account].append(entry, leafCount, cur);
        p.entryCount = uint32(entry + 1);
        p.liveShards += 1;
        p.liveLeaves += leafCount;
        s.status = ShardStatus.Active;
        s.epoch = uint32(cur + 1);
        s.entry = uint32(entry);
    }

    /// @dev Takes an active shard out of its holder's proof set (it stays challengeable in the
    /// current epoch, whose draw was fixed over the set as it began) and releases its capacity.
    function _detach(Deal storage d, Shard storage s, address holder, uint256 cur) internal {
        Provider storage p = _providers[holder];
        uint32 leaves = d.leafCount;
        uint256 entry = s.entry;
        _entries[holder][entry].removedEpoch = uint32(cur);
        _trees[holder].remove(entry, p.entryCount, leaves, cur);
        p.liveShards -= 1;
        p.liveLeaves -= leaves;
        p.used -= d.shardSize;
    }

    /// @dev The failure-pool share of `leaves` leaves (exact: the last shard takes the rest).
    /// Moved out of the pools.
    function _takeFailShare(Provider storage p, uint256 leaves) internal returns (uint256 share) {
        uint256 poolLeaves = p.failLeaves;
        if (poolLeaves == 0) return 0;
        share = leaves >= poolLeaves ? p.failPool : (uint256(p.failPool) * leaves) / poolLeaves;
        p.failPool -= uint128(share);
        p.failLeaves = uint64(poolLeaves - Math.min(leaves, poolLeaves));
        _totals.pools -= uint128(share);
    }

    /// @dev Pays the holder for its proven epochs in [s.epoch, stop).
    function _pay(
        uint256 dealId,
        uint256 shard,
        Deal storage d,
        Shard storage s,
        uint256 stop,
        uint256 hints
    ) internal {
        uint256 from = s.epoch;
        if (stop <= from) return;
        address holder = s.provider;
        uint32[] storage a = _proven[holder];
        // O(1) with correct hints (positions of `from` and `stop` in the proven-epoch list);
        // a wrong or missing hint falls back to binary search.
        uint256 epochs = _lowerBound(a, stop, hints & type(uint128).max) - _lowerBound(a, from, hints >> 128);
        s.epoch = uint32(stop);
        if (epochs == 0) return;
        uint256 amount = d.shardRate * epochs;
        s.paidEpochs += uint32(epochs);
        _totals.escrow -= uint128(amount);
        _credit(holder, amount);
        emit ShardPaid(dealId, uint8(shard), holder, epochs, amount);
        // Escrow spent on storage: paid patronage of the owner, earned patronage of the holder.
        // Paying oneself is no patronage: it would mint points from a round trip of one's own money.
        if (d.owner != holder) {
            _recordPatronage(d.owner, amount, 0);
            _recordPatronage(holder, 0, amount);
        }
    }

    /// @dev Closes a shard: the owner gets the unpaid escrow of [start, end); `forfeit` (an
    /// unused repair reward or failure-pool share: slashed stake) goes to the treasury, never
    /// to the owner, who may be the slashed provider itself.
    function _close(Deal storage d, Shard storage s, uint256 forfeit) internal returns (uint256 refund) {
        refund = d.shardRate * (d.endEpoch - d.startEpoch - s.paidEpochs);
        _totals.escrow -= uint128(refund);
        s.status = ShardStatus.Closed;
        _credit(d.owner, refund);
        if (forfeit != 0) _token.safeTransfer(address(_treasury), forfeit);
    }

    /// @dev Pays the holder's final epochs, slashes up to `amount` into the shard's repair
    /// reward, takes the shard out of the holder's proof set and marks it lost.
    function _loseShard(
        uint256 dealId,
        uint256 shard,
        Deal storage d,
        Shard storage s,
        uint256 amount,
        uint256 cur
    ) internal returns (uint256 slashed) {
        // The holder leaves the shard now: every epoch before this one that it has already
        // proven is paid (no later settlement reaches this holder).
        _pay(dealId, shard, d, s, Math.min(d.endEpoch, cur), NO_HINT);
        Provider storage p = _providers[s.provider];
        slashed = Math.min(amount, p.stake);
        p.stake -= uint128(slashed);
        _totals.stakes -= uint128(slashed);
        s.repairReward += uint128(slashed);
        _totals.pools += uint128(slashed);
        _detach(d, s, s.provider, cur);
        s.status = ShardStatus.Lost;
    }

    /// @dev Live leaf drawn by challenge `i` of `provider` under `seed`, over `range` live leaves.
    function _challengeLeaf(bytes32 seed, address provider, uint256 i, uint256 range) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, provider, i))) % range;
    }

    /// @dev The hash of a committed block: saved, or still in the EVM's 256-block window
    /// (zero before the block is mined and once it left the window unsaved).
    function _committedHash(uint256 blockNumber) internal view returns (bytes32 h) {
        h = _blockHashes[blockNumber];
        if (h == 0) h = blockhash(blockNumber);
    }

    /// @dev The seed of `epoch`: the hash of the block committed to when the epoch's seed was
    /// first asked for (zero until that block is mined, or for good if nobody saved it in time).
    function _epochSeed(uint256 epoch) internal view returns (bytes32) {
        bytes32 seed = _seeds[epoch];
        if (seed != 0) return seed;
        uint256 seedBlock = _seedBlocks[epoch];
        if (seedBlock == 0) return 0;
        bytes32 h = blockhash(seedBlock);
        return h == 0 ? bytes32(0) : keccak256(abi.encode(h, epoch, address(this)));
    }

    /// @dev _epochSeed, saved on first use so it outlives the 256-block window.
    function _saveSeed(uint256 epoch) internal returns (bytes32 seed) {
        seed = _epochSeed(epoch);
        if (seed != 0 && _seeds[epoch] == 0) {
            _seeds[epoch] = seed;
            emit SeedFixed(epoch, seed);
        }
    }

    /// @dev The segment of a `leafCount`-leaf shard that a targeted challenge (claimant zero)
    /// or a repair claim drawn from block `seedBlock` must prove; reverts while unknowable.
    function _drawSegment(
        uint256 seedBlock,
        uint256 dealId,
        uint256 shard,
        address claimant,
        uint256 leafCount
    ) internal view returns (uint256) {
        bytes32 h = seedBlock == 0 ? bytes32(0) : _committedHash(seedBlock);
        if (h == 0) revert MarketSeedNotFixed(seedBlock);
        return uint256(keccak256(abi.encode(h, dealId, shard, claimant))) % leafCount;
    }

    /// @dev Reverts unless the deadline epoch has passed (`passed`) or has not (`!passed`).
    function _checkDeadline(uint256 deadline, bool passed) internal view {
        uint256 cur = _currentEpoch();
        if ((cur > deadline) != passed) revert MarketDeadline(deadline, cur);
    }

    /// @dev Proven epochs of `provider` in [fromEpoch, toEpoch): O(log P) over its P proven
    /// epochs (one per epoch at most; never grows with deals, shards or users).
    function _provenBetween(address provider, uint256 fromEpoch, uint256 toEpoch) internal view returns (uint256) {
        if (toEpoch <= fromEpoch) return 0;
        uint32[] storage a = _proven[provider];
        return _lowerBound(a, toEpoch, NO_HINT) - _lowerBound(a, fromEpoch, NO_HINT);
    }

    /// @dev Number of elements of the sorted array below `x`. A correct `hint` (that number)
    /// is checked in O(1); otherwise the tail is checked (most lookups concern recent epochs),
    /// then a binary search runs.
    function _lowerBound(uint32[] storage a, uint256 x, uint256 hint) internal view returns (uint256) {
        uint256 hi = a.length;
        if (hint <= hi && (hint == 0 || a[hint - 1] < x) && (hint == hi || a[hint] >= x)) return hint;
        if (hi == 0 || a[hi - 1] < x) return hi;
        uint256 lo = 0;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (a[mid] < x) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
