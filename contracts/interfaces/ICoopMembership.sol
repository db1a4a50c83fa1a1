// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

/// @title ICoopMembership
/// @notice What other co-op contracts need to know about membership.
interface ICoopMembership {
    /// @notice True while `account` holds a membership token (exit not yet completed, not expelled).
    function isMember(address account) external view returns (bool);
}
