// Run by background_priority_test.ts in a process of its own with -A (Deno reads /proc/self only
// with all permissions): lowers V8's worker threads' priority as the onednn backend does, then
// prints what /proc says of every thread's nice value, as JSON.
import { lowerV8WorkerPriority } from "../src/backends/onednn/_background_priority.ts";

let reniced: number | string;
try {
  reniced = lowerV8WorkerPriority();
} catch (e) {
  reniced = `${(e as Error).name}: ${(e as Error).message}`;
}
const threads = [...Deno.readDirSync("/proc/self/task")].map((e) => {
  const dir = `/proc/self/task/${e.name}`;
  const stat = Deno.readTextFileSync(`${dir}/stat`);
  // The name in parentheses may hold spaces: fields are counted from its end (nice is the 19th).
  const nice = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
  return { name: Deno.readTextFileSync(`${dir}/comm`).trim(), nice };
});
console.log(JSON.stringify({ reniced, threads }));
