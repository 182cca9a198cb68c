import type { ParseArgsConfig } from "node:util";
import { actionKey, destinationPolicyFromEnv, parseExportConfiguration, type ExportConfiguration, toPublicConfiguration, type ConfigurationResult, type Problem } from "../config/index.js";
import { selectRecords, type SelectionNotice } from "../engine/select.js";
import { compileConfiguration } from "../rules/index.js";
import type { DataType } from "../records/index.js";
import { ArmReader, armEndpointFrom, defaultCredential, READABLE_DATA_TYPES, type ReadableDataType } from "../sources/index.js";
import { CSV_COLUMNS, csvLine, csvRow } from "./csv.js";
import { customTableName, EVENT_HUB_FORMATS, toEventWithin, toLogAnalyticsRow, type EventHubFormat } from "../mapping/index.js";
import { isSnapshotSource } from "../records/index.js";
import type { SelectedRecord } from "../engine/select.js";
import { InputError, inputSources, readRecords, type RecordOrigin } from "./input.js";
import { EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, readJsonDocument, writeErr, writeOut, type CliIo } from "./io.js";
import { BlobServiceClient } from "@azure/storage-blob";
import { BlobDeadLetterStore, createSink, DEAD_LETTER_CONTAINER, OVERFLOW_CONTAINER, replayDeadLetters, type Sink } from "../destinations/index.js";
import { BlobStateStore, STATE_CONTAINER } from "../change/state.js";
import { readerSource, type PassRecord } from "../engine/pass.js";
import { runConfiguration } from "../engine/runner.js";
import { basename } from "node:path";

export interface Command {
  name: string;
  summary: string;
  help: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  run(values: Record<string, string | boolean | string[] | undefined>, positionals: string[], io: CliIo): Promise<number>;
}

/** Bad usage (unknown option, missing argument): exit code 2, with a pointer to --help. */
export class UsageError extends Error {}

async function loadConfiguration(path: string, io: CliIo): Promise<ConfigurationResult> {
  const document = await readJsonDocument(path, io);
  let destinationPolicy;
  try {
    destinationPolicy = destinationPolicyFromEnv(io.env);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  return parseExportConfiguration(document, { destinationPolicy });
}

function report(io: CliIo, level: "error" | "warning", problems: readonly Problem[]): void {
  for (const p of problems) writeErr(io, `${level}: ${p.path}: ${p.message}`);
}

const validate: Command = {
  name: "validate",
  summary: "check an export configuration and print it normalized",
  options: {},
  help: `Usage: defender-export validate <config.json | ->

Checks an export configuration in any of its forms:
  - a Microsoft.Security/automations resource as ARM returns it, or the body of a PUT;
  - its "properties" object alone;
  - the built-in Azure Policy's parameters (exportedDataTypes, alertSeverities, ...),
    plain, as {"value": ...} pairs, or as an ARM parameters file.

Valid: prints the normalized configuration as JSON on stdout (sources in the automations
shape; connection strings and trigger URIs are never printed) and warnings on stderr; exit 0.
Invalid: prints every problem with its JSON path on stderr; exit 2.

Examples:
  defender-export validate examples/policy-defaults.json
  az rest --uri "https://management.azure.com/subscriptions/<id>/providers/Microsoft.Security/automations?api-version=2023-12-01-preview" \\
    --query "value[0]" | defender-export validate -`,
  async run(_values, positionals, io) {
    const [path, ...extra] = positionals;
    if (path === undefined) throw new UsageError("validate needs a configuration file (or - for stdin)");
    if (extra.length > 0) throw new UsageError(`validate takes one configuration file; got also ${extra.join(" ")}`);
    const result = await loadConfiguration(path, io);
    report(io, "warning", result.warnings);
    if (!result.ok) {
      report(io, "error", result.errors);
      writeErr(io, `${path === "-" ? "<stdin>" : path}: ${result.errors.length} problem${result.errors.length > 1 ? "s" : ""}; nothing was accepted`);
      return EXIT_BAD_INPUT;
    }
    await writeOut(io.stdout, `${JSON.stringify(toPublicConfiguration(result.configuration), null, 2)}\n`);
    return EXIT_OK;
  },
};

const preview: Command = {
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

// The names `read --types` takes, in reading order.
const TYPE_NAMES: Record<string, ReadableDataType> = {
  alerts: "alert",
  assessments: "assessment",
  subAssessments: "subAssessment",
  secureScores: "secureScore",
  secureScoreControls: "secureScoreControl",
  regulatoryCompliance: "regulatoryComplianceAssessment",
};
const TYPE_ALIASES: Record<string, string> = { recommendations: "assessments", findings: "subAssessments" };

function parseTypes(text: string | undefined): DataType[] {
  if (text === undefined) return [...READABLE_DATA_TYPES];
  const names = text.split(",").map((t) => t.trim()).filter((t) => t !== "");
  if (names.length === 0) throw new UsageError("--types lists no data type");
  return [...new Set(names.map((n) => {
    const key = Object.keys(TYPE_NAMES).find((k) => k.toLowerCase() === (TYPE_ALIASES[n.toLowerCase()] ?? n).toLowerCase());
    if (key === undefined) {
      const hint = n.toLowerCase().startsWith("attack") ? " (attack paths have no endpoint in @azure/arm-security)" : "";
      throw new UsageError(`unknown data type ${JSON.stringify(n)} in --types${hint}; expected ${Object.keys(TYPE_NAMES).join(", ")}`);
    }
    return TYPE_NAMES[key]!;
  }))];
}

const SUBSCRIPTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const read: Command = {
  name: "read",
  summary: "dump Defender for Cloud data from the ARM API as NDJSON or CSV",
  options: {
    subscription: { type: "string", short: "s" },
    "resource-group": { type: "string", short: "g", multiple: true },
    types: { type: "string", short: "t" },
    format: { type: "string", short: "f" },
    "arm-endpoint": { type: "string" },
  },
  help: `Usage: defender-export read --subscription <id> [--resource-group <rg> ...] [--types <list>] [--format ndjson|csv]

Reads security data through @azure/arm-security, page by page, and streams it to stdout:
  ndjson (default)  one record per line in the REST wire shape; recommendations carry their
                    metadata as properties.metadata. Pipe it into \`defender-export preview\`.
  csv               one row per record with the common columns (dataType, id, name, displayName,
                    severity, status, resourceId, score, parent, timeGenerated, scope) and the full
                    properties as JSON; no row limit. Cells a spreadsheet would run as a formula
                    get a leading apostrophe.
--types: ${Object.keys(TYPE_NAMES).join(", ")} (comma-separated; default all;
  "recommendations" and "findings" are accepted too). Secure score and regulatory compliance
  are per subscription, so a resource group scope reads its subscription's.

Credentials: DefaultAzureCredential: \`az login\` on a laptop, the managed identity in Azure
(AZURE_CLIENT_ID selects a user-assigned one). The identity needs Security Reader.
Endpoint: --arm-endpoint, else ARM_ENDPOINT, else https://management.azure.com (sovereign
clouds: https://management.usgovcloudapi.net, https://management.chinacloudapi.cn).
Certificates trusted through NODE_EXTRA_CA_CERTS are used.
A summary (records per type, pages, ARM requests) goes to stderr; a progress line too when
stderr is a terminal. A page that still fails after the SDK's retries ends the read (exit 1)
with the scope, data type and page.

Examples:
  defender-export read -s 00000000-0000-0000-0000-000000000000 --types alerts > alerts.ndjson
  defender-export read -s 00000000-0000-0000-0000-000000000000 -g my-rg -t recommendations,findings -f csv > findings.csv
  defender-export read -s <id> -t alerts | defender-export preview -c my-export.json`,
  async run(values, positionals, io) {
    if (positionals.length > 0) throw new UsageError(`read takes no arguments; got ${positionals.join(" ")}`);
    const subscription = values["subscription"];
    if (typeof subscription !== "string") throw new UsageError("read needs --subscription <subscription id>");
    if (!SUBSCRIPTION_ID.test(subscription)) throw new UsageError(`--subscription ${JSON.stringify(subscription)} is not a subscription id (a GUID)`);
    const format = values["format"] ?? "ndjson";
    if (format !== "ndjson" && format !== "csv") throw new UsageError(`--format ${JSON.stringify(format)}: expected ndjson or csv`);
    const types = parseTypes(typeof values["types"] === "string" ? values["types"] : undefined);
    const groups = Array.isArray(values["resource-group"]) ? values["resource-group"] : [];
    for (const g of groups) if (!/^[-\w.()\p{L}]{1,90}$/u.test(g)) throw new UsageError(`--resource-group ${JSON.stringify(g)} is not a resource group name`);
    const scopes = groups.length === 0 ? [`/subscriptions/${subscription}`] : groups.map((g) => `/subscriptions/${subscription}/resourceGroups/${g}`);
    const endpoint = armEndpointOption(values, io);

    const reader = new ArmReader({ credential: defaultCredential(io.env), endpoint });
    const progress = (io.stderr as { isTTY?: boolean }).isTTY === true;
    if (format === "csv" && !(await writeOut(io.stdout, csvLine(CSV_COLUMNS)))) return EXIT_OK;
    let count = 0;
    for await (const item of reader.read(scopes, types)) {
      const line = format === "csv" ? csvLine(csvRow(item)) : `${JSON.stringify(item.record)}\n`;
      if (!(await writeOut(io.stdout, line))) break;
      if (progress && ++count % 500 === 0) io.stderr.write(`\rread ${count} records, ${reader.stats.pages} pages`);
    }
    const stats = reader.stats;
    const perType = Object.entries(stats.records).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${n}`).join(", ");
    const total = Object.values(stats.records).reduce((a, b) => a + b, 0);
    writeErr(io, `${progress ? "\r" : ""}read ${total} records${perType ? ` (${perType})` : ""} in ${stats.pages} pages with ${stats.requests} ARM requests${stats.assessmentsWithoutMetadata > 0 ? `; ${stats.assessmentsWithoutMetadata} recommendations had no metadata` : ""}`);
    return EXIT_OK;
  },
};

const replay: Command = {
  name: "replay",
  summary: "send dead-lettered batches to their destinations again",
  options: { config: { type: "string", short: "c" }, action: { type: "string" } },
  help: `Usage: defender-export replay --config <config.json> [--action <action key>]

Reads the dead letters in the storage account's "dead-letters" container and sends each batch
again, exactly as it was, to the action of the configuration it was meant for. A batch that
goes through is removed; one that fails again is kept with the new reason. Dead letters of
actions the configuration does not have are left alone (counted as skipped).

The storage account is the app's own: DEFENDER_EXPORT_STORAGE, else AzureWebJobsStorage, as a
connection string; Azurite's development storage when neither is set. Destinations use the
credentials the export uses (managed identity, or the action's connection string or setting).
Prints {"letters", "resent", "failed", "skipped"} on stdout; exit 1 when some failed again.

Examples:
  defender-export replay --config my-export.json
  DEFENDER_EXPORT_STORAGE="<connection string>" defender-export replay -c my-export.json --action eventhub-0123456789abcdef`,
  async run(values, positionals, io) {
    if (positionals.length > 0) throw new UsageError(`replay takes no arguments; got ${positionals.join(" ")}`);
    const configPath = values["config"];
    if (typeof configPath !== "string") throw new UsageError("replay needs --config <config.json>");
    const result = await loadConfiguration(configPath, io);
    if (!result.ok) {
      report(io, "error", result.errors);
      return EXIT_BAD_INPUT;
    }
    const { sinks, deadLetters } = sinksFor(result.configuration, io, false);
    try {
      const outcome = await replayDeadLetters(deadLetters, sinks, typeof values["action"] === "string" ? { actionKey: values["action"] } : {});
      await writeOut(io.stdout, `${JSON.stringify(outcome)}\n`);
      return outcome.failed > 0 ? EXIT_FAILURE : EXIT_OK;
    } finally {
      for (const sink of sinks) await sink.close();
    }
  },
};

/** The sinks of a configuration's actions, with dead letters and overflow in the app's storage account. */
function sinksFor(configuration: ExportConfiguration, io: CliIo, required: boolean): { sinks: Sink[]; service: BlobServiceClient; deadLetters: BlobDeadLetterStore } {
  const service = BlobServiceClient.fromConnectionString(storageConnectionString(io.env));
  const deadLetters = new BlobDeadLetterStore(service.getContainerClient(DEAD_LETTER_CONTAINER));
  const deps = {
    credential: defaultCredential(io.env),
    deadLetters,
    overflow: service.getContainerClient(OVERFLOW_CONTAINER),
    destinationPolicy: destinationPolicyFromEnv(io.env),
    settings: io.env,
  };
  const sinks: Sink[] = [];
  for (const action of configuration.actions) {
    try {
      sinks.push(createSink(action, deps));
    } catch (e) {
      if (required) throw new InputError(`action ${actionKey(action)} cannot deliver: ${(e as Error).message}`);
      writeErr(io, `warning: ${actionKey(action)}: ${(e as Error).message}; its dead letters stay`);
    }
  }
  return { sinks, service, deadLetters };
}

/** --arm-endpoint, else ARM_ENDPOINT, else the public cloud; a bad value is a usage error naming where it came from. */
function armEndpointOption(values: Record<string, unknown>, io: CliIo): string {
  const flag = typeof values["arm-endpoint"] === "string" ? values["arm-endpoint"] : undefined;
  try {
    return armEndpointFrom(flag ?? io.env["ARM_ENDPOINT"], flag !== undefined ? "--arm-endpoint" : "ARM_ENDPOINT");
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** The app's own storage account: DEFENDER_EXPORT_STORAGE, AzureWebJobsStorage, else Azurite's development storage. */
function storageConnectionString(env: NodeJS.ProcessEnv): string {
  return env["DEFENDER_EXPORT_STORAGE"] || env["AzureWebJobsStorage"] || "UseDevelopmentStorage=true";
}

const exportCommand: Command = {
  name: "export",
  summary: "run export passes: changes, snapshots, state and checkpoints",
  options: {
    config: { type: "string", short: "c" },
    snapshot: { type: "boolean" },
    once: { type: "boolean" },
    interval: { type: "string" },
    "time-limit": { type: "string" },
    "arm-endpoint": { type: "string" },
    name: { type: "string" },
  },
  help: `Usage: defender-export export --config <config.json> [--snapshot] [--once] [--interval <seconds>]

Runs the configuration's passes, one per scope and event source: reads, applies the rules, sends what
changed since the last export (new records, status or severity changes, removals, secure score moves of
0.01 or more) to every action, and moves the checkpoint only after every action acknowledged it or
dead-lettered it. Snapshot sources send everything, marked IsSnapshot, when the configuration's
snapshotSchedule says so (weekly by default); a new configuration starts with a baseline snapshot unless
baselineSnapshot is false. One runner at a time per configuration, scope and source (a blob lease).

  --snapshot       a snapshot of every source now, on demand
  --once           one round of passes, then exit (exit 1 when a pass failed)
  --interval <s>   seconds between rounds when running on (default 300)
  --time-limit <s> each round stops after this many seconds, saving where each pass was; the next
                   round goes on from there (as a Consumption plan's 10-minute limit needs)
  --name <name>    the configuration's name for its state (default: its name, or the file's)

State, pass records, dead letters and overflow live in the app's storage account: DEFENDER_EXPORT_STORAGE,
else AzureWebJobsStorage, else Azurite's development storage. Credentials as for \`read\`. One summary line
per pass on stdout.

Examples:
  defender-export export --config my-export.json --once
  defender-export export -c my-export.json --snapshot --once`,
  async run(values, positionals, io) {
    if (positionals.length > 0) throw new UsageError(`export takes no arguments; got ${positionals.join(" ")}`);
    const configPath = values["config"];
    if (typeof configPath !== "string") throw new UsageError("export needs --config <config.json>");
    const interval = values["interval"] === undefined ? 300 : Number(values["interval"]);
    if (!Number.isInteger(interval) || interval < 1) throw new UsageError(`--interval ${JSON.stringify(values["interval"])}: expected a whole number of seconds`);
    const timeLimit = values["time-limit"] === undefined ? undefined : Number(values["time-limit"]);
    if (timeLimit !== undefined && (!Number.isInteger(timeLimit) || timeLimit < 1)) throw new UsageError(`--time-limit ${JSON.stringify(values["time-limit"])}: expected a whole number of seconds`);
    const result = await loadConfiguration(configPath, io);
    if (!result.ok) {
      report(io, "error", result.errors);
      return EXIT_BAD_INPUT;
    }
    const configuration = result.configuration;
    const missing = [configuration.actions.length === 0 ? "at least one action" : undefined, configuration.scopes.length === 0 ? "at least one scope" : undefined].filter(Boolean);
    if (missing.length > 0) throw new InputError(`${configPath}: exporting needs ${missing.join(" and ")}`);
    const name = typeof values["name"] === "string" ? values["name"] : (configuration.name ?? basename(configPath).replace(/\.json$/i, ""));
    const endpoint = armEndpointOption(values, io);
    const { sinks, service } = sinksFor(configuration, io, true);
    const state = new BlobStateStore(service.getContainerClient(STATE_CONTAINER));
    const reader = new ArmReader({ credential: defaultCredential(io.env), endpoint });
    const tenantId = io.env["AZURE_TENANT_ID"];
    let failed = false;
    let stopping = false;
    const stop = () => (stopping = true);
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      do {
        const passes = await runConfiguration({
          configurationName: name,
          configuration,
          read: readerSource(reader),
          sinks,
          state,
          ...(values["snapshot"] === true ? { snapshot: true } : {}),
          ...(tenantId ? { tenantId } : {}),
          onPass: (r) => void writeOut(io.stdout, `${summarize(r)}\n`),
          ...(timeLimit !== undefined ? { passOptions: { deadline: new Date(Date.now() + timeLimit * 1000) } } : {}),
        });
        failed ||= passes.some((p) => p.error !== undefined);
        if (values["once"] === true) break;
        for (let waited = 0; waited < interval && !stopping; waited++) await new Promise((r) => setTimeout(r, 1000));
      } while (!stopping);
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      for (const sink of sinks) await sink.close();
    }
    return failed ? EXIT_FAILURE : EXIT_OK;
  },
};

/** One line per pass: what it read, matched and sent, per action, and its error. */
export function summarize(r: PassRecord): string {
  const head = `[${r.startedAt}] ${r.eventSource} ${r.scope}`;
  if (r.skipped) return `${head}: skipped: ${r.skipped}`;
  const actions = Object.entries(r.actions)
    .map(([key, a]) => `${key}: sent ${a.sent}, cut ${a.cut}, dead-lettered ${a.deadLettered}`)
    .join("; ");
  const error = (r.stopped ? `; stopped at the time limit, the next pass goes on` : "") + (r.error ? `; ERROR: ${r.error}` : "");
  return `${head}: ${r.mode}; read ${r.read}, matched ${r.matched}, changed ${r.changed}, removed ${r.removed}; ${actions} (${(r.durationMs / 1000).toFixed(1)} s)${error}`;
}

export const COMMANDS: readonly Command[] = [validate, preview, read, replay, exportCommand];

export { InputError };
