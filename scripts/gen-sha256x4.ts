/**
 * Writes sdk/src/merkle/generated/sha256x4-wasm.ts: a 4-lane SIMD SHA-256 in WebAssembly for
 * the segment tree (docs/protocol.md, "Segment commitments"), specialised for its two message
 * shapes: a leaf H(0x00 ‖ 512-byte segment), 9 blocks, and an inner node H(0x01 ‖ left ‖ right),
 * 2 blocks. Each of the four 32-bit lanes of a v128 carries one message, so one pass of the 64
 * rounds hashes four leaves or four nodes; `roots` goes from a run of segments to a whole level
 * of subtree roots in one call, every level in wasm memory.
 *
 * The WebAssembly text is generated here (the rounds and message schedule fully unrolled; the
 * last block of each shape, where all words but the first are padding, constant-folded) and
 * assembled with the `wabt` package's wat2wasm. The generated file holds the module in hex so
 * that neither Node nor a browser bundle needs a build step; sdk/test/sha256x4.test.ts checks that
 * regenerating gives exactly the committed file.
 *
 * Run: node scripts/gen-sha256x4.ts   (or --wat to print the text)
 *
 * Memory (one 17-page memory, exported): a pool of splatted constants and the 4-lane state at
 * the bottom, then a window of up to 2048 segments (1 MiB) at DATA_OFFSET. Every entry point
 * works in place: a group's input is read before its four digests are written, and digests are
 * never written past the input still to be read.
 *
 *   roots(src, n, height, dst)  n segments at src (n a multiple of 2^height) → n / 2^height
 *                               subtree roots of 32 bytes at dst
 *   leaves(src, n, dst)         n segments → n leaf digests
 *   parents(src, pairs, dst)    pairs × (left ‖ right) → pairs node digests
 *
 * Lanes past the end of a run (n not a multiple of 4) hash whatever follows in memory; their
 * digests land after the last real one and are never read.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import wabtInit from "wabt";

import { IV as SHA256_IV, K as SHA256_K } from "../sdk/src/merkle/sha256.ts";

/** Segments per window: one call hashes at most this many (1 MiB of shard data). */
export const WINDOW_SEGMENTS = 2048;
const PAGES = 17;

// The constants as unsigned words (the sdk's portable SHA-256 keeps them signed).
const K = Array.from(SHA256_K, (x) => x >>> 0);
const IV = Array.from(SHA256_IV, (x) => x >>> 0);

/** An exported loop calling `$kernel` on four messages at a time (`step` input bytes) until `$count` is used up. */
function batchLoop(name: string, count: string, kernel: string, step: number): string {
  return `(func $${name} (export "${name}") (param $src i32) (param $${count} i32) (param $dst i32)
    (block $done (loop $next
      (br_if $done (i32.le_s (local.get $${count}) (i32.const 0)))
      (call $${kernel} (local.get $src) (local.get $dst))
      (local.set $src (i32.add (local.get $src) (i32.const ${step})))
      (local.set $dst (i32.add (local.get $dst) (i32.const 128)))
      (local.set $${count} (i32.sub (local.get $${count}) (i32.const 4)))
      (br $next))))`;
}

// --- 32-bit helpers for constant folding ---------------------------------------------------
const u32 = (x: number): number => x >>> 0;
const rotr32 = (x: number, n: number): number => u32((x >>> n) | (x << (32 - n)));
const sigma0 = (x: number): number => u32(rotr32(x, 7) ^ rotr32(x, 18) ^ (x >>> 3));
const sigma1 = (x: number): number => u32(rotr32(x, 17) ^ rotr32(x, 19) ^ (x >>> 10));

/** Splatted v128 constants, 16 bytes each, at the bottom of memory. */
class ConstPool {
  readonly offsets = new Map<number, number>();
  get(value: number): string {
    const v = u32(value);
    let off = this.offsets.get(v);
    if (off === undefined) {
      off = 16 * this.offsets.size;
      this.offsets.set(v, off);
    }
    return `(v128.load offset=${off} (i32.const 0))`;
  }
  get size(): number {
    return 16 * this.offsets.size;
  }
  /** The data segment's string: each constant four times, little-endian. */
  bytes(): string {
    let s = "";
    for (const v of this.offsets.keys())
      for (let lane = 0; lane < 4; lane++)
        for (let b = 0; b < 4; b++)
          s += `\\${((v >>> (8 * b)) & 0xff).toString(16).padStart(2, "0")}`;
    return s;
  }
}

// --- WAT expression helpers (folded form) ---------------------------------------------------
const get = (l: string): string => `(local.get $${l})`;
const add = (...xs: string[]): string =>
  xs.length === 1 ? xs[0] : `(i32x4.add ${add(...xs.slice(0, -1))} ${xs[xs.length - 1]})`;
const xor = (a: string, b: string): string => `(v128.xor ${a} ${b})`;
const shr = (a: string, n: number): string => `(i32x4.shr_u ${a} (i32.const ${n}))`;
const shl = (a: string, n: number): string => `(i32x4.shl ${a} (i32.const ${n}))`;
const rotr = (a: string, n: number): string => `(v128.or ${shr(a, n)} ${shl(a, 32 - n)})`;
const bigSigma0 = (a: string): string => xor(xor(rotr(a, 2), rotr(a, 13)), rotr(a, 22));
const bigSigma1 = (e: string): string => xor(xor(rotr(e, 6), rotr(e, 11)), rotr(e, 25));
const smallSigma0 = (x: string): string => xor(xor(rotr(x, 7), rotr(x, 18)), shr(x, 3));
const smallSigma1 = (x: string): string => xor(xor(rotr(x, 17), rotr(x, 19)), shr(x, 10));
const set = (l: string, v: string): string => `(local.set $${l} ${v})`;

/** i8x16.shuffle lane patterns. */
const BSWAP32 = "3 2 1 0 7 6 5 4 11 10 9 8 15 14 13 12";
const LO32 = "0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23"; // [x0 y0 x1 y1]
const HI32 = "8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31"; // [x2 y2 x3 y3]
const LO64 = "0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23"; // [x0 x1 y0 y1]
const HI64 = "8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31"; // [x2 x3 y2 y3]
const shuffle = (pattern: string, a: string, b: string): string =>
  `(i8x16.shuffle ${pattern} ${a} ${b})`;
const bswap = (a: string): string => shuffle(BSWAP32, a, a);

/** A message word: a compile-time constant or a wasm local. */
type Word = { c: number } | { local: string };

/**
 * The 64 rounds over the 4-lane state in memory (@S0@ … @S7@: placed after the constant pool),
 * the schedule computed as the rounds go; a word known at generation time is folded into its
 * round constant. The working variables rotate by renaming the locals; Maj reuses the previous
 * round's b ^ c. (Computing the whole schedule into memory first measured no faster in V8.)
 */
function rounds(pool: ConstPool, words: Word[], body: string[]): void {
  const W = words.slice();
  let fresh = 0;
  const schedule = (t: number): void => {
    const terms = [
      { f: sigma1, g: smallSigma1, w: W[t - 2] },
      { f: (x: number) => x, g: (x: string) => x, w: W[t - 7] },
      { f: sigma0, g: smallSigma0, w: W[t - 15] },
      { f: (x: number) => x, g: (x: string) => x, w: W[t - 16] },
    ];
    let c = 0;
    const vars: string[] = [];
    for (const { f, g, w } of terms) {
      if ("c" in w) c = u32(c + f(w.c));
      else vars.push(g(get(w.local)));
    }
    if (vars.length === 0) W[t] = { c };
    else {
      // Reuse the slot of W[t-16] when it is a local no later word needs.
      const old = W[t - 16];
      const name = "local" in old && old.local.startsWith("w") ? old.local : `v${fresh++}`;
      body.push(set(name, add(...vars, ...(c !== 0 ? [pool.get(c)] : []))));
      W[t] = { local: name };
    }
  };
  let r = ["a", "b", "c", "d", "e", "f", "g", "h"];
  for (let i = 0; i < 8; i++) body.push(set(r[i], `(v128.load offset=@S${i}@ (i32.const 0))`));
  body.push(set("x1", xor(get("b"), get("c"))));
  for (let t = 0; t < 64; t++) {
    if (t >= 16) schedule(t);
    const w = W[t];
    const kw = "c" in w ? pool.get(K[t] + w.c) : add(get(w.local), pool.get(K[t]));
    const [a, b, c, d, e, f, g, h] = r;
    const cur = t % 2 === 0 ? "x0" : "x1";
    const prev = t % 2 === 0 ? "x1" : "x0";
    body.push(
      set(
        "t1",
        add(get(h), bigSigma1(get(e)), `(v128.bitselect ${get(f)} ${get(g)} ${get(e)})`, kw),
      ),
      set(d, add(get(d), get("t1"))),
      set(cur, xor(get(a), get(b))),
      set(h, add(get("t1"), bigSigma0(get(a)), xor(`(v128.and ${get(cur)} ${get(prev)})`, get(b)))),
    );
    r = [h, a, b, c, d, e, f, g];
  }
  for (let i = 0; i < 8; i++)
    body.push(
      `(v128.store offset=@S${i}@ (i32.const 0) ${add(
        `(v128.load offset=@S${i}@ (i32.const 0))`,
        get(r[i]),
      )})`,
    );
}

/** The WebAssembly text of the module. */
export function sha256x4Wat(): string {
  const pool = new ConstPool();
  // Constants used by the drivers first, so their offsets are stable.
  const ivLoads = IV.map((v) => pool.get(v));
  const lo24 = pool.get(0x00ffffff);
  const ones = pool.get(0xffffffff);
  const zero = pool.get(0);
  const nodePrefix = pool.get(0x01000000);
  const hi8 = pool.get(0xff000000);
  const pad80 = pool.get(0x00800000);

  const funcs: string[] = [];
  const stateLocals =
    "(local $a v128) (local $b v128) (local $c v128) (local $d v128) (local $e v128) (local $f v128) (local $g v128) (local $h v128) (local $t1 v128) (local $x0 v128) (local $x1 v128)";

  // compress: one full message block per lane, read big-endian from q_i = p + i·stride − 1
  // (the −1: both shapes start with a one-byte prefix, which is masked into word 0 with
  // (w0 & and) | or).
  {
    const body: string[] = [];
    const wl = Array.from({ length: 16 }, (_, i) => `(local $w${i} v128)`).join(" ");
    body.push(
      set("q0", "(i32.sub (local.get $p) (i32.const 1))"),
      set("q1", "(i32.add (local.get $q0) (local.get $stride))"),
      set("q2", "(i32.add (local.get $q1) (local.get $stride))"),
      set("q3", "(i32.add (local.get $q2) (local.get $stride))"),
    );
    for (let j = 0; j < 4; j++) {
      for (let i = 0; i < 4; i++)
        body.push(set(`r${i}`, bswap(`(v128.load offset=${16 * j} (local.get $q${i}))`)));
      body.push(
        set("l01", shuffle(LO32, get("r0"), get("r1"))),
        set("h01", shuffle(HI32, get("r0"), get("r1"))),
        set("l23", shuffle(LO32, get("r2"), get("r3"))),
        set("h23", shuffle(HI32, get("r2"), get("r3"))),
        set(`w${4 * j}`, shuffle(LO64, get("l01"), get("l23"))),
        set(`w${4 * j + 1}`, shuffle(HI64, get("l01"), get("l23"))),
        set(`w${4 * j + 2}`, shuffle(LO64, get("h01"), get("h23"))),
        set(`w${4 * j + 3}`, shuffle(HI64, get("h01"), get("h23"))),
      );
    }
    body.push(set("w0", `(v128.or (v128.and ${get("w0")} ${get("and")}) ${get("or")})`));
    const words: Word[] = Array.from({ length: 16 }, (_, i) => ({ local: `w${i}` }));
    rounds(pool, words, body);
    funcs.push(
      `(func $compress (param $p i32) (param $stride i32) (param $and v128) (param $or v128)
    (local $q0 i32) (local $q1 i32) (local $q2 i32) (local $q3 i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $l01 v128) (local $h01 v128) (local $l23 v128) (local $h23 v128)
    ${wl} ${stateLocals}
    ${body.join("\n    ")})`,
    );
  }

  // The last block of a shape: word 0 = (last input byte) << 24 | 0x80 << 16, words 1–14 zero,
  // word 15 the message length in bits.
  const finalBlock = (name: string, bits: number): void => {
    const body: string[] = [];
    const words: Word[] = [{ local: "w0" }];
    for (let i = 1; i < 15; i++) words.push({ c: 0 });
    words.push({ c: bits });
    rounds(pool, words, body);
    const vars = new Set<string>();
    for (const line of body) for (const m of line.matchAll(/\$(v\d+)/g)) vars.add(m[1]);
    const locals = [...vars]
      .sort((x, y) => Number(x.slice(1)) - Number(y.slice(1)))
      .map((v) => `(local $${v} v128)`)
      .join(" ");
    funcs.push(
      `(func $${name} (param $w0 v128) ${locals} ${stateLocals}
    ${body.join("\n    ")})`,
    );
  };
  finalBlock("finalLeaf", 513 * 8);
  finalBlock("finalNode", 65 * 8);

  // Digests out: lane k's eight state words, big-endian, at dst + 32k.
  {
    const body: string[] = [];
    for (const half of [0, 1]) {
      for (let i = 0; i < 4; i++)
        body.push(set(`s${i}`, bswap(`(v128.load offset=@S${4 * half + i}@ (i32.const 0))`)));
      body.push(
        set("l01", shuffle(LO32, get("s0"), get("s1"))),
        set("h01", shuffle(HI32, get("s0"), get("s1"))),
        set("l23", shuffle(LO32, get("s2"), get("s3"))),
        set("h23", shuffle(HI32, get("s2"), get("s3"))),
        `(v128.store offset=${16 * half} (local.get $dst) ${shuffle(LO64, get("l01"), get("l23"))})`,
        `(v128.store offset=${32 + 16 * half} (local.get $dst) ${shuffle(HI64, get("l01"), get("l23"))})`,
        `(v128.store offset=${64 + 16 * half} (local.get $dst) ${shuffle(LO64, get("h01"), get("h23"))})`,
        `(v128.store offset=${96 + 16 * half} (local.get $dst) ${shuffle(HI64, get("h01"), get("h23"))})`,
      );
    }
    funcs.push(
      `(func $output (param $dst i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $l01 v128) (local $h01 v128) (local $l23 v128) (local $h23 v128)
    ${body.join("\n    ")})`,
    );
  }

  const initState = ivLoads
    .map((iv, i) => `(v128.store offset=@S${i}@ (i32.const 0) ${iv})`)
    .join("\n    ");
  const gather = (base: number, stride: number): string =>
    `(v128.or (v128.and (i32x4.replace_lane 3 (i32x4.replace_lane 2 (i32x4.replace_lane 1 ` +
    `(i32x4.splat (i32.load offset=${base} (local.get $p))) ` +
    `(i32.load offset=${base + stride} (local.get $p))) ` +
    `(i32.load offset=${base + 2 * stride} (local.get $p))) ` +
    `(i32.load offset=${base + 3 * stride} (local.get $p))) ${hi8}) ${pad80})`;
  const leafBlocks = [`(call $compress (local.get $p) (i32.const 512) ${lo24} ${zero})`];
  for (let b = 1; b < 8; b++)
    leafBlocks.push(
      `(call $compress (i32.add (local.get $p) (i32.const ${64 * b})) (i32.const 512) ${ones} ${zero})`,
    );
  funcs.push(
    // Four leaves: segments at p, p + 512, p + 1024, p + 1536.
    `(func $leaf4 (param $p i32) (param $dst i32)
    ${initState}
    ${leafBlocks.join("\n    ")}
    (call $finalLeaf ${gather(508, 512)})
    (call $output (local.get $dst)))`,
    // Four inner nodes: (left ‖ right) pairs at p, p + 64, p + 128, p + 192.
    `(func $node4 (param $p i32) (param $dst i32)
    ${initState}
    (call $compress (local.get $p) (i32.const 64) ${lo24} ${nodePrefix})
    (call $finalNode ${gather(60, 64)})
    (call $output (local.get $dst)))`,
    batchLoop("leaves", "n", "leaf4", 2048),
    batchLoop("parents", "pairs", "node4", 256),
    `(func (export "roots") (param $src i32) (param $n i32) (param $height i32) (param $dst i32)
    (call $leaves (local.get $src) (local.get $n) (local.get $dst))
    (block $done (loop $up
      (br_if $done (i32.eqz (local.get $height)))
      (local.set $n (i32.shr_u (local.get $n) (i32.const 1)))
      (call $parents (local.get $dst) (local.get $n) (local.get $dst))
      (local.set $height (i32.sub (local.get $height) (i32.const 1)))
      (br $up))))`,
  );

  const state = pool.size; // 16-aligned, right after the constants
  const dataOffset = dataOffsetFor(state);
  const text = `(module
  ;; Generated by scripts/gen-sha256x4.ts: 4-lane SIMD SHA-256 for the segment tree.
  (memory (export "memory") ${PAGES} ${PAGES})
  (global (export "dataOffset") i32 (i32.const ${dataOffset}))
  (data (i32.const 0) "${pool.bytes()}")
  ${funcs.join("\n  ")})
`;
  return text.replaceAll(/@S(\d)@/g, (_, i: string) => String(state + 16 * Number(i)));
}

/** First byte of the segment window: after the state, 64-aligned, and at least 16. */
function dataOffsetFor(state: number): number {
  return Math.ceil((state + 128 + 16) / 64) * 64;
}

/** The module's bytes: the text above through wabt's wat2wasm, SIMD enabled. */
export async function sha256x4Wasm(wat = sha256x4Wat()): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat("sha256x4.wat", wat, { simd: true });
  try {
    mod.validate();
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

/** A tiny module that uses v128: `WebAssembly.validate` of it is the SIMD feature test. */
export async function simdProbeWasm(): Promise<Uint8Array> {
  return sha256x4Wasm(`(module (func (result v128) (i32x4.splat (i32.const 1))))`);
}

/** The generated TypeScript file's full text. */
export async function generateSha256x4Source(): Promise<string> {
  const wat = sha256x4Wat();
  const wasm = await sha256x4Wasm(wat);
  const probe = await simdProbeWasm();
  const dataOffset = Number(
    /\(global \(export "dataOffset"\) i32 \(i32\.const (\d+)\)\)/.exec(wat)![1],
  );
  const hex = Buffer.from(wasm).toString("hex");
  return `// GENERATED by scripts/gen-sha256x4.ts (WebAssembly text assembled by wabt's wat2wasm, npm
// package wabt). Do not edit: run \`node scripts/gen-sha256x4.ts\`; sdk/test/sha256x4.test.ts
// checks that this file is what the script produces.

/**
 * The 4-lane SIMD SHA-256 module (${wasm.length} bytes), in hex on one line: unlike base64 or
 * broken lines, that keeps the unrolled code's repeats aligned, so it gzips to ~6 kB in a
 * browser bundle (base64: 16 kB).
 */
export const SHA256X4_WASM_HEX =
  "${hex}";

/** A ${probe.length}-byte module using v128: \`WebAssembly.validate\` of it detects SIMD. */
export const SIMD_PROBE_WASM = [${Array.from(probe).join(", ")}];

/** Byte offset of the segment window in the module's memory (its \`dataOffset\` global). */
export const SHA256X4_DATA_OFFSET = ${dataOffset};

/** Segments one call can take (the window is ${WINDOW_SEGMENTS} × 512 bytes). */
export const SHA256X4_WINDOW_SEGMENTS = ${WINDOW_SEGMENTS};
`;
}

export const generatedPath = join(
  dirname(fileURLToPath(import.meta.url)),
  "../sdk/src/merkle/generated/sha256x4-wasm.ts",
);

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--wat")) process.stdout.write(sha256x4Wat());
  else {
    writeFileSync(generatedPath, await generateSha256x4Source());
    console.log(`wrote ${generatedPath}`);
  }
}
