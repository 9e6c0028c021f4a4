// The TF.js internals this library reaches into are written against one version: the installed
// TF.js must be that version, and any other must be refused loudly.
import * as tf from "@tensorflow/tfjs";
import { _checkTfjsVersion, TFJS_VERSION } from "../src/backends/_tfjs_internals.ts";
import { assert } from "./_assert.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("the installed TF.js is the version _tfjs_internals.ts was written against", () => {
  assert.equal(tf.version.tfjs, TFJS_VERSION);
  assert.equal(tf.version["tfjs-core"], TFJS_VERSION);
  _checkTfjsVersion();
});

Deno.test("deno.json pins every @tensorflow package at TFJS_VERSION", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  const tfjs = Object.entries(config.imports as Record<string, string>)
    .filter(([name]) => name.startsWith("@tensorflow/"));
  assert.ok(tfjs.length >= 3, JSON.stringify(tfjs));
  for (const [name, spec] of tfjs) assert.equal(spec, `npm:${name}@${TFJS_VERSION}`);
});

Deno.test("_checkTfjsVersion() refuses another TF.js, naming both versions and the fix", () => {
  assert.throws(
    () => _checkTfjsVersion("4.21.0"),
    (e: unknown) =>
      e instanceof Error && e.message.includes("4.21.0") && e.message.includes(TFJS_VERSION) &&
      e.message.includes("deno.json"),
  );
});

Deno.test("the version string 4.22.0 appears in src/ only in _tfjs_internals.ts", async () => {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(`${ROOT}/${dir}`)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if ((await Deno.readTextFile(`${ROOT}/${path}`)).includes(TFJS_VERSION)) {
        found.push(path);
      }
    }
  };
  await walk("src");
  assert.deepEqual(found, ["src/backends/_tfjs_internals.ts"]);
});
