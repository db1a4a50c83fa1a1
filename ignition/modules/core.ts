// The co-op's contracts wired together, shared by the local and the
// production module. After these futures run, no account but the timelock
// holds any role: the deployer's timelock admin role is renounced and the
// treasury's ownership handed to the timelock once its recorder is set.
import type { IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";
import type { ContractFuture } from "@nomicfoundation/ignition-core";
import { keccak256, toHex, zeroAddress, zeroHash } from "viem";

const PROPOSER_ROLE = keccak256(toHex("PROPOSER_ROLE"));
const CANCELLER_ROLE = keccak256(toHex("CANCELLER_ROLE"));

/** Parameter defaults; a network's parameters file overrides any of them. */
export interface CoreDefaults {
  shareAmount: bigint;
  exitNotice: bigint;
  timelockDelay: bigint;
  votingDelay: bigint;
  votingPeriod: bigint;
  quorumPercent: bigint;
  patronagePeriod: bigint;
  claimWindow: bigint;
  paidWeight: bigint;
  earnedWeight: bigint;
  /** Seconds per epoch; fixed at deployment (the market's clock is anchored to it). */
  epochLength: bigint;
  /** StorageMarket governance parameters (IStorageMarket.Params). */
  market: MarketParams;
}

/** IStorageMarket.Params; units are in its NatSpec and docs/protocol.md. */
export interface MarketParams {
  pricePerByteEpoch: bigint;
  minStakePerGiB: bigint;
  missedEpochSlash: bigint;
  declaredLostSlash: bigint;
  targetedSlash: bigint;
  targetedChallengeFee: bigint;
  feeBps: number;
  bountyBps: number;
  challengesPerEpoch: number;
  maxMissedEpochs: number;
  acceptanceWindow: number;
  challengeWindow: number;
}

export function deployCore(
  m: IgnitionModuleBuilder,
  token: ContractFuture<string>,
  d: CoreDefaults,
) {
  const deployer = m.getAccount(0);
  const p = <T extends bigint>(name: string, value: T) => m.getParameter(name, value);

  const timelock = m.contract("CoopTimelock", [
    p("timelockDelay", d.timelockDelay),
    [],
    [zeroAddress],
    deployer,
  ]);
  const membership = m.contract("CoopMembership", [
    token,
    p("shareAmount", d.shareAmount),
    p("exitNotice", d.exitNotice),
    timelock,
  ]);
  const governor = m.contract("CoopGovernor", [
    membership,
    timelock,
    p("votingDelay", d.votingDelay),
    p("votingPeriod", d.votingPeriod),
    p("quorumPercent", d.quorumPercent),
  ]);
  const treasury = m.contract("PatronageTreasury", [
    token,
    membership,
    p("patronagePeriod", d.patronagePeriod),
    p("claimWindow", d.claimWindow),
    p("paidWeight", d.paidWeight),
    p("earnedWeight", d.earnedWeight),
    deployer,
  ]);
  // Rarely used paths (faults, repair) live in an extension reached by delegatecall, keeping
  // the market under the 24 KiB code-size limit.
  const extension = m.contract("StorageMarketExtension", [token, membership, treasury]);
  const market = m.contract("StorageMarket", [
    token,
    membership,
    treasury,
    extension,
    timelock,
    p("epochLength", d.epochLength),
    m.getParameter("marketParams", { ...d.market }),
  ]);

  const setRecorder = m.call(treasury, "setRecorder", [market]);
  m.call(treasury, "transferOwnership", [timelock], { after: [setRecorder] });
  const grantProposer = m.call(timelock, "grantRole", [PROPOSER_ROLE, governor], {
    id: "grantProposer",
  });
  const grantCanceller = m.call(timelock, "grantRole", [CANCELLER_ROLE, governor], {
    id: "grantCanceller",
  });
  m.call(timelock, "renounceRole", [zeroHash, deployer], {
    id: "renounceAdmin",
    after: [grantProposer, grantCanceller],
  });

  return { token, timelock, membership, governor, treasury, market };
}
