import type { EventSource } from "../../src/config/enums.js";
import type { OutgoingRecord } from "../../src/records/record.js";
import { isSnapshotSource } from "../../src/datatypes/registry.js";
import { stableId } from "../../src/records/record.js";

export const EXPORTED_AT = "2026-11-22T10:00:00.000Z";

export function input(record: Record<string, unknown>, eventSource: EventSource, overrides: Partial<OutgoingRecord> = {}): OutgoingRecord {
  return {
    record,
    eventSource,
    id: stableId(record)!,
    isSnapshot: isSnapshotSource(eventSource),
    action: "Insert",
    exportedAt: EXPORTED_AT,
    tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
    ...overrides,
  };
}
