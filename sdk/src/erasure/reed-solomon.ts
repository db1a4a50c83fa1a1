// Systematic Reed–Solomon k-of-n over GF(2^8) on stripes of equal-length blocks.
// Shards 0..k-1 are the data blocks themselves; shards k..n-1 are parity. Any k of the n
// blocks of a stripe rebuild all the others. Pure functions over Uint8Arrays, safe to run in
// worker threads and browsers.
import { InvalidParametersError, NotEnoughShardsError } from "../errors.ts";
import { gfInv, gfMul, invertMatrix, mulRegion } from "./gf256.ts";

/** Largest n the protocol allows (shard indexes fit a uint32 bitmap on-chain and off). */
export const MAX_TOTAL_SHARDS = 32;

export interface ReedSolomonOptions {
  /** k: data blocks per stripe (1 ≤ k ≤ n). */
  dataShards: number;
  /** n: data plus parity blocks per stripe (k ≤ n ≤ 32). */
  totalShards: number;
}

/** Blocks per stripe processed together so that the destination stays in the L1/L2 cache. */
const TILE = 32 * 1024;
/** Inverted matrices kept per erasure pattern; a pattern is cheap to recompute. */
const MAX_CACHED_PATTERNS = 64;

function checkParameters(k: number, n: number): void {
  if (!Number.isInteger(k) || k < 1)
    throw new InvalidParametersError("dataShards", k, "must be an integer ≥ 1");
  if (!Number.isInteger(n) || n < k)
    throw new InvalidParametersError("totalShards", n, `must be an integer ≥ dataShards (${k})`);
  if (n > MAX_TOTAL_SHARDS)
    throw new InvalidParametersError("totalShards", n, `must be ≤ ${MAX_TOTAL_SHARDS}`);
}

/**
 * The parity rows of the systematic encoding matrix: an m×k Cauchy matrix
 * `C[i][j] = 1 / (x_i + y_j)` with `x_i = k + i`, `y_j = j` (addition is XOR), scaled so that
 * its first row and first column are all ones: each column j divided by `C[0][j]`, then each
 * row i divided by its (new) first entry. Scaling rows and columns keeps every square
 * submatrix nonsingular, so `[I; P]` stays MDS; the ones turn a third or more of the work into
 * XOR (parity 0 is the XOR of the data blocks).
 */
export function parityMatrix(k: number, n: number): Uint8Array[] {
  checkParameters(k, n);
  const m = n - k;
  const c: Uint8Array[] = [];
  for (let i = 0; i < m; i++) {
    const row = new Uint8Array(k);
    for (let j = 0; j < k; j++) row[j] = gfInv((k + i) ^ j);
    c.push(row);
  }
  for (let j = 0; j < k && m > 0; j++) {
    const f = gfInv(c[0][j]);
    for (let i = 0; i < m; i++) c[i][j] = gfMul(c[i][j], f);
  }
  for (let i = 0; i < m; i++) {
    const f = gfInv(c[i][0]);
    for (let j = 0; j < k; j++) c[i][j] = gfMul(c[i][j], f);
  }
  return c;
}

/** `out[r] = Σ_j rows[r][j] · inputs[j]`, tile by tile. */
function combine(
  rows: readonly Uint8Array[],
  inputs: readonly Uint8Array[],
  out: readonly Uint8Array[],
): void {
  const len = inputs[0].length;
  for (let off = 0; off < len; off += TILE) {
    const end = Math.min(len, off + TILE);
    const ins = inputs.map((b) => b.subarray(off, end));
    for (let r = 0; r < rows.length; r++) {
      const dst = out[r].subarray(off, end);
      const row = rows[r];
      let first = true;
      for (let j = 0; j < ins.length; j++) {
        if (row[j] === 0) continue;
        mulRegion(dst, ins[j], row[j], !first);
        first = false;
      }
      if (first) dst.fill(0);
    }
  }
}

export interface ReconstructOptions {
  /**
   * Shard indexes to rebuild. Default: every index that is missing. A repairing provider
   * asks for just the lost shard.
   */
  wanted?: readonly number[];
}

/** A Reed–Solomon codec for one (k, n). Stateless apart from a cache of inverted matrices. */
export interface ReedSolomon {
  readonly dataShards: number;
  readonly totalShards: number;
  readonly parityShards: number;
  /**
   * Computes the n−k parity blocks of a stripe from its k data blocks (all the same length).
   * Writes into `parity` when given (n−k blocks of that length), else allocates.
   */
  encode(data: readonly Uint8Array[], parity?: readonly Uint8Array[]): Uint8Array[];
  /**
   * Rebuilds missing blocks of a stripe. `shards[i]` is block i or `undefined`/`null` when
   * missing; at least k must be present, all the same length. Returns an array of n entries in
   * which the wanted indexes are filled (new buffers) and present blocks are passed through.
   * Throws NotEnoughShardsError naming the missing indexes when fewer than k are present.
   */
  reconstruct(
    shards: readonly (Uint8Array | null | undefined)[],
    options?: ReconstructOptions,
  ): (Uint8Array | undefined)[];
}

/** Creates the codec for k data blocks out of n. Throws InvalidParametersError outside 1 ≤ k ≤ n ≤ 32. */
export function createReedSolomon(options: ReedSolomonOptions): ReedSolomon {
  const k = options.dataShards;
  const n = options.totalShards;
  const parity = parityMatrix(k, n);
  const rowOf = (t: number): Uint8Array => {
    if (t >= k) return parity[t - k];
    const r = new Uint8Array(k);
    r[t] = 1;
    return r;
  };
  const cache = new Map<string, Uint8Array[]>();

  function decodeRows(used: readonly number[], wanted: readonly number[]): Uint8Array[] {
    const key = `${used.join(",")}>${wanted.join(",")}`;
    let rows = cache.get(key);
    if (rows !== undefined) return rows;
    const inv = invertMatrix(used.map(rowOf));
    // Cannot happen for an MDS matrix; kept as a loud guard against a broken table.
    if (inv === undefined) throw new Error(`singular decode matrix for shards ${used.join(",")}`);
    rows = wanted.map((t) => {
      const e = rowOf(t);
      const r = new Uint8Array(k);
      for (let j = 0; j < k; j++) {
        let acc = 0;
        for (let l = 0; l < k; l++) acc ^= gfMul(e[l], inv[l][j]);
        r[j] = acc;
      }
      return r;
    });
    if (cache.size >= MAX_CACHED_PATTERNS) cache.delete(cache.keys().next().value as string);
    cache.set(key, rows);
    return rows;
  }

  return {
    dataShards: k,
    totalShards: n,
    parityShards: n - k,

    encode(data, out) {
      if (data.length !== k)
        throw new InvalidParametersError("data", data.length, `a stripe has ${k} data blocks`);
      const len = data[0].length;
      for (const b of data)
        if (b.length !== len)
          throw new InvalidParametersError("data", b.length, `blocks differ in length (${len})`);
      const result = out ? [...out] : parity.map(() => new Uint8Array(len));
      if (result.length !== n - k)
        throw new InvalidParametersError(
          "parity",
          result.length,
          `a stripe has ${n - k} parity blocks`,
        );
      for (const b of result)
        if (b.length !== len)
          throw new InvalidParametersError(
            "parity",
            b.length,
            `parity block length must be ${len}`,
          );
      if (n > k && len > 0) combine(parity, data, result);
      return result;
    },

    reconstruct(shards, opts = {}) {
      if (shards.length !== n)
        throw new InvalidParametersError("shards", shards.length, `a stripe has ${n} blocks`);
      const present: number[] = [];
      const missing: number[] = [];
      for (let i = 0; i < n; i++) (shards[i] == null ? missing : present).push(i);
      const wanted = opts.wanted ? [...new Set(opts.wanted)].sort((a, b) => a - b) : missing;
      for (const t of wanted)
        if (!Number.isInteger(t) || t < 0 || t >= n)
          throw new InvalidParametersError("wanted", t, `shard index must be in [0, ${n})`);
      const result: (Uint8Array | undefined)[] = shards.map((s) => s ?? undefined);
      const toRebuild = wanted.filter((t) => shards[t] == null);
      if (toRebuild.length === 0) return result;
      if (present.length < k) throw new NotEnoughShardsError(missing, present.length, k);
      const len = (shards[present[0]] as Uint8Array).length;
      for (const i of present)
        if ((shards[i] as Uint8Array).length !== len)
          throw new InvalidParametersError(
            `shards[${i}]`,
            (shards[i] as Uint8Array).length,
            `blocks differ in length (${len})`,
          );
      // Present data blocks first: their rows are unit vectors, so the inverse stays sparse.
      const used = present.slice(0, k);
      const rows = decodeRows(used, toRebuild);
      const out = toRebuild.map(() => new Uint8Array(len));
      if (len > 0)
        combine(
          rows,
          used.map((i) => shards[i] as Uint8Array),
          out,
        );
      toRebuild.forEach((t, r) => (result[t] = out[r]));
      return result;
    },
  };
}
