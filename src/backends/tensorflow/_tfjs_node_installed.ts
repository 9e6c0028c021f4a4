// Whether tfjs-node(-gpu) is really installed: its package.json is not enough. Deno puts a
// package in node_modules without running its install script (a probe such as a test's
// `setBackend("tensorflow")` does that), and such a copy lacks the native binding that the
// script downloads; "auto" must not try it, and so must not warn about it on every run.

/**
 * True when `node_modules/<pkg>` in `dir` or a folder above holds the native binding
 * (`lib/napi-vN/tfjs_binding.node`), as a completed install script leaves it.
 */
export function _tfjsNodeInstalled(pkg: string, dir: string): boolean {
  for (;;) {
    if (hasBinding(`${dir}/node_modules/${pkg}`)) return true;
    const parent = dir.replace(/\/[^/]*$/, "");
    if (parent === dir || parent === "") return false;
    dir = parent;
  }
}

function hasBinding(pkgDir: string): boolean {
  try {
    for (const entry of Deno.readDirSync(`${pkgDir}/lib`)) {
      if (!/^napi-v\d+$/.test(entry.name)) continue;
      try {
        Deno.statSync(`${pkgDir}/lib/${entry.name}/tfjs_binding.node`);
        return true;
      } catch {
        // this napi version was not built; try the next
      }
    }
  } catch {
    // no lib folder: not installed, or installed without its script
  }
  return false;
}
