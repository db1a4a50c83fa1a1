// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";

import {LiveLeafTreeHarness} from "./mocks/LiveLeafTreeHarness.sol";

/// @notice LiveLeafTree against a naive model (every entry's leaf count, added and removed
/// epoch, summed by loops): after random appends and removals over random epochs, every
/// start-of-epoch read the proof window uses (the current and the previous epoch) matches.
contract LiveLeafTreeTest is Test {
    LiveLeafTreeHarness internal tree;

    uint64[] internal leaves;
    uint256[] internal added;
    uint256[] internal removed; // 0 while in the set

    function setUp() public {
        tree = new LiveLeafTreeHarness();
    }

    function _liveAt(uint256 j, uint256 epoch) internal view returns (bool) {
        return added[j] < epoch && (removed[j] == 0 || removed[j] >= epoch);
    }

    /// @dev Model: live leaves at the start of `epoch` of the entries before `entry`.
    function _before(uint256 entry, uint256 epoch) internal view returns (uint256 sum) {
        for (uint256 j = 0; j < entry; ++j) if (_liveAt(j, epoch)) sum += leaves[j];
    }

    /// @dev Checks every read of the window [cur - 1, cur] against the model.
    function _check(uint256 cur) internal view {
        for (uint256 e = cur - 1; e <= cur; ++e) {
            uint256 n = 0; // entries appended before e
            while (n < leaves.length && added[n] < e) ++n;
            uint256 total = _before(leaves.length, e);
            assertEq(tree.totalAt(e), total, "total at start of epoch");
            for (uint256 j = 0; j < n; ++j) {
                assertEq(tree.leavesBefore(j, e), _before(j, e), "live leaves before entry");
            }
            // Every live leaf maps back to the live entry holding it.
            for (uint256 x = 0; x < total; x += 1 + total / 7) {
                (uint256 entry, uint256 index) = tree.find(x, n, e);
                assertTrue(entry < n && _liveAt(entry, e), "found a live entry");
                assertEq(_before(entry, e) + index, x, "leaf position");
                assertLt(index, leaves[entry], "inside the entry");
            }
        }
    }

    /// @notice Random operations over up to 12 epochs; reads checked after each epoch's work.
    function testFuzz_MatchesModel(uint256 seed) public {
        uint256 epoch = 1;
        for (uint256 step = 0; step < 60; ++step) {
            uint256 r = uint256(keccak256(abi.encode(seed, step)));
            uint256 op = r % 8;
            if (op < 3 || leaves.length == 0) {
                uint64 n = uint64(1 + ((r >> 8) % 300));
                tree.append(n, epoch);
                leaves.push(n);
                added.push(epoch);
                removed.push(0);
            } else if (op < 6) {
                uint256 j = (r >> 8) % leaves.length;
                if (removed[j] == 0) {
                    tree.remove(j, leaves[j], epoch);
                    removed[j] = epoch;
                }
            } else {
                epoch += 1;
            }
            if (epoch > 1) _check(epoch);
        }
    }

    /// @notice The first leaf of an entry right after a removed one belongs to that entry, not
    /// to the removed one (the boundary a `>=` / `>` slip would move).
    function test_FirstLeafAfterARemovedEntry() public {
        tree.append(4, 1);
        tree.append(8, 1);
        tree.append(2, 1);
        tree.remove(1, 8, 3);
        // At the start of epoch 4 entry 1 is gone: entry 2 starts at live leaf 4.
        assertEq(tree.leavesBefore(2, 4), 4);
        (uint256 entry, uint256 index) = tree.find(4, 3, 4);
        assertEq(entry, 2);
        assertEq(index, 0);
        (entry, index) = tree.find(3, 3, 4);
        assertEq(entry, 0);
        assertEq(index, 3);
        // At the start of epoch 3 (removed during 3) it still counted.
        assertEq(tree.leavesBefore(2, 3), 12);
        (entry, index) = tree.find(4, 3, 3);
        assertEq(entry, 1);
        assertEq(index, 0);
    }
}
