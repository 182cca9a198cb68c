import { z } from "zod";
import { actionSchema, isTrustedWebhook } from "./actions.js";
import type { AllowedDestinations } from "./endpoints.js";
import { coveringScopes, managementGroupOf, scopeSchema, sourceSchema } from "./automation.js";
import { scheduleProblem } from "./schedule.js";
import { DEFAULT_SNAPSHOT_SCHEDULE, type Action, type ExportConfiguration, type Problem, type Scope, type Source } from "./model.js";
import { POLICY_DESTINATION_PARAMETERS, POLICY_IGNORED_PARAMETERS, POLICY_PARAMETERS, compilePolicySources, eventHubIdFromAuthorizationRule, policyParametersShape } from "./policy.js";
import { caseInsensitiveEnum, describe, freeText, show, strictObject } from "./zod-helpers.js";
import { READERS } from "./enums.js";
import { isObject } from "../shared/object.js";

export type ConfigurationForm = "automation" | "policy";

export type ConfigurationResult = { ok: true; configuration: ExportConfiguration; form: ConfigurationForm; warnings: Problem[] } | { ok: false; errors: Problem[]; warnings: Problem[] };

export interface ParseOptions {
  allowedDestinations?: AllowedDestinations;
}

const AUTOMATION_TYPES = ["microsoft.security/automations", "microsoft.security/securityautomations"];
const PROPERTIES_FIELDS = ["description", "isEnabled", "scopes", "sources", "actions", "snapshotSchedule", "baselineSnapshot", "reader", "managementGroupUnits", "departedSubscriptionRetentionDays"];

/** An NCRONTAB schedule, as Azure Functions timers take it: six fields, seconds first. */
const schedule = z.string({ error: (i) => `expected snapshotSchedule (a CRON string such as "0 0 0 * * 0"), got ${describe(i.input)}` }).superRefine((v, ctx) => {
  const problem = scheduleProblem(v);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: `invalid snapshotSchedule ${show(v)}: ${problem}${problem.startsWith("expected six") ? ', such as "0 0 0 * * 0"' : ""}` });
});
const baseline = z.boolean({ error: (i) => `expected baselineSnapshot (true or false), got ${describe(i.input)}` });
const reader = caseInsensitiveEnum(READERS, "reader");
const units = z
  .number({ error: (i) => `expected managementGroupUnits (a whole number from 1 to 64), got ${describe(i.input)}` })
  .int("expected managementGroupUnits (a whole number from 1 to 64)")
  .min(1, "expected managementGroupUnits (a whole number from 1 to 64)")
  .max(64, "expected managementGroupUnits (a whole number from 1 to 64)");
const RETENTION_EXPECTED = "expected departedSubscriptionRetentionDays (a whole number of days from 1 to 3650)";
const retention = z
  .number({ error: (i) => `${RETENTION_EXPECTED}, got ${describe(i.input)}` })
  .int(RETENTION_EXPECTED)
  .min(1, RETENTION_EXPECTED)
  .max(3650, RETENTION_EXPECTED);
const POLICY_KEYS: readonly string[] = [...POLICY_PARAMETERS, ...POLICY_DESTINATION_PARAMETERS, ...POLICY_IGNORED_PARAMETERS];

/**
 * Accepts an export configuration in any of its forms and normalizes it:
 * - a Microsoft.Security/automations resource as ARM returns it, or the body of a PUT (`{ properties: ... }`);
 * - its `properties` object alone (`{ sources, actions, scopes, ... }`);
 * - the built-in policy's parameters, plain or as `{ "value": ... }` (an ARM parameters file or an assignment's).
 */
export function parseExportConfiguration(input: unknown, options: ParseOptions = {}): ConfigurationResult {
  const allowed = options.allowedDestinations ?? { trustedHosts: [] };
  if (!isObject(input)) {
    return fail([{ path: "$", message: `expected an export configuration (a JSON object), got ${describe(input)}` }]);
  }
  if (isObject(input["parameters"]) && !("properties" in input) && !("sources" in input)) {
    const { parameters, ...rest } = input;
    const others = Object.keys(rest).filter((k) => k !== "$schema" && k !== "contentVersion");
    if (others.length > 0) {
      return fail([
        { path: "$", message: `unknown field${others.length > 1 ? "s" : ""} ${others.map(show).join(", ")} beside parameters; expected a parameters file ($schema, contentVersion, parameters)` },
      ]);
    }
    return parsePolicyForm(parameters, "$.parameters", allowed);
  }
  const policyKeys = Object.keys(input).filter((k) => POLICY_KEYS.includes(k));
  const automationKey = "properties" in input ? "properties" : "sources" in input ? "sources" : undefined;
  if (automationKey !== undefined && policyKeys.length > 0) {
    return fail([{ path: "$", message: `the configuration mixes the automations form (${automationKey}) with policy parameters (${policyKeys.join(", ")}); use one form` }]);
  }
  if ("properties" in input) return parseResourceForm(input, allowed);
  if (automationKey !== undefined) return parsePropertiesForm(input, "$", allowed);
  if (policyKeys.length > 0) return parsePolicyForm(input, "$", allowed);
  if (Array.isArray(input["value"])) {
    return fail([{ path: "$.value", message: "this is a list of automations; give one automation (one element of value)" }]);
  }
  return fail([{ path: "$", message: "no sources: give sources (the automations form) or exportedDataTypes (the policy form)" }]);
}

function parseResourceForm(input: Record<string, unknown>, allowed: AllowedDestinations): ConfigurationResult {
  const errors: Problem[] = [];
  const type = input["type"];
  if (type !== undefined && (typeof type !== "string" || !AUTOMATION_TYPES.includes(type.toLowerCase()))) {
    errors.push({ path: "$.type", message: `expected type Microsoft.Security/automations, got ${typeof type === "string" ? show(type) : describe(type)}` });
  }
  const name = input["name"];
  if (name !== undefined && typeof name !== "string") errors.push({ path: "$.name", message: `expected name (a string), got ${describe(name)}` });
  const properties = input["properties"];
  if (!isObject(properties)) {
    errors.push({ path: "$.properties", message: `expected properties (an object), got ${describe(properties)}` });
    return fail(errors);
  }
  const result = parsePropertiesForm(properties, "$.properties", allowed);
  if (!result.ok) return fail([...errors, ...result.errors], result.warnings);
  if (errors.length > 0) return fail(errors, result.warnings);
  if (typeof name === "string") result.configuration = { name, ...result.configuration };
  return result;
}

function propertiesSchema(allowed: AllowedDestinations) {
  return z.object({
    description: freeText("description").optional(),
    isEnabled: z.boolean({ error: (i) => `expected isEnabled (true or false), got ${describe(i.input)}` }).optional(),
    scopes: z.array(scopeSchema, { error: (i) => `expected scopes (an array), got ${describe(i.input)}` }).optional(),
    sources: z.array(sourceSchema, { error: (i) => `expected sources (an array), got ${describe(i.input)}` }).optional(),
    actions: z.array(actionSchema(allowed), { error: (i) => `expected actions (an array), got ${describe(i.input)}` }).optional(),
    snapshotSchedule: schedule.optional(),
    baselineSnapshot: baseline.optional(),
    reader: reader.optional(),
    managementGroupUnits: units.optional(),
    departedSubscriptionRetentionDays: retention.optional(),
  });
}

function parsePropertiesForm(input: Record<string, unknown>, at: string, allowed: AllowedDestinations): ConfigurationResult {
  const warnings: Problem[] = [];
  for (const key of Object.keys(input)) {
    if (!PROPERTIES_FIELDS.includes(key) && key !== "name") {
      warnings.push({ path: joinPath(at, [key]), message: `unknown field ${show(key)} is ignored; expected ${PROPERTIES_FIELDS.join(", ")}` });
    }
  }
  const parsed = propertiesSchema(allowed).safeParse(input);
  if (!parsed.success) return fail(issuesToProblems(parsed.error, at), warnings);
  const p = parsed.data;
  if (p.sources === undefined || p.sources.length === 0) {
    return fail([{ path: joinPath(at, ["sources"]), message: "no sources: at least one source (an eventSource with optional ruleSets) is required" }], warnings);
  }
  const name = typeof input["name"] === "string" && at === "$" ? input["name"] : undefined;
  return finish(
    {
      ...(name !== undefined ? { name } : {}),
      ...(p.description !== undefined ? { description: p.description } : {}),
      isEnabled: p.isEnabled ?? true,
      scopes: p.scopes ?? [],
      sources: p.sources,
      actions: dropInternal(p.actions ?? [], at, warnings),
      snapshotSchedule: p.snapshotSchedule?.trim() ?? DEFAULT_SNAPSHOT_SCHEDULE,
      baselineSnapshot: p.baselineSnapshot ?? true,
      ...(p.reader === undefined ? {} : { reader: p.reader }),
      ...(p.managementGroupUnits === undefined ? {} : { managementGroupUnits: p.managementGroupUnits }),
      ...(p.departedSubscriptionRetentionDays === undefined ? {} : { departedSubscriptionRetentionDays: p.departedSubscriptionRetentionDays }),
    },
    "automation",
    at,
    warnings,
    allowed,
  );
}

function policySchema(allowed: AllowedDestinations) {
  return strictObject(
    {
      name: z.string({ error: (i) => `expected name (a string), got ${describe(i.input)}` }).optional(),
      description: freeText("description").optional(),
      isEnabled: z.boolean({ error: (i) => `expected isEnabled (true or false), got ${describe(i.input)}` }).optional(),
      scopes: z.array(scopeSchema, { error: (i) => `expected scopes (an array), got ${describe(i.input)}` }).optional(),
      actions: z.array(actionSchema(allowed), { error: (i) => `expected actions (an array), got ${describe(i.input)}` }).optional(),
      ...policyParametersShape,
      workspaceResourceId: z.string({ error: (i) => `expected workspaceResourceId (a string), got ${describe(i.input)}` }).optional(),
      eventHubDetails: z.string({ error: (i) => `expected eventHubDetails (an authorization rule id), got ${describe(i.input)}` }).optional(),
      snapshotSchedule: schedule.optional(),
      baselineSnapshot: baseline.optional(),
      reader: reader.optional(),
      managementGroupUnits: units.optional(),
      departedSubscriptionRetentionDays: retention.optional(),
      resourceGroupName: z.string().optional(),
      resourceGroupLocation: z.string().optional(),
      createResourceGroup: z.boolean().optional(),
    },
    "the policy parameters",
  );
}

function parsePolicyForm(raw: Record<string, unknown>, at: string, allowed: AllowedDestinations): ConfigurationResult {
  // Parameters files and policy assignments wrap each value as { "value": ... }.
  const wrapped = new Set<string>();
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const unwrapped = isObject(value) && Object.keys(value).length === 1 && "value" in value && key !== "actions";
    if (unwrapped) wrapped.add(key);
    // Defined, not assigned: `__proto__` stays a key (and is refused as unknown) instead of becoming the prototype.
    Object.defineProperty(input, key, { value: unwrapped ? value["value"] : value, enumerable: true, writable: true, configurable: true });
  }
  const unwrappedPath = (path: readonly PropertyKey[]) => (typeof path[0] === "string" && wrapped.has(path[0]) ? [path[0], "value", ...path.slice(1)] : [...path]);

  const parsed = policySchema(allowed).safeParse(input);
  if (!parsed.success) {
    return fail(issuesToProblems(parsed.error, at, unwrappedPath));
  }
  const p = parsed.data;
  const warnings: Problem[] = [];
  const actions = dropInternal(p.actions ?? [], at, warnings);
  const extra: Problem[] = [];
  const destination = (key: string, action: unknown) => {
    const result = z.array(actionSchema(allowed)).safeParse([action]);
    if (!result.success) {
      extra.push(...result.error.issues.map((i) => ({ path: joinPath(at, unwrappedPath([key])), message: i.message })));
    } else if (result.data[0]) {
      actions.push(result.data[0]);
    }
  };
  if (p.workspaceResourceId !== undefined) {
    const exists = actions.some((a) => a.actionType === "Workspace" && a.workspaceResourceId?.toLowerCase() === p.workspaceResourceId!.trim().toLowerCase());
    if (!exists) destination("workspaceResourceId", { actionType: "Workspace", workspaceResourceId: p.workspaceResourceId });
  }
  if (p.eventHubDetails !== undefined) {
    const hubId = eventHubIdFromAuthorizationRule(p.eventHubDetails);
    if (hubId === undefined) {
      extra.push({
        path: joinPath(at, unwrappedPath(["eventHubDetails"])),
        message:
          "invalid eventHubDetails; expected an Event Hub authorization rule id (/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.EventHub/namespaces/<ns>/eventhubs/<hub>/authorizationrules/<rule>)",
      });
    } else if (!actions.some((a) => a.actionType === "EventHub" && a.eventHubResourceId?.toLowerCase() === hubId.toLowerCase())) {
      destination("eventHubDetails", { actionType: "EventHub", eventHubResourceId: hubId });
    }
  }
  if (extra.length > 0) return fail(extra, warnings);

  const sources = compilePolicySources(p);
  if (sources.length === 0) {
    return fail([{ path: joinPath(at, unwrappedPath(["exportedDataTypes"])), message: "no sources: exportedDataTypes is empty and isSecurityFindingsEnabled is false" }], warnings);
  }
  return finish(
    {
      ...(p.name !== undefined ? { name: p.name } : {}),
      ...(p.description !== undefined ? { description: p.description } : {}),
      isEnabled: p.isEnabled ?? true,
      scopes: p.scopes ?? [],
      sources,
      actions,
      snapshotSchedule: p.snapshotSchedule?.trim() ?? DEFAULT_SNAPSHOT_SCHEDULE,
      baselineSnapshot: p.baselineSnapshot ?? true,
      ...(p.reader === undefined ? {} : { reader: p.reader }),
      ...(p.managementGroupUnits === undefined ? {} : { managementGroupUnits: p.managementGroupUnits }),
      ...(p.departedSubscriptionRetentionDays === undefined ? {} : { departedSubscriptionRetentionDays: p.departedSubscriptionRetentionDays }),
    },
    "policy",
    at,
    warnings,
    allowed,
  );
}

/** Checks that span fields, as warnings: the configuration is usable, but maybe not as meant. */
function finish(configuration: ExportConfiguration, form: ConfigurationForm, at: string, warnings: Problem[], allowed: AllowedDestinations): ConfigurationResult {
  const where = (field: string) => joinPath(at, [field]);
  configuration.sources = mergeDuplicateSources(configuration.sources, where("sources"), warnings);
  configuration.scopes = dedupeScopes(configuration.scopes, where("scopes"), warnings);
  // Resource Graph answers for a management group in one query; the Microsoft.Security lists are per subscription.
  const groupScopes = configuration.scopes.flatMap((s, i) => (managementGroupOf(s.scopePath) === undefined ? [] : [i]));
  if (groupScopes.length > 0 && configuration.reader !== "resourceGraph") {
    return fail(
      groupScopes.map((i) => ({ path: `${where("scopes")}[${i}].scopePath`, message: 'a management group scope is read through Resource Graph: set "reader": "resourceGraph"' })),
      warnings,
    );
  }
  // Which subscriptions a group holds is known only when it is read: scopes beside it may overlap it.
  if (groupScopes.length > 0 && configuration.scopes.length > 1) {
    warnings.push({
      path: where("scopes"),
      message: "a management group beside other scopes: a subscription in more than one of them is exported (and its removals too) once for each; name the group alone, or the subscriptions alone",
    });
  }
  if (configuration.managementGroupUnits !== undefined && groupScopes.length === 0) {
    warnings.push({ path: where("managementGroupUnits"), message: "managementGroupUnits applies to management group scopes only; there is none, so it is ignored" });
  }
  if (configuration.departedSubscriptionRetentionDays !== undefined && groupScopes.length === 0) {
    warnings.push({
      path: where("departedSubscriptionRetentionDays"),
      message: "departedSubscriptionRetentionDays applies to management group scopes only (subscriptions that leave the group); there is none, so it is ignored",
    });
  }

  const eventSources = new Set(configuration.sources.map((s) => s.eventSource));
  const hasFindings = eventSources.has("SubAssessments") || eventSources.has("SubAssessmentsSnapshot");
  if (hasFindings && !eventSources.has("Assessments") && !eventSources.has("AssessmentsSnapshot")) {
    warnings.push({ path: where("sources"), message: "findings (SubAssessments) are exported without their parent recommendations (Assessments); findings should travel with their parent" });
  }
  configuration.sources.forEach((s, i) => {
    s.ruleSets?.forEach((rs, j) => {
      if (rs.rules.length === 0) warnings.push({ path: `${where("sources")}[${i}].ruleSets[${j}]`, message: "a rule set with no rules matches every record of the source" });
    });
  });
  if (configuration.actions.length === 0) {
    warnings.push({ path: where("actions"), message: "no actions: validate and preview work, but exporting needs at least one action" });
  }
  configuration.actions.forEach((a, i) => {
    const path = `${where("actions")}[${i}]`;
    if (a.actionType === "Workspace" && a.dataCollectionEndpoint === undefined) {
      warnings.push({ path, message: "this Workspace action cannot deliver until dataCollectionEndpoint and dataCollectionRuleId are set (the Logs Ingestion API writes the _CL tables)" });
    }
    if (a.actionType === "LogicApp" && a.uri === undefined && a.uriSetting === undefined) {
      warnings.push({ path, message: "this LogicApp action cannot deliver until uri or uriSetting is set" });
    }
    if (a.actionType === "LogicApp" && a.uri !== undefined && !isTrustedWebhook(a.uri.reveal(), allowed)) {
      warnings.push({
        path: `${path}.uri`,
        message: "the uri's host is not a Logic Apps endpoint (<region>.logic.azure.com); it will not be called unless its host is listed in DEFENDER_EXPORT_TRUSTED_HOSTS",
      });
    }
  });
  if (configuration.scopes.length === 0) {
    warnings.push({ path: where("scopes"), message: "no scopes: validate and preview work, but exporting needs a subscription or resource group scope" });
  }
  if (!configuration.isEnabled) warnings.push({ path: where("isEnabled"), message: "the configuration is disabled: nothing is exported until isEnabled is true" });
  return { ok: true, configuration, form, warnings };
}

function mergeDuplicateSources(sources: Source[], at: string, warnings: Problem[]): Source[] {
  const merged: Source[] = [];
  sources.forEach((source, index) => {
    const earlier = merged.find((m) => m.eventSource === source.eventSource);
    if (earlier === undefined) {
      merged.push(source);
      return;
    }
    warnings.push({ path: `${at}[${index}]`, message: `eventSource ${source.eventSource} is listed again; its rule sets are OR-ed with the first one's` });
    earlier.ruleSets = earlier.ruleSets === null || source.ruleSets === null ? null : [...earlier.ruleSets, ...source.ruleSets];
  });
  return merged;
}

function dedupeScopes(scopes: Scope[], at: string, warnings: Problem[]): Scope[] {
  const covering = coveringScopes(scopes.map((s) => s.scopePath));
  return scopes.filter((scope, index) => {
    const by = covering[index];
    if (by !== undefined) warnings.push({ path: `${at}[${index}]`, message: `scope ${scope.scopePath} is already covered by ${by}; it is read once` });
    return by === undefined;
  });
}

function dropInternal(actions: (Action | null)[], at: string, warnings: Problem[]): Action[] {
  const kept: Action[] = [];
  actions.forEach((a, i) => {
    if (a === null) warnings.push({ path: `${joinPath(at, ["actions"])}[${i}]`, message: "actionType Internal is Microsoft's own and is ignored here" });
    else kept.push(a);
  });
  return kept;
}

function issuesToProblems(error: z.ZodError, at: string, mapPath = (p: readonly PropertyKey[]) => p): Problem[] {
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    const problem = { path: joinPath(at, mapPath(issue.path)), message: issue.message };
    const key = `${problem.path}\u0000${problem.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(problem);
    }
  }
  return problems;
}

/** `$.properties` + ["sources", 0, "eventSource"] → `$.properties.sources[0].eventSource`. */
export function joinPath(at: string, path: readonly PropertyKey[]): string {
  let out = at;
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (typeof part === "string" && /^[A-Za-z_$][\w$]*$/.test(part)) out += `.${part}`;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

function fail(errors: Problem[], warnings: Problem[] = []): ConfigurationResult {
  return { ok: false, errors, warnings };
}
