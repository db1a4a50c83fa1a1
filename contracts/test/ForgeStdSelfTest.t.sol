// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {Vm} from "forge-std/Vm.sol";
import {AssertionHarness} from "./helpers/AssertionHarness.sol";
import {Counter} from "./helpers/Counter.sol";
import {CounterHandler} from "./helpers/CounterHandler.sol";

/// @notice Self-test of lib/forge-std (our offline forge-std): assertions, bound,
///         cheatcodes, fuzzing and invariant targeting all work under Hardhat 3 / EDR.
contract ForgeStdSelfTest is Test {
    AssertionHarness internal harness;
    Counter internal counter;
    CounterHandler internal handler;

    function setUp() public {
        harness = new AssertionHarness();
        counter = new Counter();
        handler = new CounterHandler(counter);

        // Invariant campaign: only call CounterHandler.add.
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](1);
        selectors[0] = CounterHandler.add.selector;
        targetSelector(StdInvariant.FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // ------------------------------------------------------------------ assertions

    function test_AssertionsPass() public pure {
        assertTrue(true);
        assertTrue(true, "msg");
        assertFalse(false);
        assertEq(uint256(7), uint256(7));
        assertEq(int256(-7), int256(-7), "int");
        assertEq(address(0xBEEF), address(0xBEEF));
        assertEq(bytes32("a"), bytes32("a"));
        assertEq(true, true);
        assertEq(bytes("abc"), bytes("abc"));
        assertEq(string("abc"), string("abc"));
        assertNotEq(uint256(1), uint256(2));
        assertGt(uint256(2), uint256(1));
        assertGe(uint256(2), uint256(2));
        assertLt(int256(-2), int256(1));
        assertLe(uint256(2), uint256(2));
        assertApproxEqAbs(100, 103, 3);
        assertApproxEqAbs(103, 100, 3);
    }

    function test_FailingAssertionReverts() public {
        vm.expectRevert();
        harness.eqUint(1, 2);

        vm.expectRevert();
        harness.isTrue(false);

        vm.expectRevert();
        harness.gt(1, 1);
    }

    function test_FailureMessages() public {
        vm.expectRevert(bytes("assertion failed: 1 != 2"));
        harness.eqUint(1, 2);

        vm.expectRevert(bytes("balance: 1 != 2"));
        harness.eqUintMsg(1, 2, "balance");

        vm.expectRevert(bytes("assertion failed"));
        harness.isTrue(false);

        vm.expectRevert(bytes("assertion failed: 1 <= 1"));
        harness.gt(1, 1);

        vm.expectRevert(bytes("assertion failed: a != b"));
        harness.eqString("a", "b");

        vm.expectRevert(bytes("assertion failed: 100 !~= 105 (max delta: 3, real delta: 5)"));
        harness.approxAbs(100, 105, 3);

        address a = address(0xBEEF);
        address b = address(0xCAFE);
        vm.expectRevert(bytes(string.concat("assertion failed: ", vm.toString(a), " != ", vm.toString(b))));
        harness.eqAddress(a, b);

        vm.expectRevert(bytes("StdUtils bound(uint256,uint256,uint256): Max is less than min."));
        harness.boundOf(5, 10, 9);
    }

    // ------------------------------------------------------------------ bound

    function test_BoundMatchesForgeStd() public pure {
        assertEq(bound(uint256(15), 10, 20), uint256(15), "in range is kept");
        assertEq(bound(uint256(0), 10, 20), uint256(10), "0 -> min");
        assertEq(bound(uint256(3), 10, 20), uint256(13), "3 -> min + 3");
        assertEq(bound(uint256(type(uint256).max), 10, 20), uint256(20), "MAX -> max");
        assertEq(bound(uint256(type(uint256).max - 1), 10, 20), uint256(19), "MAX-1 -> max-1");
        assertEq(bound(uint256(21), 10, 20), uint256(10), "wraps above");
        assertEq(bound(uint256(5), 10, 20), uint256(16), "wraps below");
        assertEq(bound(uint256(42), 0, type(uint256).max), uint256(42), "full range");
        assertEq(bound(int256(-1), int256(-5), int256(5)), int256(-1), "signed in range");
        assertEq(bound(int256(0), int256(-5), int256(5)), int256(0), "signed zero");
        assertEq(bound(type(int256).min, int256(-5), int256(5)), int256(-5), "signed min edge");
        assertEq(bound(type(int256).max, int256(-5), int256(5)), int256(5), "signed max edge");
    }

    function testFuzz_BoundStaysInRange(uint256 x, uint256 a, uint256 b) public pure {
        (uint256 min, uint256 max) = a <= b ? (a, b) : (b, a);
        uint256 r = bound(x, min, max);
        assertGe(r, min);
        assertLe(r, max);
        if (x >= min && x <= max) assertEq(r, x, "in-range input must be kept");
    }

    function testFuzz_BoundSignedStaysInRange(int256 x, int256 a, int256 b) public pure {
        (int256 min, int256 max) = a <= b ? (a, b) : (b, a);
        int256 r = bound(x, min, max);
        assertGe(r, min);
        assertLe(r, max);
        if (x >= min && x <= max) assertEq(r, x, "in-range input must be kept");
    }

    function testFuzz_AssumeAndPrank(address caller, uint256 by) public {
        vm.assume(caller != address(0));
        by = bound(by, 1, 1e24);
        vm.prank(caller);
        counter.add(by);
        assertEq(counter.lastCaller(), caller);
        assertEq(counter.count(), by);
    }

    // ------------------------------------------------------------------ cheatcodes

    function test_WarpRollPrank() public {
        vm.warp(1_700_000_000);
        vm.roll(12_345);
        assertEq(block.timestamp, 1_700_000_000);
        assertEq(vm.getBlockTimestamp(), 1_700_000_000);
        assertEq(block.number, 12_345);
        assertEq(vm.getBlockNumber(), 12_345);

        skip(100);
        assertEq(vm.getBlockTimestamp(), 1_700_000_100);

        address alice = makeAddr("alice");
        vm.prank(alice);
        counter.add(1);
        assertEq(counter.lastCaller(), alice);
        assertEq(counter.lastTimestamp(), 1_700_000_100);

        // prank only affects the next call
        counter.add(1);
        assertEq(counter.lastCaller(), address(this));

        address bob = makeAddr("bob");
        vm.startPrank(bob, bob);
        counter.add(1);
        counter.add(1);
        vm.stopPrank();
        assertEq(counter.lastCaller(), bob);
        assertEq(counter.count(), 4);
    }

    function test_DealAddrSign() public {
        (address alice, uint256 key) = makeAddrAndKey("alice");
        assertEq(vm.addr(key), alice);
        vm.deal(alice, 5 ether);
        assertEq(alice.balance, 5 ether);

        bytes32 digest = keccak256("co-operative cloud");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        assertEq(ecrecover(digest, v, r, s), alice);
    }

    function test_StoreLoadSnapshot() public {
        // Counter.count lives in slot 0.
        vm.store(address(counter), bytes32(0), bytes32(uint256(99)));
        assertEq(counter.count(), 99);
        assertEq(vm.load(address(counter), bytes32(0)), bytes32(uint256(99)));

        uint256 snap = vm.snapshotState();
        counter.add(1);
        assertEq(counter.count(), 100);
        assertTrue(vm.revertToState(snap));
        assertEq(counter.count(), 99);
    }

    function test_ExpectEmitAndRecordLogs() public {
        vm.expectEmit(true, false, false, true, address(counter));
        emit Counter.Added(address(this), 5, 5);
        counter.add(5);

        vm.recordLogs();
        counter.add(2);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1);
        assertEq(logs[0].emitter, address(counter));
        assertEq(logs[0].topics[0], Counter.Added.selector);
        assertEq(logs[0].topics[1], bytes32(uint256(uint160(address(this)))));
        assertEq(logs[0].data, abi.encode(uint256(2), uint256(7)));
    }

    function test_Prevrandao() public {
        vm.prevrandao(uint256(42));
        assertEq(block.prevrandao, 42);
        vm.prevrandao(bytes32(uint256(43)));
        assertEq(block.prevrandao, 43);
    }

    // ------------------------------------------------------------------ invariants

    function invariant_CounterMatchesGhostSum() public view {
        assertEq(counter.count(), handler.ghostSum());
    }

    function invariant_OnlyHandlerCallsCounter() public view {
        if (handler.calls() > 0) assertEq(counter.lastCaller(), address(handler));
    }
}
