// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";

import {CoopMembership} from "../../coop/CoopMembership.sol";
import {FaucetToken} from "../../token/FaucetToken.sol";

/// @notice Invariant handler for CoopMembership: a fixed crowd of actors joins, asks to leave,
/// cancels, leaves, and is expelled, while governance (this handler owns the membership) changes
/// the share and the notice. Ghost state mirrors who should be a member and what they paid.
contract CoopMembershipHandler is Test {
    uint256 public constant ACTORS = 8;
    uint256 public constant MAX_SHARE = 1e30;

    CoopMembership public immutable membership;
    FaucetToken public immutable token;

    address[] public actors;
    mapping(address actor => bool) public ghostIsMember;
    mapping(address actor => uint256) public ghostPaid;
    uint256 public ghostMembers;
    uint256 public ghostShares;

    uint256 public joins;
    uint256 public exits;
    uint256 public expulsions;

    constructor(CoopMembership membership_, FaucetToken token_) {
        membership = membership_;
        token = token_;
        for (uint256 i = 0; i < ACTORS; ++i) {
            actors.push(makeAddr(string.concat("member-", vm.toString(i))));
        }
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function join(uint256 actorSeed) external {
        address actor = _actor(actorSeed);
        if (ghostIsMember[actor]) return;
        uint256 share = membership.shareAmount();
        vm.startPrank(actor);
        while (token.balanceOf(actor) < share) token.faucet();
        token.approve(address(membership), share);
        membership.join();
        vm.stopPrank();
        ghostIsMember[actor] = true;
        ghostPaid[actor] = share;
        ghostMembers += 1;
        ghostShares += share;
        joins += 1;
    }

    function requestExit(uint256 actorSeed) external {
        address actor = _actor(actorSeed);
        (, uint64 pending) = membership.getMember(actor);
        if (!ghostIsMember[actor] || pending != 0) return;
        vm.prank(actor);
        membership.requestExit();
    }

    function cancelExit(uint256 actorSeed) external {
        address actor = _actor(actorSeed);
        (, uint64 pending) = membership.getMember(actor);
        if (pending == 0) return;
        vm.prank(actor);
        membership.cancelExit();
    }

    function completeExit(uint256 actorSeed, uint256 extraWait) external {
        address actor = _actor(actorSeed);
        (, uint64 availableAt) = membership.getMember(actor);
        if (availableAt == 0) return;
        uint256 now_ = vm.getBlockTimestamp();
        if (now_ < availableAt) vm.warp(availableAt + bound(extraWait, 0, 1 days));
        uint256 before = token.balanceOf(actor);
        vm.prank(actor);
        membership.completeExit();
        // The refund is exactly what this member paid, whatever the share is now.
        assertEq(token.balanceOf(actor) - before, ghostPaid[actor], "refund != share paid");
        _forget(actor);
        exits += 1;
    }

    function expel(uint256 actorSeed) external {
        address actor = _actor(actorSeed);
        if (!ghostIsMember[actor]) return;
        uint256 before = token.balanceOf(actor);
        membership.expel(actor);
        assertEq(token.balanceOf(actor) - before, ghostPaid[actor], "refund != share paid");
        _forget(actor);
        expulsions += 1;
    }

    function setShareAmount(uint256 amount) external {
        membership.setShareAmount(bound(amount, 0, MAX_SHARE));
    }

    function setExitNotice(uint256 notice) external {
        membership.setExitNotice(uint64(bound(notice, 0, membership.MAX_EXIT_NOTICE())));
    }

    function warp(uint256 seconds_) external {
        vm.warp(vm.getBlockTimestamp() + bound(seconds_, 1, 30 days));
    }

    function _forget(address actor) private {
        ghostIsMember[actor] = false;
        ghostMembers -= 1;
        ghostShares -= ghostPaid[actor];
        ghostPaid[actor] = 0;
    }

    function _actor(uint256 seed) private view returns (address) {
        return actors[seed % actors.length];
    }
}
