// The import rule of ARCHITECTURE.md as code: its table parsed into layers, each source file's
// relative imports resolved to a layer, and the imports the table does not allow reported.

/** One row of ARCHITECTURE.md's table. */
export interface Layer {
  /** "base" for the files directly in src/, else the folder's name. */
  name: string;
  /** Layers this one may import, besides itself. */
  mayImport: Set<string>;
  /** Whether its files must run in a browser: no `Deno.*`, no `node:` imports. */
  browser: boolean;
}

/** A source file as the checker sees it: its path from the repository root and its text. */
export interface SourceFile {
  path: string;
  text: string;
}

/** Files in browser layers allowed one platform import, with the reason (see ARCHITECTURE.md). */
export const PLATFORM_EXCEPTIONS: Readonly<Record<string, string>> = {
  "src/formats/zip.ts": "node:zlib", // inflate for deflated .bin entries; safetensors never loads it
};

/** Files allowed an `import()` of a computed specifier, with the reason. */
export const DYNAMIC_IMPORT_EXCEPTIONS: Readonly<Record<string, string>> = {
  // tfjs-node(-gpu) by a computed specifier, so that Deno does not resolve (download) it ahead.
  "src/backends/tensorflow/descriptor.ts": "tfjs-node",
};

/** Most files one folder of src/ may hold (its subfolders count on their own). */
export const MAX_FILES_PER_FOLDER = 20;

/** Parses the layer table: rows whose first cell is `src/<folder>` or `src/*.ts`. */
export function parseLayers(markdown: string): Map<string, Layer> {
  const layers = new Map<string, Layer>();
  for (const line of markdown.split("\n")) {
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    const folder = /^`src\/([a-z_]+|\*\.ts)`$/.exec(cells[0] ?? "")?.[1];
    if (folder === undefined || cells.length !== 4) continue;
    const name = folder === "*.ts" ? "base" : folder;
    const mayImport = new Set(cells[2].split(",").map((s) => s.trim()).filter((s) => s !== ""));
    layers.set(name, { name, mayImport, browser: cells[3] === "yes" });
  }
  return layers;
}

/** The layer of a path under src/ ("base" for src/x.ts), or undefined outside src/. */
export function layerOf(path: string): string | undefined {
  const parts = path.split("/");
  if (parts[0] !== "src") return undefined;
  return parts.length === 2 ? "base" : parts[1];
}

/**
 * The text with comments and the contents of string literals blanked out (kept as `""` with
 * the quote characters), so that what remains is code: an import in a JSDoc example or a
 * `Deno.` in a message does not count. The result has the text's length, so positions in it
 * are positions in the text.
 */
export function codeOnly(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i], next = text[i + 1];
    if (c === "/" && next === "/") {
      const end = text.indexOf("\n", i);
      const stop = end < 0 ? text.length : end;
      out += " ".repeat(stop - i);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === "\\" ? 2 : 1;
      out += c + text.slice(i + 1, j).replace(/[^\n]/g, " ") + c;
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The text with only its comments blanked out: code and string literals stay as they are. */
export function commentsBlanked(text: string): string {
  const code = codeOnly(text);
  let out = "";
  let inString: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = code[i];
    if (inString !== undefined) {
      out += text[i];
      if (c === inString) inString = undefined;
    } else {
      if (c === '"' || c === "'" || c === "`") inString = c;
      out += c;
    }
  }
  return out;
}

/** An import, or a platform use, that breaks the rule. */
export interface Violation {
  file: string;
  line: number;
  /** The import specifier, or `Deno.` for a use of the Deno global. */
  what: string;
  why: string;
}

/** Every module specifier the file imports: static, `export ... from`, and dynamic `import()`. */
export function importsOf(text: string): { specifier: string; line: number }[] {
  const code = codeOnly(text);
  const found: { specifier: string; line: number }[] = [];
  // The specifier's position in `code` is the same as in `text`; read it from `text`.
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(["'])/gm;
  for (const m of code.matchAll(re)) {
    const start = m.index! + m[0].length;
    const end = text.indexOf(m[1], start);
    const line = text.slice(0, start).split("\n").length;
    found.push({ specifier: text.slice(start, end), line });
  }
  return found;
}

/** Resolves `spec` relative to `from` (both repository paths), or undefined if not relative. */
export function resolveRelative(from: string, spec: string): string | undefined {
  if (!spec.startsWith("./") && !spec.startsWith("../")) return undefined;
  const parts = from.split("/").slice(0, -1);
  for (const seg of spec.split("/")) {
    if (seg === "..") parts.pop();
    else if (seg !== ".") parts.push(seg);
  }
  return parts.join("/");
}

/** Checks files against the layers; returns every violation, in file order. */
export function checkArchitecture(
  files: readonly SourceFile[],
  layers: ReadonlyMap<string, Layer>,
): Violation[] {
  const out: Violation[] = [];
  for (const file of files) {
    const own = layerOf(file.path);
    if (own === undefined) continue;
    const layer = layers.get(own);
    if (!layer) {
      out.push({
        file: file.path,
        line: 1,
        what: own,
        why: `its folder "${own}" has no row in ARCHITECTURE.md's table`,
      });
      continue;
    }
    const code = codeOnly(file.text);
    for (const m of code.matchAll(/\bimport\s*\((?!\s*["'])/g)) {
      if (DYNAMIC_IMPORT_EXCEPTIONS[file.path]) continue;
      out.push({
        file: file.path,
        line: code.slice(0, m.index).split("\n").length,
        what: "import(expr)",
        why: "a computed import() hides what the file depends on: import a string literal",
      });
    }
    for (const { specifier, line } of importsOf(file.text)) {
      if (specifier === "@x/ddpm" || specifier.startsWith("@x/ddpm/")) {
        out.push({
          file: file.path,
          line,
          what: specifier,
          why: "a file of the package imports itself by name: import the file by its relative path",
        });
        continue;
      }
      const target = resolveRelative(file.path, specifier);
      if (target !== undefined) {
        const to = layerOf(target);
        if (to === undefined) {
          out.push({ file: file.path, line, what: specifier, why: "it imports from outside src/" });
        } else if (to !== own && !layer.mayImport.has(to)) {
          out.push({
            file: file.path,
            line,
            what: specifier,
            why: `${own} may not import ${to} (allowed: ${
              [...layer.mayImport].join(", ") || "none"
            })`,
          });
        }
      } else if (layer.browser && specifier.startsWith("node:")) {
        if (PLATFORM_EXCEPTIONS[file.path] === specifier) continue;
        out.push({
          file: file.path,
          line,
          what: specifier,
          why: `${own} must run in a browser: no node: imports`,
        });
      }
    }
    if (layer.browser) {
      // `Deno.x`, and `globalThis.Deno` or `(globalThis as ...).Deno` however guarded.
      for (const m of code.matchAll(/(?<![\w.$])Deno\s*\??\.|\.\s*Deno\b/g)) {
        out.push({
          file: file.path,
          line: code.slice(0, m.index).split("\n").length,
          what: "Deno.",
          why: `${own} must run in a browser: no Deno.* (move the file access up to io/)`,
        });
      }
    }
  }
  return out;
}

/** Reads every `.ts` file under `dir` (a repository path), sorted by path. */
export async function readSources(root: string, dir: string): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    for await (const entry of Deno.readDir(`${root}/${rel}`)) {
      const path = `${rel}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".ts")) {
        files.push({ path, text: await Deno.readTextFile(`${root}/${path}`) });
      }
    }
  };
  await walk(dir);
  return files.sort((a, b) => a.path < b.path ? -1 : 1);
}

/**
 * Every cycle of relative imports between files (type-only imports included: a type in the
 * wrong file is what makes two files need each other). Each cycle is listed once, as the paths
 * from its smallest file back to it.
 */
export function importCycles(files: readonly SourceFile[]): string[][] {
  const known = new Set(files.map((f) => f.path));
  const edges = new Map<string, string[]>();
  for (const file of files) {
    const to = importsOf(file.text)
      .map((i) => resolveRelative(file.path, i.specifier))
      .filter((p): p is string => p !== undefined && known.has(p));
    edges.set(file.path, [...new Set(to)]);
  }
  const cycles = new Map<string, string[]>();
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (path: string): void => {
    state.set(path, "open");
    stack.push(path);
    for (const next of edges.get(path) ?? []) {
      if (state.get(next) === "open") {
        const cycle = stack.slice(stack.indexOf(next));
        const start = cycle.indexOf([...cycle].sort()[0]);
        const ordered = [...cycle.slice(start), ...cycle.slice(0, start)];
        cycles.set(ordered.join(" -> "), ordered);
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(path, "done");
  };
  for (const path of [...edges.keys()].sort()) if (!state.has(path)) visit(path);
  return [...cycles.values()];
}

/** Folders of `dir` (a repository path, itself included) holding more than `max` files. */
export async function crowdedFolders(
  root: string,
  dir: string,
  max: number = MAX_FILES_PER_FOLDER,
): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let files = 0;
    for await (const entry of Deno.readDir(`${root}/${rel}`)) {
      if (entry.isDirectory) await walk(`${rel}/${entry.name}`);
      else files++;
    }
    if (files > max) out.push(`${rel}: ${files} files`);
  };
  await walk(dir);
  return out.sort();
}
