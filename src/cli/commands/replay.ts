import { replayDeadLetters } from "../../destinations/replay.js";
import { namingStorage } from "../../hosting/storage.js";
import { configurationName, contextFor, loadConfiguration, report, sinksFor, UsageError, type Command } from "../command.js";
import { EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, writeOut } from "../io.js";

export const replay: Command = {
  name: "replay",
  summary: "send dead-lettered batches to their destinations again",
  options: { config: { type: "string", short: "c" }, action: { type: "string" }, name: { type: "string" } },
  help: `Usage: defender-export replay --config <config.json> [--action <action key>] [--name <name>]

Reads the configuration's dead letters in the storage account's "dead-letters" container and
sends each batch again, exactly as it was, to the action it was meant for. A batch that goes
through is removed; one that fails again is kept with the new reason. Dead letters of actions the
configuration does not have are left alone (counted as skipped); so are other configurations'.

  --action <key>   only this action's letters
  --name <name>    the configuration's name, as export used it (default: its name, or the file's)

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
    const context = contextFor(io);
    const result = await loadConfiguration(configPath, io, context);
    if (!result.ok) {
      report(io, "error", result.errors);
      return EXIT_BAD_INPUT;
    }
    const name = configurationName(values["name"], result.configuration, configPath);
    const sinks = sinksFor(context, result.configuration, name, io, false);
    const { deadLetters, storage } = context;
    try {
      const outcome = await replayDeadLetters(deadLetters, sinks, { configuration: name, ...(typeof values["action"] === "string" ? { actionKey: values["action"] } : {}) }).catch((e: unknown) => {
        throw namingStorage(e, storage);
      });
      await writeOut(io.stdout, `${JSON.stringify(outcome)}\n`);
      return outcome.failed > 0 ? EXIT_FAILURE : EXIT_OK;
    } finally {
      for (const sink of sinks) await sink.close();
    }
  },
};
