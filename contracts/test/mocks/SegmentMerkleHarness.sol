// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {SegmentMerkle} from "../../libraries/SegmentMerkle.sol";

/// @title SegmentMerkleHarness
/// @notice Exposes the SegmentMerkle library so node tests can run it on the shared vectors.
contract SegmentMerkleHarness {
    /// @notice See SegmentMerkle.verify.
    /// @param root Tree root.
    /// @param leafCount Real leaf count.
    /// @param index Segment position.
    /// @param segment Segment bytes.
    /// @param path Sibling hashes, leaf level first.
    /// @return Whether the proof is valid.
    function verify(
        bytes32 root,
        uint256 leafCount,
        uint256 index,
        bytes calldata segment,
        bytes32[] calldata path
    ) external view returns (bool) {
        return SegmentMerkle.verify(root, leafCount, index, segment, path);
    }

    /// @notice See SegmentMerkle.depth.
    /// @param leafCount Real leaf count.
    /// @return Tree depth.
    function depth(uint256 leafCount) external pure returns (uint256) {
        return SegmentMerkle.depth(leafCount);
    }

    /// @notice See SegmentMerkle.leafHash.
    /// @param segment Segment bytes.
    /// @return Leaf hash.
    function leafHash(bytes calldata segment) external view returns (bytes32) {
        return SegmentMerkle.leafHash(segment);
    }
}
