// Which chain and which co-op the dApp talks to: chosen by configuration at build time
// (NEXT_PUBLIC_CHAIN_ID, NEXT_PUBLIC_RPC_URL; the local chain of `npm start` by default), with
// the contract addresses from the sdk's generated deployment files.
import { deploymentAddresses, deploymentBlock, type CoopAddresses } from "@coop-cloud/sdk/client";
import { defineChain, type Chain } from "viem";

export const CHAIN_ID = Number(process.env.NEXT_PUBLIC_CHAIN_ID ?? 31337);
export const RPC_URL = process.env.NEXT_PUBLIC_RPC_URL ?? "http://127.0.0.1:8545";
/** Block explorer of a public chain (transaction links); none on the local chain. */
export const EXPLORER_URL = process.env.NEXT_PUBLIC_EXPLORER_URL;

export const coopChain: Chain = defineChain({
  id: CHAIN_ID,
  name: CHAIN_ID === 31337 ? "Co-op local chain" : `Chain ${CHAIN_ID}`,
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [RPC_URL] } },
  ...(EXPLORER_URL ? { blockExplorers: { default: { name: "Explorer", url: EXPLORER_URL } } } : {}),
});

/**
 * The co-op's addresses on CHAIN_ID, or the sentence saying why there are none. A build may pin
 * them with NEXT_PUBLIC_COOP_ADDRESSES (JSON, as in the deployment file: the browser tests'
 * chains deploy under deployment ids of their own); otherwise the sdk's deployment files.
 */
export function coopAddresses(): { addresses: CoopAddresses } | { error: string } {
  const pinned = process.env.NEXT_PUBLIC_COOP_ADDRESSES;
  if (pinned) return { addresses: JSON.parse(pinned) as CoopAddresses };
  try {
    return { addresses: deploymentAddresses(CHAIN_ID) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/**
 * Where event scans start: NEXT_PUBLIC_FROM_BLOCK, else the deployment's first block from the
 * sdk's deployment files (0 with pinned addresses).
 */
export const FROM_BLOCK = BigInt(
  process.env.NEXT_PUBLIC_FROM_BLOCK ??
    (process.env.NEXT_PUBLIC_COOP_ADDRESSES ? 0n : deploymentBlock(CHAIN_ID)),
);

export function txUrl(hash: string): string | undefined {
  return EXPLORER_URL ? `${EXPLORER_URL.replace(/\/$/, "")}/tx/${hash}` : undefined;
}
