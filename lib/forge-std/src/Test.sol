// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

// Minimal reimplementation of forge-std's testing API for offline builds.
//
// Covers what our Hardhat 3 Solidity tests need: the `vm` cheatcode handle,
// Foundry-style assertions (a failing assertion reverts with a readable
// message, which fails the test), `bound` (same algorithm as forge-std, so
// fuzz inputs are not wasted), a few StdCheats helpers and StdInvariant.
// Semantics and messages follow upstream forge-std; code is written anew.

import {Vm} from "./Vm.sol";
import {StdInvariant} from "./StdInvariant.sol";

abstract contract Test is StdInvariant {
    /// @dev The cheatcode address: address(uint160(uint256(keccak256("hevm cheat code")))).
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev Marker used by Foundry-style runners to recognise test contracts.
    bool public IS_TEST = true;

    uint256 private constant UINT256_MAX = type(uint256).max;
    uint256 private constant INT256_SIGN_BIT = 1 << 255;

    // =================================================================== failures

    /// @dev Fails the current test unconditionally.
    function fail() internal pure virtual {
        revert("assertion failed");
    }

    function fail(string memory err) internal pure virtual {
        revert(err);
    }

    /// @dev "assertion failed: <a><op><b>" or, with a message, "<err>: <a><op><b>".
    function _failComparison(string memory err, string memory a, string memory op, string memory b)
        private
        pure
    {
        string memory prefix = bytes(err).length == 0 ? "assertion failed" : err;
        revert(string.concat(prefix, ": ", a, op, b));
    }

    // =================================================================== booleans

    function assertTrue(bool condition) internal pure virtual {
        if (!condition) revert("assertion failed");
    }

    function assertTrue(bool condition, string memory err) internal pure virtual {
        if (!condition) revert(err);
    }

    function assertFalse(bool condition) internal pure virtual {
        if (condition) revert("assertion failed");
    }

    function assertFalse(bool condition, string memory err) internal pure virtual {
        if (condition) revert(err);
    }

    // =================================================================== assertEq

    function assertEq(bool left, bool right) internal pure virtual {
        assertEq(left, right, "");
    }

    function assertEq(bool left, bool right, string memory err) internal pure virtual {
        if (left != right) _failComparison(err, vm.toString(left), " != ", vm.toString(right));
    }

    function assertEq(uint256 left, uint256 right) internal pure virtual {
        assertEq(left, right, "");
    }

    function assertEq(uint256 left, uint256 right, string memory err) internal pure virtual {
        if (left != right) _failComparison(err, vm.toString(left), " != ", vm.toString(right));
    }

    function assertEq(int256 left, int256 right) internal pure virtual {
        assertEq(left, right, "");
    }

    function assertEq(int256 left, int256 right, string memory err) internal pure virtual {
        if (left != right) _failComparison(err, vm.toString(left), " != ", vm.toString(right));
    }

    function assertEq(address left, address right) internal pure virtual {
        assertEq(left, right, "");
    }

    function assertEq(address left, address right, string memory err) internal pure virtual {
        if (left != right) _failComparison(err, vm.toString(left), " != ", vm.toString(right));
    }

    function assertEq(bytes32 left, bytes32 right) internal pure virtual {
        assertEq(left, right, "");
    }

    function assertEq(bytes32 left, bytes32 right, string memory err) internal pure virtual {
        if (left != right) _failComparison(err, vm.toString(left), " != ", vm.toString(right));
    }

    function assertEq(bytes memory left, bytes memory right) internal pure virtual {
        assertEq(left, right, "");
    }

    function assertEq(bytes memory left, bytes memory right, string memory err) internal pure virtual {
        if (keccak256(left) != keccak256(right)) {
            _failComparison(err, vm.toString(left), " != ", vm.toString(right));
        }
    }

    function assertEq(string memory left, string memory right) internal pure virtual {
        assertEq(left, right, "");
    }

    function assertEq(string memory left, string memory right, string memory err) internal pure virtual {
        if (keccak256(bytes(left)) != keccak256(bytes(right))) _failComparison(err, left, " != ", right);
    }

    // =================================================================== assertNotEq

    function assertNotEq(uint256 left, uint256 right) internal pure virtual {
        assertNotEq(left, right, "");
    }

    function assertNotEq(uint256 left, uint256 right, string memory err) internal pure virtual {
        if (left == right) _failComparison(err, vm.toString(left), " == ", vm.toString(right));
    }

    function assertNotEq(address left, address right) internal pure virtual {
        assertNotEq(left, right, "");
    }

    function assertNotEq(address left, address right, string memory err) internal pure virtual {
        if (left == right) _failComparison(err, vm.toString(left), " == ", vm.toString(right));
    }

    function assertNotEq(bytes32 left, bytes32 right) internal pure virtual {
        assertNotEq(left, right, "");
    }

    function assertNotEq(bytes32 left, bytes32 right, string memory err) internal pure virtual {
        if (left == right) _failComparison(err, vm.toString(left), " == ", vm.toString(right));
    }

    // =================================================================== ordering (uint256 / int256)

    function assertGt(uint256 left, uint256 right) internal pure virtual {
        assertGt(left, right, "");
    }

    function assertGt(uint256 left, uint256 right, string memory err) internal pure virtual {
        if (left <= right) _failComparison(err, vm.toString(left), " <= ", vm.toString(right));
    }

    function assertGt(int256 left, int256 right) internal pure virtual {
        assertGt(left, right, "");
    }

    function assertGt(int256 left, int256 right, string memory err) internal pure virtual {
        if (left <= right) _failComparison(err, vm.toString(left), " <= ", vm.toString(right));
    }

    function assertGe(uint256 left, uint256 right) internal pure virtual {
        assertGe(left, right, "");
    }

    function assertGe(uint256 left, uint256 right, string memory err) internal pure virtual {
        if (left < right) _failComparison(err, vm.toString(left), " < ", vm.toString(right));
    }

    function assertGe(int256 left, int256 right) internal pure virtual {
        assertGe(left, right, "");
    }

    function assertGe(int256 left, int256 right, string memory err) internal pure virtual {
        if (left < right) _failComparison(err, vm.toString(left), " < ", vm.toString(right));
    }

    function assertLt(uint256 left, uint256 right) internal pure virtual {
        assertLt(left, right, "");
    }

    function assertLt(uint256 left, uint256 right, string memory err) internal pure virtual {
        if (left >= right) _failComparison(err, vm.toString(left), " >= ", vm.toString(right));
    }

    function assertLt(int256 left, int256 right) internal pure virtual {
        assertLt(left, right, "");
    }

    function assertLt(int256 left, int256 right, string memory err) internal pure virtual {
        if (left >= right) _failComparison(err, vm.toString(left), " >= ", vm.toString(right));
    }

    function assertLe(uint256 left, uint256 right) internal pure virtual {
        assertLe(left, right, "");
    }

    function assertLe(uint256 left, uint256 right, string memory err) internal pure virtual {
        if (left > right) _failComparison(err, vm.toString(left), " > ", vm.toString(right));
    }

    function assertLe(int256 left, int256 right) internal pure virtual {
        assertLe(left, right, "");
    }

    function assertLe(int256 left, int256 right, string memory err) internal pure virtual {
        if (left > right) _failComparison(err, vm.toString(left), " > ", vm.toString(right));
    }

    // =================================================================== approximate equality

    function assertApproxEqAbs(uint256 left, uint256 right, uint256 maxDelta) internal pure virtual {
        assertApproxEqAbs(left, right, maxDelta, "");
    }

    function assertApproxEqAbs(uint256 left, uint256 right, uint256 maxDelta, string memory err)
        internal
        pure
        virtual
    {
        uint256 delta = left > right ? left - right : right - left;
        if (delta > maxDelta) {
            _failComparison(
                err,
                vm.toString(left),
                " !~= ",
                string.concat(
                    vm.toString(right),
                    " (max delta: ",
                    vm.toString(maxDelta),
                    ", real delta: ",
                    vm.toString(delta),
                    ")"
                )
            );
        }
    }

    // =================================================================== StdUtils: bound

    /// @dev Same algorithm as forge-std's StdUtils._bound: values already in range are kept
    ///      (so fuzz dictionary values survive), 0..3 and MAX-3..MAX map onto the range edges,
    ///      everything else wraps around the inclusive range [min, max].
    function _bound(uint256 x, uint256 min, uint256 max) internal pure virtual returns (uint256 result) {
        require(min <= max, "StdUtils bound(uint256,uint256,uint256): Max is less than min.");
        if (x >= min && x <= max) return x;

        // Cannot overflow: min == 0 && max == MAX would have returned above.
        uint256 size = max - min + 1;

        if (x <= 3 && size > x) return min + x;
        if (x >= UINT256_MAX - 3 && size > UINT256_MAX - x) return max - (UINT256_MAX - x);

        if (x > max) {
            uint256 rem = (x - max) % size;
            if (rem == 0) return max;
            result = min + rem - 1;
        } else {
            // x < min
            uint256 rem = (min - x) % size;
            if (rem == 0) return min;
            result = max - rem + 1;
        }
    }

    function bound(uint256 x, uint256 min, uint256 max) internal pure virtual returns (uint256 result) {
        result = _bound(x, min, max);
    }

    /// @dev Signed variant: maps int256 onto uint256 preserving order (flip the sign bit),
    ///      bounds there, and maps back. Gives the same results as forge-std.
    function _bound(int256 x, int256 min, int256 max) internal pure virtual returns (int256 result) {
        require(min <= max, "StdUtils bound(int256,int256,int256): Max is less than min.");
        uint256 y = _bound(
            uint256(x) ^ INT256_SIGN_BIT, uint256(min) ^ INT256_SIGN_BIT, uint256(max) ^ INT256_SIGN_BIT
        );
        result = int256(y ^ INT256_SIGN_BIT);
    }

    function bound(int256 x, int256 min, int256 max) internal pure virtual returns (int256 result) {
        result = _bound(x, min, max);
    }

    // =================================================================== StdCheats helpers

    /// @dev Deterministic labelled address derived from `name` (same derivation as forge-std).
    function makeAddr(string memory name) internal virtual returns (address addr) {
        (addr,) = makeAddrAndKey(name);
    }

    function makeAddrAndKey(string memory name) internal virtual returns (address addr, uint256 privateKey) {
        privateKey = uint256(keccak256(abi.encodePacked(name)));
        addr = vm.addr(privateKey);
        vm.label(addr, name);
    }

    function deal(address to, uint256 give) internal virtual {
        vm.deal(to, give);
    }

    /// @dev Gives `who` 2^128 wei and pranks the next call as `who`.
    function hoax(address who) internal virtual {
        vm.deal(who, 1 << 128);
        vm.prank(who);
    }

    function hoax(address who, uint256 give) internal virtual {
        vm.deal(who, give);
        vm.prank(who);
    }

    function startHoax(address who) internal virtual {
        vm.deal(who, 1 << 128);
        vm.startPrank(who);
    }

    function startHoax(address who, uint256 give) internal virtual {
        vm.deal(who, give);
        vm.startPrank(who);
    }

    /// @dev Moves block.timestamp forward / backward by `time` seconds.
    function skip(uint256 time) internal virtual {
        vm.warp(vm.getBlockTimestamp() + time);
    }

    function rewind(uint256 time) internal virtual {
        vm.warp(vm.getBlockTimestamp() - time);
    }
}
