// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
// solhint-disable-next-line max-line-length
import {GovernorVotesQuorumFraction} from "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {ICoopMembership} from "../interfaces/ICoopMembership.sol";

/// @title CoopGovernor
/// @notice The co-op's governor: one member, one vote (votes come from {CoopMembership}), quorum
/// as a fraction of all members at the proposal's snapshot, and every decision executed by the
/// timelock, which alone holds the co-op's setters.
/// @dev Stock OpenZeppelin parts; this contract only chooses them and resolves their overrides.
/// The clock (timestamps) is the token's ERC-6372 clock, so delay and period are in seconds.
/// The proposal threshold is 1 vote: only a member may propose (OpenZeppelin counts the proposer's
/// votes at `clock() - 1`, so a member can propose from the second after it joined).
contract CoopGovernor is
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl
{
    /// @param token The membership token (ERC-5805 votes, timestamp clock).
    /// @param timelock The timelock that executes proposals; this governor must be its proposer.
    /// @param initialVotingDelay Seconds from proposal to the vote's start (the snapshot).
    /// @param initialVotingPeriod Seconds the vote stays open.
    /// @param quorumNumeratorValue Quorum in percent of all members at the snapshot.
    constructor(
        IVotes token,
        TimelockController timelock,
        uint48 initialVotingDelay,
        uint32 initialVotingPeriod,
        uint256 quorumNumeratorValue
    )
        Governor("Co-op Cloud Governor")
        GovernorSettings(initialVotingDelay, initialVotingPeriod, 1)
        GovernorVotes(token)
        GovernorVotesQuorumFraction(quorumNumeratorValue)
        GovernorTimelockControl(timelock)
    {}

    /// @notice Votes needed for a quorum at `timepoint`: the quorum percentage of all members,
    /// rounded up, and never less than one vote.
    /// @dev OpenZeppelin rounds down, so 10% of fewer than ten members would be a quorum of zero.
    function quorum(uint256 timepoint) public view override(Governor, GovernorVotesQuorumFraction) returns (uint256) {
        uint256 votes = Math.mulDiv(
            token().getPastTotalSupply(timepoint),
            quorumNumerator(timepoint),
            quorumDenominator(),
            Math.Rounding.Ceil
        );
        return votes == 0 ? 1 : votes;
    }

    /// @dev Weight needs membership at the snapshot (the checkpointed vote) and now: a member who
    /// has exited or been expelled since the snapshot (share refunded, token burned) casts no
    /// weight, so a refunded share can never still vote. Also gates proposing.
    function _getVotes(
        address account,
        uint256 timepoint,
        bytes memory params
    ) internal view override(Governor, GovernorVotes) returns (uint256) {
        if (!ICoopMembership(address(token())).isMember(account)) return 0;
        return super._getVotes(account, timepoint, params);
    }

    // The overrides below are required by Solidity; each picks the extension that owns the behaviour.

    /// @inheritdoc Governor
    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    /// @inheritdoc Governor
    function state(uint256 proposalId) public view override(Governor, GovernorTimelockControl) returns (ProposalState) {
        return super.state(proposalId);
    }

    /// @inheritdoc Governor
    function proposalNeedsQueuing(
        uint256 proposalId
    ) public view override(Governor, GovernorTimelockControl) returns (bool) {
        return super.proposalNeedsQueuing(proposalId);
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }
}
