import { toPublicConfiguration } from "../../config/public.js";
import { loadConfiguration, report, UsageError, type Command } from "../command.js";
import { EXIT_BAD_INPUT, EXIT_OK, writeErr, writeOut } from "../io.js";

export const validate: Command = {
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
