import type { DataType } from "../records/kinds.js";
import { CHANGE_RULES, type ChangeRule } from "./fingerprints.js";

export type Observation = "new" | "changed" | "unchanged" | "unselected";

/**
 * The change decision of a pass, record by record, against the fingerprints last exported: what is new,
 * what changed, what is gone. The fingerprints are updated as records are observed; the caller saves
 * them once what they describe was delivered.
 */
export class ChangeDetector {
  readonly #rule: ChangeRule;
  readonly #seen: Set<string>;
  #dirty = false;

  constructor(
    dataType: DataType,
    readonly entries: Map<string, number>,
    seen: Iterable<string> = [],
  ) {
    this.#rule = CHANGE_RULES[dataType];
    this.#seen = new Set(seen);
  }

  /** `everything`: a snapshot, where unchanged records go out too. */
  observe(id: string, record: Record<string, unknown>, selected: boolean, everything: boolean): Observation {
    // Only types with removals need to know what was seen.
    if (this.#rule.removable) this.#seen.add(id);
    if (!selected) {
      // No longer selected: forgotten, so that being selected again later counts as new.
      if (this.entries.delete(id)) this.#dirty = true;
      return "unselected";
    }
    const fingerprint = this.#rule.fingerprint(record);
    const stored = this.entries.get(id);
    const kind: Observation = stored === undefined ? "new" : this.#rule.changed(stored, fingerprint) ? "changed" : "unchanged";
    if (kind !== "unchanged" || everything) {
      // Scores keep the value last exported, so that small moves add up until they reach the threshold.
      if (stored !== fingerprint) this.#dirty = true;
      this.entries.set(id, fingerprint);
    }
    return kind;
  }

  /** Ids of records that are gone (for the types that export removals), removed from the fingerprints. */
  *removals(): Generator<string> {
    if (!this.#rule.removable) return;
    // Deleting the entry just visited is safe while a Map is iterated.
    for (const id of this.entries.keys()) {
      if (this.#seen.has(id)) continue;
      this.entries.delete(id);
      this.#dirty = true;
      yield id;
    }
  }

  get seen(): ReadonlySet<string> {
    return this.#seen;
  }

  /** Whether the fingerprints differ from those loaded: an unchanged pass need not write its state. */
  get dirty(): boolean {
    return this.#dirty;
  }
}
