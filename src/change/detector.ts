import type { DataType } from "../datatypes/registry.js";
import type { ExportEntries, UnseenVerdict } from "./entries.js";
import type { ChangeRule } from "../datatypes/change-rule.js";
import { CHANGE_RULES } from "./fingerprints.js";

export type Observation = "new" | "changed" | "unchanged" | "unselected";

/**
 * The change decision of a pass, record by record, against the fingerprints last exported: what is new,
 * what changed, what is gone. The fingerprints are updated as records are observed; the caller saves
 * them once what they describe was delivered.
 */
export class ChangeDetector {
  readonly #rule: ChangeRule;
  #dirty = false;

  /** `entries`: id hash → fingerprint last exported, with the stable ids; `seen`: what a stopped pass had seen. */
  constructor(
    dataType: DataType,
    readonly entries: ExportEntries,
    seen: Iterable<number> = [],
  ) {
    this.#rule = CHANGE_RULES[dataType];
    entries.markSeen(seen);
  }

  /**
   * `hash`: the hash of the record's id (`rawId`, lower-cased only when the record is new).
   * `everything`: a snapshot, where unchanged records go out too.
   */
  observe(hash: number, rawId: string, record: Record<string, unknown>, selected: boolean, everything: boolean): Observation {
    const slot = this.entries.find(hash);
    if (!selected) {
      // No longer selected: forgotten, so that being selected again later counts as new.
      if (slot >= 0) {
        this.entries.deleteAt(slot);
        this.#dirty = true;
      }
      return "unselected";
    }
    if (slot >= 0) this.entries.seeAt(slot);
    const fingerprint = this.#rule.fingerprint(record);
    const stored = slot < 0 ? undefined : this.entries.fingerprintAt(slot);
    const kind: Observation = stored === undefined ? "new" : this.#rule.changed(stored, fingerprint) ? "changed" : "unchanged";
    if (kind !== "unchanged" || everything) {
      // Scores keep the value last exported, so that small moves add up until they reach the threshold.
      if (stored === undefined) {
        this.entries.add(hash, rawId.toLowerCase(), fingerprint);
        this.#dirty = true;
      } else if (!Object.is(stored, fingerprint)) {
        this.entries.setAt(slot, fingerprint);
        this.#dirty = true;
      }
    }
    return kind;
  }

  /**
   * Stable ids of records that are gone (for the types that export removals), removed from the fingerprints.
   * `verdict` may keep some unseen (a subscription that left a management group) or forget them unsent (one
   * that left longer ago than the retention); for types without removals only forgetting applies.
   */
  async removals(verdict?: (id: string) => UnseenVerdict): Promise<string[]> {
    if (!this.#rule.removable && verdict === undefined) return [];
    const before = this.entries.size;
    const gone = await this.entries.takeUnseen(this.#rule.removable ? verdict : (id) => (verdict!(id) === "forget" ? "forget" : "keep"));
    if (this.entries.size !== before) this.#dirty = true;
    return gone;
  }

  /** Whether the fingerprints differ from those loaded: an unchanged pass need not write its state. */
  get dirty(): boolean {
    return this.#dirty;
  }
}
