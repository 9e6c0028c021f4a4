// Finding the CIFAR-10 binary batches in what the user passed.

const TRAIN_BATCH = /^data_batch_(\d+)\.bin$/;

/**
 * The batch files of a CIFAR-10 folder: the training batches data_batch_1..5.bin in order, or
 * test_batch.bin when it is alone. Looks inside a `cifar-10-batches-bin` subfolder too, so the
 * folder the archive was extracted into works. Empty when the folder holds no batches.
 */
export async function _cifar10Files(dir: string): Promise<string[]> {
  const root = dir.replace(/(.)[/\\]+$/, "$1");
  const names: string[] = [];
  let nested = false;
  for await (const entry of Deno.readDir(root)) {
    if (entry.isDirectory && entry.name === "cifar-10-batches-bin") nested = true;
    else names.push(entry.name);
  }
  const train = names.filter((n) => TRAIN_BATCH.test(n)).sort((a, b) =>
    Number(TRAIN_BATCH.exec(a)![1]) - Number(TRAIN_BATCH.exec(b)![1])
  );
  if (train.length) return train.map((n) => `${root}/${n}`);
  if (names.includes("test_batch.bin")) return [`${root}/test_batch.bin`];
  return nested ? await _cifar10Files(`${root}/cifar-10-batches-bin`) : [];
}
