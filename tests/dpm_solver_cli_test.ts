// `deno task sample --sampler dpm --steps 20` from a run folder and from a diffusers folder,
// spawned as a user runs it, checked pixel by pixel against the library's sample().
import { Image } from "imagescript";
import {
  DDPMScheduler,
  dpmSolverConfigForModel,
  DPMSolverMultistepScheduler,
  gridPixels,
  loadPretrained,
  loadRun,
  sample,
  saveDiffusers,
  setBackend,
} from "../mod.ts";
import { assert } from "./_assert.ts";
import { FAST_BACKEND } from "./_backend.ts";
import { writeDemoRun } from "./_demo_model.ts";

await setBackend(FAST_BACKEND);
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

async function task(args: string[], cwd: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "--config", CONFIG, ...args, "--backend", FAST_BACKEND],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("deno task sample --sampler dpm --steps 20 works from a run and a diffusers folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ddpm-dpm-cli-" });
  try {
    await writeDemoRun(`${dir}/run`);
    const run = await loadRun(`${dir}/run`);
    const ddpm = new DDPMScheduler(run.config.scheduler).config;
    await saveDiffusers(run.unet, new DDPMScheduler(ddpm), `${dir}/diffusers`);
    // As diffusers' save_pretrained writes a pipeline whose scheduler was swapped for
    // DPM-Solver: Python's bare -Infinity, nulls for defaults, the model's schedule.
    await Deno.writeTextFile(
      `${dir}/diffusers/scheduler_config.json`,
      `{
  "_class_name": "DPMSolverMultistepScheduler",
  "_diffusers_version": "0.30.0",
  "algorithm_type": "dpmsolver++",
  "beta_end": ${ddpm.betaEnd},
  "beta_schedule": "${ddpm.betaSchedule}",
  "beta_start": ${ddpm.betaStart},
  "lambda_min_clipped": -Infinity,
  "num_train_timesteps": ${ddpm.numTrainTimesteps},
  "prediction_type": "${ddpm.predictionType}",
  "solver_order": 2,
  "trained_betas": null,
  "variance_type": null
}`,
    );
    const args = ["sample", "--sampler", "dpm", "--steps", "20", "--n", "2", "--seed", "3"];
    const fromRun = await task(
      [...args, "--checkpoint", `${dir}/run`, "--out", `${dir}/run.png`],
      dir,
    );
    assert.equal(fromRun.code, 0, fromRun.stderr);
    assert.match(fromRun.stderr, /with dpm, 20 steps/);
    const fromHub = await task([
      ...args,
      "--pretrained",
      `${dir}/diffusers`,
      "--out",
      `${dir}/hub.png`,
    ], dir);
    assert.equal(fromHub.code, 0, fromHub.stderr);
    const a = await Image.decode(await Deno.readFile(`${dir}/run.png`));
    const b = await Image.decode(await Deno.readFile(`${dir}/hub.png`));
    assert.deepEqual(b.bitmap, a.bitmap, "the same model from both folders gives the same grid");
    const loaded = await loadPretrained(`${dir}/diffusers`);
    loaded.unet.dispose();
    assert.deepEqual(loaded.scheduler.betas, new DDPMScheduler(ddpm).betas, "the schedule");

    // The library's DPM-Solver++ with the model's schedule, same seed: the same pixels.
    const images = await sample({
      unet: run.unet,
      scheduler: new DPMSolverMultistepScheduler(dpmSolverConfigForModel(run.config.scheduler)),
      batchSize: 2,
      numInferenceSteps: 20,
      seed: 3,
    });
    const want = await gridPixels(images, { cols: 2 });
    images.dispose();
    run.unet.dispose();
    assert.equal(a.width, want.width);
    let worst = 0;
    for (let i = 0; i < want.data.length; i++) {
      worst = Math.max(worst, Math.abs(a.bitmap[i] - want.data[i]));
    }
    assert.ok(worst <= 1, `CLI and library differ by ${worst} levels`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
