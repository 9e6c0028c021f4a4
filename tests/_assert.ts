// Small assertion helpers shared by the tests (JSR's @std/assert is not reachable here).
import assert from "node:assert/strict";

export { assert };

/** Asserts |actual - expected| <= atol + rtol * |expected| elementwise. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  opts: { rtol?: number; atol?: number; msg?: string } = {},
): void {
  const { rtol = 1e-5, atol = 1e-8, msg = "" } = opts;
  assert.equal(
    actual.length,
    expected.length,
    `${msg} length ${actual.length} != ${expected.length}`,
  );
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const tol = atol + rtol * Math.abs(expected[i]);
    if (!(err <= tol) && (worst < 0 || err - tol > worstErr)) {
      worst = i;
      worstErr = err - tol;
    }
  }
  if (worst >= 0) {
    throw new assert.AssertionError({
      message: `${msg} mismatch at index ${worst}: actual ${actual[worst]}, expected ${
        expected[worst]
      } (rtol ${rtol}, atol ${atol})`,
    });
  }
}

/** Asserts two scalars are close. */
export function assertNear(actual: number, expected: number, tol: number, msg = ""): void {
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new assert.AssertionError({
      message: `${msg} expected ${expected} ± ${tol}, got ${actual}`,
    });
  }
}
