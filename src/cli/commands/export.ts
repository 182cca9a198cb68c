import { setTimeout as sleep } from "node:timers/promises";
import { readerOptions } from "../../engine/pass.js";
import { summarize } from "../../engine/summary.js";
import { runConfiguration } from "../../engine/runner.js";
import { missingToExport } from "../../hosting/admission.js";
import { armEndpointFlag, configurationName, contextFor, loadConfiguration, report, sinksFor, UsageError, type Command } from "../command.js";
import { InputError } from "../input.js";
import { EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, writeOut } from "../io.js";

export const exportCommand: Command = {
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
    const context = contextFor(io, armEndpointFlag(values));
    const result = await loadConfiguration(configPath, io, context);
    if (!result.ok) {
      report(io, "error", result.errors);
      return EXIT_BAD_INPUT;
    }
    const configuration = result.configuration;
    const missing = missingToExport(configuration);
    if (missing.length > 0) throw new InputError(`${configPath}: exporting needs ${missing.map((m) => `at least one ${m}`).join(" and ")}`);
    const name = configurationName(values["name"], configuration, configPath);
    const sinks = sinksFor(context, configuration, name, io, true);
    const state = context.state;
    const tenantId = context.settings.tenantId;
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
          // A reader a round, as a pass in the app has: what it learns (a management group's members) is of that round.
          ...readerOptions(context.reader()),
          sinks,
          state,
          ...(values["snapshot"] === true ? { snapshot: true } : {}),
          ...(tenantId ? { tenantId } : {}),
          onPass: (r) => void writeOut(io.stdout, `${summarize(r)}\n`),
          ...(timeLimit !== undefined ? { passOptions: { deadline: new Date(Date.now() + timeLimit * 1000) } } : {}),
        });
        failed ||= passes.some((p) => p.error !== undefined);
        if (values["once"] === true) break;
        for (let waited = 0; waited < interval && !stopping; waited++) await sleep(1000);
      } while (!stopping);
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      for (const sink of sinks) await sink.close();
    }
    return failed ? EXIT_FAILURE : EXIT_OK;
  },
};
