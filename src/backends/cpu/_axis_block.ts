/**
 * Viewing an N-d shape as the three-level block `[outer, mid, inner]` that the fast cpu
 * kernels loop over without per-element index arithmetic.
 *
 * @module
 */

/** A row-major shape seen as `[outer, mid, inner]`. */
export interface _Block {
  outer: number;
  mid: number;
  inner: number;
}

/**
 * `shape` as `[outer, mid, inner]` with `mid` the product of the dims `inMid` selects, when
 * those dims are adjacent once size-1 dims are ignored (`[N, H, W, C]` with H and W
 * selected is `[N, H*W, C]`); undefined when they are not (N and C selected).
 */
export function _middleBlock(
  shape: readonly number[],
  inMid: (axis: number) => boolean,
): _Block | undefined {
  const block = { outer: 1, mid: 1, inner: 1 };
  let stage = 0; // 0: before the selected dims, 1: among them, 2: after them
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    if (inMid(i)) {
      if (stage === 2) return undefined;
      stage = 1;
      block.mid *= shape[i];
    } else if (stage === 0) {
      block.outer *= shape[i];
    } else {
      stage = 2;
      block.inner *= shape[i];
    }
  }
  return block;
}

/** `shape` around `axis`: the dims before it as `outer`, the dims after it as `inner`. */
export function _axisBlock(shape: readonly number[], axis: number): _Block {
  const product = (dims: readonly number[]) => dims.reduce((p, d) => p * d, 1);
  return {
    outer: product(shape.slice(0, axis)),
    mid: shape[axis],
    inner: product(shape.slice(axis + 1)),
  };
}
