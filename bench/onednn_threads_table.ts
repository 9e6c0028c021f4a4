// oneDNN's convolution primitives at cifar10 layer shapes (batch 8, 3x3, NHWC) on one OpenMP
// thread and on all, in fp32 and bf16: whether each gains from the other cores, which decides
// the thread count src/backends/onednn/_conv.ts creates it under. Alternating rounds, medians.
//
//   deno run -A bench/onednn_threads_table.ts [--rounds 5]
import { parseArgs } from "node:util";
import { DNNL, openOneDnn } from "../src/backends/onednn/_lib.ts";
import { dimsBuffer, mdByTag, Primitive } from "../src/backends/onednn/_primitive.ts";

const { values: flags } = parseArgs({ options: { rounds: { type: "string", default: "5" } } });
const rt = openOneDnn();
// [batch, size, in channels, out channels]
const SHAPES = [[8, 32, 128, 128], [8, 16, 256, 256], [8, 8, 256, 256], [8, 32, 256, 128]];
type Pass = "forward" | "backward data" | "backward weights";

/** The primitive of one pass, created (and so split) under `threads`, with its buffers. */
function build(shape: number[], dt: number, pass: Pass, threads: number) {
  const [n, s, ci, co] = shape;
  const nhwc = (c: number, t: number) => mdByTag(rt, [n, c, s, s], DNNL.TAG_NHWC, t);
  const anyW = (t: number) => mdByTag(rt, [co, ci, 3, 3], DNNL.TAG_ANY, t);
  const one = dimsBuffer([1, 1]);
  const fdesc = new Uint8Array(DNNL.OP_DESC_BYTES);
  rt.fn.dnnl_convolution_forward_desc_init(
    fdesc,
    DNNL.FORWARD_TRAINING,
    DNNL.CONVOLUTION_DIRECT,
    nhwc(ci, dt),
    anyW(dt),
    null,
    nhwc(co, DNNL.F32),
    one,
    one,
    one,
  );
  const fwd = new Primitive(rt, fdesc, { threads });
  let prim = fwd, args: [number, number][];
  if (pass === "forward") {
    args = [[DNNL.ARG_SRC, DNNL.QUERY_SRC_MD], [DNNL.ARG_WEIGHTS, DNNL.QUERY_WEIGHTS_MD], [
      DNNL.ARG_DST,
      DNNL.QUERY_DST_MD,
    ]];
  } else {
    const desc = new Uint8Array(DNNL.OP_DESC_BYTES);
    if (pass === "backward data") {
      rt.fn.dnnl_convolution_backward_data_desc_init(
        desc,
        DNNL.CONVOLUTION_DIRECT,
        nhwc(ci, DNNL.F32),
        anyW(dt),
        nhwc(co, dt),
        one,
        one,
        one,
      );
      args = [[DNNL.ARG_DIFF_DST, DNNL.QUERY_DIFF_DST_MD], [
        DNNL.ARG_WEIGHTS,
        DNNL.QUERY_WEIGHTS_MD,
      ], [DNNL.ARG_DIFF_SRC, DNNL.QUERY_DIFF_SRC_MD]];
    } else {
      rt.fn.dnnl_convolution_backward_weights_desc_init(
        desc,
        DNNL.CONVOLUTION_DIRECT,
        nhwc(ci, dt),
        anyW(DNNL.F32),
        null,
        nhwc(co, dt),
        one,
        one,
        one,
      );
      args = [[DNNL.ARG_SRC, DNNL.QUERY_SRC_MD], [DNNL.ARG_DIFF_DST, DNNL.QUERY_DIFF_DST_MD], [
        DNNL.ARG_DIFF_WEIGHTS,
        DNNL.QUERY_DIFF_WEIGHTS_MD,
      ]];
    }
    prim = new Primitive(rt, desc, { hint: fwd, threads });
  }
  for (const [arg, query] of args) prim.arg(arg, prim.queryMd(query));
  // bf16 ones as 16-bit patterns (0x3f80 = 1.0), f32 ones as floats: the values do not matter.
  const buffers = args.map((_, i) => new Float32Array(prim.elements(i)).fill(1));
  return { prim, buffers, impl: prim.impl, flops: 2 * n * s * s * ci * co * 9 };
}

const median = (a: number[]) => a.toSorted((p, q) => p - q)[a.length >> 1];
console.log(
  `| shape | pass | type | implementation | 1 thread ms | ${rt.maxThreads} threads ms | speed-up |`,
);
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const shape of SHAPES) {
  for (const pass of ["forward", "backward data", "backward weights"] as Pass[]) {
    for (const [name, dt] of [["fp32", DNNL.F32], ["bf16", DNNL.BF16]] as const) {
      const runs = [1, rt.maxThreads].map((t) => build(shape, dt, pass, t));
      const times = runs.map(() => [] as number[]);
      for (let r = 0; r < Number(flags.rounds); r++) {
        runs.forEach((run, i) => {
          run.prim.execute(run.buffers);
          const start = performance.now();
          for (let k = 0; k < 3; k++) run.prim.execute(run.buffers);
          times[i].push((performance.now() - start) / 3);
        });
      }
      const [a, b] = times.map(median);
      const [n, s, ci, co] = shape;
      console.log(
        `| ${n}x${s}x${s} ${ci}->${co} | ${pass} | ${name} | ${runs[0].impl} | ${a.toFixed(2)} | ` +
          `${b.toFixed(2)} | ${(a / b).toFixed(2)}x |`,
      );
      runs.forEach((run) => run.prim.dispose());
    }
  }
}
