// OpenMP's wait policy as the onednn backend leaves it: sleeping threads unless the user chose
// (src/backends/onednn/_lib.ts).
import { assert } from "./_assert.ts";
import { HAS_ONEDNN } from "./_backend.ts";

/**
 * OMP_WAIT_POLICY in a fresh process that opens oneDNN with `env` and nothing else of ours,
 * then libgomp's own report of it (with OMP_DISPLAY_ENV, it prints what it read on loading).
 */
async function waitPolicy(env: Record<string, string>): Promise<[string, string]> {
  const lib = new URL("../src/backends/onednn/_lib.ts", import.meta.url).href;
  const code = `import { openOneDnn } from "${lib}"; openOneDnn();
console.log("env:", Deno.env.get("OMP_WAIT_POLICY") ?? "unset");`;
  const keep = ["PATH", "HOME", "DENO_DIR", "DDPM_ONEDNN_LIB"].flatMap((k) => {
    const v = Deno.env.get(k);
    return v === undefined ? [] : [[k, v]];
  });
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    clearEnv: true,
    env: { ...Object.fromEntries(keep), ...env, OMP_DISPLAY_ENV: "true" },
    signal: AbortSignal.timeout(60_000),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.ok(out.success, text);
  const ours = text.match(/env: (\w+)/), gomp = text.match(/OMP_WAIT_POLICY = '(\w+)'/);
  assert.ok(ours && gomp, `no policy printed: ${text}`);
  return [ours[1], gomp[1]];
}

Deno.test({
  name: "onednn makes OpenMP's threads sleep between primitives unless the user chose",
  ignore: !HAS_ONEDNN,
  async fn() {
    // libgomp shows its default (spin, then sleep) as PASSIVE too, so the variable is checked.
    assert.deepEqual(await waitPolicy({}), ["PASSIVE", "PASSIVE"]);
    assert.deepEqual(await waitPolicy({ OMP_WAIT_POLICY: "ACTIVE" }), ["ACTIVE", "ACTIVE"]);
    // A spin count is a choice too.
    assert.equal((await waitPolicy({ GOMP_SPINCOUNT: "300000" }))[0], "unset");
  },
});
