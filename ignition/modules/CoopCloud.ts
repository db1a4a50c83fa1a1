// Real networks: the payment token is an existing stablecoin, given as the
// `paymentToken` parameter (e.g. in ignition/parameters/<network>.json).
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import { deployCore } from "./core.ts";

const DAY = 24n * 60n * 60n;

export default buildModule("CoopCloud", (m) => {
  // Only the ERC-20 + EIP-2612 part of the FaucetToken ABI is used here.
  const token = m.contractAt("FaucetToken", m.getParameter<string>("paymentToken"));
  return deployCore(m, token, {
    shareAmount: 100_000_000n,
    exitNotice: 30n * DAY,
    timelockDelay: 2n * DAY,
    votingDelay: DAY,
    votingPeriod: 7n * DAY,
    quorumPercent: 10n,
    patronagePeriod: 90n * DAY,
    claimWindow: 365n * DAY,
    paidWeight: 1n,
    earnedWeight: 1n,
    epochLength: 60n * 60n,
    market: {
      pricePerByteEpoch: 5_000_000_000n, // ≈ 4 USD per TiB-month in a 6-decimal stablecoin
      minStakePerGiB: 1_000_000n,
      missedEpochSlash: 1_000_000n,
      declaredLostSlash: 500_000n,
      targetedSlash: 5_000_000n,
      targetedChallengeFee: 1_000_000n,
      feeBps: 500,
      bountyBps: 1000,
      challengesPerEpoch: 5,
      maxMissedEpochs: 24,
      acceptanceWindow: 24,
      challengeWindow: 2,
    },
  });
});
