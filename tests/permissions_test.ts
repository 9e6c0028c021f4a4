// The permissions the package needs: a program that imports mod.ts and samples on wasm runs
// without FFI, and the deno.json permission sets grant what the README's table says (the
// network on 127.0.0.1 to the demo only), read by Deno itself through `-P=NAME`.
import { assert } from "./_assert.ts";

const ROOT = new URL("../", import.meta.url);

async function deno(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("a program that imports mod.ts and samples on wasm runs with read, write, env and sys but no FFI", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ddpm_noffi_" });
  try {
    const r = await deno([
      "run",
      "--no-prompt",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      "tests/_no_ffi_program.ts",
      `${dir}/two.png`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /two\.png: 18x8/); // two 8x8 images and the grid's 2-pixel gaps
    assert.ok(!/ffi/i.test(r.stderr), r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The state of each permission under `-P=set`, as the program inside sees it. */
async function grants(set: string): Promise<Record<string, string>> {
  const probe = `
    const q = (d) => Deno.permissions.querySync(d).state;
    console.log(JSON.stringify({
      read: q({ name: "read" }), write: q({ name: "write" }), env: q({ name: "env" }),
      ffi: q({ name: "ffi" }), run: q({ name: "run" }), sysCpus: q({ name: "sys", kind: "cpus" }),
      sysHostname: q({ name: "sys", kind: "hostname" }),
      netLocal: q({ name: "net", host: "127.0.0.1:8000" }), net: q({ name: "net", host: "example.com" }),
      hub: q({ name: "net", host: "huggingface.co" }), cdn: q({ name: "net", host: "cdn-lfs.hf.co" }),
    }));`;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/probe.js`, probe);
    const r = await deno(["run", "--config", "deno.json", `-P=${set}`, `${dir}/probe.js`]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deno.json's permission sets: the hub for the model commands, 127.0.0.1 for the demo, no other network", async () => {
  const cli = await grants("cli");
  assert.deepEqual(
    [cli.read, cli.write, cli.env, cli.ffi, cli.sysCpus],
    ["granted", "granted", "granted", "granted", "granted"],
  );
  assert.notEqual(
    cli.sysHostname,
    "granted",
    "the commands read the CPU count and memory size only",
  );
  assert.notEqual(cli.netLocal, "granted");
  assert.notEqual(cli.run, "granted");

  const hub = await grants("hub");
  assert.equal(hub.hub, "granted", "sample, eval, interpolate and inpaint fetch hub ids");
  assert.equal(hub.cdn, "granted", "the hub redirects LFS files to its CDN");
  assert.notEqual(hub.net, "granted");
  assert.notEqual(hub.netLocal, "granted");

  const demo = await grants("demo");
  assert.equal(demo.netLocal, "granted");
  assert.notEqual(demo.net, "granted", "the demo serves on 127.0.0.1 only");
  assert.notEqual(demo.write, "granted");
  assert.notEqual(demo.ffi, "granted");

  const test = await grants("test");
  assert.equal(test.run, "granted", "tests spawn deno and mpirun");
  assert.equal(test.netLocal, "granted");
  assert.notEqual(test.net, "granted");
});
