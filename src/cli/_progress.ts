// Progress on stderr: a redrawn bar on a terminal, a plain line every so often otherwise.

const encoder = new TextEncoder();

/** Formats seconds as h:mm:ss or m:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(sec).padStart(2, "0")}`;
}

/** Formats a number of bytes as B, kB, MB or GB (powers of 1000, as huggingface_hub shows). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let i = -1;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(1)} ${units[i]}`;
}

/** A progress reporter over `total` units of work. */
export class Progress {
  #total: number;
  #label: string;
  #unit: string;
  #start = performance.now();
  #startDone: number;
  #tty: boolean;
  #lastPrint = 0;
  #every: number;
  #format: (n: number) => string;

  constructor(
    total: number,
    opts: {
      label: string;
      unit?: string;
      done?: number;
      every?: number;
      /** Shows amounts and rates (e.g. as bytes); then `unit` is not shown. */
      format?: (n: number) => string;
    },
  ) {
    this.#total = total;
    this.#format = opts.format ?? String;
    this.#label = opts.label;
    this.#unit = opts.unit ?? "it";
    this.#startDone = opts.done ?? 0;
    this.#tty = Deno.stderr.isTerminal();
    this.#every = opts.every ?? Math.max(1, Math.round(total / 10));
  }

  /** Reports that `done` units are finished; `extra` is appended (e.g. "loss 0.031"). */
  update(done: number, extra = ""): void {
    const elapsed = (performance.now() - this.#start) / 1000;
    // No rate until some work has been timed.
    const rate = done > this.#startDone ? (done - this.#startDone) / elapsed : NaN;
    const eta = (this.#total - done) / rate;
    const f = this.#format;
    const known = Number.isFinite(rate);
    const rateText = f === String
      ? `${known ? rate.toFixed(2) : "-"} ${this.#unit}`
      : (known ? f(rate) : "-");
    const stats = `${f(done)}/${f(this.#total)} ${rateText}/s ETA ${formatDuration(eta)}${
      extra ? ` ${extra}` : ""
    }`;
    if (this.#tty) {
      const width = 24;
      const filled = Math.round((done / this.#total) * width);
      const bar = "#".repeat(filled) + "-".repeat(width - filled);
      Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${this.#label} [${bar}] ${stats}`));
      if (done >= this.#total) Deno.stderr.writeSync(encoder.encode("\n"));
    } else if (done - this.#lastPrint >= this.#every || done >= this.#total) {
      this.#lastPrint = done;
      console.error(`${this.#label} ${stats}`);
    }
  }

  /** Seconds since the reporter was made. */
  get elapsed(): number {
    return (performance.now() - this.#start) / 1000;
  }
}
