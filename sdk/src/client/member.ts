// Membership and the payment token: the faucet (local chains), balances, allowances and
// EIP-2612 permits, joining (permit: one signature and one transaction), member status, and
// leaving (request, cancel, complete after the notice, withdraw a deferred refund).
import {
  type Address,
  type Hex,
  type TransactionReceipt,
  domainSeparator,
  parseEventLogs,
  parseSignature,
} from "viem";

import { coopMembershipAbi, faucetTokenAbi } from "../contracts/generated/abis.ts";
import { chainTime } from "./connect.ts";
import { ContractCallError, type CoopContracts, type SendOptions } from "./contracts.ts";

/** An EIP-2612 permit signature, ready for `permit`, `joinWithPermit` or `createDealWithPermit`. */
export interface PermitSignature {
  owner: Address;
  spender: Address;
  value: bigint;
  nonce: bigint;
  deadline: bigint;
  v: number;
  r: Hex;
  s: Hex;
}

const PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

/**
 * Signs an EIP-2612 permit letting `spender` take `value` of the payment token from the wallet
 * until `deadline` (Unix seconds). The domain is the token's own (`eip712Domain`), checked
 * against its `DOMAIN_SEPARATOR`, and the nonce its current one. No transaction is sent.
 */
export async function signPermit(
  c: CoopContracts,
  spender: Address,
  value: bigint,
  deadline: bigint,
): Promise<PermitSignature> {
  const owner = c.account("signing a permit");
  const [[, name, version, chainId, verifyingContract], nonce, separator] = await Promise.all([
    c.token.read.eip712Domain(),
    c.token.read.nonces([owner]),
    c.token.read.DOMAIN_SEPARATOR(),
  ]);
  const domain = { name, version, chainId: Number(chainId), verifyingContract };
  if (domainSeparator({ domain }) !== separator)
    throw new Error(
      `the token ${c.addresses.FaucetToken} reports a permit domain that does not match its DOMAIN_SEPARATOR: it cannot take permits; approve instead`,
    );
  const wallet = c.walletClient!;
  let signature: Hex;
  try {
    signature = await wallet.signTypedData({
      account: wallet.account,
      domain,
      types: PERMIT_TYPES,
      primaryType: "Permit",
      message: { owner, spender, value, nonce, deadline },
    });
  } catch (e) {
    const rejected = (e as { code?: number }).code === 4001;
    throw new ContractCallError(
      "signing a permit",
      rejected ? "you rejected the request in your wallet" : (e as Error).message,
      { cause: e },
    );
  }
  const { r, s, v, yParity } = parseSignature(signature);
  return {
    owner,
    spender,
    value,
    nonce,
    deadline,
    r,
    s,
    v: v !== undefined ? Number(v) : 27 + yParity,
  };
}

/** The payment-token balance of `address` (default: the wallet), in base units. */
export async function tokenBalance(c: CoopContracts, address?: Address): Promise<bigint> {
  return c.token.read.balanceOf([address ?? c.account("reading a balance")]);
}

/**
 * Makes sure `spender` may take at least `amount` from the wallet: approves exactly `amount`
 * when the allowance is short. Resolves with the approval's receipt, or undefined when the
 * allowance already covered it.
 */
export async function ensureAllowance(
  c: CoopContracts,
  spender: Address,
  amount: bigint,
  options: SendOptions = {},
): Promise<TransactionReceipt | undefined> {
  const owner = c.account("approving the token");
  const allowance = await c.token.read.allowance([owner, spender]);
  if (allowance >= amount) return undefined;
  return c.send(
    "approve",
    {
      address: c.addresses.FaucetToken,
      abi: faucetTokenAbi,
      functionName: "approve",
      args: [spender, amount],
    },
    options,
  );
}

/** What one faucet drip gave. */
export interface FaucetResult {
  amount: bigint;
  /** Unix time from which the wallet may draw again. */
  nextDripAt: bigint;
  receipt: TransactionReceipt;
}

/** Draws the local test token from its faucet (local and test chains only). */
export async function faucet(c: CoopContracts, options: SendOptions = {}): Promise<FaucetResult> {
  const receipt = await c.send(
    "faucet",
    { address: c.addresses.FaucetToken, abi: faucetTokenAbi, functionName: "faucet" },
    options,
  );
  const [ev] = parseEventLogs({
    abi: faucetTokenAbi,
    eventName: "FaucetDripped",
    logs: receipt.logs,
  });
  return { amount: ev.args.amount, nextDripAt: ev.args.nextDripAt, receipt };
}

/** A member's (or anyone's) standing in the co-op. */
export interface MemberStatus {
  address: Address;
  isMember: boolean;
  /** Payment-token units paid to join; exactly this is refunded on exit (0 for non-members). */
  sharePaid: bigint;
  exitRequested: boolean;
  /** Unix time from which a requested exit can be completed (undefined: none pending). */
  exitAvailableAt: bigint | undefined;
  /** True when a requested exit can be completed now. */
  exitReady: boolean;
  /** Seconds until the exit can be completed (0 when ready or none pending). */
  exitSecondsLeft: bigint;
  /** A refund whose push failed, waiting for `withdrawRefund`. */
  deferredRefund: bigint;
  /** Current votes (1 per member). */
  votingWeight: bigint;
  /** Payment-token balance. */
  balance: bigint;
  /** The share a new member pays now. */
  shareAmount: bigint;
  /** Seconds of notice for exits requested now. */
  exitNotice: bigint;
  memberCount: bigint;
  /** The chain's time when this was read (Unix seconds). */
  now: bigint;
}

/** Membership status of `address` (default: the wallet). */
export async function memberStatus(c: CoopContracts, address?: Address): Promise<MemberStatus> {
  const who = address ?? c.account("reading member status");
  const m = c.membership.read;
  const [isMember, [sharePaid, exitAt], deferred, votes, balance, share, notice, count, now] =
    await Promise.all([
      m.isMember([who]),
      m.getMember([who]),
      m.deferredRefund([who]),
      m.getVotes([who]),
      c.token.read.balanceOf([who]),
      m.shareAmount(),
      m.exitNotice(),
      m.memberCount(),
      chainTime(c),
    ]);
  const exitRequested = exitAt !== 0n;
  return {
    address: who,
    isMember,
    sharePaid,
    exitRequested,
    exitAvailableAt: exitRequested ? exitAt : undefined,
    exitReady: exitRequested && now >= exitAt,
    exitSecondsLeft: exitRequested && exitAt > now ? exitAt - now : 0n,
    deferredRefund: deferred,
    votingWeight: votes,
    balance,
    shareAmount: share,
    exitNotice: notice,
    memberCount: count,
    now,
  };
}

export interface JoinOptions extends SendOptions {
  /**
   * `"permit"` (default): one EIP-2612 signature and one transaction (`joinWithPermit`);
   * `"approve"`: an approval transaction when the allowance is short, then `join`.
   */
  method?: "permit" | "approve";
  /** Seconds the permit stays valid. @default 3600 */
  permitTtl?: number;
}

export interface JoinResult {
  sharePaid: bigint;
  method: "permit" | "approve";
  receipt: TransactionReceipt;
}

/** Joins the co-op, paying the current share in the payment token. */
export async function joinCoop(c: CoopContracts, options: JoinOptions = {}): Promise<JoinResult> {
  const method = options.method ?? "permit";
  const share = await c.membership.read.shareAmount();
  let receipt: TransactionReceipt;
  if (method === "permit") {
    const deadline = (await chainTime(c)) + BigInt(options.permitTtl ?? 3600);
    const p = await signPermit(c, c.addresses.CoopMembership, share, deadline);
    receipt = await c.send(
      "joinWithPermit",
      {
        address: c.addresses.CoopMembership,
        abi: coopMembershipAbi,
        functionName: "joinWithPermit",
        args: [p.deadline, p.v, p.r, p.s],
      },
      options,
    );
  } else {
    await ensureAllowance(c, c.addresses.CoopMembership, share, options);
    receipt = await c.send(
      "join",
      { address: c.addresses.CoopMembership, abi: coopMembershipAbi, functionName: "join" },
      options,
    );
  }
  const [ev] = parseEventLogs({
    abi: coopMembershipAbi,
    eventName: "MemberJoined",
    logs: receipt.logs,
  });
  return { sharePaid: ev.args.sharePaid, method, receipt };
}

/** Starts leaving: the exit can be completed after the notice. Resolves with when. */
export async function requestExit(
  c: CoopContracts,
  options: SendOptions = {},
): Promise<{ availableAt: bigint; receipt: TransactionReceipt }> {
  const receipt = await c.send(
    "requestExit",
    { address: c.addresses.CoopMembership, abi: coopMembershipAbi, functionName: "requestExit" },
    options,
  );
  const [ev] = parseEventLogs({
    abi: coopMembershipAbi,
    eventName: "ExitRequested",
    logs: receipt.logs,
  });
  return { availableAt: ev.args.availableAt, receipt };
}

/** Withdraws a pending exit request; the wallet stays a member. */
export async function cancelExit(
  c: CoopContracts,
  options: SendOptions = {},
): Promise<TransactionReceipt> {
  return c.send(
    "cancelExit",
    { address: c.addresses.CoopMembership, abi: coopMembershipAbi, functionName: "cancelExit" },
    options,
  );
}

/**
 * Completes a requested exit after its notice: the membership ends and the share paid is
 * refunded. `deferred` is true when the refund could not be pushed and waits for withdrawRefund.
 */
export async function completeExit(
  c: CoopContracts,
  options: SendOptions = {},
): Promise<{ refund: bigint; deferred: boolean; receipt: TransactionReceipt }> {
  const receipt = await c.send(
    "completeExit",
    { address: c.addresses.CoopMembership, abi: coopMembershipAbi, functionName: "completeExit" },
    options,
  );
  const logs = parseEventLogs({ abi: coopMembershipAbi, logs: receipt.logs });
  const exited = logs.find((l) => l.eventName === "MemberExited");
  const deferred = logs.some((l) => l.eventName === "RefundDeferred");
  const refund = exited?.eventName === "MemberExited" ? exited.args.refund : 0n;
  return { refund, deferred, receipt };
}

/** Sends a deferred refund (a refund whose push failed) to `to` (default: the wallet). */
export async function withdrawRefund(
  c: CoopContracts,
  to?: Address,
  options: SendOptions = {},
): Promise<TransactionReceipt> {
  return c.send(
    "withdrawRefund",
    {
      address: c.addresses.CoopMembership,
      abi: coopMembershipAbi,
      functionName: "withdrawRefund",
      args: [to ?? c.account("withdrawing a refund")],
    },
    options,
  );
}
