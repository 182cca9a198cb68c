export { EVENT_SOURCES, OPERATORS, PROPERTY_TYPES, SEVERITIES, type EventSource, type Operator, type PropertyType, type Severity } from "./enums.js";
export type { Action, EventHubAction, ExportConfiguration, LogicAppAction, Problem, Rule, RuleSet, Scope, Source, WorkspaceAction } from "./model.js";
export { LOG_ANALYTICS_TABLES, type LogAnalyticsTable } from "./model.js";
export { parseExportConfiguration, type ConfigurationForm, type ConfigurationResult, type ParseOptions } from "./parse.js";
export { compilePolicySources, POLICY_DATA_TYPES, POLICY_DEFAULT_DATA_TYPES } from "./policy.js";
export { toPublicConfiguration } from "./public.js";
export { Secret, redactSecretsInText } from "./secret.js";
export { destinationPolicyFromEnv } from "./environment.js";
export type { DestinationPolicy } from "./actions.js";
