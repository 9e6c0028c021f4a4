// Removing the temp files that an interrupted atomic write leaves behind (kill -9 or a full
// disk between the write and the rename), so they neither fill the disk nor confuse a resume.

const TEMP = /\.tmp-(\d+)(-[0-9a-f]+)?$/;

/** True when the process that owns a temp file may still be writing it. */
function mayBeAlive(pid: number): boolean {
  if (pid === Deno.pid) return true;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    // Gone, or no /proc to ask (not Linux, no read permission): treat it as an orphan.
    return false;
  }
}

/**
 * Deletes `*.tmp-PID` files in a run folder and its `checkpoints/` whose writer is gone, and
 * says so on stderr. Returns the paths removed.
 */
export async function _sweepTempFiles(runDir: string): Promise<string[]> {
  return await _sweepTempFilesIn([runDir, `${runDir}/checkpoints`]);
}

/**
 * Deletes the `*.tmp-PID` files of dead writers in the given folders (missing ones are
 * skipped), saying so on stderr. With `minAgeMs`, only files not modified for that long: for a
 * folder other machines may write to, whose process ids mean nothing here.
 */
export async function _sweepTempFilesIn(
  dirs: string[],
  opts: { minAgeMs?: number } = {},
): Promise<string[]> {
  const { minAgeMs } = opts;
  const removed: string[] = [];
  for (const dir of dirs) {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
        continue;
      }
      throw err;
    }
    for (const entry of entries) {
      const m = TEMP.exec(entry.name);
      if (!entry.isFile || !m || mayBeAlive(Number(m[1]))) continue;
      if (minAgeMs !== undefined) {
        const mtime = (await Deno.stat(`${dir}/${entry.name}`).catch(() => null))?.mtime;
        if (!mtime || Date.now() - mtime.getTime() < minAgeMs) continue;
      }
      await Deno.remove(`${dir}/${entry.name}`);
      removed.push(`${dir}/${entry.name}`);
    }
  }
  if (removed.length) {
    console.error(
      `ddpm: removed ${removed.length} temp file(s) left by an interrupted write: ` +
        removed.map((p) => p.slice(p.lastIndexOf("/") + 1)).join(", "),
    );
  }
  return removed;
}
