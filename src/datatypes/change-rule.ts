import { get, type Json } from "../records/record.js";
import { CYRB53_A, CYRB53_B, CYRB53_SEED1, CYRB53_SEED2, cyrb53Finish } from "../shared/cyrb53.js";

/**
 * What counts as a change for a data type (each one's own rule is in src/datatypes/). A record is exported
 * in a streaming pass when it is new, or when its fingerprint differs from the one last exported.
 */
export type ChangeRule = {
  /** The fields that count; for scores the number itself, compared with the threshold. */
  fingerprint(record: Json): number;
  /** Whether a record with this stored fingerprint and this new one is a change worth exporting. */
  changed(stored: number, current: number): boolean;
  /**
   * When the change being exported happened at the source (ms since the epoch), where the record says: an
   * alert's or a finding's generation time dates it only when it is new (a status change has no date).
   */
  changedAt?(record: Json, isNew: boolean): number | undefined;
} & (
  | { /** A record that disappears is forgotten silently. */ removable: false }
  | {
      /** A record that disappears is exported once as removed. */
      removable: true;
      /** What is exported for it: all that is known is its id (lower-cased, as the state keeps it). */
      removedRecord(id: string): Json;
    }
);

/** A date field of the record's properties, as ms since the epoch. */
export function dateAt(a: string, b?: string): (record: Json) => number | undefined {
  return (record) => {
    const value = get(record, "properties", a, b);
    const ms = typeof value === "string" ? Date.parse(value) : Number.NaN;
    return Number.isFinite(ms) ? ms : undefined;
  };
}

/** Any difference is a change. */
export const differs = (stored: number, current: number) => stored !== current;

/** Scores move in hundredths; floating-point subtraction must not hide a move of exactly 0.01. */
export const SCORE_THRESHOLD = 0.01;
const EPSILON = 1e-9;

/** Compared with the score last exported, so that small moves add up until they reach the threshold. */
export function scoreMoved(stored: number, current: number): boolean {
  if (Number.isNaN(stored) !== Number.isNaN(current)) return true;
  if (Number.isNaN(current)) return false;
  return Math.abs(current - stored) >= SCORE_THRESHOLD - EPSILON;
}

/**
 * A 53-bit hash of the fields that count (exact in a double): cyrb53, a public-domain, non-cryptographic
 * hash, fast enough for every record of every pass; a change goes unseen with a chance of 1 in 2^53.
 */
export function fieldsHash(a: unknown, b?: unknown, c?: unknown, d?: unknown): number {
  // Most rules have one field: no separators to build for the others.
  const text = b === undefined && c === undefined && d === undefined ? part(a) : `${part(a)}\u0001${part(b)}\u0001${part(c)}\u0001${part(d)}`;
  let h1 = CYRB53_SEED1;
  let h2 = CYRB53_SEED2;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, CYRB53_A);
    h2 = Math.imul(h2 ^ ch, CYRB53_B);
  }
  return cyrb53Finish(h1, h2);
}

function part(value: unknown): string {
  return typeof value === "string" ? value : value === undefined ? "~" : (JSON.stringify(value) ?? "~");
}

/** A removed recommendation or finding: its status says Removed, as the built-in export's does. */
export function removedWithStatus(type: string): (id: string) => Json {
  return (id) => ({ id, name: id.split("/").pop() ?? id, type, properties: { status: { code: "Removed" } } });
}
