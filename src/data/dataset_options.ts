/**
 * Options shared by the dataset loaders.
 *
 * @module
 */

/** Options of {@linkcode loadDataset} and the loaders it dispatches to. */
export interface LoadDatasetOptions {
  /** Side of the square images to produce, in pixels (the model's resolution). */
  resolution: number;
  /**
   * Folder for decoded-image caches, or `false` for none. Default: `$DDPM_CACHE_DIR`, else
   * `$XDG_CACHE_HOME/ddpm`, else `~/.cache/ddpm` (`%LOCALAPPDATA%\ddpm` on Windows).
   */
  cacheDir?: string | false;
  /** Called as images are decoded, with the count done and the total. */
  onProgress?: (done: number, total: number) => void;
}
