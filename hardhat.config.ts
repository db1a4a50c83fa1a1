import { createRequire } from "node:module";

import hardhatToolboxViemPlugin from "@nomicfoundation/hardhat-toolbox-viem";
import { configVariable, defineConfig } from "hardhat/config";

// Hardhat cannot download compilers on an offline machine: the npm `solc`
// package ships the same compiler as WebAssembly, so builds stay reproducible.
const require = createRequire(import.meta.url);
const SOLC_VERSION = "0.8.30";
const solcPath = require.resolve("solc/soljson.js");
// One compiler setting for tests and deployments: what is tested is what is deployed, and
// `ignition deploy` (which builds with the "production" profile) reuses the test build.
const compiler = {
  version: SOLC_VERSION,
  path: solcPath,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "prague",
    viaIR: false,
  },
};

export default defineConfig({
  plugins: [hardhatToolboxViemPlugin],
  solidity: {
    profiles: { default: compiler, production: compiler },
  },
  paths: {
    sources: "contracts",
    tests: { nodejs: "test/contracts", solidity: "contracts/test" },
  },
  // scripts/dev.ts polls its loopback chain fast; real networks keep Ignition's defaults.
  ignition: process.env.COOP_IGNITION_POLL_MS
    ? { blockPollingInterval: Number(process.env.COOP_IGNITION_POLL_MS) }
    : {},
  networks: {
    // The chain `hardhat node` serves (scripts/dev.ts, the provider tests). Blocks may share a
    // timestamp, so its clock follows the wall clock: without this every block is at least a
    // second after the last, and a burst of transactions (four providers proving) would run
    // the market's epochs of a few seconds faster than real time.
    node: {
      type: "edr-simulated",
      chainType: "l1",
      allowBlocksWithSameTimestamp: true,
    },
    // `hardhat node` / scripts/dev.ts serve this chain on 127.0.0.1:8545.
    localhost: {
      type: "http",
      chainType: "l1",
      url: `http://127.0.0.1:${process.env.COOP_CHAIN_PORT ?? "8545"}`,
    },
    // Any HTTP JSON-RPC network: set RPC_URL and DEPLOYER_KEY with
    // `npx hardhat keystore set RPC_URL` (the key never touches the repo).
    remote: {
      type: "http",
      chainType: "l1",
      url: configVariable("RPC_URL"),
      accounts: [configVariable("DEPLOYER_KEY")],
    },
  },
});
