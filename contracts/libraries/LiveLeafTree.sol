// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

/// @title LiveLeafTree
/// @notice The live leaves of one provider's proof set, as they stood at the start of an epoch.
/// Entries are appended (a shard joins) and later zeroed (the shard leaves); a Fenwick tree over
/// the entries' leaf counts gives the live leaves before any entry in O(log n), and each tree
/// node remembers its value before the updates of its last two update epochs, so reads "at the
/// start of epoch e" are exact for e = current epoch and e = current − 1: the proof window.
/// Challenges for an epoch are drawn over these start-of-epoch values, so nothing done during
/// the window (accepting, settling, declaring a loss) can re-roll them.
/// @dev A node packs into one slot: a proof reads one slot per visited node.
library LiveLeafTree {
    using Checkpoints for Checkpoints.Trace208;

    /// @dev `v` now; `b1` before the first update of epoch `u1` (the latest update epoch);
    /// `b0` before the first update of epoch `u0` (the update epoch before `u1`).
    struct Node {
        uint64 v;
        uint64 b1;
        uint64 b0;
        uint32 u1;
        uint32 u0;
    }

    struct Tree {
        /// @dev 1-based Fenwick nodes: node i covers entries (i − lowbit(i), i] (1-based).
        mapping(uint256 index => Node) nodes;
        /// @dev Live leaves after all changes of each epoch in which they changed.
        Checkpoints.Trace208 totals;
    }

    /// @notice Adds entry number `count` (0-based; the tree held `count` entries before) with
    /// `leaves` leaves during epoch `epoch`.
    function append(Tree storage t, uint256 count, uint64 leaves, uint256 epoch) internal {
        uint256 i = count + 1;
        uint256 low = i & (~i + 1);
        uint256 v = leaves;
        // A new node sums the nodes below it (its Fenwick children): nodes above it do not
        // exist yet and are built the same way when their entries arrive.
        for (uint256 j = i - 1; j > i - low; j -= j & (~j + 1)) v += t.nodes[j].v;
        t.nodes[i] = Node({v: uint64(v), b1: 0, b0: 0, u1: 0, u0: 0});
        _setTotal(t, epoch, int256(uint256(leaves)));
    }

    /// @notice Zeroes entry `entry` (0-based) of `leaves` leaves during epoch `epoch`; the tree
    /// holds `count` entries.
    function remove(Tree storage t, uint256 entry, uint256 count, uint64 leaves, uint256 epoch) internal {
        for (uint256 i = entry + 1; i <= count; i += i & (~i + 1)) {
            Node storage n = t.nodes[i];
            if (n.u1 != epoch) {
                (n.u0, n.b0) = (n.u1, n.b1);
                (n.u1, n.b1) = (uint32(epoch), n.v);
            }
            n.v -= leaves;
        }
        _setTotal(t, epoch, -int256(uint256(leaves)));
    }

    /// @notice Live leaves, at the start of epoch `epoch`, of the entries before `entry`
    /// (0-based). Exact for the current and the previous epoch, for entries appended before `epoch`.
    function leavesBefore(Tree storage t, uint256 entry, uint256 epoch) internal view returns (uint256 sum) {
        for (uint256 i = entry; i > 0; i -= i & (~i + 1)) sum += _valueAt(t.nodes[i], epoch);
    }

    /// @notice Live leaves at the start of epoch `epoch` (any epoch).
    function totalAt(Tree storage t, uint256 epoch) internal view returns (uint256) {
        return epoch == 0 ? 0 : t.totals.upperLookupRecent(uint48(epoch - 1));
    }

    /// @notice Live leaves now.
    function total(Tree storage t) internal view returns (uint256) {
        return t.totals.latest();
    }

    /// @notice The last epoch in which the live leaves changed (0 if never).
    function lastChange(Tree storage t) internal view returns (uint256 epoch) {
        (, epoch, ) = t.totals.latestCheckpoint();
    }

    /// @notice The entry (0-based) holding live leaf `x` at the start of `epoch`, and the
    /// leaf's index inside it, searching the first `count` entries (those appended before
    /// `epoch`). For views: a proof names the entry and is checked with leavesBefore.
    function find(
        Tree storage t,
        uint256 x,
        uint256 count,
        uint256 epoch
    ) internal view returns (uint256 entry, uint256 index) {
        uint256 step = 1;
        while (step * 2 <= count) step *= 2;
        for (; step > 0; step /= 2) {
            if (entry + step > count) continue;
            uint256 v = _valueAt(t.nodes[entry + step], epoch);
            if (v <= x) {
                entry += step;
                x -= v;
            }
        }
        return (entry, x);
    }

    function _valueAt(Node storage n, uint256 epoch) private pure returns (uint256) {
        Node memory m = n;
        if (m.u1 < epoch) return m.v;
        if (m.u0 < epoch) return m.b1;
        return m.b0;
    }

    function _setTotal(Tree storage t, uint256 epoch, int256 delta) private {
        uint256 cur = t.totals.latest();
        t.totals.push(uint48(epoch), uint208(delta >= 0 ? cur + uint256(delta) : cur - uint256(-delta)));
    }
}
