// `deno task fid` end to end on seeded random Inception weights in torch's legacy format: the
// printed FID and IS and the saved statistics equal what the library computes in process.
import { Image } from "imagescript";
import { setBackend } from "../src/backends/set_backend.ts";
import { frechetDistance } from "../src/metrics/frechet_distance.ts";
import { inceptionPass } from "../src/metrics/fid.ts";
import { InceptionV3 } from "../src/metrics/inception.ts";
import { inceptionScoreFromLogits } from "../src/metrics/inception_score_math.ts";
import { loadActivationStats } from "../src/metrics/stats_file.ts";
import { assert, assertClose, assertNear } from "./_assert.ts";
import { randomInceptionStateDict } from "./_inception_state_dict.ts";
import { torchSaveLegacy } from "./_torch_legacy_writer.ts";

// The CLI runs on wasm; the onednn pass would repeat the same numbers on another backend.
const ignore = Deno.env.get("DDPM_TEST_BACKEND") === "onednn";
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

async function task(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "--config", CONFIG, "fid", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", DDPM_INCEPTION: "", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function writePngs(dir: string, count: number, seed: number): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (let k = 0; k < count; k++) {
    const img = new Image(32, 32);
    for (let i = 0; i < img.bitmap.length; i++) {
      img.bitmap[i] = i % 4 === 3
        ? 255
        : (Math.imul(i + 1, 2654435761 + seed * 97 + k * 13) >>> 24);
    }
    await Deno.writeFile(`${dir}/${String(k).padStart(6, "0")}.png`, await img.encode());
  }
}

Deno.test({
  name: "deno task fid prints the FID and IS the library computes, and saves pytorch-fid's .npz",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ddpm_fid_" });
    const weights = `${dir}/pt_inception-random.pth`;
    await Deno.writeFile(weights, torchSaveLegacy(randomInceptionStateDict(11)));
    await writePngs(`${dir}/samples`, 6, 1);
    // The reference as a CIFAR-10 binary batch: label byte, then R, G, B planes.
    const cifar = new Uint8Array(5 * 3073);
    for (let i = 0; i < cifar.length; i++) cifar[i] = (Math.imul(i, 40503) >>> 7) & 255;
    await Deno.writeFile(`${dir}/test_batch.bin`, cifar);
    const common = ["--inception", weights, "--size", "75", "--backend", "wasm"];
    const r = await task([
      "--samples",
      `${dir}/samples`,
      "--ref",
      `${dir}/test_batch.bin`,
      "--is",
      "--splits",
      "2",
      "--save-stats",
      `${dir}/samples.npz`,
      ...common,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /is not pytorch-fid's pt_inception-2015-12-05-6726825d\.pth/);
    const fidLine = /^FID (\S+)$/m.exec(r.stdout);
    const isLine = /^IS (\S+) ± (\S+) \(2 splits, 6 images\)$/m.exec(r.stdout);
    assert.ok(fidLine && isLine, r.stdout);

    await setBackend("wasm");
    const net = await InceptionV3.load(weights);
    const a = await inceptionPass(`${dir}/samples`, {
      inception: net,
      size: 75,
      inceptionScore: true,
    });
    const b = await inceptionPass(`${dir}/test_batch.bin`, { inception: net, size: 75 });
    net.dispose();
    const fid = frechetDistance(a.stats!, b.stats!);
    assert.ok(fid > 0.01, `a distance between different sets, got ${fid}`);
    assertNear(Number(fidLine[1]), fid, 6e-5, "printed FID");
    const is = inceptionScoreFromLogits(a.logitsUnbiased!, 1008, { splits: 2 });
    assertNear(Number(isLine[1]), is.mean, 6e-5, "printed IS");
    assertNear(Number(isLine[2]), is.std, 6e-5, "printed IS std");
    const saved = await loadActivationStats(`${dir}/samples.npz`);
    assertClose(saved.mu, a.stats!.mu, { rtol: 1e-6, atol: 1e-9 });
    assertClose(saved.sigma, a.stats!.sigma, { rtol: 1e-6, atol: 1e-9 });

    // Statistics against themselves need no network: FID 0.
    const same = await task(["--samples", `${dir}/samples.npz`, "--ref", `${dir}/samples.npz`]);
    assert.equal(same.code, 0, same.stderr);
    assert.equal(same.stdout.trim(), "FID 0.0000");
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name:
    "deno task fid says where the Inception weights come from, and refuses what it cannot score",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ddpm_fid_err_" });
    await writePngs(`${dir}/s`, 2, 3);
    const noWeights = await task(["--samples", `${dir}/s`, "--ref", `${dir}/s`]);
    assert.equal(noWeights.code, 2);
    assert.match(noWeights.stderr, /^error: .*--inception PATH or set DDPM_INCEPTION/m);
    assert.match(noWeights.stderr, /github\.com\/mseitzer\/pytorch-fid\/releases/);
    const missing = await task([
      "--samples",
      `${dir}/s`,
      "--ref",
      `${dir}/s`,
      "--inception",
      `${dir}/none.pth`,
    ]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /none\.pth: it does not exist/);
    const npzIs = await task(["--samples", `${dir}/x.npz`, "--is"]);
    assert.equal(npzIs.code, 2);
    assert.match(npzIs.stderr, /need images as --samples/);
    const nothing = await task(["--samples", `${dir}/s`]);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /Nothing to compute/);
    for (const r of [noWeights, missing, npzIs, nothing]) {
      assert.ok(!/^\s+at /m.test(r.stderr), `no stack trace: ${r.stderr}`);
    }
    await Deno.remove(dir, { recursive: true });
  },
});
