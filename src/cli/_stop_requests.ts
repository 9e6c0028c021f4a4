/**
 * What SIGINT and SIGTERM mean to a long command such as `train`: the first asks it to finish
 * its step and write a checkpoint; another one later quits at once.
 *
 * One event often arrives twice: a terminal's Ctrl-C reaches `deno task` and the process it
 * runs, and `deno task` forwards its copy; GNU `timeout` signals its child, then the child's
 * process group. So a repeat sooner than {@linkcode SIGNAL_REPEAT_MS} after the first counts as
 * the same event, not as a second request.
 *
 * @module
 */

/** A person pressing Ctrl-C a second time takes longer than this; a duplicate is far quicker. */
export const SIGNAL_REPEAT_MS = 500;

/** What a signal asks for. */
export type StopRequest = "stop" | "repeat" | "quit";

/** Tells the first stop request from a duplicate of it and from a second request. */
export class StopRequests {
  /** Aborted at the first request, with the signal's name as the reason. */
  readonly controller: AbortController = new AbortController();
  /** The exit code for the last signal: 143 for SIGTERM, 130 for SIGINT. */
  exitCode = 130;
  readonly #now: () => number;
  #firstAt = 0;

  /** @param now The clock in milliseconds; `performance.now` unless a test gives another. */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /**
   * Records a signal.
   *
   * @param signal Its name.
   * @returns "stop" for the first (finish the step, checkpoint), "repeat" for a duplicate of
   *   it (ignore), "quit" for a later one (exit now with {@linkcode exitCode}).
   */
  receive(signal: "SIGINT" | "SIGTERM"): StopRequest {
    this.exitCode = signal === "SIGTERM" ? 143 : 130;
    if (!this.controller.signal.aborted) {
      this.#firstAt = this.#now();
      this.controller.abort(signal);
      return "stop";
    }
    return this.#now() - this.#firstAt < SIGNAL_REPEAT_MS ? "repeat" : "quit";
  }
}
