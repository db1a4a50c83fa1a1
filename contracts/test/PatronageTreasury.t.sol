// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {CoopMembership} from "../coop/CoopMembership.sol";
import {PatronageTreasury} from "../coop/PatronageTreasury.sol";
import {FaucetToken} from "../token/FaucetToken.sol";
import {CoopTreasuryHandler} from "./handlers/CoopTreasuryHandler.sol";

/// @notice Fuzz and invariant tests of PatronageTreasury: claims never exceed the declared
/// dividend, and free + reserved always equals the token balance.
contract PatronageTreasuryTest is Test {
    uint256 internal constant FAUCET = 1e30;
    uint64 internal constant DAY = 1 days;
    // Short, so invariant runs see windows close and dividends swept.
    uint64 internal constant WINDOW = 5 days;

    FaucetToken internal token;
    CoopMembership internal membership;
    PatronageTreasury internal treasury;
    CoopTreasuryHandler internal handler;

    function setUp() public {
        token = new FaucetToken("Co-op Dollar", "cUSD", 6, FAUCET, 0);
        membership = new CoopMembership(token, 100e6, 7 days, address(this));
        treasury = new PatronageTreasury(token, membership, DAY, WINDOW, 1, 1, address(this));
        handler = new CoopTreasuryHandler(treasury, membership, token);
        treasury.setRecorder(address(handler));
        treasury.transferOwnership(address(handler));

        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](7);
        selectors[0] = CoopTreasuryHandler.payFee.selector;
        selectors[1] = CoopTreasuryHandler.record.selector;
        selectors[2] = CoopTreasuryHandler.warp.selector;
        selectors[3] = CoopTreasuryHandler.declare.selector;
        selectors[4] = CoopTreasuryHandler.claim.selector;
        selectors[5] = CoopTreasuryHandler.sweep.selector;
        selectors[6] = CoopTreasuryHandler.spend.selector;
        targetSelector(StdInvariant.FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // ------------------------------------------------------------------ invariants

    /// For every declared period: claimed ≤ dividend, and claimed + unclaimed + swept == dividend.
    function invariant_claimsNeverExceedDividend() public view {
        for (uint256 i = 0; i < handler.declaredCount(); ++i) {
            uint256 period = handler.declaredPeriods(i);
            PatronageTreasury.Period memory p = treasury.getPeriod(period);
            uint256 claimed = handler.ghostClaimed(period);
            assertLe(claimed, p.dividend, "claimed > dividend");
            assertEq(claimed + p.unclaimed + handler.ghostSwept(period), p.dividend, "dividend not accounted");
        }
    }

    /// free + reserved == balance; reserved == what declared periods still hold; and the balance is
    /// exactly fees in minus spending minus claims.
    function invariant_tokenConservation() public view {
        uint256 balance = token.balanceOf(address(treasury));
        assertEq(treasury.freeBalance() + treasury.totalReserved(), balance, "free + reserved != balance");
        uint256 unclaimed;
        for (uint256 i = 0; i < handler.declaredCount(); ++i) {
            unclaimed += treasury.getPeriod(handler.declaredPeriods(i)).unclaimed;
        }
        assertEq(treasury.totalReserved(), unclaimed, "reserved != unclaimed sum");
        assertEq(balance, handler.ghostFeesIn() - handler.ghostSpent() - handler.ghostAllClaimed(), "leak");
    }

    // ------------------------------------------------------------------ fuzz

    function _member(uint256 i) internal view returns (address) {
        return handler.actors(i);
    }

    function _fund(uint256 amount) internal {
        while (token.balanceOf(address(this)) < amount) token.faucet();
        token.transfer(address(treasury), amount);
    }

    /// Each member receives dividend·points/total rounded down; the claims add up to at most the
    /// dividend and lose less than one unit per claimant.
    function testFuzz_ClaimsProRataAndBounded(uint256[5] memory paid, uint256 dividend) public {
        uint256 total;
        for (uint256 i = 0; i < 5; ++i) {
            paid[i] = bound(paid[i], 0, 1e24);
            total += paid[i];
            address member = _member(i); // before the prank: _member is an external call
            vm.prank(address(handler));
            treasury.recordPatronage(member, paid[i], 0);
        }
        vm.assume(total > 0);
        dividend = bound(dividend, 1, 1e27);
        _fund(dividend);
        vm.warp(vm.getBlockTimestamp() + DAY);
        vm.prank(address(handler));
        treasury.declareDividend(0, dividend);

        uint256 sum;
        uint256 claimants;
        for (uint256 i = 0; i < 5; ++i) {
            if (paid[i] == 0) continue;
            address who = _member(i);
            uint256 before = token.balanceOf(who);
            vm.prank(who);
            treasury.claimDividend(0);
            uint256 got = token.balanceOf(who) - before;
            assertEq(got, Math.mulDiv(dividend, paid[i], total));
            sum += got;
            claimants += 1;
        }
        assertLe(sum, dividend);
        assertLt(dividend - sum, claimants);
        assertEq(treasury.totalReserved(), dividend - sum);
    }

    /// A dividend can never exceed the free balance, whatever is already reserved.
    function testFuzz_DeclareOnlyFromFreeBalance(uint256 fees, uint256 first, uint256 second) public {
        fees = bound(fees, 2, 1e27);
        first = bound(first, 1, fees - 1);
        second = bound(second, 1, 1e28);
        _fund(fees);
        address first_ = _member(0);
        address second_ = _member(1);
        vm.startPrank(address(handler));
        treasury.recordPatronage(first_, 1, 0);
        vm.warp(vm.getBlockTimestamp() + DAY);
        treasury.recordPatronage(second_, 1, 0);
        vm.warp(vm.getBlockTimestamp() + DAY);
        treasury.declareDividend(0, first);
        uint256 free = fees - first;
        if (second > free) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    PatronageTreasury.PatronageTreasuryInsufficientFreeBalance.selector,
                    second,
                    free
                )
            );
        }
        treasury.declareDividend(1, second);
        vm.stopPrank();
        assertLe(treasury.totalReserved(), token.balanceOf(address(treasury)));
    }

    /// Non-members earn nothing; points are paid·paidWeight + earned·earnedWeight for members.
    function testFuzz_RecordPoints(address who, uint256 paid, uint256 earned) public {
        paid = bound(paid, 0, 1e30);
        earned = bound(earned, 0, 1e30);
        vm.prank(address(handler));
        treasury.recordPatronage(who, paid, earned);
        uint256 expected = membership.isMember(who) ? paid + earned : 0;
        assertEq(treasury.getPatronage(0, who).points, expected);
        assertEq(treasury.getPeriod(0).totalPoints, expected);
    }

    /// Only the recorder records.
    function testFuzz_OnlyRecorder(address caller) public {
        vm.assume(caller != address(handler));
        address member = _member(0);
        vm.expectRevert(abi.encodeWithSelector(PatronageTreasury.PatronageTreasuryNotRecorder.selector, caller));
        vm.prank(caller);
        treasury.recordPatronage(member, 1, 1);
    }
}
