import type { ParseArgsConfig } from "node:util";
import { destinationPolicyFromEnv, parseExportConfiguration, toPublicConfiguration, type ConfigurationResult, type Problem } from "../config/index.js";
import { selectRecords, type SelectionNotice } from "../engine/select.js";
import { compileConfiguration } from "../rules/index.js";
import { InputError, inputSources, readRecords, type RecordOrigin } from "./input.js";
import { EXIT_BAD_INPUT, EXIT_OK, readJsonDocument, writeErr, writeOut, type CliIo } from "./io.js";

export interface Command {
  name: string;
  summary: string;
  help: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  run(values: Record<string, string | boolean | undefined>, positionals: string[], io: CliIo): Promise<number>;
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
  options: { config: { type: "string", short: "c" } },
  help: `Usage: defender-export preview --config <config.json> [FILE | DIR ...]

Applies the configuration's rules to records dumped from the Microsoft.Security API and prints
one NDJSON line per record it would export, per matching event source:
  {"eventSource": "Alerts", "id": "<the record's ARM id, lower-cased>", "body": {...}}

Input (stdin when no file is given; a directory stands for its .json/.ndjson/.jsonl files):
NDJSON, a JSON array, or an ARM list body {"value": [...]}. Each record's type is told by its
ARM "type". Assessment metadata records (Microsoft.Security/assessmentMetadata) in the input are
joined to assessments by name, so that severity rules see properties.metadata.severity; give
the metadata first to keep memory flat. Records of an unknown type are skipped with a warning.
A malformed input line is an error naming the file and line (exit 2).

Examples:
  defender-export preview --config examples/policy-defaults.json examples/records
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
    const rules = compileConfiguration(result.configuration);
    const sources = await inputSources(positionals, io.stdin);
    const notify = (notice: SelectionNotice, origin: RecordOrigin) => writeErr(io, `warning: ${origin.file}:${origin.line}: ${describeNotice(notice)}`);
    for await (const selected of selectRecords(rules, readRecords(sources), notify)) {
      if (!(await writeOut(io.stdout, `${JSON.stringify(selected)}\n`))) break;
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

export const COMMANDS: readonly Command[] = [validate, preview];

export { InputError };
