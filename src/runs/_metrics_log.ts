// Reading and rewinding a run's metrics.jsonl, tolerating what a crash or a full disk leaves:
// a torn last line, or any line that is not a metrics record.
import { _writeFileAtomic } from "../io/_atomic_write.ts";

/** One parsed line: at least a step and a loss (NaN for a skipped step). */
export interface _MetricsRecord {
  step: number;
  loss: number;
  skipped?: boolean;
}

/**
 * Keeps the records of steps <= `step` and rewrites the file through a temp file, dropping
 * lines that do not parse (saying so on stderr). Returns the kept records.
 */
export async function _rewindMetrics(path: string, step: number): Promise<_MetricsRecord[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  const lines = text.split("\n");
  const kept: string[] = [];
  const records: _MetricsRecord[] = [];
  let dropped = 0;
  for (const line of lines) {
    if (!line.trim()) continue;
    let rec: _MetricsRecord | undefined;
    try {
      const parsed = JSON.parse(line);
      // A skipped step logs its non-finite loss as null (what JSON makes of NaN): a record.
      const skipped = parsed?.skipped === true && parsed.loss === null;
      if (Number.isInteger(parsed?.step) && (typeof parsed.loss === "number" || skipped)) {
        rec = skipped ? { ...parsed, loss: NaN } : parsed;
      }
    } catch {
      // torn or garbage; counted below
    }
    if (!rec) dropped++;
    else if (rec.step <= step) {
      kept.push(line);
      records.push(rec);
    }
  }
  if (dropped) {
    console.error(
      `ddpm: dropped ${dropped} unreadable line(s) of ${path} (a write cut short by a crash ` +
        "or a full disk)",
    );
  }
  if (
    kept.length !== lines.filter((l) => l.trim()).length || (text !== "" && !text.endsWith("\n"))
  ) {
    await _writeFileAtomic(path, kept.map((l) => l + "\n").join(""));
  }
  return records;
}
