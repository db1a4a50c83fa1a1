// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IStorageMarket} from "../../interfaces/IStorageMarket.sol";

interface IMembershipJoin {
    function join() external;
}

interface IMarketWrite {
    function register(string calldata endpoint, string[] calldata multiaddrs, uint64 capacity, uint256 stake) external;
    function createDeal(IStorageMarket.DealRequest calldata req) external returns (uint256);
    function acceptShard(
        uint256 dealId,
        uint256 shard,
        bytes32[] calldata roots,
        address[] calldata providers
    ) external;
}

/// @title MarketBulkProvider
/// @notice Test helper: a member provider that is also its own data owner, so a gas test can
/// fill one proof set with thousands of shards in a few transactions (deal creation and
/// acceptance in a loop). Tests then impersonate it to send the proof itself.
contract MarketBulkProvider {
    IMarketWrite public immutable market;

    /// @param market_ The market.
    /// @param token The payment token (approved to the market and the membership).
    /// @param membership The membership contract.
    constructor(IMarketWrite market_, IERC20 token, address membership) {
        market = market_;
        token.approve(address(market_), type(uint256).max);
        token.approve(membership, type(uint256).max);
    }

    /// @notice Joins the co-op (the share is pulled from this contract's balance).
    /// @param membership The membership contract.
    function join(address membership) external {
        IMembershipJoin(membership).join();
    }

    /// @notice Registers as a provider.
    /// @param capacity Bytes offered.
    /// @param stake Stake.
    function register(uint64 capacity, uint256 stake) external {
        market.register("http://bulk.invalid", new string[](0), capacity, stake);
    }

    /// @notice Creates `count` one-shard deals held by this contract and accepts each.
    /// @param count Deals to create.
    /// @param shardSize Shard size.
    /// @param durationEpochs Deal duration.
    /// @param root The shard root (the same data for every deal).
    function createAndAccept(uint256 count, uint64 shardSize, uint32 durationEpochs, bytes32 root) external {
        bytes32[] memory roots = new bytes32[](1);
        roots[0] = root;
        address[] memory providers = new address[](1);
        providers[0] = address(this);
        IStorageMarket.DealRequest memory req = IStorageMarket.DealRequest({
            k: 1,
            shardSize: shardSize,
            durationEpochs: durationEpochs,
            roots: roots,
            providers: providers,
            manifestCid: abi.encodePacked(bytes4(0x01551220), root)
        });
        for (uint256 i = 0; i < count; ++i) {
            uint256 id = market.createDeal(req);
            market.acceptShard(id, 0, roots, providers);
        }
    }
}
