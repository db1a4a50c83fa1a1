// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";

import {CoopMembership} from "../coop/CoopMembership.sol";
import {FaucetToken} from "../token/FaucetToken.sol";
import {CoopMembershipHandler} from "./handlers/CoopMembershipHandler.sol";

/// @notice Fuzz and invariant tests of CoopMembership: one member one vote, refunds of exactly
/// what was paid, and shares always backed by the contract's token balance.
contract CoopMembershipTest is Test {
    uint256 internal constant FAUCET = 1e30;
    uint64 internal constant NOTICE = 7 days;

    FaucetToken internal token;
    CoopMembership internal membership;
    CoopMembershipHandler internal handler;

    function setUp() public {
        token = new FaucetToken("Co-op Dollar", "cUSD", 6, FAUCET, 0);
        // This test contract plays the timelock until it hands ownership to the handler.
        membership = new CoopMembership(token, 100e6, NOTICE, address(this));

        CoopMembershipHandler h = new CoopMembershipHandler(membership, token);
        membership.transferOwnership(address(h));
        handler = h;
        targetContract(address(h));
        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = CoopMembershipHandler.join.selector;
        selectors[1] = CoopMembershipHandler.requestExit.selector;
        selectors[2] = CoopMembershipHandler.cancelExit.selector;
        selectors[3] = CoopMembershipHandler.completeExit.selector;
        selectors[4] = CoopMembershipHandler.expel.selector;
        selectors[5] = CoopMembershipHandler.setShareAmount.selector;
        selectors[6] = CoopMembershipHandler.setExitNotice.selector;
        selectors[7] = CoopMembershipHandler.warp.selector;
        targetSelector(StdInvariant.FuzzSelector({addr: address(h), selectors: selectors}));
    }

    // ------------------------------------------------------------------ invariants

    /// Total votes equal the number of members, and each member has exactly one vote.
    function invariant_totalVotesEqualMembers() public view {
        uint256 votes;
        uint256 holders;
        for (uint256 i = 0; i < handler.actorCount(); ++i) {
            address actor = handler.actors(i);
            uint256 v = membership.getVotes(actor);
            assertEq(v, membership.balanceOf(actor), "votes != tokens held");
            assertEq(membership.isMember(actor), handler.ghostIsMember(actor), "membership != ghost");
            votes += v;
            holders += membership.balanceOf(actor);
        }
        assertEq(votes, holders, "votes != holders");
        assertEq(votes, membership.memberCount(), "votes != memberCount");
        assertEq(votes, handler.ghostMembers(), "votes != ghost members");
    }

    /// The contract holds exactly the shares its current members paid (no deferred refunds with
    /// a well-behaved token).
    function invariant_sharesBackedByBalance() public view {
        uint256 stored;
        for (uint256 i = 0; i < handler.actorCount(); ++i) {
            (uint256 paid, ) = membership.getMember(handler.actors(i));
            stored += paid;
        }
        assertEq(stored, handler.ghostShares(), "stored shares != ghost");
        assertEq(token.balanceOf(address(membership)), stored, "balance != shares");
    }

    // ------------------------------------------------------------------ fuzz

    function _join(address who, uint256 share) internal {
        vm.startPrank(who);
        while (token.balanceOf(who) < share) token.faucet();
        token.approve(address(membership), share);
        membership.join();
        vm.stopPrank();
    }

    function _asOwner() internal {
        vm.prank(address(handler));
    }

    /// Whatever the share is later changed to, a member gets back exactly what it paid.
    function testFuzz_RefundIsWhatWasPaid(address who, uint256 share, uint256 later, uint64 notice) public {
        vm.assume(who != address(0) && who.code.length == 0 && who != address(membership));
        share = bound(share, 0, FAUCET);
        later = bound(later, 0, FAUCET);
        notice = uint64(bound(notice, 0, membership.MAX_EXIT_NOTICE()));
        _asOwner();
        membership.setShareAmount(share);
        _asOwner();
        membership.setExitNotice(notice);
        _join(who, share);
        uint256 afterJoin = token.balanceOf(who);

        _asOwner();
        membership.setShareAmount(later);
        vm.prank(who);
        membership.requestExit();
        vm.warp(vm.getBlockTimestamp() + notice);
        vm.prank(who);
        membership.completeExit();

        assertEq(token.balanceOf(who), afterJoin + share);
        assertEq(membership.getVotes(who), 0);
        assertFalse(membership.isMember(who));
    }

    /// No exit completes before its notice has run.
    function testFuzz_ExitWaitsForNotice(uint64 notice, uint256 elapsed) public {
        address who = makeAddr("leaver");
        notice = uint64(bound(notice, 1, membership.MAX_EXIT_NOTICE()));
        elapsed = bound(elapsed, 0, notice - 1);
        _asOwner();
        membership.setExitNotice(notice);
        _join(who, membership.shareAmount());
        vm.prank(who);
        membership.requestExit();
        uint64 availableAt = uint64(vm.getBlockTimestamp()) + notice;
        vm.warp(vm.getBlockTimestamp() + elapsed);
        vm.expectRevert(abi.encodeWithSelector(CoopMembership.CoopMembershipExitNotReady.selector, who, availableAt));
        vm.prank(who);
        membership.completeExit();
        assertTrue(membership.isMember(who));
        assertEq(membership.getVotes(who), 1);
    }

    /// A membership token never moves and its vote never leaves its holder.
    function testFuzz_NotTransferableNotDelegable(address to) public {
        vm.assume(to != address(0));
        address who = makeAddr("holder");
        _join(who, membership.shareAmount());
        uint256 id = membership.tokenIdOf(who);
        vm.prank(who);
        vm.expectRevert(abi.encodeWithSelector(CoopMembership.CoopMembershipTransferDisabled.selector, who, to, id));
        membership.transferFrom(who, to, id);
        vm.expectRevert(abi.encodeWithSelector(CoopMembership.CoopMembershipDelegationDisabled.selector, to));
        vm.prank(who);
        membership.delegate(to);
        assertEq(membership.ownerOf(id), who);
        assertEq(membership.delegates(who), who);
        assertEq(membership.getVotes(who), 1);
    }

    /// Only the owner (the timelock) reaches the setters and expel.
    function testFuzz_OnlyOwnerGoverns(address caller, uint256 amount) public {
        vm.assume(caller != address(handler));
        vm.expectRevert(abi.encodeWithSignature("OwnableUnauthorizedAccount(address)", caller));
        vm.prank(caller);
        membership.setShareAmount(amount);
        vm.expectRevert(abi.encodeWithSignature("OwnableUnauthorizedAccount(address)", caller));
        vm.prank(caller);
        membership.expel(caller);
    }

    /// Many members, each joining once, give exactly that many votes at every later timestamp.
    function testFuzz_VotesCountMembers(uint8 count) public {
        count = uint8(bound(count, 1, 40));
        uint256 share = membership.shareAmount();
        for (uint256 i = 0; i < count; ++i) {
            _join(makeAddr(string.concat("m", vm.toString(i))), share);
        }
        uint256 t = vm.getBlockTimestamp();
        vm.warp(t + 1);
        assertEq(membership.getPastTotalSupply(t), count);
        assertEq(membership.memberCount(), count);
    }
}
