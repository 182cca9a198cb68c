import { basename } from "node:path";
import type { ParseArgsConfig } from "node:util";
import { actionKey } from "../config/action-key.js";
import { CONFIGURATION_NAME, CONFIGURATION_NAME_EXPECTED, type ExportConfiguration, type Problem } from "../config/model.js";
import { parseExportConfiguration, type ConfigurationResult } from "../config/parse.js";
import type { Sink } from "../destinations/sink.js";
import { contextFromSettings, type ExportContext } from "../hosting/context.js";
import { allowedDestinationsSetting, armEndpointSetting, readCommandSettings } from "../hosting/settings.js";
import { armEndpointFrom } from "../sources/environment.js";
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

/** A configuration file, validated against the destinations the app settings allow (the context's, when there is one). */
export async function loadConfiguration(path: string, io: CliIo, context?: ExportContext): Promise<ConfigurationResult> {
  const document = await readJsonDocument(path, io);
  let allowedDestinations;
  try {
    allowedDestinations = context?.settings.allowedDestinations ?? allowedDestinationsSetting(io.env);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  return parseExportConfiguration(document, { allowedDestinations });
}

export function report(io: CliIo, level: "error" | "warning", problems: readonly Problem[]): void {
  for (const p of problems) writeErr(io, `${level}: ${p.path}: ${p.message}`);
}

/**
 * The engine wired as the Functions app wires it (one composition root), from the same app settings: state,
 * dead letters and backoffs in the app's storage account, destinations' secrets from app settings.
 */
export function contextFor(io: CliIo, armEndpoint?: string): ExportContext {
  try {
    return contextFromSettings(readCommandSettings(io.env, armEndpoint));
  } catch (e) {
    throw new InputError(`the app settings in the environment are not valid: ${(e as Error).message}`);
  }
}

/** The sinks of a configuration's actions; one that cannot deliver is an error when `required`, else a warning. */
export function sinksFor(context: ExportContext, configuration: ExportConfiguration, name: string, io: CliIo, required: boolean): Sink[] {
  return context.sinks(name, configuration, (action, e) => {
    if (required) throw new InputError(`action ${actionKey(action)} cannot deliver: ${e.message}`);
    writeErr(io, `warning: ${actionKey(action)}: ${e.message}; its dead letters stay`);
  });
}

/** --arm-endpoint when given, checked (a usage error naming it when bad). */
export function armEndpointFlag(values: Record<string, unknown>): string | undefined {
  const flag = values["arm-endpoint"];
  if (typeof flag !== "string") return undefined;
  try {
    return armEndpointFrom(flag, "--arm-endpoint");
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** --arm-endpoint, else ARM_ENDPOINT, else the public cloud; a bad value is a usage error naming where it came from. */
export function armEndpointOption(values: Record<string, unknown>, io: CliIo): string {
  const flag = typeof values["arm-endpoint"] === "string" ? values["arm-endpoint"] : undefined;
  try {
    return flag !== undefined ? armEndpointFrom(flag, "--arm-endpoint") : armEndpointSetting(io.env);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A configuration's name for its state and dead letters: given, its own, or the file's; a name the API would take. */
export function configurationName(given: unknown, configuration: ExportConfiguration, path: string): string {
  const name = typeof given === "string" ? given : (configuration.name ?? basename(path).replace(/\.json$/i, ""));
  if (!CONFIGURATION_NAME.test(name)) {
    throw new UsageError(`the configuration's name ${JSON.stringify(name.slice(0, 80))} (--name, its name, or the file's): ${CONFIGURATION_NAME_EXPECTED}`);
  }
  return name;
}
