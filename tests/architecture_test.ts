// The layering of ARCHITECTURE.md: every relative import in src/ goes to a folder its row
// allows, and the browser folders use no Deno.* and no node: modules.
import { assert } from "./_assert.ts";
import {
  checkArchitecture,
  codeOnly,
  commentsBlanked,
  crowdedFolders,
  importCycles,
  importsOf,
  type Layer,
  parseLayers,
  readSources,
} from "./_architecture.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const layers = parseLayers(await Deno.readTextFile(`${ROOT}/ARCHITECTURE.md`));

Deno.test("ARCHITECTURE.md's table names every folder of src/ and only known layers", async () => {
  const folders = ["base"];
  for await (const e of Deno.readDir(`${ROOT}/src`)) if (e.isDirectory) folders.push(e.name);
  for (const f of folders) assert.ok(layers.has(f), `src/${f} has no row in ARCHITECTURE.md`);
  for (const layer of layers.values()) {
    for (const to of layer.mayImport) {
      assert.ok(layers.has(to), `${layer.name} may import "${to}", which is not a layer`);
    }
  }
});

Deno.test("every file in src/ imports only what ARCHITECTURE.md allows", async () => {
  const files = await readSources(ROOT, "src");
  assert.ok(files.length > 100, `read only ${files.length} files`);
  const violations = checkArchitecture(files, layers);
  assert.deepEqual(
    violations.map((v) => `${v.file}:${v.line} imports ${v.what}: ${v.why}`),
    [],
  );
});

Deno.test("the layers form no cycle: a folder never reaches itself through others", () => {
  const visit = (from: string, path: string[]): void => {
    for (const to of layers.get(from)?.mayImport ?? []) {
      assert.ok(!path.includes(to), `cycle: ${[...path, to].join(" -> ")}`);
      visit(to, [...path, to]);
    }
  };
  for (const name of layers.keys()) visit(name, [name]);
});

Deno.test("checkArchitecture() names the file and the import of a violation", () => {
  const toy = new Map<string, Layer>([
    ["base", { name: "base", mayImport: new Set(), browser: true }],
    ["nn", { name: "nn", mayImport: new Set(["base"]), browser: true }],
    ["presets", { name: "presets", mayImport: new Set(["base", "nn"]), browser: true }],
    ["io", { name: "io", mayImport: new Set(["base"]), browser: false }],
  ]);
  const files = [
    {
      path: "src/nn/toy.ts",
      text: [
        '// A line comment that shifts nothing: import x from "../io/a.ts";',
        "/** @example",
        ' * import { presets } from "../presets/presets.ts"; // in a comment: ignored',
        " */",
        'import { deriveSeed } from "../random.ts";',
        'import { getPreset } from "../presets/presets.ts";',
        'const p = await import("../io/save_grid.ts");',
        'const msg = "Deno.exit() in a string is fine";',
        "const bytes = await Deno.readFile(path);",
        'import { inflateRawSync } from "node:zlib";',
        'import { train } from "@x/ddpm/train";',
        "const env = (globalThis as { Deno?: typeof Deno }).Deno?.env;",
        "const m = await import(`./${name}.ts`);",
        'const ok = await import("./literal.ts");',
      ].join("\n"),
    },
    { path: "src/presets/presets.ts", text: 'export * from "../nn/unet.ts";\n' },
    { path: "src/io/x.ts", text: 'import "node:fs";\nDeno.exit(1);\n' },
    { path: "src/newfolder/y.ts", text: "" },
  ];
  const found = checkArchitecture(files, toy).map((v) => `${v.file}:${v.line} ${v.what}`);
  assert.deepEqual(found, [
    "src/nn/toy.ts:13 import(expr)",
    "src/nn/toy.ts:6 ../presets/presets.ts",
    "src/nn/toy.ts:7 ../io/save_grid.ts",
    "src/nn/toy.ts:10 node:zlib",
    "src/nn/toy.ts:11 @x/ddpm/train",
    "src/nn/toy.ts:9 Deno.",
    "src/nn/toy.ts:12 Deno.",
    "src/newfolder/y.ts:1 newfolder",
  ]);
});

Deno.test("importsOf() finds static, re-export, side-effect and dynamic imports only in code", () => {
  const text = [
    'import type { A } from "./a.ts";',
    "import {",
    "  b,",
    '} from "../b.ts";',
    'export * from "./c.ts";',
    'import "./d.ts";',
    'const e = await import("./e.ts");',
    '// import { f } from "./f.ts";',
    'const g = "from \\"./g.ts\\"";',
    "const h = Array.from('./h.ts');",
  ].join("\n");
  assert.deepEqual(importsOf(text).map((i) => `${i.line}:${i.specifier}`), [
    "1:./a.ts",
    "4:../b.ts",
    "5:./c.ts",
    "6:./d.ts",
    "7:./e.ts",
  ]);
  assert.equal(codeOnly('a("x // y"); // z').trimEnd(), 'a("      ");');
});

Deno.test("no two files in src/ import each other, directly or through others", async () => {
  const files = await readSources(ROOT, "src");
  assert.deepEqual(importCycles(files).map((c) => c.join(" -> ")), []);
});

Deno.test("importCycles() finds a cycle through a type import, once", () => {
  const files = [
    { path: "src/a/x.ts", text: 'import type { Y } from "./y.ts";\n' },
    { path: "src/a/y.ts", text: 'import { z } from "../b/z.ts";\n' },
    { path: "src/b/z.ts", text: 'export * from "../a/x.ts";\n' },
    { path: "src/b/w.ts", text: 'import "../a/x.ts";\n' },
  ];
  assert.deepEqual(importCycles(files), [["src/a/x.ts", "src/a/y.ts", "src/b/z.ts"]]);
});

Deno.test("no folder of src/ holds more than 20 files", async () => {
  assert.deepEqual(await crowdedFolders(ROOT, "src"), []);
});

Deno.test("the core names no backend: it asks the registry for capabilities", async () => {
  const core = ["nn", "memory", "diffusion", "train", "data", "runs", "kernels"];
  const names = /(["'`])(wasm|cpu|onednn|webgpu|webgl|tensorflow)\1/;
  const found: string[] = [];
  for (const file of await readSources(ROOT, "src")) {
    if (!core.includes(file.path.split("/")[1])) continue;
    // Comments and doc examples may name backends; code (strings included) may not.
    const code = commentsBlanked(file.text);
    code.split("\n").forEach((line, i) => {
      if (names.test(line)) found.push(`${file.path}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(found, []);
});
