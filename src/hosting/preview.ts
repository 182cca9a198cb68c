import type { Action, ExportConfiguration } from "../config/model.js";
import { OVERFLOW_CONTAINER } from "../destinations/log-analytics.js";
import { previewFor, type DestinationPreview } from "../destinations/preview.js";
import { selectRecords, type Located, type SelectedRecord, type SelectionNotice } from "../engine/select.js";
import type { OutgoingRecord } from "../records/record.js";
import { EVENT_SOURCE_DATA_TYPE, isSnapshotSource } from "../datatypes/registry.js";
import { compileConfiguration } from "../rules/configuration.js";
import type { ArmReader } from "../sources/reader.js";

export interface PreviewOptions<Origin> {
  /** The destinations to map each record for; none for the records as selected. */
  actions: readonly Action[];
  exportedAt: string;
  /** The hub's advertised maximum message size; a Standard hub's when not known. */
  eventHubMaxMessageBytes?: number;
  notify: (notice: SelectionNotice, origin: Origin) => void;
}

/**
 * A dry run, the one the API and the CLI both show: the records the configuration's rules select, each with
 * what every given destination would receive, made by the functions the sinks send with. Nothing is sent.
 */
export async function* previewRecords<Origin>(
  configuration: ExportConfiguration,
  records: AsyncIterable<Located<Origin>>,
  options: PreviewOptions<Origin>,
): AsyncGenerator<{ selected: SelectedRecord; destinations: DestinationPreview[] }> {
  const rules = compileConfiguration(configuration);
  for await (const selected of selectRecords(rules, records, options.notify)) {
    const input: OutgoingRecord = {
      record: selected.body as Record<string, unknown>,
      eventSource: selected.eventSource,
      id: selected.id,
      isSnapshot: isSnapshotSource(selected.eventSource),
      action: "Insert",
      exportedAt: options.exportedAt,
    };
    const maxMessageSize = options.eventHubMaxMessageBytes;
    yield {
      selected,
      destinations: options.actions.map((action) => previewFor(input, action, { overflowContainer: OVERFLOW_CONTAINER, ...(maxMessageSize !== undefined ? { maxMessageSize } : {}) })),
    };
  }
}

/** The configuration's records read live, up to `limit` per scope and data type. */
export async function* liveRecords(reader: ArmReader, configuration: ExportConfiguration, limit: number): AsyncGenerator<Located<number>> {
  let n = 0;
  const seen = new Set<string>();
  for (const scope of configuration.scopes) {
    for (const s of configuration.sources) {
      const dataType = EVENT_SOURCE_DATA_TYPE[s.eventSource];
      if (seen.has(`${scope.scopePath}|${dataType}`)) continue;
      seen.add(`${scope.scopePath}|${dataType}`);
      let taken = 0;
      for await (const item of reader.list(scope.scopePath, dataType, undefined, configuration.reader)) {
        yield { record: item.record, origin: n++ };
        if (++taken >= limit) break;
      }
    }
  }
}

export async function* fromArray(records: readonly unknown[]): AsyncGenerator<Located<number>> {
  for (let i = 0; i < records.length; i++) yield { record: records[i], origin: i };
}
