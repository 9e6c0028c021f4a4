// Finding the CIFAR-10 binary batches in what the user passed, and reading them.
import { _showName } from "../_terminal_text.ts";
import { DatasetError } from "./dataset_error.ts";

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

const RECORD = 3073;
// Six batches' worth (the whole dataset, 60,000 records, 184 MB) in one file is the most read.
const MAX_RECORDS = 60_000;

/**
 * Reads a CIFAR-10 batch file after checking from its size alone that it is a whole number of
 * records, and at most the whole dataset's worth, so a sparse or mistaken file is not read.
 */
export async function _readCifar10File(path: string): Promise<Uint8Array> {
  const { size } = await Deno.stat(path);
  if (size === 0 || size % RECORD !== 0 || size > MAX_RECORDS * RECORD) {
    throw new DatasetError(
      `Cannot read ${_showName(path)} as CIFAR-10: its ${size} bytes are not ${
        size > MAX_RECORDS * RECORD ? `at most ${MAX_RECORDS}` : "a whole number of"
      } ${RECORD}-byte records (1 label + 3072 pixels); pass the binary version ` +
        `(cifar-10-binary.tar.gz: data_batch_1.bin ... test_batch.bin), not CIFAR-100 or Python`,
    );
  }
  return await Deno.readFile(path);
}
