import { actionKey } from "../config/action-key.js";
import type { Action } from "../config/model.js";
import { customTableName } from "../records/columns.js";
import { toEvent } from "../mapping/eventhub.js";
import { eventBody, toEventWithin } from "../mapping/to-event.js";
import { toLogAnalyticsRow } from "../mapping/to-row.js";
import type { OutgoingRecord } from "../records/record.js";
import { eventLimit, eventShape, STANDARD_MAX_MESSAGE_BYTES } from "./event-hubs.js";
import { previewPointer } from "./overflow.js";

/** What one action would receive for a record, as its sink would send it; `skipped` says why it would not. */
export type DestinationPreview = { action: string; actionType: Action["actionType"] } & (
  { table: string; row: Record<string, unknown> } | { event: Record<string, unknown>; cut: string[] } | { body: Record<string, unknown> } | { skipped: string }
);

export interface PreviewOptions {
  /** The container where a cut row's original is kept (`overflow`), as the Log Analytics sink names it. */
  overflowContainer?: string;
  /** The hub's advertised maximum message size; a Standard hub's when not known. */
  maxMessageSize?: number;
}

/**
 * The one mapping per destination that both previews show, made by the same functions the sinks send with:
 * the Log Analytics row (cut to 32 KB, its OverflowBlob named as the sink would), the Event Hubs message (cut
 * to the hub's limit, in the action's format and findings shape), the webhook's event, the blob's XDR record.
 */
export function previewFor(input: OutgoingRecord, action: Action, options: PreviewOptions = {}): DestinationPreview {
  const base = { action: actionKey(action), actionType: action.actionType };
  switch (action.actionType) {
    case "Workspace": {
      const overflow = options.overflowContainer;
      const row = toLogAnalyticsRow(input, overflow === undefined ? {} : { overflowBlob: (record) => previewPointer(overflow, record) });
      if (row === undefined) return { ...base, skipped: `${input.eventSource} has no Log Analytics table` };
      if (!row.ok) return { ...base, skipped: row.reason };
      return { ...base, table: customTableName(row.table.table), row: row.row };
    }
    case "EventHub": {
      const event = toEventWithin(input, eventLimit(options.maxMessageSize ?? STANDARD_MAX_MESSAGE_BYTES, action.format), eventShape(action));
      return event.ok ? { ...base, event: eventBody(event), cut: event.cut } : { ...base, skipped: event.reason };
    }
    case "LogicApp":
      return { ...base, body: toEvent(input).body };
    case "StorageAccount":
      return { ...base, body: toEvent(input, { format: "xdr" }).body };
  }
}
