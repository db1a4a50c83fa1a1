// The production deployment module (ignition/modules/CoopCloud.ts): an existing stablecoin
// from parameters, everything wired, and no role left to the deployer.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { network } from "hardhat";
import { getAddress, keccak256, toHex, zeroAddress, zeroHash, type Address } from "viem";

import CoopCloud from "../../ignition/modules/CoopCloud.ts";

describe("ignition/modules/CoopCloud.ts", async function () {
  const { viem, ignition } = await network.create();
  const [deployer] = await viem.getWalletClients();
  const stablecoin = await viem.deployContract("FaucetToken", ["USD Coin", "USDC", 6, 0n, 0n]);
  const deployed = await ignition.deploy(CoopCloud, {
    parameters: { CoopCloud: { paymentToken: stablecoin.address, epochLength: 7200 } },
  });
  const at = (c: unknown) => getAddress((c as { address: Address }).address);
  const timelock = await viem.getContractAt("CoopTimelock", at(deployed.timelock));

  it("uses the given payment token everywhere", async function () {
    assert.equal(at(deployed.token), getAddress(stablecoin.address));
    const membership = await viem.getContractAt("CoopMembership", at(deployed.membership));
    const market = await viem.getContractAt("StorageMarket", at(deployed.market));
    assert.equal(await membership.read.paymentToken(), getAddress(stablecoin.address));
    assert.equal(await market.read.token(), getAddress(stablecoin.address));
    assert.equal((await market.read.epochClock())[2], 7200);
  });

  it("leaves every setter to the timelock and no role to the deployer", async function () {
    const owned = [
      ["CoopMembership", deployed.membership],
      ["PatronageTreasury", deployed.treasury],
      ["StorageMarket", deployed.market],
    ] as const;
    for (const [name, contract] of owned) {
      const c = await viem.getContractAt(name, at(contract));
      assert.equal(await c.read.owner(), timelock.address, `${name} owner`);
    }
    const governor = at(deployed.governor);
    const role = (r: string) => keccak256(toHex(r));
    assert.equal(await timelock.read.hasRole([zeroHash, deployer.account.address]), false);
    assert.equal(await timelock.read.hasRole([role("PROPOSER_ROLE"), governor]), true);
    assert.equal(await timelock.read.hasRole([role("CANCELLER_ROLE"), governor]), true);
    assert.equal(await timelock.read.hasRole([role("EXECUTOR_ROLE"), zeroAddress]), true);
    assert.equal(
      await timelock.read.hasRole([role("PROPOSER_ROLE"), deployer.account.address]),
      false,
    );
    const treasury = await viem.getContractAt("PatronageTreasury", at(deployed.treasury));
    assert.equal(await treasury.read.recorder(), at(deployed.market));
  });
});
