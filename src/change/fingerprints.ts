import type { DataType } from "../records/kinds.js";

type Json = Record<string, unknown>;

/**
 * What counts as a change, per data type, in one place. A record is exported in a streaming pass when it
 * is new, or when its fingerprint differs from the one last exported:
 * - alerts: status or severity;
 * - recommendations and findings: status (a recommendation's or finding's disappearance is a removal);
 * - secure scores and controls: the score, when it moved by 0.01 or more since its last export;
 * - regulatory compliance: state or resource counts.
 */
export interface ChangeRule {
  /** The fields that count; for scores the number itself, compared with the threshold. */
  fingerprint(record: Json): number;
  /** Whether a record with this stored fingerprint and this new one is a change worth exporting. */
  changed(stored: number, current: number): boolean;
  /** Whether a record that disappears is exported once as removed. */
  removable: boolean;
  /**
   * When the change being exported happened at the source (ms since the epoch), where the record says: an
   * alert's or a finding's generation time dates it only when it is new (a status change has no date).
   */
  changedAt?(record: Json, isNew: boolean): number | undefined;
}

/** A date field of the record's properties, as ms since the epoch. */
function dateAt(...path: string[]): (record: Json) => number | undefined {
  return (record) => {
    let value: unknown = props(record);
    for (const key of path) value = at(value, key);
    const ms = typeof value === "string" ? Date.parse(value) : Number.NaN;
    return Number.isFinite(ms) ? ms : undefined;
  };
}

/** Scores move in hundredths; floating-point subtraction must not hide a move of exactly 0.01. */
export const SCORE_THRESHOLD = 0.01;
const EPSILON = 1e-9;

/** A property of a plain object (no rest parameters: this runs for every record of every pass). */
function at(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json)[key] : undefined;
}
const props = (r: Json): unknown => r["properties"];

/**
 * A 53-bit hash of the fields that count (exact in a double): cyrb53, a public-domain, non-cryptographic
 * hash, fast enough for every record of every pass; a change goes unseen with a chance of 1 in 2^53.
 */
function hashOf(a: unknown, b?: unknown, c?: unknown, d?: unknown): number {
  // Most rules have one field: no separators to build for the others.
  const text = b === undefined && c === undefined && d === undefined ? part(a) : `${part(a)}\u0001${part(b)}\u0001${part(c)}\u0001${part(d)}`;
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

function part(value: unknown): string {
  return typeof value === "string" ? value : value === undefined ? "~" : (JSON.stringify(value) ?? "~");
}

const exact = (stored: number, current: number) => stored !== current;
const timeGeneratedUtc = dateAt("timeGeneratedUtc");
const timeGenerated = dateAt("timeGenerated");

const score = (record: Json) => {
  const current = at(at(props(record), "score"), "current");
  return typeof current === "number" && Number.isFinite(current) ? current : Number.NaN;
};

export const CHANGE_RULES: Readonly<Record<DataType, ChangeRule>> = {
  alert: {
    fingerprint: (r) => hashOf(at(props(r), "status"), at(props(r), "severity")),
    changed: exact,
    removable: false,
    changedAt: (r, isNew) => (isNew ? timeGeneratedUtc(r) : undefined),
  },
  assessment: {
    fingerprint: (r) => hashOf(at(at(props(r), "status"), "code")),
    changed: exact,
    removable: true,
    changedAt: dateAt("status", "statusChangeDate"),
  },
  subAssessment: {
    fingerprint: (r) => hashOf(at(at(props(r), "status"), "code")),
    changed: exact,
    removable: true,
    changedAt: (r, isNew) => (isNew ? timeGenerated(r) : undefined),
  },
  secureScore: { fingerprint: score, changed: scoreMoved, removable: false },
  secureScoreControl: { fingerprint: score, changed: scoreMoved, removable: false },
  regulatoryComplianceAssessment: {
    fingerprint: (r) => hashOf(at(props(r), "state"), at(props(r), "passedResources"), at(props(r), "failedResources"), at(props(r), "skippedResources")),
    changed: exact,
    removable: false,
  },
  attackPath: { fingerprint: (r) => hashOf(r), changed: exact, removable: false },
};

/** Compared with the score last exported, so that small moves add up until they reach the threshold. */
function scoreMoved(stored: number, current: number): boolean {
  if (Number.isNaN(stored) !== Number.isNaN(current)) return true;
  if (Number.isNaN(current)) return false;
  return Math.abs(current - stored) >= SCORE_THRESHOLD - EPSILON;
}
