/**
 * A tiny WebAssembly SIMD routine that works in place on the tfjs wasm backend's heap.
 *
 * The depthwise-convolution gradients are per-channel multiply-accumulates with no shared operand, so they do not
 * map onto a matrix product and tfjs-wasm has no kernel for them. Plain JavaScript loops reach 1-2 GFLOP/s on them
 * here against 7-9 for wasm's forward depthwise conv; this routine uses 128-bit SIMD (f32x4) and reads and writes
 * tensors where they already live, by importing the backend's own `WebAssembly.Memory`, so nothing is copied.
 *
 * The module is assembled byte by byte below (no toolchain is needed at build time); it exports one function,
 * {@link MaccRows}.
 * @module
 */

/**
 * `maccRows(a, aStride, b, bStride, o, oStride, rows, channels)`: for every row `i < rows` and channel
 * `c < channels`, `o[i*oStride + c] += a[i*aStride + c] * b[i*bStride + c]`, all float32. Pointers and strides are
 * in BYTES. A stride of 0 reuses the same vector for every row: `oStride = 0` accumulates a dot product per channel,
 * `aStride = 0` broadcasts one weight vector over the rows.
 */
export type MaccRows = (
  a: number,
  aStride: number,
  b: number,
  bStride: number,
  o: number,
  oStride: number,
  rows: number,
  channels: number,
) => void;

// Opcodes used below (WebAssembly core spec 2.0, SIMD proposal as standardised).
const OP = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  get: 0x20,
  set: 0x21,
  f32Load: 0x2a,
  f32Store: 0x38,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32LtU: 0x49,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32And: 0x71,
  i32Shl: 0x74,
  f32Add: 0x92,
  f32Mul: 0x94,
  simd: 0xfd,
} as const;
const VOID = 0x40;
const I32 = 0x7f;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  while (true) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function str(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** Builds the module's bytes. Parameters 0-7 as in {@link MaccRows}; locals 8 = j, 9 = simdEnd, 10 = rowEnd. */
export function maccModuleBytes(): Uint8Array {
  const [A, AS, B, BS, O, OS, ROWS, CH, J, C4, CB] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const get = (i: number) => [OP.get, i];
  const set = (i: number) => [OP.set, i];
  const konst = (v: number) => [OP.i32Const, ...sleb(v)];
  const addr = (base: number) => [...get(base), ...get(J), OP.i32Add];
  const v128Load = [OP.simd, ...uleb(0), 2, 0]; // align 2^2: tensors are only float-aligned
  const v128Store = [OP.simd, ...uleb(11), 2, 0];
  const f32x4Add = [OP.simd, ...uleb(228)];
  const f32x4Mul = [OP.simd, ...uleb(230)];
  const code = [
    // simdEnd = (channels & ~3) * 4 ; rowEnd = channels * 4
    ...get(CH),
    ...konst(-4),
    OP.i32And,
    ...konst(2),
    OP.i32Shl,
    ...set(C4),
    ...get(CH),
    ...konst(2),
    OP.i32Shl,
    ...set(CB),
    OP.block,
    VOID,
    ...get(ROWS),
    OP.i32Eqz,
    OP.brIf,
    0,
    OP.loop,
    VOID, // rows
    ...konst(0),
    ...set(J),
    OP.block,
    VOID,
    ...get(J),
    ...get(C4),
    OP.i32GeU,
    OP.brIf,
    0,
    OP.loop,
    VOID, // 4 channels at a time
    ...addr(O),
    ...addr(O),
    ...v128Load,
    ...addr(A),
    ...v128Load,
    ...addr(B),
    ...v128Load,
    ...f32x4Mul,
    ...f32x4Add,
    ...v128Store,
    ...get(J),
    ...konst(16),
    OP.i32Add,
    ...set(J),
    ...get(J),
    ...get(C4),
    OP.i32LtU,
    OP.brIf,
    0,
    OP.end,
    OP.end,
    OP.block,
    VOID,
    ...get(J),
    ...get(CB),
    OP.i32GeU,
    OP.brIf,
    0,
    OP.loop,
    VOID, // the last channels % 4, one at a time
    ...addr(O),
    ...addr(O),
    OP.f32Load,
    2,
    0,
    ...addr(A),
    OP.f32Load,
    2,
    0,
    ...addr(B),
    OP.f32Load,
    2,
    0,
    OP.f32Mul,
    OP.f32Add,
    OP.f32Store,
    2,
    0,
    ...get(J),
    ...konst(4),
    OP.i32Add,
    ...set(J),
    ...get(J),
    ...get(CB),
    OP.i32LtU,
    OP.brIf,
    0,
    OP.end,
    OP.end,
    ...get(A),
    ...get(AS),
    OP.i32Add,
    ...set(A),
    ...get(B),
    ...get(BS),
    OP.i32Add,
    ...set(B),
    ...get(O),
    ...get(OS),
    OP.i32Add,
    ...set(O),
    ...get(ROWS),
    ...konst(1),
    OP.i32Sub,
    ...set(ROWS),
    ...get(ROWS),
    OP.brIf, // loop while rows != 0
    0,
    OP.end,
    OP.end,
    OP.end, // function body
  ];
  const body = [...uleb(1), ...uleb(3), I32, ...code]; // one local group: 3 x i32
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [...uleb(1), 0x60, ...uleb(8), ...new Array(8).fill(I32), ...uleb(0)]),
    ...section(2, [...uleb(1), ...str("env"), ...str("memory"), 0x02, 0x00, ...uleb(1)]),
    ...section(3, [...uleb(1), ...uleb(0)]),
    ...section(7, [...uleb(1), ...str("maccRows"), 0x00, ...uleb(0)]),
    ...section(10, [...uleb(1), ...uleb(body.length), ...body]),
  ];
  return new Uint8Array(bytes);
}

const instances = new WeakMap<WebAssembly.Memory, MaccRows>();

/**
 * Returns {@link MaccRows} bound to `memory` (instantiated once per memory), or `null` when this engine cannot run
 * it (no SIMD, or a shared memory such as the threaded tfjs build's, which this non-shared import cannot bind).
 */
export function maccRowsFor(memory: WebAssembly.Memory): MaccRows | null {
  const cached = instances.get(memory);
  if (cached) return cached;
  try {
    const module = new WebAssembly.Module(maccModuleBytes() as Uint8Array<ArrayBuffer>);
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const fn = instance.exports.maccRows as MaccRows;
    instances.set(memory, fn);
    return fn;
  } catch {
    return null;
  }
}
