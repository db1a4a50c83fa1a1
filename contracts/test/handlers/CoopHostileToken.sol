// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title CoopHostileToken
/// @notice Test-only payment token that misbehaves on demand: it refuses transfers to blocked
/// addresses (like a stablecoin blacklist) and can call back into any contract during a transfer
/// (to try reentrancy). Used by the co-op contracts' tests; never deployed anywhere else.
contract CoopHostileToken is ERC20 {
    mapping(address account => bool blocked) public blocked;
    address public hookTarget;
    bytes public hookData;
    bool private _inHook;

    error CoopHostileTokenBlocked(address to);

    constructor() ERC20("Hostile", "HOST") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setBlocked(address account, bool isBlocked) external {
        blocked[account] = isBlocked;
    }

    /// @notice On the next transfers, call `target` with `data` and bubble up its revert.
    function setHook(address target, bytes calldata data) external {
        hookTarget = target;
        hookData = data;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blocked[to]) revert CoopHostileTokenBlocked(to);
        super._update(from, to, value);
        if (hookTarget != address(0) && !_inHook) {
            _inHook = true;
            (bool ok, bytes memory ret) = hookTarget.call(hookData);
            _inHook = false;
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 32), mload(ret))
                }
            }
        }
    }
}
