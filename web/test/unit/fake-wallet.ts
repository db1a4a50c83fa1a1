// A wallet inside jsdom for component tests: an EIP-1193 provider announced over EIP-6963, with
// the chain it is on, whether it lets the dApp switch chains, and rejections of the next request
// as a user would click them. (The browser tests use a real signing wallet: ../browser/wallet.ts.)
export interface FakeWallet {
  name: string;
  chainId: number;
  allowSwitch: boolean;
  rejectNext: boolean;
  calls: string[];
  emit(event: string, data: unknown): void;
  announce(): void;
  /** Stops answering the dApp's EIP-6963 requests (the test's window outlives the test). */
  dispose(): void;
}

const ACCOUNT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

export function fakeWallet(name: string, chainId = 31337): FakeWallet {
  const listeners = new Map<string, Set<(d: unknown) => void>>();
  const state: FakeWallet = {
    name,
    chainId,
    allowSwitch: true,
    rejectNext: false,
    calls: [],
    emit: (event, data) => listeners.get(event)?.forEach((cb) => cb(data)),
    dispose: () => window.removeEventListener("eip6963:requestProvider", onRequest),
    announce: () =>
      window.dispatchEvent(
        new CustomEvent("eip6963:announceProvider", {
          detail: Object.freeze({
            info: {
              uuid: `uuid-${name}`,
              name,
              icon: "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg'/>",
              rdns: `org.example.${name.toLowerCase().replace(/\W/g, "")}`,
            },
            provider,
          }),
        }),
      ),
  };
  let connected = false;
  const provider = {
    async request({ method, params }: { method: string; params?: unknown[] }) {
      state.calls.push(method);
      const approval = ["eth_requestAccounts", "wallet_switchEthereumChain"].includes(method);
      if (approval && state.rejectNext) {
        state.rejectNext = false;
        throw Object.assign(new Error("User rejected the request."), { code: 4001 });
      }
      switch (method) {
        case "eth_requestAccounts":
          connected = true;
          return [ACCOUNT];
        case "eth_accounts":
          return connected ? [ACCOUNT] : [];
        case "eth_chainId":
          return `0x${state.chainId.toString(16)}`;
        case "wallet_requestPermissions":
          connected = true;
          return [{ parentCapability: "eth_accounts" }];
        case "wallet_revokePermissions":
          connected = false;
          return null;
        case "wallet_switchEthereumChain": {
          if (!state.allowSwitch)
            throw Object.assign(new Error("Switching is off in this wallet."), { code: -32603 });
          state.chainId = Number((params![0] as { chainId: string }).chainId);
          state.emit("chainChanged", `0x${state.chainId.toString(16)}`);
          return null;
        }
      }
      throw Object.assign(new Error(`${method} is not supported`), { code: 4200 });
    },
    on(event: string, cb: (d: unknown) => void) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)!.add(cb);
    },
    removeListener(event: string, cb: (d: unknown) => void) {
      listeners.get(event)?.delete(cb);
    },
  };
  const onRequest = () => state.announce();
  window.addEventListener("eip6963:requestProvider", onRequest);
  return state;
}

export const FAKE_ACCOUNT = ACCOUNT;
