// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ICoopMembership} from "../interfaces/ICoopMembership.sol";
import {IPatronageTreasury} from "../interfaces/IPatronageTreasury.sol";

/// @title PatronageTreasury
/// @notice Holds the co-op's surplus (the market's fees) and pays it back to members as patronage
/// dividends: points accrue per member per period by what the member paid for storage and earned
/// providing it; governance declares a dividend for a closed period; each member claims its pro-rata
/// part in O(1) within the claim window; what is left after the window returns to the free balance.
/// @dev Periods: period `p` covers `[genesis + p·periodLength, genesis + (p+1)·periodLength)`, with
/// `genesis` the deployment time; both are immutable so period numbers never shift.
///
/// Points: `paid · paidWeight + earned · earnedWeight`, in payment-token units times weight, computed
/// with the weights in force when the market records the activity. Weights are small integers (at
/// most {MAX_WEIGHT}); only their ratio matters.
///
/// Balances: `freeBalance = token balance − totalReserved`, where `totalReserved` is the sum over
/// declared periods of what has not yet been claimed or swept. Declarations and spending draw only
/// on the free balance, so declared dividends are always backed.
///
/// Claims: `dividend · points / totalPoints`, rounded down (`Math.mulDiv`), so the sum of all claims
/// of a period never exceeds its dividend; the dust returns to the free balance with the sweep.
/// Points are earned while a member; a member who has since left still claims what it earned.
contract PatronageTreasury is IPatronageTreasury, Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Totals of one period. One declaration per period.
    /// @param totalPoints Sum of all members' points in the period.
    /// @param claimDeadline Last second at which claims are accepted; 0 = no dividend declared.
    /// @param dividend Payment-token units declared for the period.
    /// @param unclaimed Part of `dividend` neither claimed nor swept yet (reserved).
    struct Period {
        uint192 totalPoints;
        uint64 claimDeadline;
        uint128 dividend;
        uint128 unclaimed;
    }

    /// @notice One member's patronage in one period.
    /// @param points Points earned in the period.
    /// @param claimed Whether the member has claimed the period's dividend.
    struct Patronage {
        uint192 points;
        bool claimed;
    }

    /// @notice Largest weight governance may set; keeps points far from overflow.
    uint256 public constant MAX_WEIGHT = 1e6;

    /// @notice The payment token in which fees arrive and dividends are paid.
    IERC20 public immutable token;

    /// @notice Whose members may earn points.
    ICoopMembership public immutable membership;

    /// @notice Length of a patronage period in seconds.
    uint64 public immutable periodLength;

    /// @notice Start of period 0 (the deployment time).
    uint64 public immutable genesis;

    /// @notice The only address allowed to call {recordPatronage} (the storage market).
    address public recorder;

    /// @notice Seconds after a declaration during which the dividend can be claimed.
    uint64 public claimWindow;

    /// @notice Points per payment-token unit a member paid for storage.
    uint128 public paidWeight;

    /// @notice Points per payment-token unit a member earned providing storage.
    uint128 public earnedWeight;

    /// @notice Sum of declared dividends not yet claimed or swept.
    uint256 public totalReserved;

    mapping(uint256 period => Period) private _periods;
    mapping(uint256 period => mapping(address member => Patronage)) private _patronage;

    /// @notice `member` earned `points` in `period` for `paid` spent and `earned` earned.
    /// @param period The current period.
    /// @param member The member credited.
    /// @param paid Payment-token units the member paid for storage.
    /// @param earned Payment-token units the member earned providing storage.
    /// @param points Points added.
    event PatronageRecorded(
        uint256 indexed period,
        address indexed member,
        uint256 paid,
        uint256 earned,
        uint256 points
    );

    /// @notice Governance declared `amount` as the dividend of `period`.
    /// @param period The closed period.
    /// @param amount Payment-token units reserved for claims.
    /// @param totalPoints The period's total points (the divisor of every claim).
    /// @param claimDeadline Last second at which claims are accepted.
    event DividendDeclared(uint256 indexed period, uint256 amount, uint256 totalPoints, uint64 claimDeadline);

    /// @notice `member` claimed `amount` of the dividend of `period`.
    /// @param period The period.
    /// @param member The claimant.
    /// @param amount Payment-token units paid.
    event DividendClaimed(uint256 indexed period, address indexed member, uint256 amount);

    /// @notice The unclaimed `amount` of `period`'s dividend returned to the free balance.
    /// @param period The period.
    /// @param amount Payment-token units released.
    event DividendSwept(uint256 indexed period, uint256 amount);

    /// @notice Governance spent `amount` from the free balance to `to`.
    /// @param to Recipient.
    /// @param amount Payment-token units sent.
    event FundsSpent(address indexed to, uint256 amount);

    /// @notice The recorder changed.
    /// @param oldRecorder Previous recorder.
    /// @param newRecorder New recorder.
    event RecorderUpdated(address indexed oldRecorder, address indexed newRecorder);

    /// @notice Governance changed the point weights.
    /// @param paidWeight New points per unit paid.
    /// @param earnedWeight New points per unit earned.
    event WeightsUpdated(uint256 paidWeight, uint256 earnedWeight);

    /// @notice Governance changed the claim window.
    /// @param oldWindow Previous window in seconds.
    /// @param newWindow New window in seconds.
    event ClaimWindowUpdated(uint64 oldWindow, uint64 newWindow);

    /// @notice Only the recorder may record patronage.
    /// @param caller The caller.
    error PatronageTreasuryNotRecorder(address caller);

    /// @notice `period` has not ended yet.
    /// @param period The period asked for.
    /// @param currentPeriod The period now running.
    error PatronageTreasuryPeriodNotClosed(uint256 period, uint256 currentPeriod);

    /// @notice `period` already has a dividend.
    /// @param period The period.
    error PatronageTreasuryDividendAlreadyDeclared(uint256 period);

    /// @notice `period` has no dividend.
    /// @param period The period.
    error PatronageTreasuryDividendNotDeclared(uint256 period);

    /// @notice No member earned points in `period`, so a dividend could never be claimed.
    /// @param period The period.
    error PatronageTreasuryNoPatronage(uint256 period);

    /// @notice A dividend or a spend of zero.
    error PatronageTreasuryZeroAmount();

    /// @notice `amount` exceeds the free balance.
    /// @param amount Payment-token units asked for.
    /// @param freeBalance Units available.
    error PatronageTreasuryInsufficientFreeBalance(uint256 amount, uint256 freeBalance);

    /// @notice The claim window of `period` has closed.
    /// @param period The period.
    /// @param claimDeadline Last second at which claims were accepted.
    error PatronageTreasuryClaimWindowClosed(uint256 period, uint64 claimDeadline);

    /// @notice The claim window of `period` is still open, so it cannot be swept.
    /// @param period The period.
    /// @param claimDeadline Last second of the window.
    error PatronageTreasuryClaimWindowOpen(uint256 period, uint64 claimDeadline);

    /// @notice `member` already claimed `period`.
    /// @param period The period.
    /// @param member The claimant.
    error PatronageTreasuryAlreadyClaimed(uint256 period, address member);

    /// @notice `member` earned no points in `period`.
    /// @param period The period.
    /// @param member The claimant.
    error PatronageTreasuryNoPoints(uint256 period, address member);

    /// @notice Nothing of `period`'s dividend is left to sweep.
    /// @param period The period.
    error PatronageTreasuryNothingToSweep(uint256 period);

    /// @notice A weight above {MAX_WEIGHT}.
    /// @param weight The weight asked for.
    /// @param maxWeight The largest allowed.
    error PatronageTreasuryWeightTooLarge(uint256 weight, uint256 maxWeight);

    /// @notice The period length must be positive.
    error PatronageTreasuryZeroPeriodLength();

    /// @notice The claim window must be positive.
    error PatronageTreasuryZeroClaimWindow();

    /// @notice Ownership cannot be renounced: funds would be locked for good.
    error PatronageTreasuryRenounceDisabled();

    /// @param token_ Payment token.
    /// @param membership_ The membership contract.
    /// @param periodLength_ Period length in seconds (immutable).
    /// @param claimWindow_ Initial claim window in seconds.
    /// @param paidWeight_ Initial points per unit paid.
    /// @param earnedWeight_ Initial points per unit earned.
    /// @param initialOwner The deployer, who sets the recorder and hands ownership to the timelock.
    constructor(
        IERC20 token_,
        ICoopMembership membership_,
        uint64 periodLength_,
        uint64 claimWindow_,
        uint256 paidWeight_,
        uint256 earnedWeight_,
        address initialOwner
    ) Ownable(initialOwner) {
        if (periodLength_ == 0) revert PatronageTreasuryZeroPeriodLength();
        token = token_;
        membership = membership_;
        periodLength = periodLength_;
        genesis = uint64(block.timestamp);
        _setClaimWindow(claimWindow_);
        _setWeights(paidWeight_, earnedWeight_);
    }

    // ----------------------------------------------------------------------------------------
    // Recording
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IPatronageTreasury
    function recordPatronage(address member, uint256 paid, uint256 earned) external {
        if (msg.sender != recorder) revert PatronageTreasuryNotRecorder(msg.sender);
        if (!membership.isMember(member)) return;
        uint256 points = paid * paidWeight + earned * earnedWeight;
        if (points == 0) return;
        uint256 period = currentPeriod();
        Period storage totals = _periods[period];
        Patronage storage patronage = _patronage[period][member];
        totals.totalPoints = SafeCast.toUint192(totals.totalPoints + points);
        // A member's points never exceed the period total, so this cast cannot fail.
        patronage.points = uint192(patronage.points + points);
        emit PatronageRecorded(period, member, paid, earned, points);
    }

    // ----------------------------------------------------------------------------------------
    // Dividends
    // ----------------------------------------------------------------------------------------

    /// @notice Declares `amount` from the free balance as the dividend of the closed `period`;
    /// claims are open for {claimWindow} seconds from now.
    /// @param period A period that has ended and has points.
    /// @param amount Payment-token units to distribute (at most {freeBalance}).
    function declareDividend(uint256 period, uint256 amount) external onlyOwner {
        uint256 current = currentPeriod();
        if (period >= current) revert PatronageTreasuryPeriodNotClosed(period, current);
        Period storage totals = _periods[period];
        if (totals.claimDeadline != 0) revert PatronageTreasuryDividendAlreadyDeclared(period);
        if (totals.totalPoints == 0) revert PatronageTreasuryNoPatronage(period);
        if (amount == 0) revert PatronageTreasuryZeroAmount();
        uint256 free = freeBalance();
        if (amount > free) revert PatronageTreasuryInsufficientFreeBalance(amount, free);

        uint64 deadline = uint64(block.timestamp) + claimWindow;
        uint128 amount128 = SafeCast.toUint128(amount);
        totals.claimDeadline = deadline;
        totals.dividend = amount128;
        totals.unclaimed = amount128;
        totalReserved += amount;
        emit DividendDeclared(period, amount, totals.totalPoints, deadline);
    }

    /// @notice Pays the caller its share of `period`'s dividend: `dividend · points / totalPoints`,
    /// rounded down. Once per member and period, until the claim deadline.
    /// @param period A period with a declared dividend.
    function claimDividend(uint256 period) external nonReentrant {
        Period storage totals = _periods[period];
        uint64 deadline = totals.claimDeadline;
        if (deadline == 0) revert PatronageTreasuryDividendNotDeclared(period);
        if (block.timestamp > deadline) revert PatronageTreasuryClaimWindowClosed(period, deadline);
        Patronage storage patronage = _patronage[period][msg.sender];
        if (patronage.claimed) revert PatronageTreasuryAlreadyClaimed(period, msg.sender);
        uint256 points = patronage.points;
        if (points == 0) revert PatronageTreasuryNoPoints(period, msg.sender);

        uint256 amount = Math.mulDiv(totals.dividend, points, totals.totalPoints);
        patronage.claimed = true;
        // Rounding down keeps every partial sum of claims at or below the dividend, so this
        // subtraction cannot underflow.
        totals.unclaimed -= uint128(amount);
        totalReserved -= amount;
        emit DividendClaimed(period, msg.sender, amount);
        if (amount != 0) token.safeTransfer(msg.sender, amount);
    }

    /// @notice After the claim window of `period`, returns what is left of its dividend (unclaimed
    /// shares and rounding dust) to the free balance. Anyone may call it.
    /// @param period A period whose claim window has closed.
    function sweepExpired(uint256 period) external {
        Period storage totals = _periods[period];
        uint64 deadline = totals.claimDeadline;
        if (deadline == 0) revert PatronageTreasuryDividendNotDeclared(period);
        if (block.timestamp <= deadline) revert PatronageTreasuryClaimWindowOpen(period, deadline);
        uint256 remainder = totals.unclaimed;
        if (remainder == 0) revert PatronageTreasuryNothingToSweep(period);
        totals.unclaimed = 0;
        totalReserved -= remainder;
        emit DividendSwept(period, remainder);
    }

    // ----------------------------------------------------------------------------------------
    // Governance
    // ----------------------------------------------------------------------------------------

    /// @notice Sends `amount` from the free balance to `to`.
    /// @param to Recipient.
    /// @param amount Payment-token units (at most {freeBalance}).
    function spend(address to, uint256 amount) external onlyOwner nonReentrant {
        if (amount == 0) revert PatronageTreasuryZeroAmount();
        uint256 free = freeBalance();
        if (amount > free) revert PatronageTreasuryInsufficientFreeBalance(amount, free);
        emit FundsSpent(to, amount);
        token.safeTransfer(to, amount);
    }

    /// @notice Sets the only address allowed to record patronage (the storage market).
    /// @param newRecorder The recorder; address(0) stops all recording.
    function setRecorder(address newRecorder) external onlyOwner {
        emit RecorderUpdated(recorder, newRecorder);
        recorder = newRecorder;
    }

    /// @notice Sets the point weights for activity recorded from now on.
    /// @param newPaidWeight Points per unit paid (at most {MAX_WEIGHT}).
    /// @param newEarnedWeight Points per unit earned (at most {MAX_WEIGHT}).
    function setWeights(uint256 newPaidWeight, uint256 newEarnedWeight) external onlyOwner {
        _setWeights(newPaidWeight, newEarnedWeight);
    }

    /// @notice Sets the claim window for dividends declared from now on.
    /// @param newWindow Window in seconds (positive).
    function setClaimWindow(uint64 newWindow) external onlyOwner {
        _setClaimWindow(newWindow);
    }

    /// @notice Disabled: always reverts with {PatronageTreasuryRenounceDisabled}.
    function renounceOwnership() public view override onlyOwner {
        revert PatronageTreasuryRenounceDisabled();
    }

    // ----------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------

    /// @notice The period now running.
    function currentPeriod() public view returns (uint256) {
        return (block.timestamp - genesis) / periodLength;
    }

    /// @notice Unix time at which `period` starts.
    /// @param period The period.
    function periodStart(uint256 period) external view returns (uint256) {
        return genesis + period * periodLength;
    }

    /// @notice Token balance not reserved for declared dividends: what governance may declare or spend.
    function freeBalance() public view returns (uint256) {
        uint256 balance = token.balanceOf(address(this));
        // Saturating: only a token that takes balance away by itself could make this negative.
        return balance > totalReserved ? balance - totalReserved : 0;
    }

    /// @notice The totals of `period`.
    /// @param period The period.
    function getPeriod(uint256 period) external view returns (Period memory) {
        return _periods[period];
    }

    /// @notice `member`'s points in `period` and whether it has claimed.
    /// @param period The period.
    /// @param member The member.
    function getPatronage(uint256 period, address member) external view returns (Patronage memory) {
        return _patronage[period][member];
    }

    /// @notice What `member` would receive from {claimDividend} for `period` now (0 if it cannot claim).
    /// @param period The period.
    /// @param member The member.
    function claimableDividend(uint256 period, address member) external view returns (uint256) {
        Period memory totals = _periods[period];
        Patronage memory patronage = _patronage[period][member];
        if (totals.claimDeadline == 0 || block.timestamp > totals.claimDeadline || patronage.claimed) return 0;
        // A declared period has points, so the division is safe; zero points give zero.
        return Math.mulDiv(totals.dividend, patronage.points, totals.totalPoints);
    }

    // ----------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------

    function _setWeights(uint256 newPaidWeight, uint256 newEarnedWeight) private {
        if (newPaidWeight > MAX_WEIGHT) revert PatronageTreasuryWeightTooLarge(newPaidWeight, MAX_WEIGHT);
        if (newEarnedWeight > MAX_WEIGHT) revert PatronageTreasuryWeightTooLarge(newEarnedWeight, MAX_WEIGHT);
        // Both fit: MAX_WEIGHT is far below 2**128.
        paidWeight = uint128(newPaidWeight);
        earnedWeight = uint128(newEarnedWeight);
        emit WeightsUpdated(newPaidWeight, newEarnedWeight);
    }

    function _setClaimWindow(uint64 newWindow) private {
        if (newWindow == 0) revert PatronageTreasuryZeroClaimWindow();
        emit ClaimWindowUpdated(claimWindow, newWindow);
        claimWindow = newWindow;
    }
}
