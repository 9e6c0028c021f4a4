// One error scheme for every command: bad input prints one `error:` line and exits 2; a bug
// exits 1 with the DDPM_DEBUG hint; no stack trace either way. Issue 13, cases 6 and 8.
import { Image } from "imagescript";
import { presets, setBackend, train } from "../mod.ts";
import { makeData } from "./_data.ts";
import { Pickle, zip } from "./_torch_writer.ts";
import { assert } from "./_assert.ts";

await setBackend("wasm");
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const CLI_CLI = new URL("../src/cli/_cli.ts", import.meta.url).href;

async function task(args: string[], cwd: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "--config", CONFIG, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", DDPM_CACHE_DIR: `${cwd}/cache` },
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

function assertOneLine(r: { code: number; stderr: string }, code: number, what: string) {
  const lines = r.stderr.split("\n");
  const errors = lines.filter((l) => l.startsWith("error:"));
  assert.equal(r.code, code, `${what}: ${r.stderr}`);
  assert.equal(errors.length, 1, `${what}: ${r.stderr}`);
  assert.ok(!lines.some((l) => /^\s+at /.test(l)), `${what}: stack trace\n${r.stderr}`);
  assert.equal(r.stderr.includes("DDPM_DEBUG"), code === 1, `${what}: ${r.stderr}`);
  return errors[0];
}

const tmp = await Deno.makeTempDir({ prefix: "ddpm_cli_errors_" });

// A diffusers folder whose config is fine and whose weights are a hostile pickle.
const DIFFUSERS = {
  _class_name: "UNet2DModel",
  act_fn: "silu",
  attention_head_dim: null,
  block_out_channels: [8, 16],
  down_block_types: ["DownBlock2D", "DownBlock2D"],
  downsample_padding: 0,
  flip_sin_to_cos: false,
  freq_shift: 1,
  in_channels: 3,
  layers_per_block: 1,
  norm_eps: 1e-6,
  norm_num_groups: 4,
  out_channels: 3,
  sample_size: 8,
  time_embedding_type: "positional",
  up_block_types: ["UpBlock2D", "UpBlock2D"],
};
async function diffusersFolder(name: string, pkl: Uint8Array): Promise<string> {
  const dir = `${tmp}/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(DIFFUSERS));
  await Deno.writeFile(`${dir}/diffusion_pytorch_model.bin`, zip({ "archive/data.pkl": pkl }));
  return dir;
}

Deno.test("CLIs refuse empty and dash-led flag values in one line, exit 2", async () => {
  for (
    const [args, want] of [
      [["train", "--steps=", "--batch-size", "4"], /--steps is empty/],
      [["train", "--steps", "-1"], /--steps needs a value.*--steps=-N/],
      [["train", "--steps=-1"], /--steps must be an integer >= 1: got "-1"/],
      [["sample", "--n="], /--n is empty/],
    ] as const
  ) {
    const line = assertOneLine(await task([...args], tmp), 2, args.join(" "));
    assert.match(line, want);
  }
});

Deno.test("CLIs exit 2 on missing, unsafe and undecodable inputs, naming them", async () => {
  await Deno.mkdir(`${tmp}/no-config`, { recursive: true });
  const evil = await diffusersFolder("evil", new Pickle().global("os", "system").end());
  // {} ; memo[0] = it ; it["a"] = memo[0]: a dict that contains itself.
  const loop = await diffusersFolder(
    "loop",
    new Pickle().op(0x7d, 0x71, 0).str("a").op(0x68, 0, 0x73).end(),
  );
  await Deno.writeTextFile(`${tmp}/a-file`, "not a folder");
  const run = `${tmp}/run`;
  const tiny = { ...presets.tiny, train: { ...presets.tiny.train, sampleEvery: 0 } };
  await train({
    outDir: run,
    preset: tiny,
    data: makeData(2, 32),
    train: { steps: 1, batchSize: 2 },
  });
  await Deno.writeFile(`${tmp}/bad.png`, new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 1]));
  await Deno.writeFile(`${tmp}/good.png`, await new Image(32, 32).encode());
  const cases: [string[], RegExp][] = [
    [["sample", "--pretrained", `${tmp}/missing`], /does not exist/],
    [["sample", "--pretrained", `${tmp}/no-config`], /no config\.json/],
    [["sample", "--pretrained", evil], /Refusing .*os\.system/],
    [["sample", "--pretrained", loop], /contains itself/],
    [["sample", "--preset", "tiny", "--steps", "5000"], /--steps must be at most T = 1000/],
    [
      ["sample", "--preset", "tiny", "--n", "1", "--steps", "1", "--out", `${tmp}/a-file/x.png`],
      /a-file/,
    ],
    [["train", "--out", `${tmp}/a-file`, "--steps", "1"], /a-file/],
    [
      ["interpolate", "--checkpoint", run, "--a", `${tmp}/bad.png`, "--b", `${tmp}/good.png`],
      /bad\.png/,
    ],
    [
      ["inpaint", "--checkpoint", run, "--image", `${tmp}/good.png`, "--mask", `${tmp}/bad.png`],
      /bad\.png/,
    ],
  ];
  for (const [args, want] of cases) {
    const line = assertOneLine(await task([...args, "--backend", "wasm"], tmp), 2, args.join(" "));
    assert.match(line, want, args.join(" "));
    assert.ok(!/Maximum call stack/.test(line), line);
  }
});

Deno.test("runCli() exits 1 with the DDPM_DEBUG hint on a TypeError that is a bug", async () => {
  const script = `import { runCli } from "${CLI_CLI}";
runCli(() => { const x: { y?: { z: number } } = {}; return Promise.resolve(x.y!.z); });`;
  await Deno.writeTextFile(`${tmp}/bug.ts`, script);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", CONFIG, "--allow-env", `${tmp}/bug.ts`],
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  assertOneLine({ code: out.code, stderr: new TextDecoder().decode(out.stderr) }, 1, "bug");
});

Deno.test("cleanup", async () => {
  await Deno.remove(tmp, { recursive: true });
});
