// File helpers shared by the image writers and the dataset cache.

/** Creates the folder a file will be written to. */
export async function _ensureParent(path: string): Promise<void> {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
}
