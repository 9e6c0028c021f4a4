// `deno task sample --sampler dpm --steps 20` from a run folder and from a diffusers folder,
// spawned as a user runs it, checked pixel by pixel against the library's sample().
import { Image } from "imagescript";
import {
  DDPMScheduler,
  dpmSolverConfigForModel,
  DPMSolverMultistepScheduler,
  gridPixels,
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
    await saveDiffusers(run.unet, new DDPMScheduler(run.config.scheduler), `${dir}/diffusers`);
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
