// Models by hub id against a hub on 127.0.0.1 that speaks the resolve protocol (tests/_fake_hub.ts):
// the spawned `deno task sample --pretrained owner/name` fills huggingface_hub's cache layout and
// then works with the server stopped; resume, hash checks, 401/404 and the token's secrecy.
import { assert } from "./_assert.ts";
import { FakeHub, gitBlobId, sha256Hex } from "./_fake_hub.ts";
import { setBackend } from "../src/backends/set_backend.ts";
import { createUNetFromConfig } from "../src/nn/create_unet_from_config.ts";
import type { UNetConfig } from "../src/nn/unet_config.ts";
import { DDPMScheduler } from "../src/diffusion/ddpm_scheduler.ts";
import { saveDiffusers } from "../src/diffusers/save_diffusers.ts";
import { loadPretrained } from "../src/diffusers/pretrained.ts";
import { downloadPretrained } from "../src/diffusers/download_pretrained.ts";
import { HubError } from "../src/hub/hub_error.ts";
import { hubDownload } from "../src/hub/hub_download.ts";
import { hubSettings } from "../src/hub/hub_settings.ts";
import { parseHubId } from "../src/hub/repo_id.ts";
import { fillZeroWeights } from "./_unet_weights.ts";

await setBackend("cpu");

// Downloads and the cache involve no tensor backend: the onednn pass of the suite skips them.
const SKIP = Deno.env.get("DDPM_TEST_BACKEND") === "onednn";
const test = (name: string, fn: () => void | Promise<void>) =>
  Deno.test({ name, ignore: SKIP, fn });

const ROOT = new URL("..", import.meta.url).pathname;
const TOKEN = "hf_test_secret_token_7d1f";
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const WEIGHTS = "unet/diffusion_pytorch_model.safetensors";

// 32 base channels make the weights about 1.3 MB: over the CLI's 1 MiB progress-bar threshold.
const CFG: UNetConfig = {
  resolution: 8,
  inChannels: 3,
  outChannels: 3,
  ch: 32,
  chMult: [1, 2],
  numResBlocks: 1,
  attnResolutions: [4],
  dropout: 0,
  numGroups: 4,
  normEps: 1e-6,
};

/** A diffusers pipeline's files: model_index.json, unet/ and scheduler/, as bytes. */
async function pipelineFiles(): Promise<Map<string, Uint8Array<ArrayBuffer>>> {
  const dir = await Deno.makeTempDir();
  const unet = createUNetFromConfig(CFG, { seed: 3 });
  fillZeroWeights(unet, 5);
  await saveDiffusers(unet, new DDPMScheduler(), dir);
  unet.dispose();
  const read = (name: string) => Deno.readFile(`${dir}/${name}`);
  const files = new Map<string, Uint8Array<ArrayBuffer>>([
    [
      "model_index.json",
      new TextEncoder().encode(JSON.stringify({
        _class_name: "DDPMPipeline",
        unet: ["diffusers", "UNet2DModel"],
        scheduler: ["diffusers", "DDPMScheduler"],
      })),
    ],
    ["unet/config.json", await read("config.json")],
    [WEIGHTS, await read("diffusion_pytorch_model.safetensors")],
    ["scheduler/scheduler_config.json", await read("scheduler_config.json")],
  ]);
  await Deno.remove(dir, { recursive: true });
  return files;
}

const FILES = await pipelineFiles();

function newHub(): FakeHub {
  const hub = new FakeHub();
  hub.token = TOKEN;
  hub.repos.set("acme/tiny-ddpm", { commit: COMMIT, files: FILES, lfs: new Set([WEIGHTS]) });
  hub.repos.set("acme/gated", {
    commit: COMMIT,
    files: FILES,
    lfs: new Set([WEIGHTS]),
    gated: true,
  });
  return hub.start();
}

/** The sample CLI with the task's permissions plus 127.0.0.1 (a task takes no extra flags). */
async function sampleCli(
  args: string[],
  env: Record<string, string>,
  cwd: string,
  net = "127.0.0.1",
): Promise<{ code: number; out: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      "--allow-ffi",
      `--allow-net=${net}`,
      `${ROOT}src/cli/sample.ts`,
      ...args,
    ],
    cwd,
    env: { NO_COLOR: "1", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: result.code, out: dec.decode(result.stdout) + dec.decode(result.stderr) };
}

test("deno task sample --pretrained owner/name fills huggingface_hub's cache, then samples offline from it", async () => {
  const hub = newHub();
  const tmp = await Deno.makeTempDir();
  const cache = `${tmp}/cache`;
  // The token from the file `huggingface-cli login` writes, HF_HOME/token.
  await Deno.mkdir(`${tmp}/hf`);
  await Deno.writeTextFile(`${tmp}/hf/token`, `${TOKEN}\n`);
  const env = { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cache, HF_HOME: `${tmp}/hf`, HOME: tmp };
  const args = ["--pretrained", "acme/tiny-ddpm", "--n", "1", "--steps", "2", "--backend", "cpu"];
  try {
    const first = await sampleCli([...args, "--out", "a.png"], env, tmp);
    assert.equal(first.code, 0, first.out);
    assert.ok(!first.out.includes(TOKEN), "the token appears in the output");
    assert.match(first.out, /downloading unet\/diffusion_pytorch_model\.safetensors .*MB.*ETA/);

    // The layout, exactly: blobs named by ETag, refs/main, relative symlinks in the snapshot.
    const storage = `${cache}/models--acme--tiny-ddpm`;
    const etag = (name: string) =>
      name === WEIGHTS ? sha256Hex(FILES.get(name)!) : gitBlobId(FILES.get(name)!);
    const blobs = [];
    for await (const e of Deno.readDir(`${storage}/blobs`)) blobs.push(e.name);
    assert.deepEqual(blobs.sort(), [...FILES.keys()].map(etag).sort());
    assert.equal(await Deno.readTextFile(`${storage}/refs/main`), COMMIT);
    for (const [name, bytes] of FILES) {
      const pointer = `${storage}/snapshots/${COMMIT}/${name}`;
      assert.ok((await Deno.lstat(pointer)).isSymlink, `${name} is not a symlink`);
      const up = "../".repeat(name.split("/").length + 1);
      assert.equal(await Deno.readLink(pointer), `${up}blobs/${etag(name)}`);
      assert.deepEqual(await Deno.readFile(pointer), bytes);
    }
    const snapshots = [];
    for await (const e of Deno.readDir(`${storage}/snapshots`)) snapshots.push(e.name);
    assert.deepEqual(snapshots, [COMMIT]);

    // Every hub request carried the token; the CDN's signed address never did.
    const hubAuth = new Set(
      hub.requests.filter((r) => r.server === "hub").map((r) => r.authorization),
    );
    assert.deepEqual([...hubAuth], [`Bearer ${TOKEN}`]);
    const cdn = hub.requests.filter((r) => r.server === "cdn");
    assert.equal(cdn.length, 1);
    assert.equal(cdn[0].authorization, null);

    // Offline, with nothing listening: the same picture from the cache.
    await hub.stop();
    const second = await sampleCli([...args, "--out", "b.png"], {
      ...env,
      HF_HUB_OFFLINE: "1",
    }, tmp);
    assert.equal(second.code, 0, second.out);
    assert.deepEqual(await Deno.readFile(`${tmp}/b.png`), await Deno.readFile(`${tmp}/a.png`));
  } finally {
    await hub.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});

test("the sample CLI exits 2 with one line naming HF_TOKEN for a gated repository (never the token), or the host --allow-net lacks", async () => {
  const hub = newHub();
  const tmp = await Deno.makeTempDir();
  try {
    const env = { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: tmp, HF_TOKEN: "hf_wrong_token_x" };
    const r = await sampleCli(["--pretrained", "acme/gated", "--n", "1"], env, tmp);
    assert.equal(r.code, 2, r.out);
    const errors = r.out.split("\n").filter((l) => l.startsWith("error:"));
    assert.equal(errors.length, 1, r.out);
    assert.match(errors[0], /acme\/gated is gated .*HF_TOKEN/);
    assert.ok(!r.out.includes("hf_wrong_token_x"), r.out);

    // The hub allowed but not the CDN: the error names the CDN's host and --allow-net.
    const hubHost = new URL(hub.endpoint).host;
    const denied = await sampleCli(
      ["--pretrained", "acme/tiny-ddpm", "--n", "1"],
      { ...env, HF_TOKEN: TOKEN },
      tmp,
      hubHost,
    );
    assert.equal(denied.code, 2, denied.out);
    const cdnHost = `127.0.0.1:${hub.cdnPort}`;
    assert.match(
      denied.out,
      new RegExp(`error: No network permission for ${cdnHost} .*--allow-net`),
    );

    // Unreachable: one line naming the endpoint and HF_HUB_OFFLINE.
    const endpoint = hub.endpoint;
    await hub.stop();
    const down = await hubDownload("acme/tiny-ddpm", "model_index.json", {
      endpoint,
      cacheDir: `${tmp}/empty`,
    }).catch((e) => e);
    assert.ok(down instanceof HubError && down.kind === "network", String(down));
    assert.match(
      down.message,
      new RegExp(`^Cannot reach HF_ENDPOINT ${endpoint}.*HF_HUB_OFFLINE=1`),
    );
    // What the refused run downloaded before the CDN (the configs) serves from the cache.
    const cached = await hubDownload("acme/tiny-ddpm", "model_index.json", {
      endpoint,
      cacheDir: tmp,
    });
    assert.equal(cached.commit, COMMIT);
  } finally {
    await hub.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});

test("hubDownload() resumes a cut transfer with a Range request and a partial file from an earlier run", async () => {
  const hub = newHub();
  const cacheDir = await Deno.makeTempDir();
  const bytes = FILES.get(WEIGHTS)!;
  const sha = sha256Hex(bytes);
  try {
    // Cut in this process: retried from where the connection dropped.
    hub.cutAfter.set(sha, 300_000);
    const progress: number[] = [];
    const file = await hubDownload("acme/tiny-ddpm", WEIGHTS, {
      endpoint: hub.endpoint,
      cacheDir,
      token: false,
      onProgress: (p) => progress.push(p.done),
    });
    assert.deepEqual(await Deno.readFile(file.path), bytes);
    const ranges = hub.requests.filter((r) => r.server === "cdn").map((r) => r.range);
    assert.deepEqual(ranges, [null, "bytes=300000-"]);
    assert.equal(progress.at(-1), bytes.length);
    assert.ok(progress.every((d, i) => i === 0 || d >= progress[i - 1]), "progress went back");

    // Left by an earlier process: the first half is kept and only the rest is fetched.
    const storage = `${cacheDir}/models--acme--tiny-ddpm`;
    await Deno.remove(`${storage}/blobs/${sha}`);
    await Deno.remove(file.path);
    const half = bytes.length >> 1;
    await Deno.writeFile(`${storage}/blobs/${sha}.incomplete`, bytes.subarray(0, half));
    hub.requests.length = 0;
    const again = await hubDownload("acme/tiny-ddpm", WEIGHTS, {
      endpoint: hub.endpoint,
      cacheDir,
      token: false,
    });
    assert.deepEqual(await Deno.readFile(again.path), bytes);
    assert.deepEqual(hub.requests.filter((r) => r.server === "cdn").map((r) => r.range), [
      `bytes=${half}-`,
    ]);
  } finally {
    await hub.stop();
    await Deno.remove(cacheDir, { recursive: true });
  }
});

test("hubDownload() places an empty file under git's id for empty content", async () => {
  const hub = newHub();
  hub.repos.set("acme/misc", {
    commit: COMMIT,
    files: new Map([["empty.txt", new Uint8Array()]]),
    lfs: new Set(),
  });
  const cacheDir = await Deno.makeTempDir();
  try {
    const file = await hubDownload("acme/misc", "empty.txt", {
      endpoint: hub.endpoint,
      cacheDir,
      token: false,
    });
    assert.equal((await Deno.readFile(file.path)).length, 0);
    // `git hash-object` of an empty file, a well-known constant.
    const id = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";
    assert.equal(await Deno.readLink(file.path), `../../blobs/${id}`);
  } finally {
    await hub.stop();
    await Deno.remove(cacheDir, { recursive: true });
  }
});

test("hubDownload() refuses bytes that do not match their SHA-256 and places nothing", async () => {
  const hub = newHub();
  const cacheDir = await Deno.makeTempDir();
  try {
    hub.corrupt.add(sha256Hex(FILES.get(WEIGHTS)!));
    const err = await hubDownload("acme/tiny-ddpm", WEIGHTS, {
      endpoint: hub.endpoint,
      cacheDir,
      token: false,
    }).catch((e) => e);
    assert.ok(err instanceof HubError && err.kind === "integrity", String(err));
    assert.match(err.message, /SHA-256/);
    const storage = `${cacheDir}/models--acme--tiny-ddpm`;
    const blobs = [];
    for await (const e of Deno.readDir(`${storage}/blobs`)) blobs.push(e.name);
    assert.deepEqual(blobs, []);
    const placed = await Deno.lstat(`${storage}/snapshots/${COMMIT}/${WEIGHTS}`).catch(() => null);
    assert.equal(placed, null);
  } finally {
    await hub.stop();
    await Deno.remove(cacheDir, { recursive: true });
  }
});

test("hubDownload() tells a missing repository, revision and file apart, and follows a renamed repository", async () => {
  const hub = newHub();
  hub.renamed.set("acme/old-name", "acme/tiny-ddpm");
  const cacheDir = await Deno.makeTempDir();
  const opts = { endpoint: hub.endpoint, cacheDir, token: TOKEN };
  try {
    const repo = await hubDownload("acme/nope", "config.json", opts).catch((e) => e);
    assert.match(repo.message, /acme\/nope was not found .* HF_TOKEN/);
    assert.ok(!repo.message.includes(TOKEN));
    const rev = await hubDownload("acme/tiny-ddpm", "model_index.json", {
      ...opts,
      revision: "v9",
    }).catch((e) => e);
    assert.equal(rev.kind, "revision-not-found", rev.message);
    const file = await hubDownload("acme/tiny-ddpm", "nope.json", opts).catch((e) => e);
    assert.equal(file.kind, "entry-not-found", file.message);
    // Remembered as huggingface_hub does, so the cache knows without asking again.
    await Deno.stat(`${cacheDir}/models--acme--tiny-ddpm/.no_exist/${COMMIT}/nope.json`);

    const moved = await hubDownload("acme/old-name", "unet/config.json", opts);
    assert.deepEqual(await Deno.readFile(moved.path), FILES.get("unet/config.json"));
  } finally {
    await hub.stop();
    await Deno.remove(cacheDir, { recursive: true });
  }
});

test("downloadPretrained() takes a pipeline's root files as Google's repositories have them, and .bin weights", async () => {
  const hub = newHub();
  const enc = (text: string) => new TextEncoder().encode(text);
  const files = new Map<string, Uint8Array<ArrayBuffer>>([
    ["model_index.json", FILES.get("model_index.json")!],
    ["config.json", FILES.get("unet/config.json")!],
    ["diffusion_pytorch_model.bin", enc("pickled weights stand-in")],
    ["scheduler_config.json", FILES.get("scheduler/scheduler_config.json")!],
    ["README.md", enc("not fetched")],
  ]);
  hub.repos.set("google/style", {
    commit: COMMIT,
    files,
    lfs: new Set(["diffusion_pytorch_model.bin"]),
  });
  hub.repos.set("acme/no-weights", {
    commit: COMMIT,
    files: new Map([...files].slice(0, 2)),
    lfs: new Set(),
  });
  const cacheDir = await Deno.makeTempDir();
  const opts = { endpoint: hub.endpoint, cacheDir, token: false as const };
  const list = async (dir: string) => {
    const names: string[] = [];
    const walk = async (sub: string) => {
      for await (const e of Deno.readDir(`${dir}/${sub}`)) {
        if (e.isDirectory) await walk(`${sub}${e.name}/`);
        else names.push(`${sub}${e.name}`);
      }
    };
    await walk("");
    return names.sort();
  };
  try {
    const snapshot = await downloadPretrained("google/style", opts);
    assert.equal(snapshot, `${cacheDir}/models--google--style/snapshots/${COMMIT}`);
    assert.deepEqual(await list(snapshot), [
      "config.json",
      "diffusion_pytorch_model.bin",
      "model_index.json",
      "scheduler_config.json",
    ]);
    assert.deepEqual(await list(`${cacheDir}/models--google--style/.no_exist/${COMMIT}`), [
      "diffusion_pytorch_model.safetensors",
      "scheduler/scheduler_config.json",
      "unet/config.json",
    ]);
    // Again: every answer is in the cache for that commit, so only main is asked about.
    hub.requests.length = 0;
    assert.equal(await downloadPretrained("google/style", opts), snapshot);
    assert.deepEqual(hub.requests.map((r) => r.path), [
      "/google/style/resolve/main/model_index.json",
    ]);

    // A commit in the cache needs no request at all; a hub that answers 503 leaves the cache to
    // serve main.
    hub.requests.length = 0;
    assert.equal(await downloadPretrained(`google/style@${COMMIT}`, opts), snapshot);
    assert.equal(hub.requests.length, 0);
    hub.failWith = 503;
    assert.equal(await downloadPretrained("google/style", opts), snapshot);
    const down = await downloadPretrained("google/other", opts).catch((e) => e);
    assert.ok(down instanceof HubError && down.kind === "network", String(down));
    assert.match(down.message, /answered 503 .*HF_HUB_OFFLINE=1/);
    hub.failWith = undefined;

    const err = await downloadPretrained("acme/no-weights", opts).catch((e) => e);
    assert.ok(err instanceof HubError && err.kind === "entry-not-found", String(err));
    assert.match(
      err.message,
      /acme\/no-weights has no diffusion_pytorch_model\.safetensors or diffusion_pytorch_model\.bin/,
    );
  } finally {
    await hub.stop();
    await Deno.remove(cacheDir, { recursive: true });
  }
});

test("loadPretrained() reads a folder that exists before trying an id, and offline names the missing file", async () => {
  const tmp = await Deno.makeTempDir();
  const cwd = Deno.cwd();
  try {
    const unet = createUNetFromConfig(CFG, { seed: 1 });
    await saveDiffusers(unet, new DDPMScheduler(), `${tmp}/acme/local`);
    unet.dispose();
    Deno.chdir(tmp);
    // An endpoint nothing listens on: any request would fail.
    const loaded = await loadPretrained("acme/local", { endpoint: "http://127.0.0.1:9" });
    assert.equal(loaded.unet.config.ch, CFG.ch);
    loaded.unet.dispose();

    const err = await loadPretrained("acme/elsewhere", { cacheDir: tmp, offline: true })
      .catch((e) => e);
    assert.ok(err instanceof HubError && err.kind === "offline", String(err));
    assert.match(err.message, /HF_HUB_OFFLINE.* config\.json of acme\/elsewhere@main/);
  } finally {
    Deno.chdir(cwd);
    await Deno.remove(tmp, { recursive: true });
  }
});

test("hubSettings() follows huggingface_hub's variables and precedence", async () => {
  const home = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${home}/.cache/huggingface`, { recursive: true });
    await Deno.writeTextFile(`${home}/.cache/huggingface/token`, "  hf_from_file\n");
    const at = (vars: Record<string, string>) => hubSettings({}, (n) => vars[n]);
    const base = at({ HOME: home });
    assert.equal(base.cacheDir, `${home}/.cache/huggingface/hub`);
    assert.equal(base.token, "hf_from_file");
    assert.equal(base.endpoint, "https://huggingface.co");
    assert.equal(base.offline, false);
    assert.equal(at({ HOME: home, XDG_CACHE_HOME: "/x" }).cacheDir, "/x/huggingface/hub");
    assert.equal(at({ HOME: home, HF_HOME: "~/hf" }).cacheDir, `${home}/hf/hub`);
    assert.equal(at({ HOME: home, HF_HOME: "/h", HF_HUB_CACHE: "/c/" }).cacheDir, "/c");
    assert.equal(at({ HOME: home, HF_TOKEN: "hf_env" }).token, "hf_env");
    assert.equal(at({ HOME: home, HF_HUB_OFFLINE: "true" }).offline, true);
    assert.equal(at({ HOME: home, HF_ENDPOINT: "http://m.example/" }).endpoint, "http://m.example");
    assert.throws(() => at({ HOME: home, HF_ENDPOINT: "ftp://x" }), /HF_ENDPOINT/);
    assert.equal(
      hubSettings({ token: false }, (n) => ({ HOME: home, HF_TOKEN: "t" })[n]).token,
      undefined,
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

test("parseHubId() takes owner/name[@revision] and leaves paths alone", () => {
  assert.deepEqual(parseHubId("google/ddpm-cifar10-32"), {
    repoId: "google/ddpm-cifar10-32",
    revision: "main",
  });
  assert.deepEqual(parseHubId("a/b@refs/pr/1"), { repoId: "a/b", revision: "refs/pr/1" });
  for (
    const path of ["./a/b", "/a/b", "a/b/c", "~/a", "a", "a/..", "a--b/c", "a/b@", "a/b@x/../y"]
  ) {
    assert.equal(parseHubId(path), undefined, path);
  }
});
