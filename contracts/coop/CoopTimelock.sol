// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title CoopTimelock
/// @notice The co-op's only administrator: every setter of every co-op contract belongs to it, and
/// only the CoopGovernor may schedule operations on it. OpenZeppelin's TimelockController as is;
/// this file exists so the deployment has an artifact of our own to deploy and verify.
contract CoopTimelock is TimelockController {
    /// @param minDelay Seconds between scheduling and executing an operation.
    /// @param proposers Accounts granted the proposer and canceller roles (the Governor).
    /// @param executors Accounts granted the executor role (`address(0)`: anyone may execute).
    /// @param admin Optional admin for setup; the deployment renounces it (`address(0)` for none).
    constructor(
        uint256 minDelay,
        address[] memory proposers,
        address[] memory executors,
        address admin
    ) TimelockController(minDelay, proposers, executors, admin) {}
}
