import type { EventSource } from "../../src/config/index.js";
import type { OutgoingRecord } from "../../src/mapping/index.js";
import { isSnapshotSource } from "../../src/datatypes/index.js";
import { stableId } from "../../src/records/index.js";

export const EXPORTED_AT = "2026-11-22T10:00:00.000Z";

export function input(record: Record<string, unknown>, eventSource: EventSource, overrides: Partial<OutgoingRecord> = {}): OutgoingRecord {
  return { record, eventSource, id: stableId(record)!, isSnapshot: isSnapshotSource(eventSource), action: "Insert", exportedAt: EXPORTED_AT, tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47", ...overrides };
}
