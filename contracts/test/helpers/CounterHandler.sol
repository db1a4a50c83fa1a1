// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {Counter} from "./Counter.sol";

/// @notice Invariant-test handler for Counter: bounds inputs and keeps a ghost sum
///         that the invariant compares against the real state.
contract CounterHandler is Test {
    Counter public immutable counter;

    uint256 public ghostSum;
    uint256 public calls;

    constructor(Counter counter_) {
        counter = counter_;
    }

    function add(uint256 amount) external {
        amount = bound(amount, 0, 1_000);
        vm.warp(vm.getBlockTimestamp() + 1);
        counter.add(amount);
        ghostSum += amount;
        calls += 1;
    }
}
