// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";

import {SegmentMerkleHarness} from "./mocks/SegmentMerkleHarness.sol";

/// @notice Fuzz tests of SegmentMerkle against an independent in-test tree builder (the
/// `sha256` builtin over abi.encodePacked). The shared JSON vectors are checked by
/// test/contracts/SegmentMerkle.ts: the local forge-std has no file cheatcodes.
contract SegmentMerkleTest is Test {
    SegmentMerkleHarness internal harness;

    function setUp() public {
        harness = new SegmentMerkleHarness();
    }

    /// @dev Deterministic 512-byte segment `i` of a shard identified by `seed`.
    function _segment(bytes32 seed, uint256 i) internal pure returns (bytes memory seg) {
        seg = new bytes(512);
        for (uint256 w = 0; w < 16; ++w) {
            bytes32 word = keccak256(abi.encode(seed, i, w));
            assembly ("memory-safe") {
                mstore(add(add(seg, 0x20), shl(5, w)), word)
            }
        }
    }

    /// @dev Reference tree: returns the root and the proof path of `index`.
    function _tree(bytes32 seed, uint256 n, uint256 index) internal pure returns (bytes32 root, bytes32[] memory path) {
        uint256 width = 1;
        uint256 depth = 0;
        while (width < n) {
            width <<= 1;
            ++depth;
        }
        bytes32[] memory level = new bytes32[](width);
        for (uint256 i = 0; i < n; ++i) {
            level[i] = sha256(abi.encodePacked(bytes1(0x00), _segment(seed, i)));
        }
        path = new bytes32[](depth);
        uint256 pos = index;
        for (uint256 d = 0; d < depth; ++d) {
            path[d] = level[pos ^ 1];
            bytes32[] memory next = new bytes32[](level.length / 2);
            for (uint256 i = 0; i < next.length; ++i) {
                next[i] = sha256(abi.encodePacked(bytes1(0x01), level[2 * i], level[2 * i + 1]));
            }
            level = next;
            pos >>= 1;
        }
        root = level[0];
    }

    function testFuzz_RoundTrip(bytes32 seed, uint256 leafCount, uint256 index) public view {
        leafCount = bound(leafCount, 1, 40);
        index = bound(index, 0, leafCount - 1);
        (bytes32 root, bytes32[] memory path) = _tree(seed, leafCount, index);
        bytes memory seg = _segment(seed, index);
        assertTrue(harness.verify(root, leafCount, index, seg, path), "valid proof rejected");
        assertEq(harness.depth(leafCount), path.length);
        if (leafCount > 1) {
            // The same proof at any other position fails.
            uint256 other = (index + 1) % leafCount;
            assertFalse(harness.verify(root, leafCount, other, seg, path), "wrong position accepted");
        }
    }

    function testFuzz_RejectsTampering(bytes32 seed, uint256 leafCount, uint256 index, uint256 flip) public view {
        leafCount = bound(leafCount, 2, 33);
        index = bound(index, 0, leafCount - 1);
        (bytes32 root, bytes32[] memory path) = _tree(seed, leafCount, index);
        bytes memory seg = _segment(seed, index);
        bytes memory tampered = bytes.concat(seg);
        uint256 at = bound(flip, 0, 511);
        tampered[at] = bytes1(uint8(tampered[at]) ^ 0x01);
        assertFalse(harness.verify(root, leafCount, index, tampered, path), "flipped segment byte accepted");
        bytes32[] memory badPath = new bytes32[](path.length);
        for (uint256 i = 0; i < path.length; ++i) badPath[i] = path[i];
        uint256 level = bound(flip, 0, path.length - 1);
        badPath[level] = badPath[level] ^ bytes32(uint256(1));
        assertFalse(harness.verify(root, leafCount, index, seg, badPath), "flipped path accepted");
        assertFalse(harness.verify(root, leafCount, leafCount, seg, path), "index >= leafCount accepted");
    }

    function test_RejectsWrongLengths() public view {
        (bytes32 root, bytes32[] memory path) = _tree(bytes32("x"), 5, 3);
        bytes memory seg = _segment(bytes32("x"), 3);
        assertTrue(harness.verify(root, 5, 3, seg, path));
        bytes32[] memory short = new bytes32[](2);
        short[0] = path[0];
        short[1] = path[1];
        assertFalse(harness.verify(root, 5, 3, seg, short), "short path");
        bytes32[] memory long = new bytes32[](4);
        for (uint256 i = 0; i < 3; ++i) long[i] = path[i];
        assertFalse(harness.verify(root, 5, 3, seg, long), "long path");
        assertFalse(harness.verify(root, 5, 3, bytes.concat(seg, hex"00"), path), "long segment");
        assertFalse(harness.verify(root, 0, 0, seg, new bytes32[](0)), "zero leaves");
    }

    function test_OneLeafTreeRootIsTheLeafHash() public view {
        (bytes32 root, bytes32[] memory path) = _tree(bytes32("one"), 1, 0);
        bytes memory seg = _segment(bytes32("one"), 0);
        assertEq(path.length, 0);
        assertEq(root, harness.leafHash(seg));
        assertTrue(harness.verify(root, 1, 0, seg, path));
    }
}
