// The `ddpm` command line (`jsr:@x/ddpm/cli`, src/cli/main.ts): the list of commands, each
// command's own help from the flag table, the one-line error for an unknown command, and the
// deno.json tasks that call it.
import { assert } from "./_assert.ts";
import { COMMANDS } from "../src/cli/_commands.ts";

const ROOT = new URL("../", import.meta.url);
const MAIN = new URL("src/cli/main.ts", ROOT).pathname;
const NAMES = ["train", "sample", "eval", "interpolate", "inpaint", "demo", "fid", "export"];

async function ddpm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("ddpm --help lists every command with its one-line summary", async () => {
  assert.deepEqual(Object.keys(COMMANDS), NAMES);
  const r = await ddpm(["--help"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^Usage: ddpm <train\|sample\|eval\|interpolate\|inpaint\|demo\|fid\|export> \[flags\]/,
  );
  for (const name of NAMES) {
    const line = r.stdout.split("\n").find((l) => l.trimStart().startsWith(`${name} `));
    assert.ok(line?.includes(COMMANDS[name].summary), `no line for ${name}:\n${r.stdout}`);
  }
});

Deno.test("ddpm COMMAND --help shows that command's flags", async () => {
  const sample = await ddpm(["sample", "--help"]);
  assert.equal(sample.code, 0, sample.stderr);
  assert.match(sample.stdout, /^Usage: ddpm sample \[flags\]/);
  for (const flag of ["--checkpoint", "--sampler", "--steps", "--out-dir", "--backend", "--help"]) {
    assert.ok(sample.stdout.includes(flag), `sample --help lacks ${flag}`);
  }
  const demo = await ddpm(["help", "demo"]);
  assert.equal(demo.code, 0, demo.stderr);
  assert.match(demo.stdout, /^Usage: ddpm demo \[flags\]/);
  assert.ok(demo.stdout.includes("--port") && !demo.stdout.includes("--backend"), demo.stdout);
});

Deno.test("ddpm with an unknown command exits 2 with one line naming the commands", async () => {
  const r = await ddpm(["smaple", "--n", "4"]);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^error: unknown command "smaple": the commands are train, sample/);
  for (const name of NAMES) assert.ok(lines[0].includes(name), lines[0]);
  const none = await ddpm([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^Usage: ddpm/);
});

Deno.test("deno.json exports ./cli, and each command's task calls it under a permission set", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  assert.equal(config.exports["./cli"], "./src/cli/main.ts");
  for (const name of NAMES) {
    const m = /^deno run -P=(\w+) src\/cli\/main\.ts (\w+)$/.exec(config.tasks[name] ?? "");
    assert.ok(m, `task ${name}: ${config.tasks[name]}`);
    assert.equal(m[2], name);
    assert.ok(config.permissions[m[1]], `task ${name} uses the undefined permission set ${m[1]}`);
  }
});
