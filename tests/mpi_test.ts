// Data-parallel training on 2 MPI ranks on loopback, against one process: the same weights,
// EMA and Adam moments; rank 0 alone writes; a signal on one rank stops both after the same
// step; a killed rank ends the job; a checkpoint resumes on another number of ranks.
//
// These start 2-3 processes each and test the MPI path, which is the same on every backend:
// they run once, in the onednn suite (onednn starts the tiny model faster than wasm), or in the
// wasm suite on a machine without oneDNN.
import { readSafetensors } from "../src/formats/safetensors.ts";
import { assert } from "./_assert.ts";
import { FAST_BACKEND, HAS_ONEDNN } from "./_backend.ts";

const HAS_MPIRUN = await new Deno.Command("mpirun", { args: ["--version"], stdout: "null" })
  .output().then((o) => o.success, () => false);
const SKIP = !HAS_MPIRUN
  ? "mpirun is not installed (apt-get install openmpi-bin)"
  : FAST_BACKEND === "wasm" && HAS_ONEDNN
  ? "runs once, in the onednn suite"
  : undefined;
if (SKIP) console.log(`mpi_test skipped: ${SKIP}`);

const TRAIN = new URL("../src/cli/train.ts", import.meta.url).pathname;
const PERMS = ["--allow-read", "--allow-write", "--allow-env", "--allow-sys", "--allow-ffi"];
const MPIRUN = ["--allow-run-as-root", "--oversubscribe", "-np", "2"];
// Tiny at batch 4: 2 images per rank. --micro-batch fixes the passes (no memory probe).
const TINY = ["--preset", "tiny", "--batch-size", "4", "--micro-batch", "2", "--sample-every", "0"];

function trainCommand(ranks: number, args: string[], cwd: string): Deno.Command {
  const deno = [Deno.execPath(), "run", ...PERMS, TRAIN, ...TINY, "--backend", FAST_BACKEND];
  const [cmd, ...rest] = ranks === 1 ? deno : ["mpirun", ...MPIRUN, ...deno];
  return new Deno.Command(cmd, {
    args: [...rest, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

async function runTrain(ranks: number, args: string[], cwd: string) {
  const out = await trainCommand(ranks, args, cwd).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

/** Every tensor of a checkpoint (model/, ema/, adam_m/, adam_v/) by name. */
async function checkpoint(path: string) {
  return readSafetensors(await Deno.readFile(path)).tensors;
}

/**
 * Two ranks sum their halves' gradients where one process sums the whole batch at once, so the
 * float32 results differ by reduction order only: gradients by a few ulps, and through Adam,
 * whose step is about lr * sign(g), the weights by a few ulps of themselves plus a few ulps of
 * the steps taken. Bound per tensor: 16 * 2^-23 * (its largest magnitude + the sum of the
 * learning rates so far); the EMA and the moments are held to the same. (At 8 ulps the worst
 * of the 728 tensors sat at 0.98 of the bound with the JavaScript kernels and 1.06 with the
 * SIMD ones: where a gradient is near Adam's epsilon its step is no longer lr * sign(g), and
 * the order of a sum moves it by more. A rank summing the wrong data misses by far more.)
 */
function assertSameState(
  a: Map<string, { data: Float32Array }>,
  b: Map<string, { data: Float32Array }>,
  lrSum: number,
): void {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, t] of a) {
    const u = b.get(name)!.data;
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < t.data.length; i++) {
      scale = Math.max(scale, Math.abs(t.data[i]));
      diff = Math.max(diff, Math.abs(t.data[i] - u[i]));
    }
    const bound = 16 * 2 ** -23 * (scale + lrSum);
    assert.ok(diff <= bound, `${name}: differs by ${diff}, bound ${bound}`);
  }
}

/** The pid of a rank started by mpirun `pid`, from the environment mpirun gave it. */
async function rankPid(mpirunPid: number, rank: number): Promise<number> {
  // Deno reads /proc only with --allow-all; a shell reads it for us.
  const script = `for c in $(cat /proc/${mpirunPid}/task/*/children); do ` +
    `tr '\\0' '\\n' < /proc/$c/environ | grep -qx OMPI_COMM_WORLD_RANK=${rank} && echo $c; done`;
  for (let tries = 0; tries < 100; tries++) {
    const out = await new Deno.Command("sh", { args: ["-c", script], stderr: "null" }).output();
    const pid = Number(new TextDecoder().decode(out.stdout).trim().split("\n")[0]);
    if (pid > 0) return pid;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`rank ${rank} of mpirun ${mpirunPid} not found`);
}

/** Waits until `path` has `lines` lines (the steps rank 0 logged). */
async function waitForLines(path: string, lines: number): Promise<void> {
  for (let tries = 0; tries < 600; tries++) {
    const text = await Deno.readTextFile(path).catch(() => "");
    if (text.split("\n").filter(Boolean).length >= lines) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${path} never reached ${lines} lines`);
}

const ckpt = (dir: string, step: number) =>
  `${dir}/checkpoints/step-${String(step).padStart(8, "0")}.safetensors`;

const lrSum = async (metrics: string) =>
  (await Deno.readTextFile(metrics)).trim().split("\n").reduce((s, l) => s + JSON.parse(l).lr, 0);

Deno.test({
  name: "train resumed on 2 MPI ranks takes one process's steps; rank 0 alone writes",
  ignore: SKIP !== undefined,
  sanitizeResources: false,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "ddpm_mpi_" });
    // One process, 4 steps with a checkpoint at step 2.
    const one = await runTrain(1, ["--steps", "4", "--checkpoint-every", "2", "--out", "R1"], tmp);
    assert.equal(one.code, 0, one.text);
    // Its step-2 checkpoint resumed on 2 ranks: rank 0 reads it and sends its state to rank 1,
    // each computes half of steps 3 and 4, and they end where the one process did.
    await Deno.mkdir(`${tmp}/R2/checkpoints`, { recursive: true });
    await Deno.copyFile(`${tmp}/R1/config.json`, `${tmp}/R2/config.json`);
    await Deno.copyFile(ckpt(`${tmp}/R1`, 2), ckpt(`${tmp}/R2`, 2));
    const two = await runTrain(2, ["--steps", "4", "--out", "R2", "--resume"], tmp);
    assert.equal(two.code, 0, two.text);
    assert.match(two.text, /data-parallel on 2 ranks \(openmpi/);
    assertSameState(
      await checkpoint(ckpt(`${tmp}/R1`, 4)),
      await checkpoint(ckpt(`${tmp}/R2`, 4)),
      await lrSum(`${tmp}/R1/metrics.jsonl`),
    );

    // Rank 0 alone wrote: one line per step, the config (with the ranks), the checkpoints.
    const metrics = (await Deno.readTextFile(`${tmp}/R2/metrics.jsonl`)).trim().split("\n");
    assert.deepEqual(metrics.map((l) => JSON.parse(l).step), [3, 4]);
    const files = [];
    for await (const e of Deno.readDir(`${tmp}/R2`)) files.push(e.name);
    assert.deepEqual(files.sort(), ["checkpoints", "config.json", "loss.png", "metrics.jsonl"]);
    assert.equal(JSON.parse(await Deno.readTextFile(`${tmp}/R2/config.json`)).ranks, 2);
    assert.equal((two.text.match(/ddpm: done at step 4/g) ?? []).length, 1, two.text);
    assert.match(two.text, /ddpm: rank 1: done at step 4/);
    await Deno.remove(tmp, { recursive: true });
  },
});

Deno.test({
  name: "SIGTERM on rank 1 stops both ranks after the same step; kill -9 ends the job",
  ignore: SKIP !== undefined,
  sanitizeResources: false,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "ddpm_mpi_" });
    const long = ["--steps", "1000", "--checkpoint-every", "1000"];
    // Both jobs at once: one gets SIGTERM on rank 1, the other SIGKILL on rank 1.
    const term = trainCommand(2, [...long, "--out", "T"], tmp).spawn();
    const kill = trainCommand(2, [...long, "--out", "K"], tmp).spawn();
    await Promise.all([
      waitForLines(`${tmp}/T/metrics.jsonl`, 1),
      waitForLines(`${tmp}/K/metrics.jsonl`, 1),
    ]);
    Deno.kill(await rankPid(term.pid, 1), "SIGTERM");
    Deno.kill(await rankPid(kill.pid, 1), "SIGKILL");
    const killedAt = performance.now();

    const [t, k] = await Promise.all([term.output(), kill.output()]);
    const text = new TextDecoder().decode(t.stderr) + new TextDecoder().decode(t.stdout);
    assert.equal(t.code, 143, text);
    const stopped = Number(/ddpm: interrupted at step (\d+)/.exec(text)?.[1]);
    assert.match(text, new RegExp(`ddpm: rank 1: interrupted at step ${stopped}\\b`));
    const steps = (await Deno.readTextFile(`${tmp}/T/metrics.jsonl`)).trim().split("\n");
    assert.equal(steps.length, stopped);
    await Deno.stat(ckpt(`${tmp}/T`, stopped));

    // mpirun ends the job when a rank dies; the survivor must not wait in its allreduce.
    assert.notEqual(k.code, 0);
    const seconds = (performance.now() - killedAt) / 1000;
    assert.ok(seconds < 30, `the job took ${seconds} s to end after a rank was killed`);
    await Deno.remove(tmp, { recursive: true });
  },
});
