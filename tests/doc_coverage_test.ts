// The JSR score's documentation checks, on every entry point deno.json exports: each has a
// module doc with an example, and at most 20% of the exported symbols lack a JSDoc description
// (JSR asks for 80%). Reads `deno doc --json`, as JSR's own analysis does.
import { assert } from "./_assert.ts";

const ROOT = new URL("../", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
const entries = Object.values(config.exports as Record<string, string>);

interface Location {
  filename: string;
  line: number;
  col: number;
}

interface Declaration {
  location: Location;
  kind: string;
  jsDoc?: { doc?: string };
  /** For a symbol that another entry point also exports: where its declaration is. */
  def?: { target?: Location };
}

interface DocNode {
  module_doc?: { doc?: string; tags?: { kind: string }[] };
  symbols?: { name: string; declarations: Declaration[] }[];
}

const key = (l: Location) => `${l.filename}:${l.line}:${l.col}`;

async function docJson(): Promise<Record<string, DocNode>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...entries],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)).nodes;
}

Deno.test("every entry point has a module doc with an example, and at most 20% of its exports lack docs", async () => {
  const nodes = await docJson();
  for (const entry of entries) {
    const url = new URL(entry, ROOT).href;
    const node = nodes[url];
    assert.ok(node, `deno doc has no module ${url}`);
    const doc = node.module_doc;
    assert.ok(doc?.doc?.trim(), `${entry} has no module doc`);
    assert.ok(
      doc!.tags?.some((t) => t.kind === "example") || doc!.doc!.includes("```"),
      `${entry}'s module doc has no example`,
    );
  }
  // A symbol that several entry points export appears once with its docs and elsewhere as a
  // reference to that declaration; count each declaration once.
  const docs = new Map<string, boolean>();
  const names = new Map<string, string>();
  for (const entry of entries) {
    for (const symbol of nodes[new URL(entry, ROOT).href].symbols ?? []) {
      for (const d of symbol.declarations) {
        const at = key(d.kind === "reference" && d.def?.target ? d.def.target : d.location);
        names.set(at, `${entry}: ${symbol.name}`);
        if (d.kind !== "reference") docs.set(at, (docs.get(at) ?? false) || !!d.jsDoc?.doc?.trim());
        else if (!docs.has(at)) docs.set(at, false);
      }
    }
  }
  const total = docs.size;
  const undocumented = [...docs].filter(([, documented]) => !documented).map(([at]) =>
    names.get(at)
  );
  console.log(
    `doc coverage: ${total - undocumented.length} of ${total} exported symbols documented` +
      (undocumented.length ? `; without docs: ${undocumented.join(", ")}` : ""),
  );
  assert.ok(total > 100, `only ${total} exported symbols found`);
  assert.ok(
    undocumented.length <= 0.2 * total,
    `${undocumented.length} of ${total} exported symbols lack docs: ${undocumented.join(", ")}`,
  );
});
