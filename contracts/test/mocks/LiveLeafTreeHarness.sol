// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {LiveLeafTree} from "../../libraries/LiveLeafTree.sol";

/// @notice Exposes LiveLeafTree for tests.
contract LiveLeafTreeHarness {
    using LiveLeafTree for LiveLeafTree.Tree;

    LiveLeafTree.Tree private _tree;
    uint256 public count;

    function append(uint64 leaves, uint256 epoch) external {
        _tree.append(count, leaves, epoch);
        ++count;
    }

    function remove(uint256 entry, uint64 leaves, uint256 epoch) external {
        _tree.remove(entry, count, leaves, epoch);
    }

    function leavesBefore(uint256 entry, uint256 epoch) external view returns (uint256) {
        return _tree.leavesBefore(entry, epoch);
    }

    function totalAt(uint256 epoch) external view returns (uint256) {
        return _tree.totalAt(epoch);
    }

    function find(uint256 x, uint256 entries, uint256 epoch) external view returns (uint256 entry, uint256 index) {
        return _tree.find(x, entries, epoch);
    }
}
