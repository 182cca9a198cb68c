import type { EventHubAction } from "../../config/model.js";
import type { DestinationPreview } from "../../destinations/preview.js";
import { EVENT_HUB_FORMATS, FINDINGS_SHAPES, type EventHubFormat, type FindingsShape } from "../../config/enums.js";
import type { SelectedRecord, SelectionNotice } from "../../engine/select.js";
import { previewRecords } from "../../hosting/preview.js";
import { loadConfiguration, report, UsageError, type Command } from "../command.js";
import { inputSources, readRecords, type RecordOrigin } from "../input.js";
import { EXIT_BAD_INPUT, EXIT_OK, writeErr, writeOut } from "../io.js";

export const preview: Command = {
  name: "preview",
  summary: "show which records a configuration would export",
  options: {
    config: { type: "string", short: "c" },
    format: { type: "string", short: "f" },
    "event-hub-format": { type: "string" },
    "findings-shape": { type: "string" },
    "event-hub-max-bytes": { type: "string" },
  },
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
                  cut to 32 KB when over (IsTruncated, TruncatedColumns, OverflowBlob)
  event-hub       the Event Hubs message body, cut to a Standard hub's limit as the export
                  cuts it; in the configuration's first EventHub action's format and findings
                  shape, or --event-hub-format defender (the built-in export's shapes), api or
                  xdr (the Defender XDR envelope), and --findings-shape camel or pascal;
                  --event-hub-max-bytes: the hub's maximum message size (262144 on Basic)
The same functions make these lines as the export sends with, so they are what it would send.

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
    const configured = result.configuration.actions.find((a): a is EventHubAction => a.actionType === "EventHub");
    const eventHubFormat = values["event-hub-format"] ?? configured?.format ?? "defender";
    if (!EVENT_HUB_FORMATS.includes(eventHubFormat as EventHubFormat)) throw new UsageError(`--event-hub-format ${JSON.stringify(eventHubFormat)}: expected ${EVENT_HUB_FORMATS.join(", ")}`);
    const findingsShape = values["findings-shape"] ?? configured?.findingsShape ?? "camel";
    if (!FINDINGS_SHAPES.includes(findingsShape as FindingsShape)) throw new UsageError(`--findings-shape ${JSON.stringify(findingsShape)}: expected ${FINDINGS_SHAPES.join(" or ")}`);
    const hub: EventHubAction = { actionType: "EventHub", format: eventHubFormat as EventHubFormat, findingsShape: findingsShape as FindingsShape };
    const maxBytes = values["event-hub-max-bytes"] === undefined ? undefined : Number(values["event-hub-max-bytes"]);
    if (maxBytes !== undefined && (!Number.isInteger(maxBytes) || maxBytes < 4096))
      throw new UsageError(`--event-hub-max-bytes ${JSON.stringify(values["event-hub-max-bytes"])}: expected a whole number of bytes, 4096 or more`);
    const destination = format === "event-hub" ? hub : format === "log-analytics" ? ({ actionType: "Workspace" } as const) : undefined;
    const sources = await inputSources(positionals, io.stdin);
    const previews = previewRecords(result.configuration, readRecords(sources), {
      actions: destination === undefined ? [] : [destination],
      exportedAt: new Date().toISOString(),
      ...(maxBytes !== undefined ? { eventHubMaxMessageBytes: maxBytes } : {}),
      notify: (notice: SelectionNotice, origin: RecordOrigin) => writeErr(io, `warning: ${origin.file}:${origin.line}: ${describeNotice(notice)}`),
    });
    const render = (selected: SelectedRecord, shown: DestinationPreview | undefined): string | undefined => {
      if (shown === undefined) return JSON.stringify(selected);
      if ("skipped" in shown) {
        writeErr(io, `warning: ${selected.id}: ${shown.skipped}; skipped`);
        return undefined;
      }
      if ("event" in shown) return JSON.stringify(shown.event);
      if ("row" in shown) return JSON.stringify({ eventSource: selected.eventSource, id: selected.id, table: shown.table, body: shown.row });
      return undefined;
    };
    for await (const { selected, destinations } of previews) {
      const line = render(selected, destinations[0]);
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
