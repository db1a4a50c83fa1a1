// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721Votes} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721Votes.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ICoopMembership} from "../interfaces/ICoopMembership.sol";

/// @title CoopMembership
/// @notice Membership of the co-op: a non-transferable ERC-721 with votes, bought with a refundable
/// member share. One address holds at most one token and its vote is always delegated to itself
/// ({delegates} is the identity, delegation is disabled), so total votes equal the number of
/// members (one member, one vote).
/// @dev The token id of a member is its address (`uint256(uint160(member))`), so a member who leaves
/// and joins again gets the same id back and lookups need no extra storage. The ERC-6372 clock is
/// the block timestamp, which the governor reads from this token.
///
/// Refunds are pushed to the member inside the transaction that ends the membership (checks,
/// effects, then the transfer; every token-moving function is `nonReentrant`). If the push fails
/// (for example the payment token blacklists the member), the refund is kept for the member to
/// withdraw to another address with {withdrawRefund}, so a failing transfer can never block an exit
/// or an expulsion.
contract CoopMembership is ICoopMembership, ERC721, EIP712, ERC721Votes, Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice What the co-op stores per member.
    /// @param sharePaid Payment-token units the member paid to join; exactly this is refunded.
    /// @param exitAvailableAt Unix time from which a requested exit can be completed; 0 = no exit pending.
    struct Member {
        uint192 sharePaid;
        uint64 exitAvailableAt;
    }

    /// @notice Longest exit notice governance may set, so a member's share can never be locked in for good.
    uint64 public constant MAX_EXIT_NOTICE = 365 days;

    /// @notice The ERC-20 in which member shares are paid and refunded.
    IERC20 public immutable paymentToken;

    /// @notice Payment-token units a new member pays to join (set by governance).
    uint256 public shareAmount;

    /// @notice Seconds between {requestExit} and the earliest {completeExit} (set by governance).
    uint64 public exitNotice;

    mapping(address member => Member) private _members;
    mapping(address account => uint256 amount) private _deferredRefunds;

    /// @notice `member` joined, paid `sharePaid` and received membership token `tokenId`.
    /// @param member The new member.
    /// @param tokenId The membership token (equal to `uint256(uint160(member))`).
    /// @param sharePaid Payment-token units paid; the amount refunded on exit.
    event MemberJoined(address indexed member, uint256 indexed tokenId, uint256 sharePaid);

    /// @notice `member` asked to leave; the exit can be completed from `availableAt`.
    /// @param member The member leaving.
    /// @param availableAt Unix time from which {completeExit} succeeds.
    event ExitRequested(address indexed member, uint64 availableAt);

    /// @notice `member` withdrew its pending exit request and stays a member.
    /// @param member The member.
    event ExitCancelled(address indexed member);

    /// @notice `member` left; its token was burned and `refund` units of its share returned.
    /// @param member The former member.
    /// @param refund Payment-token units refunded (pushed, or deferred if the push failed).
    event MemberExited(address indexed member, uint256 refund);

    /// @notice Governance expelled `member`; its token was burned and `refund` units returned.
    /// @param member The former member.
    /// @param refund Payment-token units refunded (pushed, or deferred if the push failed).
    event MemberExpelled(address indexed member, uint256 refund);

    /// @notice Pushing a refund to `account` failed; `amount` waits for {withdrawRefund}.
    /// @param account The former member owed the refund.
    /// @param amount Payment-token units kept for it.
    event RefundDeferred(address indexed account, uint256 amount);

    /// @notice `account` withdrew its deferred refund of `amount` to `to`.
    /// @param account The former member.
    /// @param to Where the tokens went.
    /// @param amount Payment-token units sent.
    event RefundWithdrawn(address indexed account, address indexed to, uint256 amount);

    /// @notice Governance changed the share new members pay.
    /// @param oldAmount Previous share in payment-token units.
    /// @param newAmount New share in payment-token units.
    event ShareAmountUpdated(uint256 oldAmount, uint256 newAmount);

    /// @notice Governance changed the exit notice.
    /// @param oldNotice Previous notice in seconds.
    /// @param newNotice New notice in seconds.
    event ExitNoticeUpdated(uint64 oldNotice, uint64 newNotice);

    /// @notice `account` already holds a membership token.
    /// @param account The caller of {join}.
    error CoopMembershipAlreadyMember(address account);

    /// @notice `account` holds no membership token.
    /// @param account The address that had to be a member.
    error CoopMembershipNotMember(address account);

    /// @notice {joinWithPermit}: the permit failed and the existing allowance does not cover the share.
    /// @param account The caller.
    /// @param allowance Its allowance to this contract.
    /// @param required The share it has to pay.
    error CoopMembershipInsufficientAllowance(address account, uint256 allowance, uint256 required);

    /// @notice `member` already has an exit pending.
    /// @param member The caller.
    /// @param availableAt When the pending exit can be completed.
    error CoopMembershipExitAlreadyRequested(address member, uint64 availableAt);

    /// @notice `account` has no exit pending.
    /// @param account The caller.
    error CoopMembershipExitNotRequested(address account);

    /// @notice The notice period of `member`'s exit has not yet passed.
    /// @param member The caller.
    /// @param availableAt When {completeExit} will succeed.
    error CoopMembershipExitNotReady(address member, uint64 availableAt);

    /// @notice Membership tokens cannot be transferred.
    /// @param from The holder.
    /// @param to The intended recipient.
    /// @param tokenId The token.
    error CoopMembershipTransferDisabled(address from, address to, uint256 tokenId);

    /// @notice Membership tokens cannot be approved for transfer.
    /// @param operator The address that was to be approved.
    error CoopMembershipApprovalDisabled(address operator);

    /// @notice Votes cannot be delegated: every member votes for itself.
    /// @param delegatee The address that was to receive the votes.
    error CoopMembershipDelegationDisabled(address delegatee);

    /// @notice `account` has no deferred refund.
    /// @param account The caller of {withdrawRefund}.
    error CoopMembershipNoRefund(address account);

    /// @notice The share does not fit the stored `uint192`.
    /// @param amount The share asked for.
    error CoopMembershipShareTooLarge(uint256 amount);

    /// @notice The exit notice exceeds {MAX_EXIT_NOTICE}.
    /// @param notice The notice asked for, in seconds.
    /// @param maxNotice The longest allowed, in seconds.
    error CoopMembershipExitNoticeTooLong(uint64 notice, uint64 maxNotice);

    /// @notice Ownership cannot be renounced: the co-op's setters and expulsion must stay with governance.
    error CoopMembershipRenounceDisabled();

    /// @param paymentToken_ ERC-20 in which shares are paid (the co-op's payment token).
    /// @param shareAmount_ Initial share in payment-token units.
    /// @param exitNotice_ Initial exit notice in seconds (at most {MAX_EXIT_NOTICE}).
    /// @param timelock Owner of the setters and of {expel}: the governance timelock.
    constructor(
        IERC20 paymentToken_,
        uint256 shareAmount_,
        uint64 exitNotice_,
        address timelock
    ) ERC721("Co-op Cloud Membership", "COOPM") EIP712("Co-op Cloud Membership", "1") Ownable(timelock) {
        paymentToken = paymentToken_;
        _setShareAmount(shareAmount_);
        _setExitNotice(exitNotice_);
    }

    // ----------------------------------------------------------------------------------------
    // Joining and leaving
    // ----------------------------------------------------------------------------------------

    /// @notice Pays the current {shareAmount} (needs an allowance) and makes the caller a member
    /// with one self-delegated vote.
    function join() external nonReentrant {
        _join(msg.sender, shareAmount);
    }

    /// @notice {join} with an EIP-2612 permit for exactly {shareAmount}, in one transaction.
    /// @dev A permit that was front-run (its nonce already used) makes `permit` revert; the join then
    /// goes ahead if the allowance it granted is already in place, as OpenZeppelin recommends.
    /// @param deadline Permit deadline.
    /// @param v Permit signature `v`.
    /// @param r Permit signature `r`.
    /// @param s Permit signature `s`.
    function joinWithPermit(uint256 deadline, uint8 v, bytes32 r, bytes32 s) external nonReentrant {
        uint256 amount = shareAmount;
        try IERC20Permit(address(paymentToken)).permit(msg.sender, address(this), amount, deadline, v, r, s) {
            // allowance granted
        } catch {
            uint256 allowed = paymentToken.allowance(msg.sender, address(this));
            if (allowed < amount) revert CoopMembershipInsufficientAllowance(msg.sender, allowed, amount);
        }
        _join(msg.sender, amount);
    }

    /// @notice Starts the caller's exit; it can be completed after {exitNotice} seconds. The caller
    /// stays a member, with its vote, until then.
    function requestExit() external {
        if (!_isMember(msg.sender)) revert CoopMembershipNotMember(msg.sender);
        Member storage member = _members[msg.sender];
        uint64 pendingAt = member.exitAvailableAt;
        if (pendingAt != 0) revert CoopMembershipExitAlreadyRequested(msg.sender, pendingAt);
        // The notice is fixed now: a later change by governance does not move a pending exit.
        uint64 availableAt = uint64(block.timestamp) + exitNotice;
        member.exitAvailableAt = availableAt;
        emit ExitRequested(msg.sender, availableAt);
    }

    /// @notice Withdraws the caller's pending exit request.
    function cancelExit() external {
        Member storage member = _members[msg.sender];
        if (member.exitAvailableAt == 0) revert CoopMembershipExitNotRequested(msg.sender);
        member.exitAvailableAt = 0;
        emit ExitCancelled(msg.sender);
    }

    /// @notice Completes the caller's exit after the notice: burns its token and refunds the share it paid.
    function completeExit() external nonReentrant {
        uint64 availableAt = _members[msg.sender].exitAvailableAt;
        if (availableAt == 0) revert CoopMembershipExitNotRequested(msg.sender);
        if (block.timestamp < availableAt) revert CoopMembershipExitNotReady(msg.sender, availableAt);
        uint256 refund = _removeMember(msg.sender);
        emit MemberExited(msg.sender, refund);
        _pushRefund(msg.sender, refund);
    }

    /// @notice Governance removes `member` at once: burns its token and refunds the share it paid.
    /// @param member The member to expel.
    function expel(address member) external onlyOwner nonReentrant {
        if (!_isMember(member)) revert CoopMembershipNotMember(member);
        uint256 refund = _removeMember(member);
        emit MemberExpelled(member, refund);
        _pushRefund(member, refund);
    }

    /// @notice Sends the caller's deferred refund (see {RefundDeferred}) to `to`.
    /// @param to Recipient of the refund (may differ from the caller, e.g. if it is blacklisted).
    function withdrawRefund(address to) external nonReentrant {
        uint256 amount = _deferredRefunds[msg.sender];
        if (amount == 0) revert CoopMembershipNoRefund(msg.sender);
        delete _deferredRefunds[msg.sender];
        emit RefundWithdrawn(msg.sender, to, amount);
        paymentToken.safeTransfer(to, amount);
    }

    // ----------------------------------------------------------------------------------------
    // Governance
    // ----------------------------------------------------------------------------------------

    /// @notice Sets the share new members pay. Existing members keep the refund of what they paid.
    /// @param newAmount Share in payment-token units.
    function setShareAmount(uint256 newAmount) external onlyOwner {
        _setShareAmount(newAmount);
    }

    /// @notice Sets the exit notice for exits requested from now on.
    /// @param newNotice Notice in seconds (at most {MAX_EXIT_NOTICE}).
    function setExitNotice(uint64 newNotice) external onlyOwner {
        _setExitNotice(newNotice);
    }

    /// @notice Disabled: always reverts with {CoopMembershipRenounceDisabled}.
    function renounceOwnership() public view override onlyOwner {
        revert CoopMembershipRenounceDisabled();
    }

    // ----------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc ICoopMembership
    function isMember(address account) external view returns (bool) {
        return _isMember(account);
    }

    /// @notice The stored record of `account` (zeroes for a non-member).
    /// @param account The address to look up.
    /// @return sharePaid Payment-token units it paid and will get back.
    /// @return exitAvailableAt When its pending exit can complete (0 = none pending).
    function getMember(address account) external view returns (uint256 sharePaid, uint64 exitAvailableAt) {
        Member memory member = _members[account];
        return (member.sharePaid, member.exitAvailableAt);
    }

    /// @notice Number of members, which is also the total number of votes.
    function memberCount() external view returns (uint256) {
        return _getTotalSupply();
    }

    /// @notice Refund waiting for `account` after a failed push.
    /// @param account The former member.
    function deferredRefund(address account) external view returns (uint256) {
        return _deferredRefunds[account];
    }

    /// @notice The membership token id of `account` (whether or not it is a member).
    /// @param account The address.
    function tokenIdOf(address account) public pure returns (uint256) {
        return uint256(uint160(account));
    }

    /// @notice ERC-6372: the clock is the block timestamp.
    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    /// @notice ERC-6372: describes {clock}.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    // ----------------------------------------------------------------------------------------
    // Non-transferable, self-delegated
    // ----------------------------------------------------------------------------------------

    /// @notice Disabled: membership cannot be approved for transfer.
    function approve(address to, uint256) public pure override {
        revert CoopMembershipApprovalDisabled(to);
    }

    /// @notice Disabled: membership cannot be approved for transfer.
    function setApprovalForAll(address operator, bool) public pure override {
        revert CoopMembershipApprovalDisabled(operator);
    }

    /// @notice Every account is its own delegate, always: the mint moves the new member's vote to
    /// itself and the burn takes it away, with no delegation step (and no storage) in between.
    /// @param account The account.
    function delegates(address account) public pure override returns (address) {
        return account;
    }

    /// @notice Disabled: each member's vote is delegated to itself on joining.
    function delegate(address delegatee) public pure override {
        revert CoopMembershipDelegationDisabled(delegatee);
    }

    /// @notice Disabled: each member's vote is delegated to itself on joining.
    function delegateBySig(address delegatee, uint256, uint256, uint8, bytes32, bytes32) public pure override {
        revert CoopMembershipDelegationDisabled(delegatee);
    }

    // ----------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------

    function _join(address account, uint256 amount) private {
        if (_isMember(account)) revert CoopMembershipAlreadyMember(account);
        // `amount` fits: {_setShareAmount} bounds every share to uint192.
        _members[account] = Member({sharePaid: uint192(amount), exitAvailableAt: 0});
        uint256 tokenId = tokenIdOf(account);
        _mint(account, tokenId);
        emit MemberJoined(account, tokenId, amount);
        if (amount != 0) paymentToken.safeTransferFrom(account, address(this), amount);
    }

    /// @dev Unlike `balanceOf`, answers `false` for address(0) instead of reverting.
    function _isMember(address account) private view returns (bool) {
        return _ownerOf(tokenIdOf(account)) != address(0);
    }

    function _removeMember(address account) private returns (uint256 refund) {
        refund = _members[account].sharePaid;
        delete _members[account];
        _burn(tokenIdOf(account));
    }

    function _pushRefund(address account, uint256 amount) private {
        if (amount == 0) return;
        if (!paymentToken.trySafeTransfer(account, amount)) {
            _deferredRefunds[account] += amount;
            emit RefundDeferred(account, amount);
        }
    }

    function _setShareAmount(uint256 newAmount) private {
        if (newAmount > type(uint192).max) revert CoopMembershipShareTooLarge(newAmount);
        emit ShareAmountUpdated(shareAmount, newAmount);
        shareAmount = newAmount;
    }

    function _setExitNotice(uint64 newNotice) private {
        if (newNotice > MAX_EXIT_NOTICE) revert CoopMembershipExitNoticeTooLong(newNotice, MAX_EXIT_NOTICE);
        emit ExitNoticeUpdated(exitNotice, newNotice);
        exitNotice = newNotice;
    }

    // ERC721Votes and ERC721 both define these; Solidity wants the choice spelled out.

    /// @dev Only mints and burns pass: every transfer path of ERC-721 ends here.
    function _update(
        address to,
        uint256 tokenId,
        address auth
    ) internal override(ERC721, ERC721Votes) returns (address) {
        address from = _ownerOf(tokenId);
        if (from != address(0) && to != address(0)) revert CoopMembershipTransferDisabled(from, to, tokenId);
        return super._update(to, tokenId, auth);
    }

    function _increaseBalance(address account, uint128 amount) internal override(ERC721, ERC721Votes) {
        super._increaseBalance(account, amount);
    }
}
