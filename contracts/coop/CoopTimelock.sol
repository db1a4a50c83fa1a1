// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title CoopTimelock
/// @notice The co-op's timelock: OpenZeppelin's TimelockController unchanged. It owns every setter of
/// the co-op's contracts; the governor is its only proposer and canceller, anyone may execute a
/// ready operation, and the deployer renounces the admin role once the roles are wired.
/// @dev A named subclass so the build emits an artifact that deployments, tests and the ABI exporter
/// use by name (Hardhat 3 builds artifacts only for the project's own sources).
contract CoopTimelock is TimelockController {
    /// @param minDelay Seconds between queueing and executing an operation.
    /// @param proposers Initial proposers (and cancellers); usually empty, then granted to the governor.
    /// @param executors Initial executors; `[address(0)]` lets anyone execute.
    /// @param admin Optional admin for the wiring; must renounce afterwards (address(0) = none).
    constructor(
        uint256 minDelay,
        address[] memory proposers,
        address[] memory executors,
        address admin
    ) TimelockController(minDelay, proposers, executors, admin) {}
}
