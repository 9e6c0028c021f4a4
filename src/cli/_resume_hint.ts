// The last line of `deno task train`: how to go on. An interrupted run continues to the total
// it was given, which config.json keeps, so its hint needs no --steps; doubling the steps
// taken (91 of 200 -> 182) would stop it short of what was asked.
import type { TrainResult } from "../train/train_options.ts";

/** The command that continues a run that stopped (interrupted) or trains a finished one longer. */
export function resumeHint(outDir: string, result: Pick<TrainResult, "status" | "step">): string {
  if (result.status === "interrupted") {
    return `continue:   deno task train --out ${outDir} --resume`;
  }
  const more = Math.max(2 * result.step, result.step + 1);
  return `train more: deno task train --out ${outDir} --resume --steps ${more}`;
}
