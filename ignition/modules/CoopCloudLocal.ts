// Local and test chains: deploys the EIP-2612 faucet stablecoin ("cUSD", 6
// decimals like USDC) and the co-op with short periods, so a person can watch
// epochs, votes and dividends happen in minutes.
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import { deployCore } from "./core.ts";

const USD = 1_000_000n;
const MINUTE = 60n;

export default buildModule("CoopCloudLocal", (m) => {
  const token = m.contract("FaucetToken", [
    "Co-op Test Dollar",
    "cUSD",
    6,
    m.getParameter("faucetAmount", 10_000n * USD),
    m.getParameter("faucetCooldown", 60n),
  ]);
  return deployCore(m, token, {
    shareAmount: 100n * USD,
    exitNotice: 10n * MINUTE,
    timelockDelay: MINUTE,
    votingDelay: MINUTE,
    votingPeriod: 5n * MINUTE,
    quorumPercent: 10n,
    patronagePeriod: 60n * MINUTE,
    claimWindow: 7n * 24n * 60n * MINUTE,
    paidWeight: 1n,
    earnedWeight: 1n,
    epochLength: 30n,
    market: {
      pricePerByteEpoch: 10_000_000_000n, // ≈ 0.00001 cUSD per GiB per 30 s epoch
      minStakePerGiB: 1n * USD,
      missedEpochSlash: 1n * USD,
      declaredLostSlash: USD / 2n,
      targetedSlash: 5n * USD,
      targetedChallengeFee: 1n * USD,
      feeBps: 500,
      bountyBps: 1000,
      challengesPerEpoch: 5,
      maxMissedEpochs: 3,
      acceptanceWindow: 10,
      challengeWindow: 2,
    },
  });
});
