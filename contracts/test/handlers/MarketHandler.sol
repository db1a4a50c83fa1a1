// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";

import {IStorageMarket} from "../../interfaces/IStorageMarket.sol";
import {StorageMarket} from "../../market/StorageMarket.sol";
import {FaucetToken} from "../../token/FaucetToken.sol";

/// @notice Invariant-test handler for StorageMarket: owners create one-segment-shard deals,
/// providers accept, prove (or skip) epochs, declare losses; anyone reports, settles,
/// cancels and withdraws; time moves by whole epochs. Every call is bounded and tolerant of
/// reverts (a reverted action is simply a no-op in the campaign).
contract MarketHandler is Test {
    StorageMarket public immutable market;
    FaucetToken public immutable token;
    uint256 public immutable epochLength;

    address[] public providers;
    address[] public actors; // providers, the data owner, the reporter
    address public immutable dataOwner;
    address public immutable reporter;
    /// @dev A registered provider chosen for no deal: the only one that repairs.
    address public immutable repairer;

    struct DealInfo {
        uint256 id;
        uint256 nonce;
        bytes32[] roots;
        address[] providers;
    }

    DealInfo[] internal _deals;
    /// @dev Segment nonce of each deal id, to rebuild its one-segment shards.
    mapping(uint256 dealId => uint256) public nonceOf;
    uint256 internal _nonce;

    uint256 public proofs;
    uint256 public settlements;
    uint256 public repairs;
    /// @dev The repairer's latest claim: deal index + 1 (0: none) and shard.
    uint256 private _claimedDeal;
    uint256 private _claimedShard;
    uint256 public failedChallenges;
    uint256 public answeredChallenges;

    constructor(
        StorageMarket market_,
        FaucetToken token_,
        address[] memory providers_,
        address owner_,
        address rep,
        address repairer_
    ) {
        market = market_;
        token = token_;
        providers = providers_;
        dataOwner = owner_;
        reporter = rep;
        repairer = repairer_;
        (, , uint32 length) = market_.epochClock();
        epochLength = length;
        for (uint256 i = 0; i < providers_.length; ++i) actors.push(providers_[i]);
        actors.push(owner_);
        actors.push(rep);
        actors.push(repairer_);
    }

    /// @notice The one 512-byte segment of shard `shard` of a deal with segment nonce `nonce`.
    function segment(uint256 nonce, uint256 shard) public pure returns (bytes memory seg) {
        seg = new bytes(512);
        bytes32 word = keccak256(abi.encode(nonce, shard));
        assembly ("memory-safe") {
            mstore(add(seg, 0x20), word)
        }
    }

    function dealCount() external view returns (uint256) {
        return _deals.length;
    }

    function dealAt(uint256 i) external view returns (uint256 id, address[] memory ps) {
        return (_deals[i].id, _deals[i].providers);
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    // ───────────────────────────── actions ─────────────────────────────

    function createDeal(uint256 seed) external {
        uint256 n = bound(seed, 1, providers.length);
        uint256 nonce = ++_nonce;
        bytes32[] memory roots = new bytes32[](n);
        address[] memory ps = new address[](n);
        for (uint256 i = 0; i < n; ++i) {
            roots[i] = sha256(abi.encodePacked(bytes1(0x00), segment(nonce, i)));
            ps[i] = providers[(seed / 7 + i) % providers.length];
        }
        IStorageMarket.DealRequest memory req = IStorageMarket.DealRequest({
            k: 1,
            shardSize: uint64(bound(seed / 11, 1, 512)),
            durationEpochs: uint32(bound(seed / 13, 1, 12)),
            roots: roots,
            providers: ps,
            manifestCid: abi.encodePacked(bytes4(0x01551220), bytes32(nonce))
        });
        vm.prank(dataOwner);
        try market.createDeal(req) returns (uint256 id) {
            _deals.push(DealInfo({id: id, nonce: nonce, roots: roots, providers: ps}));
            nonceOf[id] = nonce;
        } catch {}
    }

    /// @notice The next unaccepted shard's provider accepts it (or tries to: the window may be over).
    function accept(uint256 seed) external {
        if (_deals.length == 0) return;
        // Start at a random deal and take the first shard still Assigned from there.
        for (uint256 k = 0; k < _deals.length; ++k) {
            DealInfo storage d = _deals[(seed + k) % _deals.length];
            for (uint256 shard = 0; shard < d.providers.length; ++shard) {
                if (market.getShard(d.id, shard).status != IStorageMarket.ShardStatus.Assigned) continue;
                vm.prank(d.providers[shard]);
                try market.acceptShard(d.id, shard, d.roots, d.providers) {
                    return;
                } catch {}
            }
        }
    }

    function advance(uint256 seed) external {
        uint256 epochs = bound(seed, 1, 2);
        vm.warp(vm.getBlockTimestamp() + epochs * epochLength);
        vm.roll(vm.getBlockNumber() + 1);
    }

    /// @notice Commits the epoch's seed, mines the committed block and saves the seed.
    function fixSeed() external {
        market.fixSeed();
        vm.roll(vm.getBlockNumber() + 2);
        market.fixSeed();
    }

    /// @notice A provider proves the current epoch (honestly: it holds every shard).
    function prove(uint256 seed) external {
        _proveAs(providers[seed % providers.length]);
    }

    function _proveAs(address p) internal {
        uint256 epoch = market.currentEpoch();
        (uint256[] memory entries, ) = market.getEpochChallenges(p, epoch);
        if (entries.length == 0) return;
        IStorageMarket.SegmentProof[] memory batch = new IStorageMarket.SegmentProof[](entries.length);
        for (uint256 i = 0; i < entries.length; ++i) {
            IStorageMarket.ProofSetEntry[] memory e = market.getProofSet(p, entries[i], 1);
            batch[i] = IStorageMarket.SegmentProof({
                entry: entries[i],
                segment: segment(nonceOf[e[0].dealId], e[0].shard),
                path: new bytes32[](0)
            });
        }
        vm.prank(p);
        try market.submitProof(epoch, batch) {
            ++proofs;
        } catch {}
    }

    function report(uint256 seed) external {
        address p = providers[seed % providers.length];
        uint256 cur = market.currentEpoch();
        if (cur < 3) return;
        uint256 epoch = cur - 2 - ((seed / 5) % (cur - 2));
        vm.prank(reporter);
        try market.reportMissedEpoch(p, epoch) {} catch {}
    }

    function settle(uint256 seed) external {
        if (_deals.length == 0) return;
        DealInfo storage d = _deals[seed % _deals.length];
        try market.settleShard(d.id, (seed / 3) % d.providers.length) {
            ++settlements;
        } catch {}
    }

    function cancel(uint256 seed) external {
        if (_deals.length == 0) return;
        vm.prank(dataOwner);
        try market.cancelDeal(_deals[seed % _deals.length].id) {} catch {}
    }

    function declareLost(uint256 seed) external {
        if (_deals.length == 0) return;
        DealInfo storage d = _deals[seed % _deals.length];
        uint256 shard = (seed / 3) % d.providers.length;
        vm.prank(d.providers[shard]);
        try market.declareLost(d.id, shard) {} catch {}
    }

    /// @notice The reporter opens a targeted challenge on a shard.
    function challenge(uint256 seed) external {
        if (_deals.length == 0) return;
        DealInfo storage d = _deals[seed % _deals.length];
        vm.prank(reporter);
        try market.challengeShard(d.id, (seed / 3) % d.providers.length) {} catch {}
    }

    /// @dev First shard (deal index, shard) matching `what`: 0 open challenge, 1 lost.
    /// Bounded by the deals made so far.
    function _find(uint256 what) internal view returns (bool found, uint256 di, uint256 shard) {
        for (di = 0; di < _deals.length; ++di) {
            DealInfo storage d = _deals[di];
            for (shard = 0; shard < d.providers.length; ++shard) {
                IStorageMarket.ShardView memory v = market.getShard(d.id, shard);
                if (what == 0 && v.challenger != address(0)) return (true, di, shard);
                if (what == 1 && v.lost) return (true, di, shard);
            }
        }
    }

    /// @notice The holder answers an open targeted challenge (one-segment shards: segment 0).
    function answer() external {
        (bool found, uint256 di, uint256 shard) = _find(0);
        if (!found) return;
        DealInfo storage d = _deals[di];
        try market.answerChallenge(d.id, shard, segment(d.nonce, shard), new bytes32[](0)) {
            ++answeredChallenges;
        } catch {}
    }

    /// @notice Anyone fixes an open targeted challenge's draw, then finalizes it (succeeds once
    /// its deadline passed).
    function finalize() external {
        (bool found, uint256 di, uint256 shard) = _find(0);
        if (!found) return;
        try market.fixChallengeSeed(_deals[di].id, shard) {} catch {}
        try market.finalizeChallenge(_deals[di].id, shard) {
            ++failedChallenges;
        } catch {}
    }

    /// @notice The repairer claims the first lost shard.
    function claimRepair() external {
        (bool found, uint256 di, uint256 shard) = _find(1);
        if (!found) return;
        DealInfo storage d = _deals[di];
        vm.prank(repairer);
        try market.claimRepair(d.id, shard, d.roots, d.providers) {
            (_claimedDeal, _claimedShard) = (di + 1, shard);
        } catch {}
    }

    /// @notice The repairer completes its latest claim.
    function completeRepair() external {
        if (_claimedDeal == 0) return;
        DealInfo storage d = _deals[_claimedDeal - 1];
        vm.prank(repairer);
        try
            market.completeRepair(
                d.id,
                _claimedShard,
                segment(d.nonce, _claimedShard),
                new bytes32[](0),
                d.roots,
                d.providers
            )
        {
            ++repairs;
        } catch {}
    }

    /// @notice The repairer proves the current epoch for the shards it took over.
    function proveRepairer() external {
        _proveAs(repairer);
    }

    function withdraw(uint256 seed) external {
        vm.prank(actors[seed % actors.length]);
        try market.withdraw() {} catch {}
    }
}
