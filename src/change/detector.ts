import type { DataType } from "../records/kinds.js";
import { CHANGE_RULES, type ChangeRule } from "./fingerprints.js";
import type { IdBook } from "./ids.js";

export type Observation = "new" | "changed" | "unchanged" | "unselected";

/**
 * The change decision of a pass, record by record, against the fingerprints last exported: what is new,
 * what changed, what is gone. The fingerprints are updated as records are observed; the caller saves
 * them once what they describe was delivered.
 */
export class ChangeDetector {
  readonly #rule: ChangeRule;
  readonly #seen: Set<number>;
  #dirty = false;

  /** `entries`: id hash → fingerprint last exported; `ids`: the stable ids behind the hashes. */
  constructor(
    dataType: DataType,
    readonly entries: Map<number, number>,
    readonly ids: IdBook,
    seen: Iterable<number> = [],
  ) {
    this.#rule = CHANGE_RULES[dataType];
    this.#seen = new Set(seen);
  }

  /**
   * `hash`: the hash of the record's id (`rawId`, lower-cased only when the record is new).
   * `everything`: a snapshot, where unchanged records go out too.
   */
  observe(hash: number, rawId: string, record: Record<string, unknown>, selected: boolean, everything: boolean): Observation {
    // Only types with removals need to know what was seen.
    if (this.#rule.removable) this.#seen.add(hash);
    if (!selected) {
      // No longer selected: forgotten, so that being selected again later counts as new.
      if (this.entries.delete(hash)) this.#dirty = true;
      return "unselected";
    }
    const fingerprint = this.#rule.fingerprint(record);
    const stored = this.entries.get(hash);
    const kind: Observation = stored === undefined ? "new" : this.#rule.changed(stored, fingerprint) ? "changed" : "unchanged";
    if (kind !== "unchanged" || everything) {
      // Scores keep the value last exported, so that small moves add up until they reach the threshold.
      if (stored !== fingerprint) this.#dirty = true;
      if (stored === undefined) this.ids.add(hash, rawId.toLowerCase());
      this.entries.set(hash, fingerprint);
    }
    return kind;
  }

  /** Stable ids of records that are gone (for the types that export removals), removed from the fingerprints. */
  removals(): string[] {
    if (!this.#rule.removable) return [];
    const gone = this.ids.select((hash) => !this.#seen.has(hash) && this.entries.delete(hash));
    if (gone.length > 0) this.#dirty = true;
    return gone;
  }

  get seen(): ReadonlySet<number> {
    return this.#seen;
  }

  /** Whether the fingerprints differ from those loaded: an unchanged pass need not write its state. */
  get dirty(): boolean {
    return this.#dirty;
  }
}
