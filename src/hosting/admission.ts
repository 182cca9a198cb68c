import { CONFIGURATION_NAME, CONFIGURATION_NAME_EXPECTED, type Action, type ExportConfiguration, type Problem } from "../config/model.js";
import { parseExportConfiguration } from "../config/parse.js";
import { ConfigurationConditionError, ConfigurationConflictError, ConfigurationLimitError, ConfigurationNotStorableError, ConfigurationTooLargeError } from "./configurations.js";
import type { ExportContext } from "./context.js";
import { badRequest, ProblemError } from "./problem.js";

// What a configuration must be to be stored, and to run.

/** A configuration from any form, fit to store: valid, without inline secrets, every action able to deliver. */
export function admit(body: unknown, context: ExportContext): { configuration: ExportConfiguration; warnings: Problem[] } {
  const parsed = parseExportConfiguration(body, { allowedDestinations: context.settings.allowedDestinations });
  if (!parsed.ok) throw badRequest("the export configuration is not valid", parsed.errors, parsed.warnings);
  const secrets = inlineSecrets(parsed.configuration.actions);
  if (secrets.length > 0) throw badRequest("secrets are not stored in configurations", secrets, parsed.warnings);
  const unusable = context.unusableActions(parsed.configuration);
  if (unusable.length > 0) throw badRequest("an action cannot deliver", unusable, parsed.warnings);
  return { configuration: parsed.configuration, warnings: parsed.warnings };
}

export function checkName(name: string): void {
  if (!CONFIGURATION_NAME.test(name)) {
    throw badRequest(`invalid configuration name`, [{ path: "name", message: CONFIGURATION_NAME_EXPECTED }]);
  }
}

/** A pass needs somewhere to send and something to read (the API's run and snapshot, and the CLI's export). */
export function missingToExport(configuration: ExportConfiguration): ("action" | "scope")[] {
  return [...(configuration.actions.length === 0 ? (["action"] as const) : []), ...(configuration.scopes.length === 0 ? (["scope"] as const) : [])];
}

export function requireRunnable(name: string, configuration: ExportConfiguration): void {
  if (!configuration.isEnabled) throw new ProblemError(409, "Conflict", `export configuration ${name} is disabled`);
  const missing = missingToExport(configuration);
  if (missing.length > 0) throw new ProblemError(409, "Conflict", `export configuration ${name} has ${missing.map((m) => `no ${m}s`).join(" and ")}: nothing would be exported (add them with PUT)`);
}

/** The store's refusals as the problems the API answers with. */
export function storeProblem(e: unknown, warnings: readonly Problem[] = []): unknown {
  if (e instanceof ConfigurationConflictError) return new ProblemError(412, "Precondition Failed", e.message);
  if (e instanceof ConfigurationConditionError) return badRequest(e.message, [{ path: "If-Match", message: "expected * or the quoted ETag a GET answered" }]);
  if (e instanceof ConfigurationTooLargeError) return new ProblemError(413, "Content Too Large", e.message);
  if (e instanceof ConfigurationLimitError) return new ProblemError(409, "Conflict", e.message);
  if (e instanceof ConfigurationNotStorableError) return badRequest(e.message, e.errors, warnings);
  return e;
}

function inlineSecrets(actions: readonly Action[]): Problem[] {
  const problems: Problem[] = [];
  actions.forEach((action, i) => {
    if (action.actionType === "EventHub" && action.connectionString !== undefined) {
      problems.push({
        path: `$.actions[${i}].connectionString`,
        message:
          "a connection string is not stored: put it in an app setting (a Key Vault reference works) and give that setting's name as connectionStringSetting, or use fullyQualifiedNamespace and eventHubName with the app's managed identity",
      });
    }
    if (action.actionType === "LogicApp" && action.uri !== undefined) {
      problems.push({
        path: `$.actions[${i}].uri`,
        message: "a trigger URI (it carries a signature) is not stored: put it in an app setting (a Key Vault reference works) and give that setting's name as uriSetting",
      });
    }
  });
  return problems;
}
