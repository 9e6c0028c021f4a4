// One training run per run folder. Two runs writing the same folder interleave metrics.jsonl
// and leave config.json and the checkpoints of whichever wrote last, so a run holds an
// exclusive lock on `<out>/train.lock` for its whole life.
//
// The lock is the kernel's (flock through FsFile.tryLock), not the file's existence: the
// kernel drops it when its process ends, however it ends (kill -9 included), so a stale lock
// never blocks a run and needs no check of whether a process id is alive, which Deno allows
// only with --allow-all (/proc/PID) or --allow-run (kill). The file records its holder's
// process id and host for the message of the run that is refused, and is removed on release;
// finding a record there on taking the lock means its run ended without releasing it.
import { InputError } from "../errors.ts";

const LOCK = "train.lock";

/** This machine's name, or "" where the permission to ask is missing. */
function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "";
  }
}

function describe(text: string): string | undefined {
  try {
    const h = JSON.parse(text);
    if (Number.isSafeInteger(h?.pid) && typeof h.host === "string") {
      return `process ${h.pid} on ${h.host || "an unknown host"}, since ${h.started}`;
    }
  } catch {
    // empty (released) or not ours
  }
  return undefined;
}

/**
 * Takes the run folder's lock, creating the folder if needed, and returns its release. Refuses
 * with an InputError naming the process that holds it.
 */
export async function _lockRun(outDir: string): Promise<() => Promise<void>> {
  const existed = await Deno.stat(outDir).then(() => true, () => false);
  await Deno.mkdir(outDir, { recursive: true });
  const path = `${outDir}/${LOCK}`;
  for (let attempt = 0;; attempt++) {
    const file = await Deno.open(path, { read: true, write: true, create: true });
    let locked = false;
    try {
      locked = await file.tryLock(true);
      const previous = describe(await Deno.readTextFile(path).catch(() => ""));
      if (!locked) {
        throw new InputError(
          `Cannot train in ${outDir}: another training run holds it (${
            previous ?? "a process that is starting"
          }). Wait for it to finish, or choose another --out.`,
        );
      }
      // The holder before us removes the file as it releases it: a lock on a file no longer
      // at the path holds nothing, so open the path again.
      const here = await Deno.stat(path).catch(() => undefined);
      if (here?.ino !== (await file.stat()).ino && attempt < 10) {
        await file.unlock();
        file.close();
        continue;
      }
      if (previous) {
        console.error(`ddpm: took over ${path} from ${previous}, which ended without releasing it`);
      }
      const me = { pid: Deno.pid, host: hostname(), started: new Date().toISOString() };
      await file.truncate(0);
      await file.write(new TextEncoder().encode(JSON.stringify(me) + "\n"));
    } catch (err) {
      if (locked) await file.unlock().catch(() => {});
      file.close();
      throw err;
    }
    return async () => {
      // Removed while still locked, so no process can lock it after us and find it gone.
      try {
        await Deno.remove(path);
      } finally {
        await file.unlock().catch(() => {});
        file.close();
      }
      // A new folder whose start was refused before anything was written is removed again.
      if (!existed) await Deno.remove(outDir).catch(() => {});
    };
  }
}

/** Runs `fn` holding the run folder's lock, releasing it however `fn` ends. */
export async function _withRunLock<T>(outDir: string, fn: () => Promise<T>): Promise<T> {
  const release = await _lockRun(outDir);
  try {
    return await fn();
  } finally {
    await release();
  }
}
