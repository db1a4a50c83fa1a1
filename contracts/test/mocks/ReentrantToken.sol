// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ReentrantToken
/// @notice Hostile ERC-20 for tests: once armed, every transfer first calls `target` with
/// `data` (e.g. the market's withdraw) and bubbles up that call's revert, so a missing
/// reentrancy guard would show as a successful double withdrawal.
contract ReentrantToken is ERC20 {
    address public target;
    bytes public data;

    constructor() ERC20("Hostile", "HOST") {}

    /// @notice Mints freely (test token).
    /// @param to Recipient.
    /// @param amount Amount.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms the re-entry: every later transfer first calls `target_` with `data_`.
    /// @param target_ Contract to re-enter.
    /// @param data_ Calldata of the re-entering call.
    function arm(address target_, bytes calldata data_) external {
        target = target_;
        data = data_;
    }

    function _update(address from, address to, uint256 value) internal override {
        address t = target;
        if (t != address(0) && from != address(0)) {
            target = address(0); // one re-entry per arming
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory ret) = t.call(data);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
        }
        super._update(from, to, value);
    }
}
