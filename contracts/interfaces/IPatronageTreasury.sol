// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

/// @title IPatronageTreasury
/// @notice The hook through which the storage market credits patronage. Fees themselves
/// arrive as plain ERC-20 transfers to the treasury before this is called.
interface IPatronageTreasury {
    /// @notice Credits `member` with patronage for the current period: `paid` payment-token
    /// units spent on storage and `earned` units earned providing it. Non-members earn no
    /// points (the call succeeds and records nothing). Only the recorder (the market) may call.
    function recordPatronage(address member, uint256 paid, uint256 earned) external;

    /// @notice The only address allowed to call {recordPatronage}; the market records only
    /// while it is the recorder, so moving the recorder never blocks its payments.
    function recorder() external view returns (address);
}
