// FID statistics of shards merged into those of every image: the pooled mean and covariance
// against a float64 two-pass computation over all vectors, the .npz's image count, and
// `deno task fid --merge-stats` end to end, where merged shards give the FID of the whole folder.
import { Image } from "imagescript";
import { ActivationStatsAccumulator } from "../src/metrics/activation_stats.ts";
import { frechetDistance } from "../src/metrics/frechet_distance.ts";
import { type CountedStats, mergeActivationStats } from "../src/metrics/merge_stats.ts";
import { loadActivationStats, saveActivationStats } from "../src/metrics/stats_file.ts";
import { mulberry32 } from "../src/random.ts";
import { assert, assertClose } from "./_assert.ts";

const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** Float64 two-pass mean and covariance over rows, as np.mean and np.cov(rowvar=False). */
function hostStats(rows: number[][]): CountedStats {
  const n = rows.length, d = rows[0].length;
  const mu = new Float64Array(d);
  for (const r of rows) for (let i = 0; i < d; i++) mu[i] += r[i] / n;
  const sigma = new Float64Array(d * d);
  for (const r of rows) {
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) sigma[i * d + j] += (r[i] - mu[i]) * (r[j] - mu[j]) / (n - 1);
    }
  }
  return { n, mu, sigma };
}

function randomRows(n: number, d: number, seed: number): number[][] {
  const rand = mulberry32(seed);
  // Offset and scaled per dimension, so that the pooled mean and the shards' means differ.
  return Array.from({ length: n }, () => Array.from({ length: d }, (_, i) => 3 * i + rand() * i));
}

function shardStats(rows: number[][]): CountedStats {
  if (rows.length === 1) {
    const d = rows[0].length;
    return { n: 1, mu: Float64Array.from(rows[0]), sigma: new Float64Array(d * d).fill(NaN) };
  }
  const acc = new ActivationStatsAccumulator(rows[0].length);
  acc.add(rows.flat());
  return { ...acc.result(), n: rows.length };
}

Deno.test("mergeActivationStats() pools shards into the statistics of all vectors", () => {
  const d = 6;
  const rows = randomRows(16, d, 7);
  // Uneven shards, one of a single vector (whose covariance, NaN as np.cov gives it, is unused).
  const cuts = [0, 3, 8, 9, 16];
  const parts = cuts.slice(1).map((end, k) => shardStats(rows.slice(cuts[k], end)));
  const merged = mergeActivationStats(parts);
  const all = hostStats(rows);
  assert.equal(merged.n, 16);
  // Float64 rounding of sums of a few dozen terms of size ~30: far below 1e-12 relative.
  assertClose(merged.mu, all.mu, { rtol: 1e-13, atol: 0 });
  assertClose(merged.sigma, all.sigma, { rtol: 1e-11, atol: 1e-13 });
  // And the FID against another set is that of the unsharded statistics.
  const ref = hostStats(randomRows(12, d, 8));
  const a = frechetDistance(merged, ref), b = frechetDistance(all, ref);
  assert.ok(Math.abs(a - b) <= 1e-10 * Math.abs(b), `${a} vs ${b}`);
});

Deno.test("mergeActivationStats() refuses mismatched dimensions and bad counts", () => {
  const a = { n: 2, mu: new Float64Array(2), sigma: new Float64Array(4) };
  assert.throws(
    () => mergeActivationStats([a, { n: 2, mu: new Float64Array(3), sigma: new Float64Array(9) }]),
    /part 1 has dimension 3, part 0 has 2/,
  );
  assert.throws(() => mergeActivationStats([{ ...a, n: 0 }]), /n = 0/);
  assert.throws(() => mergeActivationStats([{ ...a, n: 1 }]), /needs 2 vectors, got 1/);
  assert.throws(() => mergeActivationStats([]), /no parts/);
});

Deno.test("saveActivationStats() stores n, which loadActivationStats() returns", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ddpm_merge_" });
  const stats = { n: 5, mu: Float64Array.of(1, 2), sigma: Float64Array.of(1, 0, 0, 1) };
  await saveActivationStats(`${dir}/a.npz`, stats);
  assert.equal((await loadActivationStats(`${dir}/a.npz`)).n, 5);
  await saveActivationStats(`${dir}/b.npz`, { mu: stats.mu, sigma: stats.sigma });
  assert.equal((await loadActivationStats(`${dir}/b.npz`)).n, undefined);
  await Deno.remove(dir, { recursive: true });
});

async function fid(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "--config", CONFIG, "fid", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", DDPM_INCEPTION: "" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("deno task fid --merge-stats pools .npz shards and prints the FID of all of them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ddpm_merge_" });
  const d = 4;
  const rows = randomRows(20, d, 3);
  const parts = [rows.slice(0, 7), rows.slice(7, 20)].map(shardStats);
  for (const [k, p] of parts.entries()) await saveActivationStats(`${dir}/p${k}.npz`, p);
  await saveActivationStats(`${dir}/ref.npz`, hostStats(randomRows(10, d, 4)));
  const r = await fid([
    "--merge-stats",
    `${dir}/all.npz`,
    `${dir}/p0.npz`,
    `${dir}/p1.npz`,
    "--ref",
    `${dir}/ref.npz`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /merged 2 parts, 20 images/);
  const all = hostStats(rows);
  const saved = await loadActivationStats(`${dir}/all.npz`);
  assert.equal(saved.n, 20);
  assertClose(saved.sigma, all.sigma, { rtol: 1e-11, atol: 1e-13 });
  const expected = frechetDistance(all, await loadActivationStats(`${dir}/ref.npz`));
  assert.equal(r.stdout.trim(), `FID ${expected.toFixed(4)}`);
  // The merged file scores as --samples too, as pytorch-fid reads a .npz.
  const again = await fid(["--samples", `${dir}/all.npz`, "--ref", `${dir}/ref.npz`]);
  assert.equal(again.stdout.trim(), r.stdout.trim());
  // A part without n (pytorch-fid's own --save-stats) cannot be weighted.
  await saveActivationStats(`${dir}/plain.npz`, { mu: all.mu, sigma: all.sigma });
  const plain = await fid(["--merge-stats", `${dir}/x.npz`, `${dir}/p0.npz`, `${dir}/plain.npz`]);
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /plain\.npz has no image count n/);
  await Deno.remove(dir, { recursive: true });
});

// Inception passes on wasm; the onednn suite would repeat the same numbers.
Deno.test({
  name: "FID of a folder's shards, saved and merged, equals the FID of the whole folder",
  ignore: Deno.env.get("DDPM_TEST_BACKEND") === "onednn",
  async fn() {
    const { randomInceptionStateDict } = await import("./_inception_state_dict.ts");
    const { torchSaveLegacy } = await import("./_torch_legacy_writer.ts");
    const dir = await Deno.makeTempDir({ prefix: "ddpm_merge_" });
    const weights = `${dir}/pt_inception-random.pth`;
    await Deno.writeFile(weights, torchSaveLegacy(randomInceptionStateDict(11)));
    // Six images: shard 0 holds three, shard 1 three, the whole folder all six.
    for (const [k, sub] of ["a", "a", "a", "b", "b", "b"].entries()) {
      const img = new Image(16, 16);
      for (let i = 0; i < img.bitmap.length; i++) {
        img.bitmap[i] = i % 4 === 3 ? 255 : Math.imul(i + 1, 2654435761 + k * 13) >>> 24;
      }
      const png = await img.encode();
      for (const folder of [sub, "all"]) {
        await Deno.mkdir(`${dir}/${folder}`, { recursive: true });
        await Deno.writeFile(`${dir}/${folder}/${k}.png`, png);
      }
    }
    const common = ["--inception", weights, "--size", "75", "--backend", "wasm"];
    for (const part of ["a", "b", "all"]) {
      const r = await fid([
        "--samples",
        `${dir}/${part}`,
        "--save-stats",
        `${dir}/${part}.npz`,
        ...common,
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    const m = await fid(["--merge-stats", `${dir}/merged.npz`, `${dir}/a.npz`, `${dir}/b.npz`]);
    assert.equal(m.code, 0, m.stderr);
    const whole = await loadActivationStats(`${dir}/all.npz`);
    const merged = await loadActivationStats(`${dir}/merged.npz`);
    assert.equal(merged.n, 6);
    // Features are float32 from the same network on the same images; the pooled float64
    // statistics differ from the one-pass ones by rounding only.
    assertClose(merged.mu, whole.mu, { rtol: 1e-9, atol: 1e-12 });
    assertClose(merged.sigma, whole.sigma, { rtol: 1e-8, atol: 1e-12 });
    // FID is a function of (mu, sigma) alone: equal statistics give equal FIDs, as the first
    // test checks in a small dimension (a 2048-dimensional matrix square root adds seconds).
    await Deno.remove(dir, { recursive: true });
  },
});
