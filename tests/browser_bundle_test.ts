// The browser entry points bundle for browsers (`deno bundle --platform browser`) into code
// that uses no Deno API, no Node built-in, no eval and none of the Deno-only backends.
import { bundleForBrowser } from "../src/cli/demo/_demo_assets.ts";
import { assert } from "./_assert.ts";

const ROOT = new URL("..", import.meta.url);

/** What a browser cannot run, or a page's Content-Security-Policy would refuse. */
const FORBIDDEN: { what: string; pattern: RegExp }[] = [
  { what: "uses Deno's API", pattern: /\bDeno\.[A-Za-z]/ },
  {
    what: "imports a Node built-in",
    pattern: /\b(?:from\s*|import\s*\(\s*|require\s*\(\s*)["']node:[\w/]+["']/,
  },
  {
    what: "evaluates code from a string (CSP: unsafe-eval)",
    pattern: /\bnew Function\s*\(|\beval\s*\(/,
  },
];

/** Modules that must stay out of a page: FFI, threads over node:worker_threads, `new Function`. */
const DENO_ONLY = [
  "src/backends/set_backend.ts",
  "src/backends/onednn/",
  "src/backends/wasm/wasm_threads.ts",
  "src/backends/wasm/prefer_threaded_wasm.ts",
  "src/backends/wasm/descriptor.ts",
  "src/backends/cpu/fast_cpu_kernels.ts",
  "src/backends/cpu/_binary_loops.ts",
  "src/backends/cpu/descriptor.ts",
  "src/backends/tensorflow/",
  "src/backends/_gpu_memory_env.ts",
  "src/cli/",
  "src/train/",
  "src/io/",
  "src/data/",
  "src/diffusers/",
];

/** The bundle's modules (esbuild heads each with a `// path` comment) and their lines. */
function modules(bundle: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = "(bundle preamble)";
  for (const line of bundle.split("\n")) {
    const head = /^\/\/ (\S+\.[cm]?[jt]s)$/.exec(line);
    if (head) {
      current = head[1];
      out.set(current, []);
      continue;
    }
    if (!out.has(current)) out.set(current, []);
    out.get(current)!.push(line);
  }
  return out;
}

for (const entry of ["browser.ts", "web/demo.ts"]) {
  Deno.test({
    name: `${entry} bundles for browsers without Deno, node: imports, eval or Deno-only modules`,
    ignore: Deno.env.get("DDPM_TEST_BACKEND") === "onednn", // no tensor backend involved
    async fn() {
      const bundle = await bundleForBrowser(new URL(entry, ROOT));
      const mods = modules(bundle);
      const ours = [...mods.keys()].filter((m) => /(^|\/)(src|web)\//.test(m));
      // The core is in it: the UNet, the sampler, the safetensors reader, the PNG encoder.
      for (
        const core of [
          "src/nn/unet.ts",
          "src/diffusion/sample.ts",
          "src/formats/safetensors.ts",
          "src/images/png_encode.ts",
        ]
      ) {
        assert.ok(ours.some((m) => m.endsWith(core)), `${core} is missing from the bundle`);
      }
      const problems: string[] = [];
      for (const m of ours) {
        const bad = DENO_ONLY.find((d) => m.includes(d));
        if (bad) problems.push(`${m} is Deno-only and must not be imported by ${entry}`);
      }
      for (const [m, lines] of mods) {
        for (const line of lines) {
          if (line.trimStart().startsWith("//")) continue;
          for (const { what, pattern } of FORBIDDEN) {
            if (pattern.test(line)) problems.push(`${m} ${what}: ${line.trim().slice(0, 120)}`);
          }
        }
      }
      assert.deepEqual(problems, [], `${entry}'s browser bundle:\n${problems.join("\n")}`);
    },
  });
}
