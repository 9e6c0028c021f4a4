// What a run folder reads back is checked like a flag, and a refused start changes nothing:
// the checkpoint's header against config.json, its step, its values, the seed, the lock that
// keeps two runs apart, and metrics.jsonl's skipped steps. Issue 24, cases 4, 6-11 and 15.
import {
  CheckpointError,
  InputError,
  loadRun,
  type Preset,
  presets,
  readSafetensors,
  setBackend,
  train,
  writeSafetensors,
} from "../mod.ts";
import { listCheckpoints, validateRunConfig } from "../src/train/mod.ts";
import { makeData } from "./_data.ts";
import { assert } from "./_assert.ts";

// Files and messages only: one pass (wasm) is enough.
const ignore = Deno.env.get("DDPM_TEST_BACKEND") === "onednn";
if (!ignore) await setBackend("wasm");

const SMALL: Preset = {
  ...presets.tiny,
  unet: { ...presets.tiny.unet, resolution: 8, ch: 8, chMult: [1, 2], numGroups: 4 },
  train: { ...presets.tiny.train, batchSize: 2, steps: 2, checkpointEvery: 1, sampleEvery: 0 },
};
const data = makeData(4, 8);
const tmp = await Deno.makeTempDir({ prefix: "ddpm_hostile_runs_" });
// One trained run; every test works on a copy of it.
const base = `${tmp}/base`;
if (!ignore) await train({ outDir: base, preset: SMALL, data });

let copies = 0;
async function copyRun(): Promise<string> {
  const dir = `${tmp}/run${copies++}`;
  await Deno.mkdir(`${dir}/checkpoints`, { recursive: true });
  for (const sub of ["", "/checkpoints"]) {
    for await (const e of Deno.readDir(`${base}${sub}`)) {
      if (e.isFile) await Deno.copyFile(`${base}${sub}/${e.name}`, `${dir}${sub}/${e.name}`);
    }
  }
  return dir;
}

/** The folder's files and their bytes, to show that a refused start changed nothing. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const sub of ["", "/checkpoints"]) {
    for await (const e of Deno.readDir(`${dir}${sub}`)) {
      if (!e.isFile) continue;
      const bytes = await Deno.readFile(`${dir}${sub}/${e.name}`);
      out[`${sub}/${e.name}`] = `${bytes.length}:${bytes.slice(0, 64).join()}:${
        bytes.slice(-64).join()
      }`;
    }
  }
  return out;
}

/** Rewrites the run's last checkpoint with its tensors and metadata changed by `edit`. */
async function editCheckpoint(
  dir: string,
  edit: (
    tensors: Map<string, { shape: number[]; data: Float32Array }>,
    meta: Record<string, string>,
  ) => void,
): Promise<string> {
  const all = await listCheckpoints(dir);
  const path = all[all.length - 1];
  const { tensors, metadata } = readSafetensors(await Deno.readFile(path));
  const plain = new Map([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
  edit(plain, metadata);
  await Deno.writeFile(path, writeSafetensors(plain, metadata));
  return path;
}

async function captureStderr<T>(fn: () => Promise<T>): Promise<{ lines: string[]; result: T }> {
  const lines: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    return { lines, result: await fn() };
  } finally {
    console.error = orig;
  }
}

Deno.test({
  name: "loadRun() and resume refuse a config.json grown past its checkpoint from the header",
  ignore,
  async fn() {
    const dir = await copyRun();
    const cfg = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    // A wider model, then one within UNET_LIMITS that takes about 42 GB of weights, which the
    // 100 kB checkpoint cannot fill: refused from the header, before any is built.
    const edits = [{ ch: 16 }, { ch: 1024, chMult: [4], numResBlocks: 16 }];
    for (
      const unet of edits.map((e) => ({ ...cfg.unet, ...e }))
    ) {
      await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ ...cfg, unet }));
      const before = await snapshot(dir);
      const names = (e: unknown) =>
        e instanceof CheckpointError &&
        /describes a UNet of \d+ parameters, the checkpoint holds \d+/.test(e.message);
      await assert.rejects(() => loadRun(dir), names);
      await assert.rejects(() => train({ outDir: dir, data, resume: true }), names);
      assert.deepEqual(await snapshot(dir), before);
    }
  },
});

Deno.test({
  name: "train() holds an exclusive lock on its run folder; a second run is refused, naming it",
  ignore,
  async fn() {
    const dir = await copyRun();
    const first = train({ outDir: dir, data, resume: true, train: { steps: 3 } });
    // Once the first run has recorded itself in the lock, a second one is refused naming it.
    let settled = false;
    first.finally(() => settled = true).catch(() => {});
    // The record is one line: wait for its newline, not for any byte of it.
    while (
      !settled && !(await Deno.readTextFile(`${dir}/train.lock`).catch(() => "")).endsWith("\n")
    ) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await assert.rejects(
      () => train({ outDir: dir, data, resume: true, train: { steps: 4 } }),
      (e: unknown) =>
        e instanceof InputError &&
        new RegExp(`another training run holds it \\(process ${Deno.pid} on `).test(e.message),
    );
    assert.equal((await first).step, 3);
    const steps = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n")
      .map((l) => JSON.parse(l).step);
    assert.deepEqual(steps, Array.from({ length: steps.length }, (_, i) => i + 1));
    // Released: removed, so the next run takes it without a word.
    await assert.rejects(() => Deno.stat(`${dir}/train.lock`), Deno.errors.NotFound);
  },
});

Deno.test({
  name: "train() takes over the lock of a run that ended without releasing it, saying so",
  ignore,
  async fn() {
    const dir = await copyRun();
    // What kill -9 leaves: the holder's record, and no lock (the kernel dropped it).
    const record = { pid: 999999999, host: "vm", started: "x" };
    await Deno.writeTextFile(`${dir}/train.lock`, JSON.stringify(record));
    // Resumed at its last step: nothing to train, only the lock to take.
    const { lines } = await captureStderr(() => train({ outDir: dir, data, resume: true }));
    assert.ok(
      lines.some((l) => /took over .*train\.lock from process 999999999 on vm/.test(l)),
      lines.join("\n"),
    );
    await assert.rejects(() => Deno.stat(`${dir}/train.lock`), Deno.errors.NotFound);
  },
});

Deno.test({
  name:
    "resume and loadRun() refuse a checkpoint step that is not an integer >= 0, changing nothing",
  ignore,
  async fn() {
    for (const step of ["abc", undefined, "-5", "2.5", "1e3", ""]) {
      const dir = await copyRun();
      await editCheckpoint(dir, (_, meta) => {
        if (step === undefined) delete meta.step;
        else meta.step = step;
      });
      const before = await snapshot(dir);
      const isStep = (e: unknown) => e instanceof CheckpointError && /records step/.test(e.message);
      await assert.rejects(() => train({ outDir: dir, data, resume: true }), isStep, String(step));
      await assert.rejects(() => loadRun(dir), isStep, String(step));
      assert.deepEqual(await snapshot(dir), before, String(step));
    }
  },
});

Deno.test({
  name: "train() and validateRunConfig() refuse a seed outside [0, 2^32) before writing",
  ignore,
  async fn() {
    for (const seed of [1e20, 2 ** 32, -1, 1.5]) {
      await assert.rejects(
        () => train({ outDir: `${tmp}/seed`, preset: SMALL, data, seed }),
        (e: unknown) => e instanceof InputError && /seed must be an integer/.test(e.message),
      );
      await assert.rejects(() => Deno.stat(`${tmp}/seed`), Deno.errors.NotFound);
    }
    const cfg = JSON.parse(await Deno.readTextFile(`${base}/config.json`));
    assert.throws(() => validateRunConfig({ ...cfg, seed: 2 ** 32 }, "c.json"), CheckpointError);
  },
});

Deno.test({
  name:
    "a resume refused for a truncated checkpoint leaves config.json as it was, and says nothing of recording",
  ignore,
  async fn() {
    const dir = await copyRun();
    const all = await listCheckpoints(dir);
    const last = all[all.length - 1];
    const bytes = await Deno.readFile(last);
    await Deno.writeFile(last, bytes.subarray(0, bytes.length >> 1));
    const before = await snapshot(dir);
    const { lines } = await captureStderr(() =>
      assert.rejects(
        () => train({ outDir: dir, data, resume: true, train: { learningRate: 0.5, steps: 5 } }),
        (e: unknown) => e instanceof CheckpointError && e.message.includes(last),
      )
    );
    assert.deepEqual(await snapshot(dir), before);
    assert.ok(!lines.some((l) => /recorded in config\.json/.test(l)), lines.join("\n"));
  },
});

Deno.test({
  name: "resume keeps a skipped step's line of metrics.jsonl (loss null) and drops only torn ones",
  ignore,
  async fn() {
    const dir = await copyRun();
    const lines = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n");
    const skipped = { ...JSON.parse(lines[1]), loss: NaN, gradNorm: NaN, skipped: true };
    await Deno.writeTextFile(
      `${dir}/metrics.jsonl`,
      `${lines[0]}\n${JSON.stringify(skipped)}\n{"step":3,"lo`,
    );
    const { lines: err } = await captureStderr(() =>
      train({ outDir: dir, data, resume: true, train: { steps: 3 } })
    );
    assert.ok(err.some((l) => /dropped 1 unreadable line/.test(l)), err.join("\n"));
    const after = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(after.map((m) => m.step), [1, 2, 3]);
    assert.equal(after[1].skipped, true);
    assert.equal(after[1].loss, null);
  },
});

Deno.test({
  name: "loadRun() refuses a checkpoint holding NaN or Infinity, naming the tensor",
  ignore,
  async fn() {
    for (const bad of [NaN, Infinity]) {
      const dir = await copyRun();
      await editCheckpoint(dir, (t) => {
        t.get("ema/conv_in.weight")!.data[3] = bad;
      });
      await assert.rejects(
        () => loadRun(dir),
        (e: unknown) =>
          e instanceof CheckpointError &&
          e.message.includes(`ema/conv_in.weight holds ${bad} at index 3`),
      );
    }
  },
});

Deno.test({
  name: "config.json with a scheduler stepsOffset >= T is refused where it is read",
  ignore,
  async fn() {
    const dir = await copyRun();
    const cfg = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    cfg.scheduler.stepsOffset = 5000;
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(cfg));
    await assert.rejects(
      () => loadRun(dir),
      (e: unknown) => e instanceof CheckpointError && /stepsOffset/.test(e.message),
    );
  },
});

Deno.test("cleanup", async () => {
  await Deno.remove(tmp, { recursive: true });
});
