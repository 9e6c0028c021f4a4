// One training run per run folder. Two runs writing the same folder interleave metrics.jsonl
// and leave config.json and the checkpoints of whichever wrote last, so a run holds
// `<out>/train.lock` (created with createNew, so exactly one process wins) for its whole life.
// A lock whose process is gone (kill -9, a crash) is taken over, saying so.
import { InputError } from "../errors.ts";

const LOCK = "train.lock";

interface Holder {
  pid: number;
  host: string;
  started: string;
}

/** This machine's name, or "" where the permission to ask is missing. */
function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "";
  }
}

/** True unless /proc says the process is gone (or there is no /proc to ask: assume alive). */
function isAlive(pid: number): boolean {
  if (pid === Deno.pid) return true;
  try {
    Deno.statSync("/proc/self");
  } catch {
    return true;
  }
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

async function readHolder(path: string): Promise<Holder | undefined> {
  try {
    const h = JSON.parse(await Deno.readTextFile(path));
    if (Number.isSafeInteger(h?.pid) && typeof h.host === "string") return h;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw err;
  }
  return undefined;
}

/**
 * Takes the run folder's lock, creating the folder if needed, and returns its release. Refuses
 * with an InputError naming the process that holds it; takes over the lock of a process of
 * this machine that is gone.
 */
export async function _lockRun(outDir: string): Promise<() => Promise<void>> {
  const existed = await Deno.stat(outDir).then(() => true, () => false);
  await Deno.mkdir(outDir, { recursive: true });
  const path = `${outDir}/${LOCK}`;
  const me: Holder = { pid: Deno.pid, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0;; attempt++) {
    try {
      const file = await Deno.open(path, { write: true, createNew: true });
      try {
        await file.write(new TextEncoder().encode(JSON.stringify(me) + "\n"));
      } finally {
        file.close();
      }
      return async () => {
        // Only our own lock: a run that took over a lock it thought stale must keep its own.
        const holder = await readHolder(path).catch(() => undefined);
        if (holder?.pid === me.pid && holder.host === me.host && holder.started === me.started) {
          await Deno.remove(path).catch(() => {});
        }
        // A start refused before writing anything leaves no empty folder behind.
        if (!existed) await Deno.remove(outDir).catch(() => {});
      };
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    let holder: Holder | undefined;
    try {
      holder = await readHolder(path);
    } catch {
      if (attempt < 5) continue; // released between our create and our read: try again
    }
    const stale = holder !== undefined && holder.host === me.host && !isAlive(holder.pid);
    if (!stale || attempt > 0) {
      const who = holder
        ? `process ${holder.pid} on ${holder.host || "an unknown host"}, since ${holder.started}`
        : "a process that is still writing the lock";
      throw new InputError(
        `Cannot train in ${outDir}: another training run holds it (${who}). Wait for it to ` +
          `finish or choose another --out; if that process is gone, delete ${path}.`,
      );
    }
    console.error(
      `ddpm: took over ${path} from process ${holder!.pid}, which is gone (killed or crashed)`,
    );
    await Deno.remove(path).catch(() => {});
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
