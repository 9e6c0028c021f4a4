// What SIGINT and SIGTERM ask of `ddpm train` (src/cli/_stop_requests.ts): the first stops after
// the step with a checkpoint, a copy of it within SIGNAL_REPEAT_MS is ignored (one Ctrl-C reaches
// the process twice through `deno task`, one `timeout` twice through the process group), and a
// later one quits at once. A clock the test sets makes it deterministic.
import { SIGNAL_REPEAT_MS, StopRequests } from "../src/cli/_stop_requests.ts";
import { assert } from "./_assert.ts";

Deno.test("the first signal stops after the step; its duplicate is ignored; a later one quits", () => {
  let now = 1000;
  const stops = new StopRequests(() => now);
  assert.equal(stops.controller.signal.aborted, false);
  assert.equal(stops.receive("SIGINT"), "stop");
  assert.equal(stops.controller.signal.aborted, true);
  assert.equal(stops.controller.signal.reason, "SIGINT");
  assert.equal(stops.exitCode, 130);
  now += 3; // deno task's forwarded copy
  assert.equal(stops.receive("SIGINT"), "repeat");
  now += SIGNAL_REPEAT_MS - 4;
  assert.equal(stops.receive("SIGINT"), "repeat");
  now += 1; // SIGNAL_REPEAT_MS after the first: a person asking again
  assert.equal(stops.receive("SIGINT"), "quit");
});

Deno.test("SIGTERM exits 143, and a SIGTERM after a SIGINT quits with 143", () => {
  let now = 0;
  const term = new StopRequests(() => now);
  assert.equal(term.receive("SIGTERM"), "stop");
  assert.equal(term.exitCode, 143);
  assert.equal(term.controller.signal.reason, "SIGTERM");

  const both = new StopRequests(() => now);
  assert.equal(both.receive("SIGINT"), "stop");
  now += 2 * SIGNAL_REPEAT_MS;
  assert.equal(both.receive("SIGTERM"), "quit");
  assert.equal(both.exitCode, 143);
});
