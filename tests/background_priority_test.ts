// V8's background threads get the lowest priority on onednn (src/backends/onednn/
// _background_priority.ts): checked on the nice values /proc gives for each thread, in a
// process of its own per setting (tests/_thread_nice_probe.ts).
import { assert } from "./_assert.ts";

interface Probe {
  reniced: number | string;
  threads: { name: string; nice: number }[];
}

async function probe(setting: string | undefined): Promise<Probe> {
  const env: Record<string, string> = setting === undefined ? {} : { DDPM_V8_WORKER_NICE: setting };
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_thread_nice_probe.ts", import.meta.url).pathname],
    env,
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

const isV8Worker = (t: { name: string }) => t.name.startsWith("V8 DefaultWorke");

Deno.test({
  name: "V8's worker threads get nice 19 by default, the value set, or stay at 0; others stay",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const byDefault = await probe(undefined);
    const workers = byDefault.threads.filter(isV8Worker);
    assert.ok(workers.length > 0, "V8 runs no worker threads here: nothing to test");
    assert.equal(byDefault.reniced, workers.length);
    assert.deepEqual(workers.map((t) => t.nice), workers.map(() => 19));
    // The main thread comes first (the lowest id); every other thread keeps its priority.
    const others = byDefault.threads.filter((t) => !isV8Worker(t));
    const base = byDefault.threads[0].nice;
    assert.deepEqual(others.map((t) => t.nice), others.map(() => base), "another thread changed");

    const seven = await probe("7");
    assert.deepEqual(seven.threads.filter(isV8Worker).map((t) => t.nice), workers.map(() => 7));

    const off = await probe("0");
    assert.equal(off.reniced, 0);
    const offBase = off.threads[0].nice;
    assert.ok(off.threads.filter(isV8Worker).every((t) => t.nice === offBase), "0 leaves them");

    const bad = await probe("20");
    assert.match(String(bad.reniced), /^InputError: DDPM_V8_WORKER_NICE must be an integer from 0/);
  },
});
