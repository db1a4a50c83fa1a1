// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {CoopMembership} from "../coop/CoopMembership.sol";
import {PatronageTreasury} from "../coop/PatronageTreasury.sol";
import {ICoopMembership} from "../interfaces/ICoopMembership.sol";
import {IPatronageTreasury} from "../interfaces/IPatronageTreasury.sol";
import {IStorageMarket} from "../interfaces/IStorageMarket.sol";
import {StorageMarket} from "../market/StorageMarket.sol";
import {StorageMarketExtension} from "../market/StorageMarketExtension.sol";
import {FaucetToken} from "../token/FaucetToken.sol";
import {MarketHandler} from "./handlers/MarketHandler.sol";

/// @notice StorageMarket fuzz and invariant tests: token conservation and no pay for an
/// unproven epoch (64 runs × 100 calls each, set inline to keep the suite quick). Shards are one segment (a leaf is its own root), so proofs are cheap to
/// build on-chain in the handler.
contract StorageMarketTest is Test {
    uint32 internal constant EPOCH = 100;

    FaucetToken internal token;
    CoopMembership internal membership;
    PatronageTreasury internal treasury;
    StorageMarket internal market;
    MarketHandler internal handler;
    address[] internal providers;
    address internal owner = makeAddr("owner");
    address internal reporter = makeAddr("reporter");
    address internal repairer = makeAddr("repairer");

    function _params() internal pure returns (IStorageMarket.Params memory) {
        return
            IStorageMarket.Params({
                pricePerByteEpoch: 1e18,
                minStakePerGiB: 100e18,
                missedEpochSlash: 1e18,
                declaredLostSlash: 0.5e18,
                targetedSlash: 2e18,
                targetedChallengeFee: 0.1e18,
                feeBps: 500,
                bountyBps: 2_000,
                challengesPerEpoch: 3,
                maxMissedEpochs: 3,
                acceptanceWindow: 2,
                challengeWindow: 2
            });
    }

    function _fund(address who) internal {
        vm.prank(who);
        token.faucet();
        vm.prank(who);
        token.approve(address(market), type(uint256).max);
        vm.prank(who);
        token.approve(address(membership), type(uint256).max);
    }

    function setUp() public {
        token = new FaucetToken("Test", "TST", 18, 1e24, 0);
        membership = new CoopMembership(IERC20(address(token)), 1e18, 1 days, address(this));
        treasury = new PatronageTreasury(
            IERC20(address(token)),
            ICoopMembership(address(membership)),
            1 days,
            30 days,
            1,
            1,
            address(this)
        );
        StorageMarketExtension ext = new StorageMarketExtension(
            IERC20(address(token)),
            ICoopMembership(address(membership)),
            IPatronageTreasury(address(treasury))
        );
        market = new StorageMarket(
            IERC20(address(token)),
            ICoopMembership(address(membership)),
            IPatronageTreasury(address(treasury)),
            address(ext),
            address(this),
            EPOCH,
            _params()
        );
        treasury.setRecorder(address(market));
        for (uint256 i = 0; i < 3; ++i) {
            address p = makeAddr(string.concat("provider", vm.toString(i)));
            providers.push(p);
            _fund(p);
            vm.prank(p);
            membership.join();
            vm.prank(p);
            market.register("http://p", new string[](0), 1 << 30, 1_000e18);
        }
        _fund(owner);
        _fund(reporter);
        _fund(repairer);
        vm.prank(repairer);
        membership.join();
        vm.prank(repairer);
        market.register("http://r", new string[](0), 1 << 30, 1_000e18);
        handler = new MarketHandler(market, token, providers, owner, reporter, repairer);
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](16);
        selectors[0] = MarketHandler.createDeal.selector;
        selectors[1] = MarketHandler.accept.selector;
        selectors[2] = MarketHandler.advance.selector;
        selectors[3] = MarketHandler.fixSeed.selector;
        selectors[4] = MarketHandler.prove.selector;
        selectors[5] = MarketHandler.report.selector;
        selectors[6] = MarketHandler.settle.selector;
        selectors[7] = MarketHandler.cancel.selector;
        selectors[8] = MarketHandler.declareLost.selector;
        selectors[9] = MarketHandler.withdraw.selector;
        selectors[10] = MarketHandler.challenge.selector;
        selectors[11] = MarketHandler.answer.selector;
        selectors[12] = MarketHandler.finalize.selector;
        selectors[13] = MarketHandler.claimRepair.selector;
        selectors[14] = MarketHandler.completeRepair.selector;
        selectors[15] = MarketHandler.proveRepairer.selector;
        targetSelector(StdInvariant.FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // ───────────────────────────── invariants ─────────────────────────────

    /// forge-config: default.invariant.runs = 64
    /// forge-config: default.invariant.depth = 100
    /// @notice Internal balances + escrow + stakes + pools == the market's token balance, and
    /// each bucket matches what the accounts hold.
    function invariant_TokenConservation() public view {
        (uint256 balances, uint256 escrow, uint256 stakes, uint256 pools) = market.totals();
        assertEq(balances + escrow + stakes + pools, token.balanceOf(address(market)), "totals != token balance");
        uint256 sumBalances;
        for (uint256 i = 0; i < handler.actorCount(); ++i) sumBalances += market.balanceOf(handler.actors(i));
        assertEq(sumBalances, balances, "balances bucket");
        uint256 sumStakes = market.getProvider(repairer).stake;
        for (uint256 i = 0; i < providers.length; ++i) sumStakes += market.getProvider(providers[i]).stake;
        assertEq(sumStakes, stakes, "stakes bucket");
    }

    /// forge-config: default.invariant.runs = 64
    /// forge-config: default.invariant.depth = 100
    /// @notice No shard was ever paid for more epochs than its holders (the committed provider
    /// and, after a repair, the repairer) proved in the deal's window.
    function invariant_NoPayForUnprovenEpochs() public view {
        for (uint256 i = 0; i < handler.dealCount(); ++i) {
            (uint256 id, address[] memory ps) = handler.dealAt(i);
            IStorageMarket.DealView memory d = market.getDeal(id);
            for (uint256 s = 0; s < ps.length; ++s) {
                uint256 paid = market.getShard(id, s).paidEpochs;
                uint256 proven =
                    market.provenEpochsBetween(ps[s], d.startEpoch, d.endEpoch) +
                        market.provenEpochsBetween(repairer, d.startEpoch, d.endEpoch);
                assertLe(paid, proven, "paid for an unproven epoch");
            }
        }
    }

    /// forge-config: default.invariant.runs = 64
    /// forge-config: default.invariant.depth = 100
    /// @notice Each provider's reserved capacity is exactly its active shards (nothing leaks when
    /// shards settle, are lost or repaired; repair claims reserve nothing).
    function invariant_CapacityAccounting() public view {
        address[] memory all = new address[](providers.length + 1);
        uint256[] memory expected = new uint256[](all.length);
        for (uint256 i = 0; i < providers.length; ++i) all[i] = providers[i];
        all[providers.length] = repairer;
        for (uint256 i = 0; i < handler.dealCount(); ++i) {
            (uint256 id, address[] memory ps) = handler.dealAt(i);
            uint256 size = market.getDeal(id).shardSize;
            for (uint256 s = 0; s < ps.length; ++s) {
                IStorageMarket.ShardView memory v = market.getShard(id, s);
                for (uint256 k = 0; k < all.length; ++k) {
                    if (v.status == IStorageMarket.ShardStatus.Active && v.provider == all[k]) expected[k] += size;
                }
            }
        }
        for (uint256 k = 0; k < all.length; ++k) {
            assertEq(market.getProvider(all[k]).used, expected[k], "reserved capacity");
        }
    }

    /// @notice The handler's repair path works end to end (so the campaign can reach it).
    function test_HandlerRepairPath() public {
        handler.createDeal(100 * 13 + 1);
        (uint256 id, ) = handler.dealAt(0);
        handler.accept(0);
        assertEq(uint256(market.getShard(id, 0).status), 1, "accepted");
        handler.declareLost(0);
        assertEq(uint256(market.getShard(id, 0).status), 2, "lost");
        handler.claimRepair();
        vm.roll(vm.getBlockNumber() + 2);
        handler.completeRepair();
        assertEq(handler.repairs(), 1, "repaired");
    }

    // ───────────────────────────── fuzz ─────────────────────────────

    /// @notice Over an 8-epoch deal, a provider that proves exactly the epochs in `mask` is
    /// paid exactly those, and the owner gets the rest back.
    function testFuzz_PaysExactlyProvenEpochs(uint8 mask) public {
        bytes memory seg = handler.segment(999, 0);
        bytes32[] memory roots = new bytes32[](1);
        roots[0] = sha256(abi.encodePacked(bytes1(0x00), seg));
        address[] memory ps = new address[](1);
        ps[0] = providers[0];
        IStorageMarket.DealRequest memory req = IStorageMarket.DealRequest({
            k: 1,
            shardSize: 512,
            durationEpochs: 8,
            roots: roots,
            providers: ps,
            manifestCid: abi.encodePacked(bytes4(0x01551220), bytes32(0))
        });
        vm.prank(owner);
        uint256 id = market.createDeal(req);
        vm.prank(providers[0]);
        market.acceptShard(id, 0, roots, ps);
        IStorageMarket.DealView memory d = market.getDeal(id);
        IStorageMarket.SegmentProof[] memory batch = new IStorageMarket.SegmentProof[](3);
        for (uint256 i = 0; i < 3; ++i) batch[i] = IStorageMarket.SegmentProof(0, seg, new bytes32[](0));
        uint256 proven;
        for (uint256 e = d.startEpoch; e < d.endEpoch; ++e) {
            vm.warp(vm.getBlockTimestamp() + EPOCH);
            vm.roll(vm.getBlockNumber() + 1);
            assertEq(market.currentEpoch(), e);
            if (mask & (1 << (e - d.startEpoch)) == 0) continue;
            market.fixSeed();
            vm.roll(vm.getBlockNumber() + 2);
            vm.prank(providers[0]);
            market.submitProof(e, batch);
            ++proven;
        }
        vm.warp(vm.getBlockTimestamp() + 2 * EPOCH);
        uint256 ownerBefore = market.balanceOf(owner);
        market.settleShard(id, 0);
        assertEq(market.balanceOf(providers[0]), proven * d.shardRate, "provider paid");
        assertEq(market.balanceOf(owner) - ownerBefore, (8 - proven) * d.shardRate, "owner refunded");
    }
}
