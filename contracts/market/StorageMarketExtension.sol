// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";

import {ICoopMembership} from "../interfaces/ICoopMembership.sol";
import {IPatronageTreasury} from "../interfaces/IPatronageTreasury.sol";
import {LiveLeafTree} from "../libraries/LiveLeafTree.sol";
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
    using LiveLeafTree for LiveLeafTree.Tree;

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

    // ─────────────────────────── settlement ───────────────────────────

    /// @notice Pays the holder of a shard for its proven epochs whose proof window has closed,
    /// and, once the deal is over, closes the shard: the owner gets the unearned escrow, the
    /// treasury any unused repair reward, and the shard leaves its holder's proof set (it is
    /// challenged in the current epoch still). Anyone may call.
    /// @param dealId The deal.
    /// @param shard The shard index.
    function settleShard(uint256 dealId, uint256 shard) external onlyDelegated {
        _settle(dealId, shard, NO_HINT);
    }

    /// @notice settleShard in O(1): `fromHint` and `toHint` are the positions (see
    /// provenIndex) of the shard's first unpaid epoch and of the settlement stop,
    /// min(end, current - 1) (or the holder's failure epoch), in the holder's proven-epoch
    /// list. Wrong hints cost a binary search, never a wrong payment.
    /// @param dealId The deal.
    /// @param shard The shard index.
    /// @param fromHint provenIndex(holder, first unpaid epoch).
    /// @param toHint provenIndex(holder, stop).
    function settleShardWithHints(
        uint256 dealId,
        uint256 shard,
        uint128 fromHint,
        uint128 toHint
    ) external onlyDelegated {
        _settle(dealId, shard, (uint256(fromHint) << 128) | toHint);
    }

    /// @dev settleShard with optional hints (see _pay).
    function _settle(uint256 dealId, uint256 shard, uint256 hints) private {
        (Deal storage d, Shard storage s) = _shard(dealId, shard);
        if (s.challenger != address(0)) revert MarketChallengeOpen(dealId, shard);
        uint256 cur = _currentEpoch();
        ShardStatus status = s.status;
        if (status == ShardStatus.Active) {
            Provider storage p = _providers[s.provider];
            // Only epochs whose proof window has closed are final (a failed holder proves no more).
            uint256 stop = Math.min(d.endEpoch, p.failedEpoch != 0 ? p.failedEpoch : cur - 1);
            _pay(dealId, shard, d, s, stop, hints);
            if (cur <= d.endEpoch) return;
            _detach(d, s, s.provider, cur);
            emit ShardSettled(dealId, uint8(shard), _close(d, s, _takeFailShare(p, d.leafCount)));
        } else if (status == ShardStatus.Assigned || status == ShardStatus.Lost) {
            if (cur <= d.endEpoch) revert MarketDealEnded(dealId, d.endEpoch);
            uint256 reward = s.repairReward;
            s.repairReward = 0;
            _totals.pools -= uint128(reward);
            emit ShardSettled(dealId, uint8(shard), _close(d, s, reward));
        } else {
            revert MarketWrongShardStatus(dealId, shard, status);
        }
    }

    // ─────────────────────────── faults ───────────────────────────

    /// @notice Reports that `provider` did not prove `epoch`, which it owed (its proof set held
    /// live leaves at the start of the epoch), after the epoch's proof window closed. Slashes the
    /// stake: the reporter gets the bounty share, the treasury the rest. An epoch whose seed
    /// nobody could know is owed by nobody. Once F consecutive epochs are reported, the provider
    /// fails and all its shards are lost.
    /// @param provider The provider.
    /// @param epoch The missed epoch.
    function reportMissedEpoch(address provider, uint256 epoch) external onlyDelegated {
        Provider storage p = _providers[provider];
        if (!p.registered) revert MarketNotRegistered(provider);
        if (p.failedEpoch != 0) revert MarketProviderFailed(provider, p.failedEpoch);
        uint256 cur = _currentEpoch();
        LiveLeafTree.Tree storage tree = _trees[provider];
        // Owed: live leaves at the epoch's start, and a seed anyone could have known (an epoch
        // whose seed nobody committed or saved in time could not be proven by anyone).
        if (
            epoch + 2 > cur ||
            _trees[provider].totalAt(epoch) == 0 ||
            _epochSeed(epoch) == 0 ||
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
        // Not to the owners of the provider's shards: any split among them is a weighting the
        // provider could buy with deals of its own, and get its slash back. Owners are made
        // whole by the refund of every unproven epoch's escrow.
        uint256 toTreasury = slashed - bounty;
        emit EpochMissed(provider, epoch, msg.sender, slashed, bounty);
        if (_reportedRun(provider, epoch, params_.maxMissedEpochs)) {
            uint128 pool = p.stake;
            p.stake = 0;
            p.failedEpoch = uint32(cur);
            _totals.stakes -= pool;
            if (p.liveLeaves != 0) {
                p.failPool = pool;
                p.failLeaves = p.liveLeaves;
                _totals.pools += pool;
            } else {
                toTreasury += pool;
            }
            emit ProviderFailed(provider, cur, pool);
        }
        if (toTreasury != 0) _token.safeTransfer(address(_treasury), toTreasury);
    }

    /// @dev Whether `epoch` (just reported) lies in a run of at least `f` consecutive reported
    /// epochs, in whatever order they were reported. Each report checked that its epoch was owed,
    /// knowable and unproven, so the run is F consecutive misses. At most 2·f bitmap reads.
    function _reportedRun(address provider, uint256 epoch, uint256 f) private view returns (bool) {
        BitMaps.BitMap storage reported = _reported[provider];
        uint256 run = 1;
        for (uint256 x = epoch; run < f && x > 1 && reported.get(x - 1); --x) ++run;
        for (uint256 x = epoch + 1; run < f && reported.get(x); ++x) ++run;
        return run >= f;
    }

    /// @notice The holder declares its shard lost (a smaller slash than being caught); the
    /// slash becomes the shard's repair reward and the shard opens for repair. The shard stays
    /// challengeable in the current epoch, whose draw was fixed over the set as it began.
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
        uint256 slashed = _loseShard(dealId, shard, d, s, _params.declaredLostSlash, cur);
        emit ShardLost(dealId, uint8(shard), msg.sender, slashed, slashed);
    }

    /// @notice Opens a targeted challenge on an active shard, escrowing the challenge fee. The
    /// segment to prove is drawn from the hash of the next block; the holder answers within
    /// the challenge window counted from when the draw is fixed (fixChallengeSeed).
    /// @param dealId The deal.
    /// @param shard The shard index.
    function challengeShard(uint256 dealId, uint256 shard) external onlyDelegated {
        (Deal storage d, Shard storage s) = _shard(dealId, shard);
        if (s.status != ShardStatus.Active || _providers[s.provider].failedEpoch != 0) {
            revert MarketWrongShardStatus(dealId, shard, s.status);
        }
        if (s.challenger != address(0)) revert MarketChallengeOpen(dealId, shard);
        if (_currentEpoch() >= d.endEpoch) revert MarketDealEnded(dealId, d.endEpoch);
        Params storage params_ = _params;
        uint128 fee = params_.targetedChallengeFee;
        s.challenger = msg.sender;
        s.challengeSeedBlock = uint64(block.number + 1);
        s.challengeDeadline = 0;
        s.challengeFee = fee;
        s.challengeSlash = params_.targetedSlash;
        s.challengeBountyBps = params_.bountyBps;
        s.challengeWindow = params_.challengeWindow;
        _totals.pools += fee;
        emit ShardChallenged(dealId, uint8(shard), msg.sender, block.number + 1);
        _token.safeTransferFrom(msg.sender, address(this), fee);
    }

    /// @notice Fixes an open targeted challenge's draw: saves the hash of its seed block and
    /// starts the answer deadline (now + the challenge's window). If the hash left the
    /// 256-block window unsaved, commits the draw to the next block instead. Anyone may call.
    /// @param dealId The deal.
    /// @param shard The shard index.
    function fixChallengeSeed(uint256 dealId, uint256 shard) external onlyDelegated {
        (Deal storage d, Shard storage s) = _shard(dealId, shard);
        if (s.challenger == address(0)) revert MarketNoChallenge(dealId, shard);
        if (s.challengeDeadline != 0) revert MarketDeadline(s.challengeDeadline, _currentEpoch());
        uint256 seedBlock = s.challengeSeedBlock;
        if (block.number <= seedBlock) revert MarketSeedNotFixed(seedBlock);
        bytes32 h = blockhash(seedBlock);
        if (h == 0) {
            // Nobody saved the draw in time: draw anew. The holder cannot profit by letting a
            // draw lapse while the challenger (or anyone) saves the new one.
            s.challengeSeedBlock = uint64(block.number + 1);
            emit ShardChallenged(dealId, uint8(shard), s.challenger, block.number + 1);
            return;
        }
        _blockHashes[seedBlock] = h;
        uint32 deadline = uint32(_currentEpoch() + s.challengeWindow);
        s.challengeDeadline = deadline;
        emit ChallengeDrawn(
            dealId,
            uint8(shard),
            _drawSegment(seedBlock, dealId, shard, address(0), d.leafCount),
            deadline
        );
    }

    /// @notice Answers the open targeted challenge with the segment drawn (see drawnSegment);
    /// the fee goes to the holder.
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
        uint256 deadline = s.challengeDeadline;
        if (deadline != 0) _checkDeadline(deadline, false);
        uint256 index = _drawSegment(s.challengeSeedBlock, dealId, shard, address(0), d.leafCount);
        if (!SegmentMerkle.verify(s.root, d.leafCount, index, segment, path)) revert MarketInvalidProof(0);
        uint128 fee = _clearChallenge(s);
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
        // The deadline runs only once the draw is fixed, i.e. once the holder can know it.
        uint256 deadline = s.challengeDeadline;
        if (deadline == 0) revert MarketSeedNotFixed(s.challengeSeedBlock);
        _checkDeadline(deadline, true);
        (uint256 slash, uint256 bountyBps) = (s.challengeSlash, s.challengeBountyBps);
        uint128 fee = _clearChallenge(s);
        address holder = s.provider;
        uint256 bounty;
        // A holder that failed meanwhile has no stake left; its shard is already lost.
        if (s.status == ShardStatus.Active && _providers[holder].failedEpoch == 0) {
            uint256 slashed = _loseShard(dealId, shard, d, s, slash, _currentEpoch());
            bounty = (slashed * bountyBps) / BPS;
            s.repairReward -= uint128(bounty);
            _totals.pools -= uint128(bounty);
            emit ShardLost(dealId, uint8(shard), holder, slashed, slashed - bounty);
        }
        _credit(challenger, fee + bounty);
        emit ChallengeFailed(dealId, uint8(shard), challenger, bounty);
    }

    // ─────────────────────────── repair ───────────────────────────

    /// @notice An eligible provider (registered member, not the holder that lost the shard, not
    /// holding another shard of the deal) claims a lost shard: the hash of the next block draws
    /// the segment it must prove. Claims are not exclusive: the first claimant to complete wins.
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
        _checkRepairer(d, dealId, s, shard, roots, providers);
        _checkRoom(msg.sender, d.shardSize);
        _claims[dealId][shard][msg.sender] = block.number + 1;
        emit RepairClaimed(dealId, uint8(shard), msg.sender, block.number + 1);
    }

    /// @notice A claimant proves the segment drawn for it (see drawnSegment; within 256 blocks of
    /// its claim) and takes over the shard: it is paid the repair reward now, the remaining
    /// escrow per proven epoch from the next epoch on, and the shard joins its proof set.
    /// @param dealId The deal.
    /// @param shard The shard index.
    /// @param segment The drawn segment.
    /// @param path Its sibling path.
    /// @param roots All roots of the deal, as created.
    /// @param providers All providers of the deal, as created.
    function completeRepair(
        uint256 dealId,
        uint256 shard,
        bytes calldata segment,
        bytes32[] calldata path,
        bytes32[] calldata roots,
        address[] calldata providers
    ) external onlyDelegated {
        (Deal storage d, Shard storage s) = _shard(dealId, shard);
        if (!_isLost(s)) revert MarketWrongShardStatus(dealId, shard, s.status);
        uint256 seedBlock = _claims[dealId][shard][msg.sender];
        if (seedBlock == 0 || blockhash(seedBlock) == 0) revert MarketNoRepairClaim(dealId, shard, msg.sender);
        // Eligibility again: the claimant may have taken another shard of the deal meanwhile.
        _checkRepairer(d, dealId, s, shard, roots, providers);
        uint256 index = _drawSegment(seedBlock, dealId, shard, msg.sender, d.leafCount);
        if (!SegmentMerkle.verify(s.root, d.leafCount, index, segment, path)) revert MarketInvalidProof(0);
        delete _claims[dealId][shard][msg.sender];
        _takeOver(d, dealId, shard, s);
    }

    /// @dev The repairer takes the lost shard: the reward, the slot, a proof-set entry.
    function _takeOver(Deal storage d, uint256 dealId, uint256 shard, Shard storage s) private {
        uint256 cur = _currentEpoch();
        uint256 reward = s.repairReward;
        s.repairReward = 0;
        _totals.pools -= uint128(reward);
        if (s.status == ShardStatus.Active) {
            // The holder failed: pay its last proven epochs, then hand over its pool share.
            Provider storage old = _providers[s.provider];
            _pay(dealId, shard, d, s, Math.min(d.endEpoch, old.failedEpoch), NO_HINT);
            _detach(d, s, s.provider, cur);
            reward += _takeFailShare(old, d.leafCount);
            // A challenge to the failed holder cannot bind the new one: refund its fee.
            if (s.challenger != address(0)) {
                address challenger = s.challenger;
                _credit(challenger, _clearChallenge(s));
                emit ChallengeFailed(dealId, uint8(shard), challenger, 0);
            }
        }
        _reserve(msg.sender, d.shardSize);
        s.provider = msg.sender;
        uint256 entry = _join(d, dealId, shard, s, msg.sender, cur);
        // The reward is slashed stake: it earns no patronage (members could pass it back and forth).
        _credit(msg.sender, reward);
        emit ShardRepaired(dealId, uint8(shard), msg.sender, entry, reward);
    }

    /// @dev Reverts unless the caller may repair the lost shard now: a provider that may take
    /// shards, not its last holder (it would win back its own slash), holding no other shard of
    /// the deal, before the deal's end.
    function _checkRepairer(
        Deal storage d,
        uint256 dealId,
        Shard storage s,
        uint256 shard,
        bytes32[] calldata roots,
        address[] calldata providers
    ) private view {
        if (s.provider == msg.sender) revert MarketRepairIneligible(msg.sender, shard);
        if (_currentEpoch() >= d.endEpoch) revert MarketDealEnded(dealId, d.endEpoch);
        _checkCommitment(d, dealId, roots, providers);
        _checkNotHolding(d, dealId, msg.sender, providers);
        _checkProvider(msg.sender);
    }

    /// @dev Closes the open targeted challenge; returns its fee (moved out of the pools).
    function _clearChallenge(Shard storage s) private returns (uint128 fee) {
        fee = s.challengeFee;
        s.challenger = address(0);
        s.challengeSeedBlock = 0;
        s.challengeDeadline = 0;
        s.challengeFee = 0;
        _totals.pools -= fee;
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
        if (p.liveShards != 0 || p.used != 0) revert MarketProviderBusy(msg.sender, p.liveShards, p.used);
        // The last owed epoch is the one in which the last shard left (its draw was fixed over
        // the set as it began); it becomes reportable two epochs later: leave only after that,
        // so a provider cannot escape a missed-epoch slash by leaving at once.
        uint256 lastChange = _trees[msg.sender].lastChange();
        if (lastChange != 0 && _currentEpoch() <= lastChange + 2) revert MarketProviderBusy(msg.sender, 0, 0);
        uint128 stake = p.stake;
        p.stake = 0;
        p.registered = false;
        p.failedEpoch = 0;
        _totals.stakes -= stake;
        _credit(msg.sender, stake);
        emit ProviderLeft(msg.sender, stake);
    }
}
