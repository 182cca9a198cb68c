import type { LogAnalyticsTable } from "../datatypes/registry.js";
import type { EventHubFormat, EventSource, FindingsShape, Operator, PropertyType, ReaderKind } from "./enums.js";
import type { Secret } from "./secret.js";

/** The normalized export configuration: one model, whichever form it was written in. */
export interface ExportConfiguration {
  name?: string;
  description?: string;
  isEnabled: boolean;
  scopes: Scope[];
  sources: Source[];
  actions: Action[];
  /** Extension: when snapshot sources send the full state (NCRONTAB, seconds first, UTC). Default weekly. */
  snapshotSchedule: string;
  /** Extension: a new configuration's streaming sources start with a snapshot of what exists. Default true. */
  baselineSnapshot: boolean;
  /** Extension: read through Azure Resource Graph instead of the Microsoft.Security lists (absent: the lists). */
  reader?: ReaderKind;
  /** Extension: the pass units a management group scope is split into (each its own passes, state and pass records). */
  managementGroupUnits?: number;
  /** Extension: how long the state of a subscription that left a management group scope is kept (absent: the default). */
  departedSubscriptionRetentionDays?: number;
}

/** A management group's passes are split into this many units unless the configuration says otherwise. */
export const DEFAULT_MANAGEMENT_GROUP_UNITS = 4;

/** Days the state of a subscription that left a management group is kept: if it comes back within them, it goes on where it was. */
export const DEFAULT_DEPARTED_SUBSCRIPTION_RETENTION_DAYS = 30;

/**
 * A configuration's name: 1 to 64 letters, digits, `_ . -`, a letter or digit first. It names the folders of
 * its state and dead letters, so nothing in it may climb out of them (`..`).
 */
export const CONFIGURATION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const CONFIGURATION_NAME_EXPECTED = "expected 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit";

/** Weekly, Sunday 00:00 UTC: the built-in export's cadence. */
export const DEFAULT_SNAPSHOT_SCHEDULE = "0 0 0 * * 0";

export interface Scope {
  description?: string;
  scopePath: string;
}

export interface Source {
  eventSource: EventSource;
  /** null (or []) exports every record of the source's type. */
  ruleSets: RuleSet[] | null;
}

export interface RuleSet {
  rules: Rule[];
}

export interface Rule {
  propertyJPath: string;
  propertyType: PropertyType;
  expectedValue: string;
  operator: Operator;
}

export type Action = EventHubAction | WorkspaceAction | LogicAppAction | StorageAccountAction;

/** Extension: Blob storage, a container per event type, JSON lines in blobs by date and hour. */
export interface StorageAccountAction {
  actionType: "StorageAccount";
  /** https://<account>.blob.core.windows.net, written with the app's managed identity. */
  blobServiceUrl?: string;
  /** Or the name of an app setting holding the account's connection string. */
  connectionStringSetting?: string;
}

export interface EventHubAction {
  actionType: "EventHub";
  eventHubResourceId?: string;
  /** Extension: the namespace host, for managed identity (`<ns>.servicebus.windows.net`). */
  fullyQualifiedNamespace?: string;
  /** Extension: the hub, for managed identity. */
  eventHubName?: string;
  connectionString?: Secret;
  /** Extension: the name of an app setting (or Key Vault reference) holding the connection string. */
  connectionStringSetting?: string;
  isTrustedServiceEnabled?: boolean;
  /** Extension: defender (the built-in export's shapes, default), api, or xdr (the Defender XDR envelope). */
  format?: EventHubFormat;
  /** Extension: findings in the camelCase ARM form (default) or the PascalCase form. */
  findingsShape?: FindingsShape;
  /** Extension: one hub per event type (SecurityAlert, SecurityRecommendation, ...), as XDR offers. */
  eventHubNames?: Record<string, string>;
}

export interface WorkspaceAction {
  actionType: "Workspace";
  workspaceResourceId?: string;
  /** Extension: the Logs Ingestion endpoint (data collection endpoint or the rule's own endpoint). */
  dataCollectionEndpoint?: string;
  /** Extension: the immutable id of the data collection rule (`dcr-<32 hex>`). */
  dataCollectionRuleId?: string;
  /** Extension: stream per table, when they differ from `Custom-<Table>_CL`. */
  streams?: Partial<Record<LogAnalyticsTable, string>>;
}

export interface LogicAppAction {
  actionType: "LogicApp";
  logicAppResourceId?: string;
  uri?: Secret;
  /** Extension: the name of an app setting (or Key Vault reference) holding the trigger URI. */
  uriSetting?: string;
}

/** A validation finding, located by a JSON path into the input (`$.properties.sources[0].eventSource`). */
export interface Problem {
  path: string;
  message: string;
}
