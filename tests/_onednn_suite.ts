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
// Only the files whose results can change with the backend: those that import FAST_BACKEND
// (tests/_backend.ts) or name onednn. The others pick their backends themselves and nothing in
// src/ reads DDPM_TEST_BACKEND, so a second pass over them would repeat the first.
const files: string[] = [];
for (const entry of Deno.readDirSync("tests")) {
  if (!entry.isFile || !entry.name.endsWith("_test.ts")) continue;
  const text = Deno.readTextFileSync(`tests/${entry.name}`);
  if (/"\.\/_backend\.ts"|onednn/i.test(text)) files.push(`tests/${entry.name}`);
}
files.sort();
// The "test" permission set of deno.json, as `deno test -P` reads it.
const { code } = await new Deno.Command(Deno.execPath(), {
  args: ["test", "-P", ...files],
  env: { DDPM_TEST_BACKEND: "onednn" },
  stdout: "inherit",
  stderr: "inherit",
}).spawn().status;
Deno.exit(code);
