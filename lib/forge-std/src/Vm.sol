// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

// Minimal reimplementation of forge-std's testing API for offline builds.
//
// This is NOT the upstream forge-std: the real package is only published on
// GitHub and is unreachable from our build machines. Only cheatcodes that
// Hardhat 3's EDR runtime implements are declared here, each with Foundry's
// exact signature (the runtime dispatches on the function selector, so names,
// parameter types and order must match upstream byte for byte).

/// @notice Read-only cheatcodes that are safe to use from view/pure functions.
interface VmSafe {
    /// @dev One log entry captured between `recordLogs()` and `getRecordedLogs()`.
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    // ---------------------------------------------------------------- block state
    function getBlockTimestamp() external view returns (uint256 timestamp);
    function getBlockNumber() external view returns (uint256 height);

    // ---------------------------------------------------------------- storage
    function load(address target, bytes32 slot) external view returns (bytes32 data);
    function getNonce(address account) external view returns (uint64 nonce);

    // ---------------------------------------------------------------- fuzzing
    /// @dev Discards the current fuzz input when `condition` is false (not a failure).
    function assume(bool condition) external pure;

    // ---------------------------------------------------------------- keys and signing
    function addr(uint256 privateKey) external pure returns (address keyAddr);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function label(address account, string calldata newLabel) external;

    // ---------------------------------------------------------------- logs
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory logs);

    // ---------------------------------------------------------------- utilities
    function computeCreateAddress(address deployer, uint256 nonce) external pure returns (address);
    function toString(address value) external pure returns (string memory stringifiedValue);
    function toString(bytes calldata value) external pure returns (string memory stringifiedValue);
    function toString(bytes32 value) external pure returns (string memory stringifiedValue);
    function toString(bool value) external pure returns (string memory stringifiedValue);
    function toString(uint256 value) external pure returns (string memory stringifiedValue);
    function toString(int256 value) external pure returns (string memory stringifiedValue);
}

/// @notice All cheatcodes available to tests (state-changing ones included).
interface Vm is VmSafe {
    // ---------------------------------------------------------------- block environment
    function warp(uint256 newTimestamp) external;
    function roll(uint256 newHeight) external;
    function fee(uint256 newBasefee) external;
    function chainId(uint256 newChainId) external;
    function coinbase(address newCoinbase) external;
    function txGasPrice(uint256 newGasPrice) external;
    function prevrandao(bytes32 newPrevrandao) external;
    function prevrandao(uint256 newPrevrandao) external;

    // ---------------------------------------------------------------- caller impersonation
    function prank(address msgSender) external;
    function prank(address msgSender, address txOrigin) external;
    function startPrank(address msgSender) external;
    function startPrank(address msgSender, address txOrigin) external;
    function stopPrank() external;

    // ---------------------------------------------------------------- account state
    function deal(address account, uint256 newBalance) external;
    function etch(address target, bytes calldata newRuntimeBytecode) external;
    function setNonce(address account, uint64 newNonce) external;
    function store(address target, bytes32 slot, bytes32 value) external;

    // ---------------------------------------------------------------- expectations
    function expectRevert() external;
    function expectRevert(bytes4 revertData) external;
    function expectRevert(bytes calldata revertData) external;
    function expectRevert(address reverter) external;
    function expectRevert(bytes4 revertData, address reverter) external;
    function expectRevert(bytes calldata revertData, address reverter) external;
    function expectPartialRevert(bytes4 revertData) external;

    function expectEmit() external;
    function expectEmit(address emitter) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter)
        external;

    function expectCall(address callee, bytes calldata data) external;
    function expectCall(address callee, bytes calldata data, uint64 count) external;
    function expectCall(address callee, uint256 msgValue, bytes calldata data) external;

    // ---------------------------------------------------------------- mocking
    function mockCall(address callee, bytes calldata data, bytes calldata returnData) external;
    function clearMockedCalls() external;

    // ---------------------------------------------------------------- state snapshots
    function snapshotState() external returns (uint256 snapshotId);
    function revertToState(uint256 snapshotId) external returns (bool success);
    function deleteStateSnapshot(uint256 snapshotId) external returns (bool success);

    // ---------------------------------------------------------------- test control
    function skip(bool skipTest) external;
}
