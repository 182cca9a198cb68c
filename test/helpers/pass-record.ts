import type { PassRecord } from "../../src/engine/pass.js";

/** A finished pass's record with nothing read, as a test names it: the key and when, then what it changes. */
export function passRecordOf(scope: string, eventSource: PassRecord["eventSource"], finishedAt: string, extra: Partial<PassRecord> = {}): PassRecord {
  return {
    id: `${scope}-${eventSource}-${finishedAt}`,
    configuration: "mg",
    scope,
    eventSource,
    mode: "stream",
    startedAt: finishedAt,
    finishedAt,
    durationMs: 0,
    read: 0,
    matched: 0,
    changed: 0,
    removed: 0,
    checkpoints: 0,
    actions: {},
    ...extra,
  };
}
