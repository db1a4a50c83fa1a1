// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ICoopMembership} from "../interfaces/ICoopMembership.sol";
import {IPatronageTreasury} from "../interfaces/IPatronageTreasury.sol";
import {LiveLeafTree} from "../libraries/LiveLeafTree.sol";
import {SegmentMerkle} from "../libraries/SegmentMerkle.sol";
import {StorageMarketBase} from "./StorageMarketBase.sol";
import {StorageMarketExtension} from "./StorageMarketExtension.sol";

/// @title StorageMarket
/// @notice Storage deals between data owners and member providers. Each provider keeps one
/// append-only proof set; every epoch it answers c challenges drawn over the leaves of its
/// whole set with one batch proof, and each shard is paid per proven epoch from escrow.
/// @dev Rules and reasons: docs/protocol.md, "Storage market". Tokens leave the contract
/// only through `withdraw` (pull payments) and to the treasury. Provider upkeep, deal
/// management, faults and repair run in StorageMarketExtension by delegatecall (same storage
/// layout through StorageMarketBase), so the market stays under the 24 KiB code-size limit;
/// its ABI still lists every function.
contract StorageMarket is StorageMarketBase, Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using LiveLeafTree for LiveLeafTree.Tree;

    /// @notice Largest n (shards per deal).
    uint256 public constant MAX_SHARDS = MAX_SHARDS_;
    /// @notice Largest bountyBps: a provider that reports its own miss still loses half the slash.
    uint256 public constant MAX_BOUNTY_BPS = 5_000;

    /// @notice The payment token (EIP-2612 permit for createDealWithPermit).
    IERC20 public immutable token;
    /// @notice Who may provide storage.
    ICoopMembership public immutable membership;
    /// @notice Receives the co-op fee and records patronage.
    IPatronageTreasury public immutable treasury;
    /// @notice The provider-upkeep, deal-management, faults and repair code this market delegates to.
    address public immutable extension;

    // ─────────────────────────── construction & governance ───────────────────────────

    /// @param token_ Payment token.
    /// @param membership_ Co-op membership.
    /// @param treasury_ Patronage treasury (the market must be its recorder).
    /// @param extension_ A StorageMarketExtension deployed with the same token, membership and treasury.
    /// @param owner_ Governance (the timelock).
    /// @param epochLength Initial epoch length in seconds; epoch 1 starts at deployment.
    /// @param params_ Initial parameters.
    constructor(
        IERC20 token_,
        ICoopMembership membership_,
        IPatronageTreasury treasury_,
        address extension_,
        address owner_,
        uint32 epochLength,
        Params memory params_
    ) StorageMarketBase(token_, membership_, treasury_) Ownable(owner_) {
        token = token_;
        membership = membership_;
        treasury = treasury_;
        extension = extension_;
        (IERC20 extToken, ICoopMembership extMembership, IPatronageTreasury extTreasury) = StorageMarketExtension(
            extension_
        ).wiring();
        if (extToken != token_ || extMembership != membership_ || extTreasury != treasury_) {
            revert MarketExtensionMismatch(extension_);
        }
        if (epochLength == 0) revert MarketInvalidEpochLength(0);
        _clock = Clock({anchorTime: uint64(block.timestamp), anchorEpoch: 1, length: epochLength});
        _setParams(params_);
    }

    /// @notice Governance: replaces every parameter. Deals keep the price locked at creation.
    /// @param params_ New parameters.
    function setParams(Params calldata params_) external onlyOwner {
        _setParams(params_);
    }

    /// @notice Governance: sets the epoch length from the next epoch on. Epoch numbers never
    /// jump: the clock is re-anchored at the start of the next epoch.
    /// @param length New length in seconds.
    function setEpochLength(uint32 length) external onlyOwner {
        if (length == 0) revert MarketInvalidEpochLength(0);
        Clock memory c = _clock;
        uint256 next = currentEpoch() + 1;
        if (block.timestamp >= c.anchorTime) {
            // Start of the next epoch under the current length becomes the new anchor.
            c.anchorTime = uint64(c.anchorTime + (next - c.anchorEpoch) * c.length);
            c.anchorEpoch = uint32(next);
        }
        c.length = length;
        _clock = c;
        emit EpochLengthUpdated(next, length);
    }

    /// @notice Disabled: without an owner no parameter could ever change again.
    function renounceOwnership() public view override onlyOwner {
        revert MarketRenounceDisabled();
    }

    function _setParams(Params memory p) private {
        if (
            p.pricePerByteEpoch == 0 ||
            p.feeBps > BPS ||
            p.bountyBps > MAX_BOUNTY_BPS ||
            p.challengesPerEpoch == 0 ||
            p.challengesPerEpoch > 16 ||
            p.maxMissedEpochs == 0 ||
            p.acceptanceWindow == 0 ||
            p.challengeWindow == 0
        ) revert MarketInvalidParams();
        _params = p;
        emit ParamsUpdated(p);
    }

    // ─────────────────────────── providers ───────────────────────────

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
    ) external nonReentrant {
        (endpoint, multiaddrs, capacity, stake);
        _delegate();
    }

    /// @notice Changes the caller's endpoint, addresses and capacity.
    /// @param endpoint New HTTP endpoint.
    /// @param multiaddrs New libp2p addresses.
    /// @param capacity New capacity; not below what is in use, and covered by the stake.
    function updateProvider(
        string calldata endpoint,
        string[] calldata multiaddrs,
        uint64 capacity
    ) external nonReentrant {
        (endpoint, multiaddrs, capacity);
        _delegate();
    }

    /// @notice Adds `amount` to the caller's stake.
    /// @param amount Tokens to add.
    function topUp(uint256 amount) external nonReentrant {
        amount;
        _delegate();
    }

    /// @notice Deregisters the caller once it holds and reserves nothing and its last owed
    /// epoch is reportable (two epochs after its last shard left); the stake moves to its
    /// withdrawable balance.
    function leave() external nonReentrant {
        _delegate();
    }

    /// @notice Withdraws the caller's whole internal balance (earnings, refunds, bounties).
    function withdraw() external nonReentrant {
        uint256 amount = _balances[msg.sender];
        if (amount == 0) revert MarketNothingToWithdraw(msg.sender);
        _balances[msg.sender] = 0;
        _totals.balances -= uint128(amount);
        emit Withdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    // ─────────────────────────── deals ───────────────────────────

    /// @notice Creates a deal, paying escrow plus the co-op fee (see quoteDeal).
    /// @param req The deal's shape, roots, providers and manifest CID.
    /// @return dealId The new deal's id.
    function createDeal(DealRequest calldata req) external nonReentrant returns (uint256 dealId) {
        return _createDeal(req);
    }

    /// @notice createDeal with an EIP-2612 permit for the payment, in one transaction.
    /// @dev A failing permit is ignored (it may have been front-run); the transfer then
    /// needs the allowance to be there anyway.
    /// @param req The deal.
    /// @param value Permit value (at least quoteDeal's total).
    /// @param deadline Permit deadline.
    /// @param v Signature v.
    /// @param r Signature r.
    /// @param s Signature s.
    /// @return dealId The new deal's id.
    function createDealWithPermit(
        DealRequest calldata req,
        uint256 value,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256 dealId) {
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), value, deadline, v, r, s) {} catch {}
        return _createDeal(req);
    }

    function _createDeal(DealRequest calldata req) private returns (uint256 dealId) {
        uint256 n = req.roots.length;
        if (
            req.k == 0 ||
            req.k > n ||
            n > MAX_SHARDS ||
            req.providers.length != n ||
            req.shardSize == 0 ||
            req.durationEpochs == 0 ||
            Math.ceilDiv(req.shardSize, SegmentMerkle.SEGMENT_SIZE) > MAX_LEAVES
        ) revert MarketInvalidDeal(req.k, n, req.shardSize, req.durationEpochs);
        bytes calldata cid = req.manifestCid;
        // CIDv1 (0x01), one-byte codec, sha2-256 multihash (0x12, 32 bytes): stored as codec + digest.
        if (cid.length != 36 || cid[0] != 0x01 || uint8(cid[1]) >= 0x80 || cid[2] != 0x12 || cid[3] != 0x20) {
            revert MarketInvalidManifestCid(cid);
        }
        (uint256 rate, uint256 escrow, uint256 fee) = quoteDeal(req.shardSize, n, req.durationEpochs);
        uint32 cur = uint32(currentEpoch());
        dealId = ++_lastDealId;
        for (uint256 i = 0; i < n; ++i) {
            address provider = req.providers[i];
            for (uint256 j = 0; j < i; ++j) {
                if (req.providers[j] == provider) revert MarketDuplicateProvider(provider, i);
            }
            // Capacity is only checked here; the provider reserves it by accepting.
            _checkRoom(provider, req.shardSize);
        }
        _deals[dealId] = Deal({
            owner: msg.sender,
            startEpoch: cur + 1,
            endEpoch: cur + 1 + req.durationEpochs,
            k: req.k,
            n: uint8(n),
            cancelled: false,
            manifestCodec: uint8(cid[1]),
            shardRate: SafeCast.toUint96(rate),
            shardSize: req.shardSize,
            leafCount: uint32(Math.ceilDiv(req.shardSize, SegmentMerkle.SEGMENT_SIZE)),
            createdEpoch: cur,
            acceptanceWindow: _params.acceptanceWindow,
            shardsHash: keccak256(abi.encode(req.roots, req.providers)),
            manifestDigest: bytes32(cid[4:36])
        });
        _totals.escrow += uint128(escrow);
        emit DealCreated(dealId, msg.sender, req, cur + 1, cur + 1 + req.durationEpochs, escrow, fee);
        _collect(escrow, fee);
    }

    /// @notice The assigned provider accepts its shard (after checking the data against the
    /// root): it reserves the capacity, the shard joins its proof set and is paid from the
    /// next epoch on.
    /// @param dealId The deal.
    /// @param shard The shard index.
    /// @param roots All roots of the deal, as created.
    /// @param providers All providers of the deal, as created (checked with `roots` against
    /// the deal's commitment).
    function acceptShard(
        uint256 dealId,
        uint256 shard,
        bytes32[] calldata roots,
        address[] calldata providers
    ) external {
        (Deal storage d, Shard storage s) = _shard(dealId, shard);
        if (s.status != ShardStatus.Assigned) revert MarketWrongShardStatus(dealId, shard, s.status);
        _checkCommitment(d, dealId, roots, providers);
        address assigned = s.provider == address(0) ? providers[shard] : s.provider;
        if (assigned != msg.sender) revert MarketShardNotAssigned(dealId, shard, msg.sender);
        uint256 cur = currentEpoch();
        uint256 deadline = _assignedEpoch(d, s) + d.acceptanceWindow;
        if (cur > deadline) revert MarketAcceptanceWindow(dealId, shard, deadline);
        if (cur + 1 >= d.endEpoch) revert MarketDealEnded(dealId, d.endEpoch);
        _reserve(msg.sender, d.shardSize);
        s.provider = msg.sender;
        s.root = roots[shard];
        uint256 entry = _join(d, dealId, shard, s, msg.sender, cur);
        emit ShardAccepted(dealId, uint8(shard), msg.sender, entry);
    }

    /// @notice Pays the holder of a shard for its proven epochs whose proof window has closed,
    /// and, once the deal is over, closes the shard: the owner gets the unearned escrow, the
    /// treasury any unused repair reward, and the shard leaves its holder's proof set (it is
    /// challenged in the current epoch still). Anyone may call.
    /// @param dealId The deal.
    /// @param shard The shard index.
    function settleShard(uint256 dealId, uint256 shard) external nonReentrant {
        (dealId, shard);
        _delegate();
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
    ) external nonReentrant {
        (dealId, shard, fromHint, toHint);
        _delegate();
    }

    // ─────────────────────────── proofs ───────────────────────────

    /// @notice Fixes epoch seeds. The first call in an epoch commits the epoch's seed to the
    /// hash of the next block, unknown to everyone when the commitment is made, so no caller
    /// can choose the seed by choosing when to call; a later call saves it once that block is
    /// mined (and saves the previous epoch's, if still unsaved). Anyone may call.
    /// @return seed The current epoch's seed, or zero while it cannot be known yet.
    function fixSeed() external returns (bytes32 seed) {
        uint256 epoch = currentEpoch();
        if (epoch > 1) _saveSeed(epoch - 1);
        if (_seedBlocks[epoch] != 0) return _saveSeed(epoch);
        _seedBlocks[epoch] = block.number + 1;
        emit SeedCommitted(epoch, block.number + 1);
    }

    /// @notice The caller's batch proof for `epoch`: one proof per challenge, in challenge
    /// order. Challenges fall on the leaves live in the caller's proof set at the start of
    /// `epoch`. Accepted during epochs `epoch` and `epoch + 1` once the seed is known, and only
    /// for an epoch after the caller's last proven one.
    /// @param epoch The epoch proven.
    /// @param proofs Entry, segment and path for each of the c challenges.
    function submitProof(uint256 epoch, SegmentProof[] calldata proofs) external {
        Provider storage p = _providers[msg.sender];
        if (!p.registered) revert MarketNotRegistered(msg.sender);
        if (p.failedEpoch != 0) revert MarketProviderFailed(msg.sender, p.failedEpoch);
        uint256 cur = currentEpoch();
        if (epoch > cur || epoch + 1 < cur) revert MarketProofWindowClosed(epoch, cur);
        if (epoch <= p.lastProven) revert MarketEpochAlreadyProven(epoch, p.lastProven);
        bytes32 seed = _saveSeed(epoch);
        if (seed == 0) revert MarketSeedNotFixed(epoch);
        LiveLeafTree.Tree storage tree = _trees[msg.sender];
        uint256 range = tree.totalAt(epoch);
        if (range == 0) revert MarketNothingToProve(msg.sender, epoch);
        uint256 c = _params.challengesPerEpoch;
        if (proofs.length != c) revert MarketWrongProofCount(proofs.length, c);
        uint256 entryCount = p.entryCount;
        for (uint256 i = 0; i < c; ++i) {
            _checkProof(tree, entryCount, epoch, i, _challengeLeaf(seed, msg.sender, i, range), proofs[i]);
        }
        p.lastProven = uint32(epoch);
        _proven[msg.sender].push(uint32(epoch));
        emit EpochProven(msg.sender, epoch);
    }

    /// @dev Reverts unless `pr` proves live leaf `leaf` of the caller's set at the start of `epoch`
    /// (challenge `i`): the entry held it then, and the segment is in the shard's tree there.
    function _checkProof(
        LiveLeafTree.Tree storage tree,
        uint256 entryCount,
        uint256 epoch,
        uint256 i,
        uint256 leaf,
        SegmentProof calldata pr
    ) private view {
        uint256 entry = pr.entry;
        if (entry >= entryCount) revert MarketWrongEntry(i, entry, leaf);
        ProofSetEntry memory e = _entries[msg.sender][entry];
        // Only an entry live at the start of `epoch` holds live leaves then.
        if (e.addedEpoch >= epoch || (e.removedEpoch != 0 && e.removedEpoch < epoch)) {
            revert MarketWrongEntry(i, entry, leaf);
        }
        uint256 start = tree.leavesBefore(entry, epoch);
        if (leaf < start || leaf >= start + e.leafCount) revert MarketWrongEntry(i, entry, leaf);
        bytes32 root = _shards[e.dealId][e.shard].root;
        if (!SegmentMerkle.verify(root, e.leafCount, leaf - start, pr.segment, pr.path)) revert MarketInvalidProof(i);
    }

    // ─────────────────────────── deal management, faults & repair (StorageMarketExtension) ───────────────────────────

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
    ) external nonReentrant {
        (dealId, shard, provider, roots, providers);
        _delegate();
    }

    /// @notice The owner takes back the escrow of an unaccepted shard whose acceptance window
    /// has closed; the shard is closed.
    /// @param dealId The deal.
    /// @param shard The shard index.
    function refundShard(uint256 dealId, uint256 shard) external nonReentrant {
        (dealId, shard);
        _delegate();
    }

    /// @notice The owner adds `epochs` to a running deal, paying escrow and fee for every
    /// shard that is not closed.
    /// @param dealId The deal.
    /// @param epochs Epochs to add.
    function extendDeal(uint256 dealId, uint32 epochs) external nonReentrant {
        (dealId, epochs);
        _delegate();
    }

    /// @notice The owner cancels: the deal ends after the current epoch (which stays payable)
    /// and the escrow of every later epoch is refunded now.
    /// @param dealId The deal.
    function cancelDeal(uint256 dealId) external nonReentrant {
        dealId;
        _delegate();
    }

    /// @notice Reports that `provider` did not prove `epoch`, which it owed (its proof set held
    /// live leaves at the start of the epoch), after the epoch's proof window closed. Slashes the
    /// stake: the reporter gets the bounty share, the treasury the rest. An epoch whose seed
    /// nobody could know is owed by nobody. Once F consecutive epochs are reported, the provider
    /// fails and all its shards are lost.
    /// @param provider The provider.
    /// @param epoch The missed epoch.
    function reportMissedEpoch(address provider, uint256 epoch) external nonReentrant {
        (provider, epoch);
        _delegate();
    }

    /// @notice The holder declares its shard lost (a smaller slash than being caught); the
    /// slash becomes the shard's repair reward and the shard opens for repair.
    /// @param dealId The deal.
    /// @param shard The shard index.
    function declareLost(uint256 dealId, uint256 shard) external nonReentrant {
        (dealId, shard);
        _delegate();
    }

    /// @notice Opens a targeted challenge on an active shard, escrowing the challenge fee. The
    /// segment to prove is drawn from the hash of the next block; the holder answers within
    /// the challenge window counted from when the draw is fixed (fixChallengeSeed).
    /// @param dealId The deal.
    /// @param shard The shard index.
    function challengeShard(uint256 dealId, uint256 shard) external nonReentrant {
        (dealId, shard);
        _delegate();
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
    ) external nonReentrant {
        (dealId, shard, segment, path);
        _delegate();
    }

    /// @notice Fixes an open targeted challenge's draw: saves the hash of its seed block and
    /// starts the answer deadline (now + the challenge's window). If the hash left the
    /// 256-block window unsaved, commits the draw to the next block instead. Anyone may call.
    /// @param dealId The deal.
    /// @param shard The shard index.
    function fixChallengeSeed(uint256 dealId, uint256 shard) external nonReentrant {
        (dealId, shard);
        _delegate();
    }

    /// @notice After an unanswered targeted challenge's deadline: the challenger gets its fee
    /// back plus the bounty share of the slash, the rest of the slash becomes the repair
    /// reward and the shard is lost. Anyone may call.
    /// @param dealId The deal.
    /// @param shard The shard index.
    function finalizeChallenge(uint256 dealId, uint256 shard) external nonReentrant {
        (dealId, shard);
        _delegate();
    }

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
    ) external nonReentrant {
        (dealId, shard, roots, providers);
        _delegate();
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
    ) external nonReentrant {
        (dealId, shard, segment, path, roots, providers);
        _delegate();
    }

    /// @dev Runs the current call's function in StorageMarketExtension on this storage; bubbles reverts.
    function _delegate() private {
        address target = extension;
        // Forward the calldata verbatim; no return data (the forwarded functions return nothing).
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, 0, calldatasize())
            if iszero(delegatecall(gas(), target, ptr, calldatasize(), 0, 0)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
        }
    }

    // ─────────────────────────── views ───────────────────────────

    /// @notice The current epoch (epoch 1 began at deployment).
    /// @return The epoch number.
    function currentEpoch() public view returns (uint256) {
        return _currentEpoch();
    }

    /// @notice The epoch clock: from `anchorTime` on, epoch `anchorEpoch + floor((t -
    /// anchorTime) / length)`; before it, `anchorEpoch - 1`.
    /// @return anchorTime Anchor timestamp.
    /// @return anchorEpoch Epoch starting at the anchor.
    /// @return length Epoch length in seconds.
    function epochClock() external view returns (uint64 anchorTime, uint32 anchorEpoch, uint32 length) {
        Clock memory c = _clock;
        return (c.anchorTime, c.anchorEpoch, c.length);
    }

    /// @notice Current governance parameters.
    /// @return The parameters.
    function params() external view returns (Params memory) {
        return _params;
    }

    /// @notice Price of a deal at the current parameters.
    /// @param shardSize Bytes per shard.
    /// @param n Number of shards.
    /// @param durationEpochs Epochs.
    /// @return shardRate Tokens per shard per epoch: ceil(shardSize · pricePerByteEpoch / 1e18).
    /// @return escrow shardRate · n · durationEpochs, held in escrow.
    /// @return fee escrow · feeBps / 10000, sent to the treasury.
    function quoteDeal(
        uint256 shardSize,
        uint256 n,
        uint256 durationEpochs
    ) public view returns (uint256 shardRate, uint256 escrow, uint256 fee) {
        shardRate = Math.mulDiv(shardSize, _params.pricePerByteEpoch, WAD, Math.Rounding.Ceil);
        escrow = shardRate * n * durationEpochs;
        fee = (escrow * _params.feeBps) / BPS;
    }

    /// @notice A deal.
    /// @param dealId The deal.
    /// @return v The deal.
    function getDeal(uint256 dealId) external view returns (DealView memory v) {
        Deal storage d = _deals[dealId];
        if (d.owner == address(0)) revert MarketUnknownDeal(dealId);
        v = DealView({
            owner: d.owner,
            k: d.k,
            n: d.n,
            shardSize: d.shardSize,
            leafCount: d.leafCount,
            createdEpoch: d.createdEpoch,
            startEpoch: d.startEpoch,
            endEpoch: d.endEpoch,
            shardRate: d.shardRate,
            cancelled: d.cancelled,
            shardsHash: d.shardsHash,
            manifestCid: abi.encodePacked(bytes1(0x01), d.manifestCodec, bytes2(0x1220), d.manifestDigest)
        });
    }

    /// @notice A shard slot.
    /// @param dealId The deal.
    /// @param shard The shard index.
    /// @return v The shard.
    function getShard(uint256 dealId, uint256 shard) external view returns (ShardView memory v) {
        (Deal storage d, Shard storage s) = _shard(dealId, shard);
        v = ShardView({
            status: s.status,
            lost: _isLost(s),
            provider: s.provider,
            root: s.root,
            epoch: s.status == ShardStatus.Assigned ? uint32(_assignedEpoch(d, s)) : s.epoch,
            paidEpochs: s.paidEpochs,
            repairReward: s.repairReward,
            challenger: s.challenger,
            challengeSeedBlock: s.challengeSeedBlock,
            challengeDeadline: s.challengeDeadline,
            entry: s.entry
        });
    }

    /// @notice A provider.
    /// @param provider The provider.
    /// @return v The provider.
    function getProvider(address provider) external view returns (ProviderView memory v) {
        Provider storage p = _providers[provider];
        ProviderInfo storage info = _infos[provider];
        v = ProviderView({
            registered: p.registered,
            endpoint: info.endpoint,
            multiaddrs: info.multiaddrs,
            capacity: p.capacity,
            used: p.used,
            stake: p.stake,
            entryCount: p.entryCount,
            activeLeaves: p.liveLeaves,
            activeShards: p.liveShards,
            lastProvenEpoch: p.lastProven,
            failedEpoch: p.failedEpoch,
            provenEpochs: _proven[provider].length
        });
    }

    /// @notice A page of a provider's proof set.
    /// @param provider The provider.
    /// @param offset First entry.
    /// @param limit Most entries to return.
    /// @return entries The entries [offset, offset + limit) that exist.
    function getProofSet(
        address provider,
        uint256 offset,
        uint256 limit
    ) external view returns (ProofSetEntry[] memory entries) {
        uint256 count = _providers[provider].entryCount;
        uint256 end = Math.min(count, offset + limit);
        if (offset >= end) return entries;
        entries = new ProofSetEntry[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            entries[i - offset] = _entries[provider][i];
        }
    }

    /// @notice The challenges of `provider` in `epoch` (exact for the current and the previous
    /// epoch, the proof window; empty until the seed is known or when nothing was live).
    /// @param provider The provider.
    /// @param epoch The epoch.
    /// @return entries The proof-set entry holding each challenged leaf.
    /// @return segments The segment index inside that entry's shard.
    function getEpochChallenges(
        address provider,
        uint256 epoch
    ) external view returns (uint256[] memory entries, uint256[] memory segments) {
        bytes32 seed = _epochSeed(epoch);
        LiveLeafTree.Tree storage tree = _trees[provider];
        uint256 range = tree.totalAt(epoch);
        if (seed == 0 || range == 0) return (entries, segments);
        // The entries appended before `epoch` (addedEpoch only grows along the set).
        uint256 count = _providers[provider].entryCount;
        while (count > 0 && _entries[provider][count - 1].addedEpoch >= epoch) --count;
        uint256 c = _params.challengesPerEpoch;
        entries = new uint256[](c);
        segments = new uint256[](c);
        for (uint256 i = 0; i < c; ++i) {
            (entries[i], segments[i]) = tree.find(_challengeLeaf(seed, provider, i, range), count, epoch);
        }
    }

    /// @notice An epoch's seed and the block committed to for it (seed zero until known).
    /// @param epoch The epoch.
    /// @return seed The seed.
    /// @return seedBlock The block whose hash makes the seed (zero until committed).
    function seedOf(uint256 epoch) external view returns (bytes32 seed, uint256 seedBlock) {
        return (_epochSeed(epoch), _seedBlocks[epoch]);
    }

    /// @notice The segment index a targeted challenge (`claimant` zero) or a repair claim
    /// must prove, once its seed block is mined.
    /// @param dealId The deal.
    /// @param shard The shard index.
    /// @param claimant Zero for the targeted challenge, else the repair claimant.
    /// @return index The segment index.
    function drawnSegment(uint256 dealId, uint256 shard, address claimant) external view returns (uint256 index) {
        (Deal storage d, Shard storage s) = _shard(dealId, shard);
        uint256 seedBlock = claimant == address(0) ? s.challengeSeedBlock : _claims[dealId][shard][claimant];
        return _drawSegment(seedBlock, dealId, shard, claimant, d.leafCount);
    }

    /// @notice Number of epochs in [fromEpoch, toEpoch) that `provider` proved.
    /// @param provider The provider.
    /// @param fromEpoch First epoch.
    /// @param toEpoch Epoch after the last.
    /// @return count Proven epochs.
    function provenEpochsBetween(
        address provider,
        uint256 fromEpoch,
        uint256 toEpoch
    ) external view returns (uint256 count) {
        return _provenBetween(provider, fromEpoch, toEpoch);
    }

    /// @notice Position of `epoch` in `provider`'s proven-epoch list: how many of its proven
    /// epochs are below `epoch` (the hints of settleShardWithHints).
    /// @param provider The provider.
    /// @param epoch The epoch.
    /// @return index The position.
    function provenIndex(address provider, uint256 epoch) external view returns (uint256 index) {
        return _lowerBound(_proven[provider], epoch, NO_HINT);
    }

    /// @notice An account's withdrawable balance.
    /// @param account The account.
    /// @return The balance.
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    /// @notice What the market owes, by kind; together equal to its token balance.
    /// @return balances Withdrawable balances.
    /// @return escrow Deal escrow not yet paid or refunded.
    /// @return stakes Provider stakes.
    /// @return pools Missed-epoch credits, repair rewards, failure pools, challenge fees.
    function totals() external view returns (uint256 balances, uint256 escrow, uint256 stakes, uint256 pools) {
        Totals memory t = _totals;
        return (t.balances, t.escrow, t.stakes, t.pools);
    }
}
