import { http, createConfig, injected } from "wagmi";

import { coopChain, RPC_URL } from "./chain";

// Wallets come from EIP-6963 announcements (wagmi's multi-injected discovery) and from a
// plain injected `window.ethereum`.
export const wagmiConfig = createConfig({
  chains: [coopChain],
  connectors: [injected()],
  transports: { [coopChain.id]: http(RPC_URL) },
  multiInjectedProviderDiscovery: true,
  ssr: true,
  pollingInterval: coopChain.id === 31337 ? 500 : 4_000,
});

declare module "wagmi" {
  interface Register {
    config: typeof wagmiConfig;
  }
}
