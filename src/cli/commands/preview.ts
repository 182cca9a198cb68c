import { customTableName, EVENT_HUB_FORMATS, toEventWithin, toLogAnalyticsRow, type EventHubFormat } from "../../mapping/index.js";
import { selectRecords, type SelectedRecord, type SelectionNotice } from "../../engine/select.js";
import { isSnapshotSource } from "../../records/index.js";
import { compileConfiguration } from "../../rules/index.js";
import { loadConfiguration, report, UsageError, type Command } from "../command.js";
import { inputSources, readRecords, type RecordOrigin } from "../input.js";
import { EXIT_BAD_INPUT, EXIT_OK, writeErr, writeOut } from "../io.js";

export const preview: Command = {
  name: "preview",
  summary: "show which records a configuration would export",
  options: { config: { type: "string", short: "c" }, format: { type: "string", short: "f" }, "event-hub-format": { type: "string" } },
  help: `Usage: defender-export preview --config <config.json> [--format api|log-analytics|event-hub] [FILE | DIR ...]

Applies the configuration's rules to records dumped from the Microsoft.Security API and prints
one NDJSON line per record it would export, per matching event source:
  {"eventSource": "Alerts", "id": "<the record's ARM id, lower-cased>", "body": {...}}

Input (stdin when no file is given; a directory stands for its .json/.ndjson/.jsonl files):
NDJSON, a JSON array, or an ARM list body {"value": [...]}. Each record's type is told by its
ARM "type". Assessment metadata records (Microsoft.Security/assessmentMetadata) in the input are
joined to assessments by name, so that severity rules see properties.metadata.severity; give
the metadata first to keep memory flat. Records of an unknown type are skipped with a warning.
A malformed input line is an error naming the file and line (exit 2).

--format says what each destination would receive, one line per record:
  api (default)   {"eventSource", "id", "body"}: the record as the API returns it
  log-analytics   {"eventSource", "id", "table", "body"}: the row of its <Table>_CL table,
                  cut to 32 KB when over (IsTruncated, TruncatedColumns)
  event-hub       the Event Hubs message body; --event-hub-format defender (default: the
                  built-in export's shapes), api, or xdr (the Defender XDR envelope)

Examples:
  defender-export preview --config examples/policy-defaults.json examples/records
  defender-export preview -c examples/policy-defaults.json -f log-analytics examples/records
  az rest --uri ".../providers/Microsoft.Security/alerts?api-version=2022-01-01" | defender-export preview -c my-export.json`,
  async run(values, positionals, io) {
    const configPath = values["config"];
    if (typeof configPath !== "string") throw new UsageError("preview needs --config <config.json>");
    const result = await loadConfiguration(configPath, io);
    report(io, "warning", result.warnings);
    if (!result.ok) {
      report(io, "error", result.errors);
      return EXIT_BAD_INPUT;
    }
    const format = values["format"] ?? "api";
    if (format !== "api" && format !== "log-analytics" && format !== "event-hub") throw new UsageError(`--format ${JSON.stringify(format)}: expected api, log-analytics or event-hub`);
    const eventHubFormat = values["event-hub-format"] ?? "defender";
    if (!EVENT_HUB_FORMATS.includes(eventHubFormat as EventHubFormat)) throw new UsageError(`--event-hub-format ${JSON.stringify(eventHubFormat)}: expected ${EVENT_HUB_FORMATS.join(", ")}`);
    const rules = compileConfiguration(result.configuration);
    const sources = await inputSources(positionals, io.stdin);
    const notify = (notice: SelectionNotice, origin: RecordOrigin) => writeErr(io, `warning: ${origin.file}:${origin.line}: ${describeNotice(notice)}`);
    const exportedAt = new Date().toISOString();
    const render = (selected: SelectedRecord): string | undefined => {
      if (format === "api") return JSON.stringify(selected);
      const input = { record: selected.body as Record<string, unknown>, eventSource: selected.eventSource, id: selected.id, isSnapshot: isSnapshotSource(selected.eventSource), action: "Insert" as const, exportedAt };
      if (format === "event-hub") {
        // 1 MB, the Standard tier's limit; the destination uses the hub's own.
        const event = toEventWithin(input, 1_048_576, { format: eventHubFormat as EventHubFormat });
        return JSON.stringify(event.event.body);
      }
      const row = toLogAnalyticsRow(input);
      if (row === undefined) {
        writeErr(io, `warning: ${selected.id}: ${selected.eventSource} has no Log Analytics table; skipped`);
        return undefined;
      }
      if (!row.ok) {
        writeErr(io, `warning: ${selected.id}: ${row.reason}; skipped`);
        return undefined;
      }
      return JSON.stringify({ eventSource: selected.eventSource, id: selected.id, table: customTableName(row.table.table), body: row.row });
    };
    for await (const selected of selectRecords(rules, readRecords(sources), notify)) {
      const line = render(selected);
      if (line !== undefined && !(await writeOut(io.stdout, `${line}\n`))) break;
    }
    return EXIT_OK;
  },
};

function describeNotice(notice: SelectionNotice): string {
  switch (notice.kind) {
    case "unknownType":
      return notice.type === undefined ? "a record without an ARM type is skipped" : `a record of unknown type ${JSON.stringify(notice.type)} is skipped`;
    case "notExportedType":
      return `${notice.type} records are not exported (no event source reads them); skipped`;
    case "missingId":
      return `a ${notice.type} record without an id is skipped (exports need a stable id)`;
    case "missingMetadata":
      return `no assessment metadata for ${notice.id}: evaluated without properties.metadata, so severity rules cannot match it`;
    case "badMetadata":
      return "an assessmentMetadata record without name or properties is skipped";
  }
}
