// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title FaucetToken
/// @notice The payment token of local and test chains: an ERC-20 with EIP-2612 permit that anyone
/// can draw from a rate-limited faucet. A real network uses an existing stablecoin instead.
/// @dev Never deploy this where the token must have value: the faucet mints without limit over time.
contract FaucetToken is ERC20, ERC20Permit {
    /// @notice Units minted by one call to {faucet}.
    uint256 public immutable faucetAmount;

    /// @notice Seconds an address must wait between two drips.
    uint64 public immutable faucetCooldown;

    uint8 private immutable _decimals;

    mapping(address account => uint64 timestamp) private _nextDripAt;

    /// @notice `account` drew `amount` from the faucet and may draw again at `nextDripAt`.
    /// @param account The address that received the tokens.
    /// @param amount Units minted.
    /// @param nextDripAt Unix time from which `account` may call {faucet} again.
    event FaucetDripped(address indexed account, uint256 amount, uint64 nextDripAt);

    /// @notice `account` called {faucet} before its cooldown ended.
    /// @param account The caller.
    /// @param nextDripAt Unix time from which the caller may drip again.
    error FaucetTokenCooldownActive(address account, uint64 nextDripAt);

    /// @param name_ ERC-20 name (also the EIP-712 domain name used by permit).
    /// @param symbol_ ERC-20 symbol.
    /// @param decimals_ ERC-20 decimals (6 mimics USDC, 18 a typical token).
    /// @param faucetAmount_ Units minted per drip.
    /// @param faucetCooldown_ Seconds between two drips to the same address.
    constructor(
        string memory name_,
        string memory symbol_,
        uint8 decimals_,
        uint256 faucetAmount_,
        uint64 faucetCooldown_
    ) ERC20(name_, symbol_) ERC20Permit(name_) {
        _decimals = decimals_;
        faucetAmount = faucetAmount_;
        faucetCooldown = faucetCooldown_;
    }

    /// @notice Mints {faucetAmount} to the caller, at most once per {faucetCooldown} seconds per address.
    function faucet() external {
        uint64 readyAt = _nextDripAt[msg.sender];
        if (block.timestamp < readyAt) revert FaucetTokenCooldownActive(msg.sender, readyAt);
        readyAt = uint64(block.timestamp) + faucetCooldown;
        _nextDripAt[msg.sender] = readyAt;
        _mint(msg.sender, faucetAmount);
        emit FaucetDripped(msg.sender, faucetAmount, readyAt);
    }

    /// @notice Unix time from which `account` may call {faucet} (0 if it never has).
    /// @param account The address to look up.
    function nextDripAt(address account) external view returns (uint64) {
        return _nextDripAt[account];
    }

    /// @inheritdoc ERC20
    function decimals() public view override returns (uint8) {
        return _decimals;
    }
}
