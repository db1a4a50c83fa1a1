// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";

/// @notice Exposes forge-std assertion helpers externally so ForgeStdSelfTest can check
///         that failing assertions revert (with vm.expectRevert) and what they say.
contract AssertionHarness is Test {
    function eqUint(uint256 left, uint256 right) external pure {
        assertEq(left, right);
    }

    function eqUintMsg(uint256 left, uint256 right, string calldata err) external pure {
        assertEq(left, right, err);
    }

    function eqAddress(address left, address right) external pure {
        assertEq(left, right);
    }

    function eqString(string calldata left, string calldata right) external pure {
        assertEq(left, right);
    }

    function isTrue(bool condition) external pure {
        assertTrue(condition);
    }

    function gt(uint256 left, uint256 right) external pure {
        assertGt(left, right);
    }

    function approxAbs(uint256 left, uint256 right, uint256 maxDelta) external pure {
        assertApproxEqAbs(left, right, maxDelta);
    }

    function boundOf(uint256 x, uint256 min, uint256 max) external pure returns (uint256) {
        return bound(x, min, max);
    }
}
