import { createHash } from "node:crypto";
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
}

/** Scores move in hundredths; floating-point subtraction must not hide a move of exactly 0.01. */
export const SCORE_THRESHOLD = 0.01;
const EPSILON = 1e-9;

function get(value: unknown, ...path: string[]): unknown {
  let v = value;
  for (const key of path) v = typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json)[key] : undefined;
  return v;
}

/** A 48-bit hash of the fields that count (exact in a double; a missed change is a 1-in-2^48 chance). */
function hashOf(...parts: unknown[]): number {
  const digest = createHash("sha256").update(JSON.stringify(parts)).digest();
  return digest.readUIntBE(0, 6);
}

const exact = (stored: number, current: number) => stored !== current;

const score = (record: Json) => {
  const current = get(record, "properties", "score", "current");
  return typeof current === "number" && Number.isFinite(current) ? current : Number.NaN;
};

export const CHANGE_RULES: Readonly<Record<DataType, ChangeRule>> = {
  alert: {
    fingerprint: (r) => hashOf(get(r, "properties", "status"), get(r, "properties", "severity")),
    changed: exact,
    removable: false,
  },
  assessment: {
    fingerprint: (r) => hashOf(get(r, "properties", "status", "code")),
    changed: exact,
    removable: true,
  },
  subAssessment: {
    fingerprint: (r) => hashOf(get(r, "properties", "status", "code")),
    changed: exact,
    removable: true,
  },
  secureScore: { fingerprint: score, changed: scoreMoved, removable: false },
  secureScoreControl: { fingerprint: score, changed: scoreMoved, removable: false },
  regulatoryComplianceAssessment: {
    fingerprint: (r) => hashOf(get(r, "properties", "state"), get(r, "properties", "passedResources"), get(r, "properties", "failedResources"), get(r, "properties", "skippedResources")),
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
