// An injected EIP-1193 test wallet for browser tests: announced over EIP-6963 (and as
// window.ethereum), it signs with a dev key that stays in the test process (Node): the page
// only sees an object whose request() crosses to Node through a Playwright binding.
// Behaves like a browser wallet: eth_accounts is [] until eth_requestAccounts, permissions can be
// requested and revoked, the chain can be switched (or start wrong), and the next request can be
// set to be rejected by the "user" (code 4001).
import type { BrowserContext, Page } from "playwright-core";
import {
  createPublicClient,
  createWalletClient,
  http,
  numberToHex,
  type Hex,
  type PrivateKeyAccount,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

export interface TestWalletOptions {
  privateKey: Hex;
  rpcUrl: string;
  /** The chain the wallet starts on; another id than the RPC's simulates a wrong network. */
  chainId: number;
  /** Wallet name shown by the dApp. @default "Test Wallet" */
  name?: string;
}

export interface TestWallet {
  readonly account: PrivateKeyAccount;
  /** The next request that needs the user's approval is rejected (code 4001). */
  rejectNext(): void;
  /** Every method the page asked for, in order. */
  readonly calls: string[];
  /** The chain id the wallet is on now. */
  chainId(): number;
  /** The user picks another network in the wallet (any id; the dApp hears chainChanged). */
  switchChain(chainId: number): Promise<void>;
}

const APPROVAL = new Set([
  "eth_requestAccounts",
  "wallet_requestPermissions",
  "eth_sendTransaction",
  "eth_signTypedData_v4",
  "personal_sign",
  "wallet_switchEthereumChain",
  "wallet_addEthereumChain",
]);

class RpcError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** Installs the wallet in every page of `context` (call before the first navigation). */
export async function installTestWallet(
  context: BrowserContext,
  options: TestWalletOptions,
): Promise<TestWallet> {
  const account = privateKeyToAccount(options.privateKey);
  const rpc = createPublicClient({ transport: http(options.rpcUrl) });
  const rpcChainId = await rpc.getChainId();
  let chainId = options.chainId;
  let connected = false;
  let rejectNext = false;
  const calls: string[] = [];
  const pages = new Set<Page>();

  const emit = async (event: string, data: unknown) => {
    for (const p of pages)
      await p
        .evaluate(([e, d]) => (window as never as TestWalletWindow).__testWalletEmit(e, d), [
          event,
          data,
        ] as const)
        .catch(() => undefined);
  };

  const handle = async (method: string, params: unknown[]): Promise<unknown> => {
    calls.push(method);
    if (APPROVAL.has(method) && rejectNext) {
      rejectNext = false;
      throw new RpcError(4001, "User rejected the request.");
    }
    switch (method) {
      case "eth_requestAccounts":
        connected = true;
        return [account.address];
      case "eth_accounts":
        return connected ? [account.address] : [];
      case "eth_chainId":
        return numberToHex(chainId);
      case "net_version":
        return String(chainId);
      case "wallet_requestPermissions":
        connected = true;
        return [{ parentCapability: "eth_accounts" }];
      case "wallet_getPermissions":
        return connected ? [{ parentCapability: "eth_accounts" }] : [];
      case "wallet_revokePermissions":
        connected = false;
        await emit("accountsChanged", []);
        return null;
      case "wallet_switchEthereumChain":
      case "wallet_addEthereumChain": {
        const want = Number((params[0] as { chainId: Hex }).chainId);
        if (want !== rpcChainId)
          throw new RpcError(
            4902,
            `Unrecognized chain ID ${want}: this wallet only knows ${rpcChainId}.`,
          );
        chainId = want;
        await emit("chainChanged", numberToHex(chainId));
        return null;
      }
    }
    if (
      !connected &&
      (method.startsWith("eth_sign") ||
        method === "eth_sendTransaction" ||
        method === "personal_sign")
    )
      throw new RpcError(4100, "The wallet is not connected.");
    if (method === "eth_signTypedData_v4") {
      const [, json] = params as [string, string];
      const typed = JSON.parse(json);
      delete typed.types.EIP712Domain;
      return account.signTypedData(typed);
    }
    if (method === "personal_sign")
      return account.signMessage({ message: { raw: params[0] as Hex } });
    if (method === "eth_sendTransaction") {
      if (chainId !== rpcChainId)
        throw new RpcError(4901, `The wallet is on chain ${chainId}, not ${rpcChainId}.`);
      const tx = params[0] as { to?: Hex; data?: Hex; value?: Hex; gas?: Hex };
      const wallet = createWalletClient({ account, transport: http(options.rpcUrl) });
      return wallet.sendTransaction({
        chain: null,
        to: tx.to,
        data: tx.data,
        value: tx.value ? BigInt(tx.value) : undefined,
        gas: tx.gas ? BigInt(tx.gas) : undefined,
      });
    }
    return rpc.request({ method, params } as never);
  };

  await context.exposeBinding(
    "__testWalletRequest",
    async ({ page }, method: string, params: unknown[]) => {
      pages.add(page);
      try {
        return { result: await handle(method, params ?? []) };
      } catch (e) {
        const err = e as { code?: number; message?: string };
        return { error: { code: err.code ?? -32603, message: err.message ?? String(e) } };
      }
    },
  );
  await context.addInitScript(
    ({ name, address }) => {
      const listeners = new Map<string, Set<(d: unknown) => void>>();
      const w = window as never as TestWalletWindow & { ethereum?: unknown };
      w.__testWalletEmit = (event, data) => {
        for (const cb of listeners.get(event) ?? []) cb(data);
      };
      const provider = {
        isTestWallet: true,
        async request({ method, params }: { method: string; params?: unknown[] }) {
          const r = await w.__testWalletRequest(method, params ?? []);
          if (r.error) throw Object.assign(new Error(r.error.message), { code: r.error.code });
          return r.result;
        },
        on(event: string, cb: (d: unknown) => void) {
          if (!listeners.has(event)) listeners.set(event, new Set());
          listeners.get(event)!.add(cb);
        },
        removeListener(event: string, cb: (d: unknown) => void) {
          listeners.get(event)?.delete(cb);
        },
      };
      w.ethereum = provider;
      const info = {
        uuid: `test-wallet-${address}`,
        name,
        icon: "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' width='32' height='32'/>",
        rdns: "org.coop-cloud.test-wallet",
      };
      const announce = () =>
        window.dispatchEvent(
          new CustomEvent("eip6963:announceProvider", {
            detail: Object.freeze({ info, provider }),
          }),
        );
      window.addEventListener("eip6963:requestProvider", announce);
      announce();
    },
    { name: options.name ?? "Test Wallet", address: account.address },
  );

  return {
    account,
    rejectNext: () => void (rejectNext = true),
    calls,
    chainId: () => chainId,
    async switchChain(id: number) {
      chainId = id;
      await emit("chainChanged", numberToHex(id));
    },
  };
}

interface TestWalletWindow {
  __testWalletRequest(
    method: string,
    params: unknown[],
  ): Promise<{ result?: unknown; error?: { code: number; message: string } }>;
  __testWalletEmit(event: string, data: unknown): void;
}
