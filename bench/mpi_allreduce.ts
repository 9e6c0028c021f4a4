// The time of one MPI_Allreduce (sum) over a Float32Array the size of a preset's gradients,
// between the ranks of an MPI job. Not a `deno bench` file: it needs a launcher.
//
//   mpirun --allow-run-as-root --oversubscribe -np 2 \
//     deno run --allow-ffi --allow-env bench/mpi_allreduce.ts [floats] [repeats]
//
// Default: 35,746,307 floats, the cifar10 preset's parameter count (143 MB).
import { openMpiCollective } from "../src/distributed/mpi_collective.ts";

const floats = Number(Deno.args[0] ?? 35_746_307);
const repeats = Number(Deno.args[1] ?? 5);
const mpi = openMpiCollective();
const values = new Float32Array(floats).fill(1);
const times: number[] = [];
mpi.allreduceSum(new Float32Array(1)); // start together
for (let i = 0; i < repeats; i++) {
  const t0 = performance.now();
  mpi.allreduceSum(values);
  times.push((performance.now() - t0) / 1000);
}
if (values[0] !== mpi.size ** repeats) throw new Error(`wrong sum ${values[0]}`);
times.sort((a, b) => a - b);
if (mpi.rank === 0) {
  const mb = (floats * 4) / 1e6;
  console.log(
    `allreduce of ${mb.toFixed(0)} MB over ${mpi.size} ranks (${mpi.library}): median ` +
      `${times[times.length >> 1].toFixed(3)} s, min ${times[0].toFixed(3)} s of ${repeats}`,
  );
}
mpi.finalize();
