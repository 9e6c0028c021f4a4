/**
 * The one cache every oneDNN primitive kind keeps: built once per key (shape, attributes,
 * precision), refused once per key, freed together.
 *
 * @module
 */
import { UnsupportedByOneDnn } from "./_primitive.ts";

/** Anything holding native handles. */
export interface Disposable {
  /** Frees the native handles. */
  dispose(): void;
}

/** Primitives (or plans of several) by key; `dispose()` frees them all. */
export class PrimitiveCache<T extends Disposable> {
  readonly #items = new Map<string, T>();
  readonly #refused = new Map<string, UnsupportedByOneDnn>();

  /**
   * The item for `key`, made by `make` on first use.
   *
   * @param key Everything the item depends on.
   * @param make Builds it; may throw {@linkcode UnsupportedByOneDnn}.
   * @returns The item.
   * @throws {UnsupportedByOneDnn} at once for a key refused before.
   */
  get(key: string, make: () => T): T {
    let item = this.#items.get(key);
    if (item) return item;
    // A key oneDNN refused once is refused at once afterwards: building the descriptor
    // again on every call would cost milliseconds before each fallback.
    const refused = this.#refused.get(key);
    if (refused) throw refused;
    try {
      item = make();
    } catch (err) {
      if (err instanceof UnsupportedByOneDnn) this.#refused.set(key, err);
      throw err;
    }
    this.#items.set(key, item);
    return item;
  }

  /** Items built so far. */
  get size(): number {
    return this.#items.size;
  }

  /** Frees every item and forgets the refusals. */
  dispose(): void {
    for (const item of this.#items.values()) item.dispose();
    this.#items.clear();
    this.#refused.clear();
  }
}
