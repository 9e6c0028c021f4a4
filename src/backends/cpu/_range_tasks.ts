/**
 * Where the cpu family's JavaScript kernels hand their loops: tasks over index ranges
 * (`_range_kernels.ts`) that a runner may split among threads. By default everything runs on
 * the calling thread, as in a browser; the onednn backend installs the helper threads of
 * `_helper_threads.ts`, which this module must not import (browser bundles include it).
 *
 * @module
 */
import { _RANGE_KERNELS, type _RangeArray, type _RangeKernelName } from "./_range_kernels.ts";

/** A unit of work that threads may share. */
export interface _RangeTask {
  /** The range kernel. */
  kernel: _RangeKernelName;
  /** Its arrays. */
  arrays: _RangeArray[];
  /** Its numbers. */
  params: number[];
  /** The indices to cover: `0` to `size - 1`. */
  size: number;
  /** Array elements per index (a pixel's channels times the batch); default 1. */
  width?: number;
}

/** Runs range tasks, split among some threads. */
export interface _RangeRunner {
  /** The most parts a task is split into now; kernels keep a partial result per part. */
  threads(): number;
  /** Runs every task to the end. */
  run(tasks: _RangeTask[]): void;
}

const oneThread: _RangeRunner = {
  threads: () => 1,
  run(tasks) {
    for (const t of tasks) _RANGE_KERNELS[t.kernel](t.arrays, t.params, 0, t.size | 0, 0);
  },
};

let runner: _RangeRunner = oneThread;

/**
 * Installs a runner, or with `undefined` goes back to the calling thread alone.
 *
 * @param r The runner.
 */
export function _setRangeRunner(r: _RangeRunner | undefined): void {
  runner = r ?? oneThread;
}

/**
 * The most parts a task is split into now.
 *
 * @returns At least 1.
 */
export function _rangeThreads(): number {
  return runner.threads();
}

/**
 * Runs every task to the end.
 *
 * @param tasks Independent tasks: no task writes what another reads.
 */
export function _runRangeTasks(tasks: _RangeTask[]): void {
  runner.run(tasks);
}
