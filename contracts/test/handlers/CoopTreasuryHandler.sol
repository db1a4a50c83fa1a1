// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";

import {CoopMembership} from "../../coop/CoopMembership.sol";
import {PatronageTreasury} from "../../coop/PatronageTreasury.sol";
import {FaucetToken} from "../../token/FaucetToken.sol";

/// @notice Invariant handler for PatronageTreasury. It is both the recorder (the market's role)
/// and the owner (the timelock's role); a fixed crowd of members earns points, fees arrive,
/// dividends are declared, claimed and swept, and governance spends. Ghost state records every
/// token that moves so the invariants can check conservation.
contract CoopTreasuryHandler is Test {
    uint256 public constant ACTORS = 5;
    uint256 public constant MAX_AMOUNT = 1e24;

    PatronageTreasury public immutable treasury;
    FaucetToken public immutable token;

    address[] public actors;
    uint256[] public declaredPeriods;
    mapping(uint256 period => uint256) public ghostClaimed;
    mapping(uint256 period => uint256) public ghostSwept;
    uint256 public ghostFeesIn;
    uint256 public ghostSpent;
    uint256 public ghostAllClaimed;

    uint256 public claims;

    constructor(PatronageTreasury treasury_, CoopMembership membership, FaucetToken token_) {
        treasury = treasury_;
        token = token_;
        uint256 share = membership.shareAmount();
        for (uint256 i = 0; i < ACTORS; ++i) {
            address actor = makeAddr(string.concat("patron-", vm.toString(i)));
            actors.push(actor);
            vm.startPrank(actor);
            token.faucet();
            token.approve(address(membership), share);
            membership.join();
            vm.stopPrank();
        }
    }

    function declaredCount() external view returns (uint256) {
        return declaredPeriods.length;
    }

    function payFee(uint256 amount) external {
        amount = bound(amount, 1, MAX_AMOUNT);
        while (token.balanceOf(address(this)) < amount) token.faucet();
        token.transfer(address(treasury), amount);
        ghostFeesIn += amount;
    }

    function record(uint256 actorSeed, uint256 paid, uint256 earned) external {
        treasury.recordPatronage(_actor(actorSeed), bound(paid, 0, MAX_AMOUNT), bound(earned, 0, MAX_AMOUNT));
    }

    function warp(uint256 seconds_) external {
        vm.warp(vm.getBlockTimestamp() + bound(seconds_, 1, 3 days));
    }

    function declare(uint256 periodSeed, uint256 amount) external {
        uint256 current = treasury.currentPeriod();
        if (current == 0) return;
        uint256 period = periodSeed % current;
        PatronageTreasury.Period memory p = treasury.getPeriod(period);
        uint256 free = treasury.freeBalance();
        if (p.claimDeadline != 0 || p.totalPoints == 0 || free == 0) return;
        amount = bound(amount, 1, free);
        treasury.declareDividend(period, amount);
        declaredPeriods.push(period);
    }

    function claim(uint256 actorSeed, uint256 periodSeed) external {
        if (declaredPeriods.length == 0) return;
        uint256 period = declaredPeriods[periodSeed % declaredPeriods.length];
        address actor = _actor(actorSeed);
        PatronageTreasury.Period memory p = treasury.getPeriod(period);
        PatronageTreasury.Patronage memory mine = treasury.getPatronage(period, actor);
        if (vm.getBlockTimestamp() > p.claimDeadline || mine.claimed || mine.points == 0) return;
        uint256 before = token.balanceOf(actor);
        vm.prank(actor);
        treasury.claimDividend(period);
        uint256 got = token.balanceOf(actor) - before;
        ghostClaimed[period] += got;
        ghostAllClaimed += got;
        claims += 1;
    }

    function sweep(uint256 periodSeed) external {
        if (declaredPeriods.length == 0) return;
        uint256 period = declaredPeriods[periodSeed % declaredPeriods.length];
        PatronageTreasury.Period memory p = treasury.getPeriod(period);
        if (vm.getBlockTimestamp() <= p.claimDeadline || p.unclaimed == 0) return;
        treasury.sweepExpired(period);
        ghostSwept[period] += p.unclaimed;
    }

    function spend(uint256 amount) external {
        uint256 free = treasury.freeBalance();
        if (free == 0) return;
        amount = bound(amount, 1, free);
        treasury.spend(address(0xdead), amount);
        ghostSpent += amount;
    }

    function _actor(uint256 seed) private view returns (address) {
        return actors[seed % actors.length];
    }
}
