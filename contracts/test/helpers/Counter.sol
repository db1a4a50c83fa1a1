// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

/// @notice Tiny contract under test for ForgeStdSelfTest (exercises prank/warp/logs/storage).
contract Counter {
    event Added(address indexed caller, uint256 by, uint256 newCount);

    uint256 public count;
    address public lastCaller;
    uint256 public lastTimestamp;

    function add(uint256 by) external {
        count += by;
        lastCaller = msg.sender;
        lastTimestamp = block.timestamp;
        emit Added(msg.sender, by, count);
    }
}
