// Compares ddpm's FID Inception with the same network in PyTorch (bench/inception_reference.py,
// Debian's python3-torch): seeded random weights saved by torch in its legacy format, read by
// ddpm's torch reader, pool3 features (pytorch-fid's preprocessing) and unbiased logits
// (torch-fidelity's) of three images, per backend. Never part of the tests.
// Run: deno run -A bench/inception_vs_pytorch.ts [--backends wasm,onednn]
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { type BackendName, setBackend } from "../src/backends/set_backend.ts";
import { decodeNpy } from "../src/formats/npy.ts";
import { InceptionV3 } from "../src/metrics/inception.ts";

const { values } = parseArgs({ options: { backends: { type: "string", default: "wasm,onednn" } } });
const dir = await Deno.makeTempDir({ prefix: "ddpm_inception_ref_" });
const script = new URL("./inception_reference.py", import.meta.url).pathname;
const py = await new Deno.Command("/usr/bin/python3", { args: [script, dir] }).output();
if (py.code !== 0) {
  console.error(new TextDecoder().decode(py.stderr));
  Deno.exit(1);
}
// images.npy holds uint8: read its data after the header.
const raw = await Deno.readFile(`${dir}/images.npy`);
const pixels = raw.subarray(10 + new DataView(raw.buffer).getUint16(8, true));
const pool = decodeNpy(await Deno.readFile(`${dir}/pool.npy`)).data;
const logits = decodeNpy(await Deno.readFile(`${dir}/logits_unbiased.npy`)).data;
console.log("| backend | pool3 max abs err / max abs | logits max abs err / max abs |");
console.log("|---|---|---|");
for (const backend of values.backends!.split(",") as BackendName[]) {
  await setBackend(backend);
  const net = await InceptionV3.load(`${dir}/random_legacy.pth`);
  const x = tf.tensor4d(Float32Array.from(pixels), [3, 32, 32, 3]);
  const rel = (got: ArrayLike<number>, want: Float64Array) => {
    let err = 0, max = 0;
    for (let i = 0; i < want.length; i++) {
      err = Math.max(err, Math.abs(got[i] - want[i]));
      max = Math.max(max, Math.abs(want[i]));
    }
    return (err / max).toExponential(2);
  };
  const a = net.features(x);
  const b = net.features(x, { preprocess: "torch-fidelity" });
  console.log(
    `| ${tf.getBackend()} | ${rel(await a.pool.data(), pool)} | ${
      rel(await b.logitsUnbiased.data(), logits)
    } |`,
  );
  tf.dispose([x, a.pool, a.logitsUnbiased, b.pool, b.logitsUnbiased]);
  net.dispose();
}
await Deno.remove(dir, { recursive: true });
