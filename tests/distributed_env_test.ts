// Where a process sits in a parallel job, read from its launcher's environment: the rank and
// size, the threads each rank gets, and the shard of `--shard auto`. Plain functions of the
// environment, so these need no launcher.
import { autoShard } from "../src/distributed/auto_shard.ts";
import { detectLauncher, slurmTasksOnNode } from "../src/distributed/launcher.ts";
import { threadsPerRank } from "../src/distributed/threads_per_rank.ts";
import { assert } from "./_assert.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("detectLauncher() reads Open MPI, MPICH, PMIx and srun, and ignores jobs of one", () => {
  assert.deepEqual(
    detectLauncher(envOf({
      OMPI_COMM_WORLD_RANK: "3",
      OMPI_COMM_WORLD_SIZE: "8",
      OMPI_COMM_WORLD_LOCAL_SIZE: "4",
    })),
    { launcher: "openmpi", rank: 3, size: 8, localSize: 4 },
  );
  assert.deepEqual(
    detectLauncher(envOf({ PMI_RANK: "1", PMI_SIZE: "2", MPI_LOCALNRANKS: "2" })),
    { launcher: "mpich", rank: 1, size: 2, localSize: 2 },
  );
  // srun --mpi=pmix on 3 nodes, 2 tasks on each but the last: this is node 2.
  const srun = {
    SLURM_PROCID: "5",
    SLURM_STEP_NUM_TASKS: "5",
    SLURM_STEP_TASKS_PER_NODE: "2(x2),1",
    SLURM_NODEID: "2",
  };
  assert.equal(detectLauncher(envOf(srun)), undefined, "rank 5 of 5 is out of range");
  assert.deepEqual(
    detectLauncher(envOf({ ...srun, SLURM_PROCID: "4", PMIX_RANK: "4" })),
    { launcher: "pmix", rank: 4, size: 5, localSize: 1 },
  );
  assert.deepEqual(
    detectLauncher(envOf({ ...srun, SLURM_PROCID: "0", SLURM_NODEID: "0" })),
    { launcher: "slurm", rank: 0, size: 5, localSize: 2 },
  );
  // A batch script (no srun step) and a job of one rank train alone.
  assert.equal(detectLauncher(envOf({ SLURM_PROCID: "0", SLURM_NTASKS: "4" })), undefined);
  assert.equal(
    detectLauncher(envOf({ OMPI_COMM_WORLD_RANK: "0", OMPI_COMM_WORLD_SIZE: "1" })),
    undefined,
  );
  assert.equal(detectLauncher(envOf({})), undefined);
});

Deno.test("slurmTasksOnNode() expands Slurm's compressed task counts", () => {
  assert.equal(slurmTasksOnNode("2(x3),1", 0), 2);
  assert.equal(slurmTasksOnNode("2(x3),1", 2), 2);
  assert.equal(slurmTasksOnNode("2(x3),1", 3), 1);
  assert.equal(slurmTasksOnNode("2(x3),1", 4), undefined);
  assert.equal(slurmTasksOnNode("two", 0), undefined);
});

Deno.test("threadsPerRank() shares a machine's cores among its ranks", () => {
  const none = envOf({});
  const info = { launcher: "openmpi" as const, rank: 0, size: 16 };
  assert.equal(threadsPerRank({ ...info, localSize: 2 }, { cores: 2, env: none }), 1);
  assert.equal(threadsPerRank({ ...info, localSize: 4 }, { cores: 64, env: none }), 16);
  assert.equal(threadsPerRank({ ...info, localSize: 3 }, { cores: 8, env: none }), 2);
  // Without a local count every rank is assumed to be here; never below one thread.
  assert.equal(threadsPerRank(info, { cores: 8, env: none }), 1);
  assert.equal(
    threadsPerRank(info, { cores: 64, env: envOf({ SLURM_CPUS_PER_TASK: "7" }) }),
    7,
  );
});

Deno.test("autoShard() takes the shard from a job array, an Indexed Job or the MPI rank", () => {
  // --array=10-20:5 runs tasks 10, 15, 20: task 15 is shard 1 of 3.
  assert.deepEqual(
    autoShard({
      env: envOf({
        SLURM_ARRAY_TASK_ID: "15",
        SLURM_ARRAY_TASK_MIN: "10",
        SLURM_ARRAY_TASK_STEP: "5",
        SLURM_ARRAY_TASK_COUNT: "3",
      }),
    }),
    { index: 1, count: 3, source: "SLURM_ARRAY_TASK_ID" },
  );
  assert.deepEqual(
    autoShard({ count: 4, env: envOf({ JOB_COMPLETION_INDEX: "2" }) }),
    { index: 2, count: 4, source: "JOB_COMPLETION_INDEX" },
  );
  assert.throws(
    () => autoShard({ env: envOf({ JOB_COMPLETION_INDEX: "2" }) }),
    /pass --shard-count/,
  );
  assert.deepEqual(
    autoShard({ env: envOf({ PMI_RANK: "1", PMI_SIZE: "3" }) }),
    { index: 1, count: 3, source: "the mpich rank" },
  );
  assert.throws(
    () => autoShard({ count: 2, env: envOf({ JOB_COMPLETION_INDEX: "2" }) }),
    /shard 2 of 2; the index must be below the count/,
  );
  assert.throws(() => autoShard({ env: envOf({}) }), /give --shard K\/N/);
});
