import { basename } from "node:path";
import type { ParseArgsConfig } from "node:util";
import { actionKey, CONFIGURATION_NAME, destinationPolicyFromEnv, parseExportConfiguration, type ConfigurationResult, type ExportConfiguration, type Problem } from "../config/index.js";
import { BACKOFF_CONTAINER, BlobBackoffStore, BlobDeadLetterStore, createSink, DEAD_LETTER_CONTAINER, OVERFLOW_CONTAINER, type Sink } from "../destinations/index.js";
import { storageClients, type StorageClients } from "../hosting/storage.js";
import { armEndpointFrom, defaultCredential } from "../sources/index.js";
import { InputError } from "./input.js";
import { readJsonDocument, writeErr, type CliIo } from "./io.js";

// What the commands share: their shape, configuration loading, problem reports, destinations, options.

export interface Command {
  name: string;
  summary: string;
  help: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  run(values: Record<string, string | boolean | string[] | undefined>, positionals: string[], io: CliIo): Promise<number>;
}

/** Bad usage (unknown option, missing argument): exit code 2, with a pointer to --help. */
export class UsageError extends Error {}

export async function loadConfiguration(path: string, io: CliIo): Promise<ConfigurationResult> {
  const document = await readJsonDocument(path, io);
  let destinationPolicy;
  try {
    destinationPolicy = destinationPolicyFromEnv(io.env);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  return parseExportConfiguration(document, { destinationPolicy });
}

export function report(io: CliIo, level: "error" | "warning", problems: readonly Problem[]): void {
  for (const p of problems) writeErr(io, `${level}: ${p.path}: ${p.message}`);
}

/** The sinks of a configuration's actions, with dead letters and overflow in the app's storage account. */
export function sinksFor(configuration: ExportConfiguration, name: string, io: CliIo, required: boolean): { sinks: Sink[]; storage: StorageClients; deadLetters: BlobDeadLetterStore } {
  const credential = defaultCredential(io.env);
  const storage = storageClients(io.env, credential);
  const service = storage.blob;
  const deadLetters = new BlobDeadLetterStore(service.getContainerClient(DEAD_LETTER_CONTAINER));
  const deps = {
    credential,
    deadLetters,
    // The same backoffs as the Functions app's, when both use one storage account.
    backoff: new BlobBackoffStore(service.getContainerClient(BACKOFF_CONTAINER)),
    configuration: name,
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
  return { sinks, storage, deadLetters };
}

/** --arm-endpoint, else ARM_ENDPOINT, else the public cloud; a bad value is a usage error naming where it came from. */
export function armEndpointOption(values: Record<string, unknown>, io: CliIo): string {
  const flag = typeof values["arm-endpoint"] === "string" ? values["arm-endpoint"] : undefined;
  try {
    return armEndpointFrom(flag ?? io.env["ARM_ENDPOINT"], flag !== undefined ? "--arm-endpoint" : "ARM_ENDPOINT");
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A configuration's name for its state and dead letters: given, its own, or the file's; a name the API would take. */
export function configurationName(given: unknown, configuration: ExportConfiguration, path: string): string {
  const name = typeof given === "string" ? given : (configuration.name ?? basename(path).replace(/\.json$/i, ""));
  if (!CONFIGURATION_NAME.test(name)) {
    throw new UsageError(`the configuration's name ${JSON.stringify(name.slice(0, 80))} (--name, its name, or the file's): expected 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit`);
  }
  return name;
}
