// A run folder is changed only by a run allowed to proceed, and what a crash leaves behind
// (a torn metrics line, orphaned temp files) never blocks a resume. Issue 13, cases 1, 2, 3,
// 7 and 12.
import {
  CheckpointError,
  DatasetError,
  InputError,
  loadRun,
  type Preset,
  presets,
  setBackend,
  train,
} from "../mod.ts";
import { listCheckpoints } from "../src/train/mod.ts";
import { Image } from "imagescript";
import { makeData } from "./_data.ts";
import { assert } from "./_assert.ts";

await setBackend("wasm");

const SMALL: Preset = {
  ...presets.tiny,
  unet: { ...presets.tiny.unet, resolution: 8, ch: 8, chMult: [1, 2], numGroups: 4 },
  train: {
    ...presets.tiny.train,
    batchSize: 2,
    steps: 2,
    checkpointEvery: 1,
    sampleEvery: 0,
  },
};
const data = makeData(4, 8);

async function withRun(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ddpm_safety_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("train() refused on a folder with checkpoints leaves its config.json untouched", async () => {
  await withRun(async (dir) => {
    await train({ outDir: dir, preset: SMALL, data, seed: 0 });
    const before = await Deno.readTextFile(`${dir}/config.json`);
    const cifar = { ...presets.cifar10, train: { ...presets.cifar10.train, steps: 1 } };
    await assert.rejects(
      () => train({ outDir: dir, preset: cifar, data, seed: 7 }),
      (e: unknown) => e instanceof InputError && /already holds checkpoints/.test(e.message),
    );
    assert.equal(await Deno.readTextFile(`${dir}/config.json`), before);
    // The run still resumes and loads.
    const r = await train({ outDir: dir, data, resume: true, train: { steps: 3 } });
    assert.equal(r.step, 3);
    (await loadRun(dir)).unet.dispose();
  });
});

Deno.test("train() resume drops a torn last line of metrics.jsonl and says so", async () => {
  await withRun(async (dir) => {
    await train({ outDir: dir, preset: SMALL, data });
    await Deno.writeTextFile(`${dir}/metrics.jsonl`, '{"step":3,"lo', { append: true });
    const errors: string[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => errors.push(a.join(" "));
    try {
      const r = await train({ outDir: dir, data, resume: true, train: { steps: 3 } });
      assert.equal(r.step, 3);
    } finally {
      console.error = orig;
    }
    assert.ok(errors.some((l) => /dropped 1 unreadable line/.test(l)), errors.join("\n"));
    const lines = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n");
    assert.deepEqual(lines.map((l) => JSON.parse(l).step), [1, 2, 3]);
  });
});

Deno.test("train() sweeps temp files of dead writers at start", async () => {
  await withRun(async (dir) => {
    await train({ outDir: dir, preset: SMALL, data });
    // What kill -9 during a write leaves: a partial file under a temp name of a dead process.
    const orphan = `${dir}/checkpoints/step-00000003.safetensors.tmp-999999999`;
    const orphanConfig = `${dir}/config.json.tmp-999999999-abcd1234`;
    await Deno.writeFile(orphan, new Uint8Array(1000));
    await Deno.writeTextFile(orphanConfig, "{");
    await train({ outDir: dir, data, resume: true, train: { steps: 3 } });
    await assert.rejects(() => Deno.stat(orphan), Deno.errors.NotFound);
    await assert.rejects(() => Deno.stat(orphanConfig), Deno.errors.NotFound);
    assert.equal((await listCheckpoints(dir)).length, 3);
  });
});

async function writePngs(dir: string, n: number, color: number): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    await Deno.writeFile(`${dir}/${i}.png`, await new Image(8, 8).fill(color + i).encode());
  }
}

Deno.test("train() resume applies new data, batch size and lr, and records them", async () => {
  await withRun(async (dir) => {
    await writePngs(`${dir}/a`, 3, 0xff0000ff);
    await writePngs(`${dir}/b`, 3, 0x00ff00ff);
    Deno.env.set("DDPM_CACHE_DIR", `${dir}/cache`);
    await train({ outDir: `${dir}/run`, preset: SMALL, data: `${dir}/a` });
    await train({
      outDir: `${dir}/run`,
      data: `${dir}/b`,
      resume: true,
      train: { steps: 3, batchSize: 3, learningRate: 0.5 },
    });
    const cfg = JSON.parse(await Deno.readTextFile(`${dir}/run/config.json`));
    assert.equal(cfg.data, `${dir}/b`);
    assert.equal(cfg.train.batchSize, 3);
    assert.equal(cfg.train.learningRate, 0.5);
    assert.equal(cfg.train.steps, 3);
    const last = (await Deno.readTextFile(`${dir}/run/metrics.jsonl`)).trim().split("\n").pop()!;
    assert.equal(JSON.parse(last).lr, 0.5 * Math.min(1, 3 / SMALL.train.warmupSteps));
  });
});

Deno.test("train() resume refuses another seed or model, naming it, and changes nothing", async () => {
  await withRun(async (dir) => {
    await train({ outDir: dir, preset: SMALL, data });
    const before = await Deno.readTextFile(`${dir}/config.json`);
    await assert.rejects(
      () => train({ outDir: dir, data, resume: true, seed: 7 }),
      (e: unknown) => e instanceof InputError && /seed 7/.test(e.message),
    );
    await assert.rejects(
      () => train({ outDir: dir, data, resume: true, preset: "cifar10" }),
      (e: unknown) => e instanceof InputError && /preset cifar10/.test(e.message),
    );
    assert.equal(await Deno.readTextFile(`${dir}/config.json`), before);
  });
});

Deno.test("train() that cannot load its data leaves the run folder as it was", async () => {
  await withRun(async (dir) => {
    await assert.rejects(
      () => train({ outDir: `${dir}/new`, preset: SMALL, data: `${dir}/missing` }),
      DatasetError,
    );
    await assert.rejects(() => Deno.stat(`${dir}/new/config.json`), Deno.errors.NotFound);
    await train({ outDir: `${dir}/run`, preset: SMALL, data });
    const before = await Deno.readTextFile(`${dir}/run/config.json`);
    await assert.rejects(
      () => train({ outDir: `${dir}/run`, data: `${dir}/missing`, resume: true }),
      DatasetError,
    );
    assert.equal(await Deno.readTextFile(`${dir}/run/config.json`), before);
  });
});

Deno.test("train() refuses keepCheckpoints 0 and checkpointEvery 0 before writing", async () => {
  for (const bad of [{ keepCheckpoints: 0 }, { checkpointEvery: 0 }, { batchSize: 1e9 }]) {
    await withRun(async (dir) => {
      const key = Object.keys(bad)[0];
      await assert.rejects(
        () => train({ outDir: `${dir}/run`, preset: SMALL, data, train: bad }),
        (e: unknown) => e instanceof InputError && e.message.includes(key),
      );
      await assert.rejects(() => Deno.stat(`${dir}/run/config.json`), Deno.errors.NotFound);
    });
  }
});

Deno.test("loadRun() and resume check config.json instead of casting it", async () => {
  await withRun(async (dir) => {
    await train({ outDir: dir, preset: SMALL, data });
    const cfg = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    for (
      const [field, value] of [
        ["unet", { ...cfg.unet, numResBlocks: 1e9 }],
        ["train", { ...cfg.train, keepCheckpoints: 0 }],
        ["scheduler", { ...cfg.scheduler, numTrainTimesteps: 1e9 }],
        ["seed", "x"],
      ] as const
    ) {
      await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ ...cfg, [field]: value }));
      const isNamed = (e: unknown) =>
        e instanceof CheckpointError && e.message.includes("config.json") &&
        e.cause instanceof Error;
      await assert.rejects(() => loadRun(dir), isNamed, field);
      await assert.rejects(() => train({ outDir: dir, data, resume: true }), isNamed, field);
    }
  });
});
