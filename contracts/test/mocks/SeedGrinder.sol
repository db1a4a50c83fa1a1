// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {StorageMarket} from "../../market/StorageMarket.sol";

/// @notice An attacker's contract: calls fixSeed only in a block whose caller-visible seed
/// (prevrandao and the previous block hash: the rule before seeds were committed to future
/// blocks) draws every challenge of `provider` into the leaves it kept. Test only.
contract SeedGrinder {
    StorageMarket private immutable _market;

    constructor(StorageMarket market) {
        _market = market;
    }

    /// @notice Fixes the seed if this block looks favourable: all `c` challenges over `range`
    /// live leaves below `kept`.
    /// @return called Whether it called fixSeed.
    function grind(address provider, uint256 kept, uint256 range, uint256 c) external returns (bool called) {
        uint256 epoch = _market.currentEpoch();
        bytes32 guess = keccak256(abi.encode(block.prevrandao, blockhash(block.number - 1), epoch, address(_market)));
        for (uint256 i = 0; i < c; ++i) {
            if (uint256(keccak256(abi.encode(guess, provider, i))) % range >= kept) return false;
        }
        _market.fixSeed();
        return true;
    }
}
