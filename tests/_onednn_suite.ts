// Runs the test suite a second time with DDPM_TEST_BACKEND=onednn, or says in one line why not
// (a machine without `apt-get install libdnnl2`), so `deno task test` works everywhere.
try {
  Deno.dlopen(Deno.env.get("DDPM_ONEDNN_LIB") || "libdnnl.so.2", {}).close();
} catch (err) {
  console.log(
    `onednn suite skipped: libdnnl.so.2 did not load (${String(err).split("\n")[0]}); ` +
      "apt-get install libdnnl2 to run it",
  );
  Deno.exit(0);
}
// The "test" permission set of deno.json, as `deno test -P` reads it.
const { code } = await new Deno.Command(Deno.execPath(), {
  args: ["test", "-P", "tests/"],
  env: { DDPM_TEST_BACKEND: "onednn" },
  stdout: "inherit",
  stderr: "inherit",
}).spawn().status;
Deno.exit(code);
