// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";

import {ICoopMembership} from "../interfaces/ICoopMembership.sol";
import {IPatronageTreasury} from "../interfaces/IPatronageTreasury.sol";
import {SegmentMerkle} from "../libraries/SegmentMerkle.sol";
import {StorageMarketBase} from "./StorageMarketBase.sol";

/// @title StorageMarketExtension
/// @notice Provider upkeep (register, update, top up, leave), deal management (reassign, refund,
/// extend, cancel), faults and repair of the storage market. Runs only by delegatecall from
/// StorageMarket (which forwards these functions, under its reentrancy guard), on the
/// market's storage; a direct call reverts.
contract StorageMarketExtension is StorageMarketBase {
    using SafeERC20 for IERC20;
    using BitMaps for BitMaps.BitMap;

    address private immutable _self;

    modifier onlyDelegated() {
        if (address(this) == _self) revert MarketDirectCall();
        _;
    }

    /// @param token_ Payment token (the market's).
    /// @param membership_ Co-op membership (the market's).
    /// @param treasury_ Patronage treasury (the market's).
    constructor(
        IERC20 token_,
        ICoopMembership membership_,
        IPatronageTreasury treasury_
    ) StorageMarketBase(token_, membership_, treasury_) {
        _self = address(this);
    }

    /// @notice The token, membership and treasury this extension was built with (its immutables,
    /// which its code uses even when run by the market); the market checks them at deployment.
    function wiring() external view returns (IERC20, ICoopMembership, IPatronageTreasury) {
        return (_token, _membership, _treasury);
    }

    // ─────────────────────────── faults ───────────────────────────

    /// @notice Reports that `provider` did not prove `epoch`, which it owed (it held shards
    /// then), after the epoch's proof window closed. Slashes the stake: the reporter gets the
    /// bounty share, the owners of the provider's shards the rest (per leaf). After F
    /// consecutive unproven epochs the provider fails and all its shards are lost.
    /// @param provider The provider.
    /// @param epoch The missed epoch.
    function reportMissedEpoch(address provider, uint256 epoch) external onlyDelegated {
        Provider storage p = _providers[provider];
        if (!p.registered) revert MarketNotRegistered(provider);
        if (p.failedEpoch != 0) revert MarketProviderFailed(provider, p.failedEpoch);
        uint256 cur = _currentEpoch();
        if (
            epoch + 2 > cur ||
            !_due(p, epoch) ||
            _provenBetween(provider, epoch, epoch + 1) != 0 ||
            _reported[provider].get(epoch)
        ) revert MarketNotMissed(provider, epoch);
        _reported[provider].set(epoch);
        Params storage params_ = _params;
        uint256 slashed = Math.min(params_.missedEpochSlash, p.stake);
        uint256 bounty = (slashed * params_.bountyBps) / BPS;
        p.stake -= uint128(slashed);
        _totals.stakes -= uint128(slashed);
        _credit(msg.sender, bounty);
        uint256 toTreasury;
        if (p.activeLeaves != 0) {
            p.creditPerLeaf += ((slashed - bounty) * WAD) / p.activeLeaves;
            _totals.pools += uint128(slashed - bounty);
        } else {
            toTreasury = slashed - bounty;
        }
        emit EpochMissed(provider, epoch, msg.sender, slashed, bounty);
        uint256 f = params_.maxMissedEpochs;
        if (epoch >= f && _due(p, epoch + 1 - f) && _provenBetween(provider, epoch + 1 - f, epoch + 1) == 0) {
            uint128 pool = p.stake;
            p.stake = 0;
            p.failedEpoch = uint32(cur);
            _totals.stakes -= pool;
            if (p.activeLeaves != 0) {
                p.failPool = pool;
                p.failLeaves = p.activeLeaves;
                _totals.pools += pool;
            } else {
                toTreasury += pool;
            }
            emit ProviderFailed(provider, cur, pool);
        }
        if (toTreasury != 0) _token.safeTransfer(address(_treasury), toTreasury);
    }

    /// @notice The holder declares its shard lost (a smaller slash than being caught); the
    /// slash becomes the shard's repair reward and the shard opens for repair.
    /// @param dealId The deal.
    /// @param shard The shard index.
    function declareLost(uint256 dealId, uint256 shard) external onlyDelegated {
        (Deal storage d, Shard storage s) = _shard(dealId, shard);
        if (s.status != ShardStatus.Active) revert MarketWrongShardStatus(dealId, shard, s.status);
        if (s.provider != msg.sender) revert MarketShardNotAssigned(dealId, shard, msg.sender);
        if (s.challenger != address(0)) revert MarketChallengeOpen(dealId, shard);
        Provider storage p = _providers[msg.sender];
        if (p.failedEpoch != 0) revert MarketProviderFailed(msg.sender, p.failedEpoch);
        uint256 cur = _currentEpoch();
        if (cur >= d.endEpoch) revert MarketDealEnded(dealId, d.endEpoch);
        uint256 slashed = _loseShard(dealId, shard, d, s, p, _params.declaredLostSlash, cur);
        emit ShardLost(dealId, uint8(shard), msg.sender, slashed, slashed);
    }

    /// @notice Opens a targeted challenge on an active shard, escrowing the challenge fee. The
    /// holder must answer from the seed of the next epoch within the challenge window.
    /// @param dealId The deal.
    /// @param shard The shard index.
    function challengeShard(uint256 dealId, uint256 shard) external onlyDelegated {
        (Deal storage d, Shard storage s) = _shard(dealId, shard);
        if (s.status != ShardStatus.Active || _providers[s.provider].failedEpoch != 0) {
            revert MarketWrongShardStatus(dealId, shard, s.status);
        }
        if (s.challenger != address(0)) revert MarketChallengeOpen(dealId, shard);
        uint256 cur = _currentEpoch();
        if (cur >= d.endEpoch) revert MarketDealEnded(dealId, d.endEpoch);
        uint128 fee = _params.targetedChallengeFee;
        s.challenger = msg.sender;
        s.challengeEpoch = uint32(cur + 1);
        s.challengeFee = fee;
        _totals.pools += fee;
        emit ShardChallenged(dealId, uint8(shard), msg.sender, uint32(cur + 1));
        _token.safeTransferFrom(msg.sender, address(this), fee);
    }

    /// @notice Answers the open targeted challenge with the segment drawn from the seed of
    /// the challenge's seed epoch; the fee goes to the holder.
    /// @param dealId The deal.
    /// @param shard The shard index.
    /// @param segment The drawn segment.
    /// @param path Its sibling path.
    function answerChallenge(
        uint256 dealId,
        uint256 shard,
        bytes calldata segment,
        bytes32[] calldata path
    ) external onlyDelegated {
        (Deal storage d, Shard storage s) = _shard(dealId, shard);
        if (s.challenger == address(0)) revert MarketNoChallenge(dealId, shard);
        uint256 seedEpoch = s.challengeEpoch;
        _checkDeadline(seedEpoch + _params.challengeWindow, false);
        uint256 index = _drawSegment(seedEpoch, dealId, shard, address(0), d.leafCount);
        if (!SegmentMerkle.verify(s.root, d.leafCount, index, segment, path)) revert MarketInvalidProof(0);
        uint128 fee = s.challengeFee;
        s.challenger = address(0);
        s.challengeEpoch = 0;
        s.challengeFee = 0;
        _totals.pools -= fee;
        _credit(s.provider, fee);
        emit ChallengeAnswered(dealId, uint8(shard), s.provider);
    }

    /// @notice After an unanswered targeted challenge's deadline: the challenger gets its fee
    /// back plus the bounty share of the slash, the rest of the slash becomes the repair
    /// reward and the shard is lost. Anyone may call.
    /// @param dealId The deal.
    /// @param shard The shard index.
    function finalizeChallenge(uint256 dealId, uint256 shard) external onlyDelegated {
        (Deal storage d, Shard storage s) = _shard(dealId, shard);
        address challenger = s.challenger;
        if (challenger == address(0)) revert MarketNoChallenge(dealId, shard);
        _checkDeadline(s.challengeEpoch + _params.challengeWindow, true);
        uint128 fee = s.challengeFee;
        s.challenger = address(0);
        s.challengeEpoch = 0;
        s.challengeFee = 0;
        _totals.pools -= fee;
        address holder = s.provider;
        Provider storage p = _providers[holder];
        uint256 bounty;
        // A holder that failed meanwhile has no stake left; its shard is already lost.
        if (s.status == ShardStatus.Active && p.failedEpoch == 0) {
            uint256 slashed = _loseShard(dealId, shard, d, s, p, _params.targetedSlash, _currentEpoch());
            bounty = (slashed * _params.bountyBps) / BPS;
            s.repairReward -= uint128(bounty);
            _totals.pools -= uint128(bounty);
            emit ShardLost(dealId, uint8(shard), holder, slashed, slashed - bounty);
        }
        _credit(challenger, fee + bounty);
        emit ChallengeFailed(dealId, uint8(shard), challenger, bounty);
    }

    // ─────────────────────────── repair ───────────────────────────

    /// @notice An eligible provider (registered member, not the holder that lost the shard, not
    /// holding another shard of the deal) claims a lost shard. It must prove the shard from the seed of the next epoch
    /// within the repair window, or the claim lapses and anyone eligible may claim.
    /// @param dealId The deal.
    /// @param shard The shard index.
    /// @param roots All roots of the deal, as created.
    /// @param providers All providers of the deal, as created.
    function claimRepair(
        uint256 dealId,
        uint256 shard,
        bytes32[] calldata roots,
        address[] calldata providers
    ) external onlyDelegated {
        (Deal storage d, Shard storage s) = _shard(dealId, shard);
        if (!_isLost(s)) revert MarketWrongShardStatus(dealId, shard, s.status);
        // The holder that lost the shard may not repair it: it would win back its own slash
        // as the repair reward, making a declared loss or a failed challenge free.
        if (s.provider == msg.sender) revert MarketRepairIneligible(msg.sender, shard);
        uint256 cur = _currentEpoch();
        if (cur >= d.endEpoch) revert MarketDealEnded(dealId, d.endEpoch);
        address claimant = s.claimant;
        if (claimant != address(0) && cur <= s.claimEpoch + _params.repairWindow) {
            revert MarketRepairClaimed(claimant, msg.sender);
        }
        _checkCommitment(d, dealId, roots, providers);
        _dropClaim(d, s); // first, so a lapsed claimant may claim this shard again
        _checkNotHolding(d, dealId, msg.sender, providers);
        _reserve(msg.sender, d.shardSize);
        s.claimant = msg.sender;
        s.claimEpoch = uint32(cur + 1);
        emit RepairClaimed(dealId, uint8(shard), msg.sender, uint32(cur + 1));
    }

    /// @notice The claimant proves the segment drawn for it from its claim's seed epoch and
    /// takes over the shard: it is paid the repair reward now, the remaining escrow per
    /// proven epoch from the next epoch on, and the shard joins its proof set.
    /// @param dealId The deal.
    /// @param shard The shard index.
    /// @param segment The drawn segment.
    /// @param path Its sibling path.
    function completeRepair(
        uint256 dealId,
        uint256 shard,
        bytes calldata segment,
        bytes32[] calldata path
    ) external onlyDelegated {
        (Deal storage d, Shard storage s) = _shard(dealId, shard);
        // A claim exists only on a lost shard (settling or repairing it clears the claim).
        if (s.claimant != msg.sender) revert MarketRepairClaimed(s.claimant, msg.sender);
        uint256 cur = _currentEpoch();
        if (cur >= d.endEpoch) revert MarketDealEnded(dealId, d.endEpoch);
        uint256 seedEpoch = s.claimEpoch;
        _checkDeadline(seedEpoch + _params.repairWindow, false);
        uint256 index = _drawSegment(seedEpoch, dealId, shard, msg.sender, d.leafCount);
        if (!SegmentMerkle.verify(s.root, d.leafCount, index, segment, path)) revert MarketInvalidProof(0);
        uint256 reward = s.repairReward;
        s.repairReward = 0;
        _totals.pools -= uint128(reward);
        if (s.status == ShardStatus.Active) {
            // The holder failed: pay its last proven epochs, then hand over its pool share.
            Provider storage old = _providers[s.provider];
            _pay(dealId, shard, d, s, Math.min(d.endEpoch, old.failedEpoch), NO_HINT);
            _credit(d.owner, _detach(d, s, old, cur));
            reward += _takeFailShare(old, d.leafCount);
            // A challenge to the failed holder cannot bind the new one: refund its fee.
            if (s.challenger != address(0)) _refundChallenge(dealId, shard, s);
        }
        s.claimant = address(0);
        s.claimEpoch = 0;
        s.provider = msg.sender;
        _checkProvider(msg.sender);
        uint256 entry = _join(d, dealId, shard, s, msg.sender, cur);
        _credit(msg.sender, reward);
        emit ShardRepaired(dealId, uint8(shard), msg.sender, entry, reward);
        if (reward != 0) _recordPatronage(msg.sender, 0, reward);
    }

    /// @dev Closes the open targeted challenge and refunds its fee (no slash, no bounty).
    function _refundChallenge(uint256 dealId, uint256 shard, Shard storage s) private {
        address challenger = s.challenger;
        uint128 fee = s.challengeFee;
        s.challenger = address(0);
        s.challengeEpoch = 0;
        s.challengeFee = 0;
        _totals.pools -= fee;
        _credit(challenger, fee);
        emit ChallengeFailed(dealId, uint8(shard), challenger, 0);
    }

    /// @notice The owner hands an unaccepted shard, whose acceptance window has closed, to
    /// another provider, who gets a fresh acceptance window.
    /// @param dealId The deal.
    /// @param shard The shard index.
    /// @param provider The new provider.
    /// @param roots All roots of the deal, as created.
    /// @param providers All providers of the deal, as created.
    function reassignShard(
        uint256 dealId,
        uint256 shard,
        address provider,
        bytes32[] calldata roots,
        address[] calldata providers
    ) external onlyDelegated {
        (Deal storage d, Shard storage s) = _ownedUnaccepted(dealId, shard);
        uint256 cur = _currentEpoch();
        if (cur >= d.endEpoch) revert MarketDealEnded(dealId, d.endEpoch);
        _checkCommitment(d, dealId, roots, providers);
        _checkNotHolding(d, dealId, provider, providers);
        _checkRoom(provider, d.shardSize);
        s.provider = provider;
        s.epoch = uint32(cur);
        emit ShardReassigned(dealId, uint8(shard), provider);
    }

    /// @notice The owner takes back the escrow of an unaccepted shard whose acceptance window
    /// has closed; the shard is closed.
    /// @param dealId The deal.
    /// @param shard The shard index.
    function refundShard(uint256 dealId, uint256 shard) external onlyDelegated {
        (Deal storage d, Shard storage s) = _ownedUnaccepted(dealId, shard);
        uint256 refund = _close(d, s, 0);
        emit ShardRefunded(dealId, uint8(shard), refund);
    }

    /// @notice The owner adds `epochs` to a running deal, paying escrow and fee for every
    /// shard that is not closed.
    /// @param dealId The deal.
    /// @param epochs Epochs to add.
    function extendDeal(uint256 dealId, uint32 epochs) external onlyDelegated {
        Deal storage d = _ownedDeal(dealId);
        if (_currentEpoch() >= d.endEpoch || d.cancelled) revert MarketDealEnded(dealId, d.endEpoch);
        if (epochs == 0) revert MarketInvalidDeal(d.k, d.n, d.shardSize, 0);
        uint256 open = _openShards(d, dealId);
        uint256 escrow = d.shardRate * open * epochs;
        uint256 fee = (escrow * _params.feeBps) / BPS;
        uint32 end = d.endEpoch + epochs;
        d.endEpoch = end;
        // Holders now owe proofs until the new end.
        for (uint256 i = 0; i < d.n; ++i) {
            Shard storage s = _shards[dealId][i];
            if (s.status != ShardStatus.Active) continue;
            Provider storage p = _providers[s.provider];
            if (end > p.maxEnd) p.maxEnd = end;
        }
        _totals.escrow += uint128(escrow);
        emit DealExtended(dealId, end, escrow, fee);
        _collect(escrow, fee);
    }

    /// @notice The owner cancels: the deal ends after the current epoch (which stays payable)
    /// and the escrow of every later epoch is refunded now.
    /// @param dealId The deal.
    function cancelDeal(uint256 dealId) external onlyDelegated {
        Deal storage d = _ownedDeal(dealId);
        uint256 cur = _currentEpoch();
        if (cur >= d.endEpoch || d.cancelled) revert MarketDealEnded(dealId, d.endEpoch);
        uint256 newEnd = Math.max(cur + 1, d.startEpoch);
        uint256 refund = d.shardRate * _openShards(d, dealId) * (d.endEpoch - newEnd);
        d.endEpoch = uint32(newEnd);
        d.cancelled = true;
        _totals.escrow -= uint128(refund);
        _credit(d.owner, refund);
        emit DealCancelled(dealId, uint32(newEnd), refund);
    }

    /// @notice Registers the caller (a co-op member) as a provider, staking `stake` tokens.
    /// @param endpoint HTTP endpoint that receives shard uploads.
    /// @param multiaddrs libp2p addresses of the provider's IPFS node.
    /// @param capacity Bytes offered.
    /// @param stake Tokens staked; at least minStakePerGiB per GiB of capacity.
    function register(
        string calldata endpoint,
        string[] calldata multiaddrs,
        uint64 capacity,
        uint256 stake
    ) external onlyDelegated {
        if (!_membership.isMember(msg.sender)) revert MarketNotMember(msg.sender);
        Provider storage p = _providers[msg.sender];
        if (p.registered) revert MarketAlreadyRegistered(msg.sender);
        _checkStake(stake, capacity);
        p.registered = true;
        p.capacity = capacity;
        p.stake = SafeCast.toUint128(stake);
        p.failedEpoch = 0;
        _infos[msg.sender] = ProviderInfo(endpoint, multiaddrs);
        _totals.stakes += uint128(stake);
        emit ProviderRegistered(msg.sender, endpoint, multiaddrs, capacity, stake);
        _token.safeTransferFrom(msg.sender, address(this), stake);
    }

    /// @notice Changes the caller's endpoint, addresses and capacity.
    /// @param endpoint New HTTP endpoint.
    /// @param multiaddrs New libp2p addresses.
    /// @param capacity New capacity; not below what is in use, and covered by the stake.
    function updateProvider(
        string calldata endpoint,
        string[] calldata multiaddrs,
        uint64 capacity
    ) external onlyDelegated {
        Provider storage p = _registered(msg.sender);
        if (capacity < p.used) revert MarketCapacityBelowUsed(capacity, p.used);
        _checkStake(p.stake, capacity);
        p.capacity = capacity;
        _infos[msg.sender] = ProviderInfo(endpoint, multiaddrs);
        emit ProviderUpdated(msg.sender, endpoint, multiaddrs, capacity);
    }

    /// @notice Adds `amount` to the caller's stake.
    /// @param amount Tokens to add.
    function topUp(uint256 amount) external onlyDelegated {
        Provider storage p = _registered(msg.sender);
        p.stake += SafeCast.toUint128(amount);
        _totals.stakes += uint128(amount);
        emit StakeAdded(msg.sender, amount, p.stake);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Deregisters the caller once it holds and reserves nothing and its last owed
    /// epoch is reportable (two epochs after its last shard left); the stake moves to its
    /// withdrawable balance.
    function leave() external onlyDelegated {
        Provider storage p = _registered(msg.sender);
        if (p.activeShards != 0 || p.used != 0) revert MarketProviderBusy(msg.sender, p.activeShards, p.used);
        // The last owed epoch (idleSince - 1) becomes reportable at idleSince + 1: leave only
        // after that, so a provider cannot escape a missed-epoch slash by leaving at once.
        // (After a settlement idleSince is the deal's end, usually already that far back.)
        if (p.idleSince != 0 && _currentEpoch() <= p.idleSince + 1) {
            revert MarketProviderBusy(msg.sender, 0, 0);
        }
        uint128 stake = p.stake;
        p.stake = 0;
        p.registered = false;
        p.failedEpoch = 0;
        _totals.stakes -= stake;
        _credit(msg.sender, stake);
        emit ProviderLeft(msg.sender, stake);
    }
}
