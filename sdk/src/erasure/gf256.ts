// Arithmetic in GF(2^8) with the reducing polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d),
// generator 2: the field most Reed–Solomon codecs use. Pure TypeScript, no platform imports.

/** The field's reducing polynomial. Part of the shard format: changing it changes every parity byte. */
export const GF_POLYNOMIAL = 0x11d;

const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= GF_POLYNOMIAL;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
}

export function gfMul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return EXP[LOG[a] + LOG[b]];
}

export function gfInv(a: number): number {
  if (a === 0) throw new RangeError("0 has no inverse in GF(2^8)");
  return EXP[255 - LOG[a]];
}

export function gfDiv(a: number, b: number): number {
  return gfMul(a, gfInv(b));
}

/** 256-entry table: `t[x] = c·x`. */
const tables8: (Uint8Array | undefined)[] = new Array(256);
/**
 * 65,536-entry table that multiplies both bytes of a 16-bit word by c at once:
 * `t[x] = (c·(x & 0xff)) | (c·(x >> 8)) << 8`. 128 KiB each, built on first use (~0.1 ms);
 * byte order of the platform does not matter since each byte is mapped independently.
 */
const tables16: (Uint16Array | undefined)[] = new Array(256);

function table8(c: number): Uint8Array {
  let t = tables8[c];
  if (t === undefined) {
    t = new Uint8Array(256);
    for (let x = 1; x < 256; x++) t[x] = gfMul(c, x);
    tables8[c] = t;
  }
  return t;
}

function table16(c: number): Uint16Array {
  let t = tables16[c];
  if (t === undefined) {
    const b = table8(c);
    t = new Uint16Array(65536);
    for (let hi = 0; hi < 256; hi++) {
      const h = b[hi] << 8;
      const base = hi << 8;
      for (let lo = 0; lo < 256; lo++) t[base | lo] = h | b[lo];
    }
    tables16[c] = t;
  }
  return t;
}

const aligned = (a: Uint8Array): boolean => (a.byteOffset & 3) === 0 && (a.length & 3) === 0;
const words = (a: Uint8Array): Uint32Array =>
  new Uint32Array(a.buffer, a.byteOffset, a.length >>> 2);

/**
 * `dst = c·src` (when `accumulate` is false) or `dst ^= c·src` (when true), over
 * `dst[0..src.length)`. Aligned regions go word by word (32 bits per step, 16-bit product
 * tables); others byte by byte.
 */
export function mulRegion(dst: Uint8Array, src: Uint8Array, c: number, accumulate: boolean): void {
  const n = src.length;
  if (c === 0) {
    if (!accumulate) dst.fill(0, 0, n);
    return;
  }
  if (aligned(dst) && aligned(src)) {
    const d = words(dst);
    const s = words(src);
    const len = s.length;
    if (c === 1) {
      if (accumulate) for (let i = 0; i < len; i++) d[i] ^= s[i];
      else d.set(s);
      return;
    }
    const t = table16(c);
    if (accumulate) {
      for (let i = 0; i < len; i++) {
        const w = s[i];
        d[i] ^= t[w & 0xffff] | (t[w >>> 16] << 16);
      }
    } else {
      for (let i = 0; i < len; i++) {
        const w = s[i];
        d[i] = t[w & 0xffff] | (t[w >>> 16] << 16);
      }
    }
    return;
  }
  const t = table8(c);
  if (accumulate) for (let i = 0; i < n; i++) dst[i] ^= t[src[i]];
  else for (let i = 0; i < n; i++) dst[i] = t[src[i]];
}

/** Inverts a square matrix over GF(2^8) (rows as byte arrays); `undefined` if singular. */
export function invertMatrix(m: readonly Uint8Array[]): Uint8Array[] | undefined {
  const size = m.length;
  const a = m.map((row) => Uint8Array.from(row));
  const inv = m.map((_, i) => {
    const r = new Uint8Array(size);
    r[i] = 1;
    return r;
  });
  for (let col = 0; col < size; col++) {
    let pivot = col;
    while (pivot < size && a[pivot][col] === 0) pivot++;
    if (pivot === size) return undefined;
    if (pivot !== col) {
      [a[pivot], a[col]] = [a[col], a[pivot]];
      [inv[pivot], inv[col]] = [inv[col], inv[pivot]];
    }
    const f = gfInv(a[col][col]);
    for (let j = 0; j < size; j++) {
      a[col][j] = gfMul(a[col][j], f);
      inv[col][j] = gfMul(inv[col][j], f);
    }
    for (let r = 0; r < size; r++) {
      const g = a[r][col];
      if (r === col || g === 0) continue;
      for (let j = 0; j < size; j++) {
        a[r][j] ^= gfMul(g, a[col][j]);
        inv[r][j] ^= gfMul(g, inv[col][j]);
      }
    }
  }
  return inv;
}
