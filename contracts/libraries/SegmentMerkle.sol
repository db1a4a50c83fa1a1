// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

/// @title SegmentMerkle
/// @notice Verifies a segment proof against a shard's segment Merkle root, exactly as
/// docs/protocol.md ("Segment commitments") specifies: SHA-256, 512-byte segments,
/// leaf = H(0x00 ‖ segment), node = H(0x01 ‖ left ‖ right), leaf level padded to a power of
/// two with bytes32(0) leaves, path leaf level first, bit i of the index selects the side.
/// @dev Hashing goes straight to the SHA-256 precompile (address 0x02) over memory above the
/// free-memory pointer, which is never allocated: one 513-byte call for the leaf and one
/// 65-byte call per level. That avoids `abi.encodePacked` copies and the `sha256` builtin's
/// per-call memory expansion, so a proof costs ~(264 + 96·depth) gas of hashing.
library SegmentMerkle {
    /// @notice Bytes per segment (the last segment of a shard is zero-padded to this size).
    uint256 internal constant SEGMENT_SIZE = 512;

    /// @notice Depth of a tree over `leafCount` leaves: ceil(log2(leafCount)); 0 for one leaf.
    /// @param leafCount Number of real leaves (≥ 1).
    /// @return d The number of sibling hashes in every proof of that tree.
    function depth(uint256 leafCount) internal pure returns (uint256 d) {
        // Smallest d with 2^d ≥ leafCount; bounded by 256 iterations, ~32 in practice.
        while ((uint256(1) << d) < leafCount) {
            unchecked {
                ++d;
            }
        }
    }

    /// @notice Leaf hash H(0x00 ‖ segment) of a segment held in calldata.
    /// @param segment Exactly SEGMENT_SIZE bytes (not checked here).
    /// @return h The leaf hash.
    function leafHash(bytes calldata segment) internal view returns (bytes32 h) {
        // Scratch memory above the free pointer: 0x00 ‖ segment, hashed by the precompile into 0x00.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x00)
            calldatacopy(add(ptr, 1), segment.offset, segment.length)
            if iszero(staticcall(gas(), 0x02, ptr, add(segment.length, 1), 0x00, 0x20)) {
                revert(0, 0)
            }
            h := mload(0x00)
        }
    }

    /// @notice True when `segment` is the segment at `index` of the tree with `root` over
    /// `leafCount` leaves, as proven by `path`.
    /// @dev False (never a revert) for a zero leaf count, `index ≥ leafCount` (so padding
    /// leaves can never be proven), a segment that is not exactly 512 bytes, or a path whose
    /// length is not depth(leafCount).
    /// @param root The shard's segment Merkle root.
    /// @param leafCount The shard's real leaf count, ceil(shardSize / 512), at least 1.
    /// @param index The challenged segment's position.
    /// @param segment The segment bytes.
    /// @param path Sibling hashes, leaf level first.
    /// @return ok Whether the proof is valid.
    function verify(
        bytes32 root,
        uint256 leafCount,
        uint256 index,
        bytes calldata segment,
        bytes32[] calldata path
    ) internal view returns (bool ok) {
        if (index >= leafCount || segment.length != SEGMENT_SIZE || path.length != depth(leafCount)) {
            return false;
        }
        return _fold(leafHash(segment), index, path) == root;
    }

    /// @dev Folds `path` into the running hash `h`; bit i of `index` says whether `h` is the
    /// right (1) or left (0) child at level i.
    function _fold(bytes32 h, uint256 index, bytes32[] calldata path) private view returns (bytes32 out) {
        // Scratch memory above the free pointer: 0x01 ‖ left ‖ right, one precompile call per level.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            let left := add(ptr, 1)
            let right := add(ptr, 33)
            let p := path.offset
            let end := add(p, shl(5, path.length))
            for {} lt(p, end) {
                p := add(p, 0x20)
            } {
                switch and(index, 1)
                case 0 {
                    mstore(left, h)
                    mstore(right, calldataload(p))
                }
                default {
                    mstore(left, calldataload(p))
                    mstore(right, h)
                }
                if iszero(staticcall(gas(), 0x02, ptr, 65, 0x00, 0x20)) {
                    revert(0, 0)
                }
                h := mload(0x00)
                index := shr(1, index)
            }
            out := h
        }
    }
}
