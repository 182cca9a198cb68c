import { z } from "zod";
import { allowedDestinationsFrom } from "../config/environment.js";
import { settingAllowed } from "../config/endpoints.js";
import { scheduleProblem } from "../config/schedule.js";
import type { AllowedDestinations } from "../config/endpoints.js";
import { armEndpointFrom } from "../sources/environment.js";

import { environment, TELEMETRY_SETTINGS } from "./environment.js";

/** Every app setting the hosts read, with its default; `infra/` and local.settings.sample.json list the same names. */
export const APP_SETTINGS = {
  storage: "AzureWebJobsStorage",
  storageOverride: "DEFENDER_EXPORT_STORAGE",
  armEndpoint: "ARM_ENDPOINT",
  clientId: "AZURE_CLIENT_ID",
  tenantId: "AZURE_TENANT_ID",
  trustedHosts: "DEFENDER_EXPORT_TRUSTED_HOSTS",
  streamSchedule: "DEFENDER_EXPORT_STREAM_SCHEDULE",
  snapshotCheckSchedule: "DEFENDER_EXPORT_SNAPSHOT_CHECK_SCHEDULE",
  queue: "DEFENDER_EXPORT_QUEUE",
  passTimeLimit: "DEFENDER_EXPORT_PASS_TIME_LIMIT",
  maxBodyBytes: "DEFENDER_EXPORT_MAX_BODY_BYTES",
  writeRole: "DEFENDER_EXPORT_WRITE_ROLE",
  requireRole: "DEFENDER_EXPORT_REQUIRE_ROLE",
  maxConfigurations: "DEFENDER_EXPORT_MAX_CONFIGURATIONS",
  destinationSettings: "DEFENDER_EXPORT_DESTINATION_SETTINGS",
  initialConfiguration: "DEFENDER_EXPORT_INITIAL_CONFIGURATION",
  initialConfigurationName: "DEFENDER_EXPORT_INITIAL_CONFIGURATION_NAME",
  graphQuota: "DEFENDER_EXPORT_GRAPH_QUOTA",
  appInsights: TELEMETRY_SETTINGS.connectionString,
  appInsightsAuthentication: TELEMETRY_SETTINGS.authentication,
} as const;

export const DEFAULT_STREAM_SCHEDULE = "0 */5 * * * *";
export const DEFAULT_SNAPSHOT_CHECK_SCHEDULE = "0 0 * * * *";
export const DEFAULT_QUEUE = "export-passes";

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));
/** A timer's schedule, read as the timers (and croner, which the local host and the status use) will read it. */
const schedule = (fallback: string) =>
  optionalText
    .superRefine((v, ctx) => {
      const problem = v === undefined ? undefined : scheduleProblem(v);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: `expected an NCRONTAB expression, six fields with seconds first, such as "${fallback}": ${problem}` });
    })
    .transform((v) => v ?? fallback);
const wholeNumber = (fallback: number, max: number) =>
  optionalText
    .refine((v) => v === undefined || (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= max), { message: `expected a whole number from 1 to ${max}` })
    .transform((v) => (v === undefined ? fallback : Number(v)));

/** `<queries>/<seconds>`, or `off`. */
const graphQuota = optionalText
  .refine((v) => v === undefined || /^off$/i.test(v) || /^([1-9]\d{0,4})\/([1-9]\d{0,3})$/.test(v), {
    message: 'expected queries per seconds, such as "15/5" (Resource Graph\'s default quota), or "off"',
  })
  .transform((v): GraphQuotaSetting => {
    if (v === undefined) return { queries: 15, windowMs: 5000 };
    if (/^off$/i.test(v)) return "off";
    const [queries, seconds] = v.split("/").map(Number);
    return { queries: queries!, windowMs: seconds! * 1000 };
  });

const shape = {
  [APP_SETTINGS.streamSchedule]: schedule(DEFAULT_STREAM_SCHEDULE),
  [APP_SETTINGS.snapshotCheckSchedule]: schedule(DEFAULT_SNAPSHOT_CHECK_SCHEDULE),
  [APP_SETTINGS.queue]: optionalText
    .refine((v) => v === undefined || /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(v), { message: "expected a storage queue name: 3 to 63 lower-case letters, digits and single hyphens" })
    .transform((v) => v ?? DEFAULT_QUEUE),
  // A Consumption plan stops a function at 10 minutes; a pass saves where it is a minute before.
  [APP_SETTINGS.passTimeLimit]: wholeNumber(540, 24 * 3600),
  [APP_SETTINGS.maxBodyBytes]: wholeNumber(1_048_576, 100 * 1_048_576),
  [APP_SETTINGS.writeRole]: optionalText.transform((v) => v ?? "Exports.Write"),
  [APP_SETTINGS.requireRole]: optionalText.refine((v) => v === undefined || /^(true|false)$/i.test(v), { message: "expected true or false" }).transform((v) => v?.toLowerCase() === "true"),
  [APP_SETTINGS.maxConfigurations]: wholeNumber(200, 10_000),
  [APP_SETTINGS.initialConfiguration]: optionalText,
  [APP_SETTINGS.initialConfigurationName]: optionalText.transform((v) => v ?? "default"),
  [APP_SETTINGS.graphQuota]: graphQuota,
};
const schema = z.object(shape);

/** Where the app's own storage account is: a connection string, or the identity-based connection's endpoints. */
export type StorageSetting = { setting: string } & ({ connectionString: string } | { endpoints: { blob: string; queue: string; table: string } });

/** Resource Graph's quota as the instances share it through storage, or `off`: each process counts alone. */
export type GraphQuotaSetting = { queries: number; windowMs: number } | "off";

export interface AppSettings {
  streamSchedule: string;
  snapshotCheckSchedule: string;
  queue: string;
  passTimeLimitSeconds: number;
  maxBodyBytes: number;
  writeRole: string;
  /**
   * Writes need a caller with the write role, from App Service authentication's X-MS-CLIENT-PRINCIPAL: 401
   * without one, 403 without the role. Set by the deployment that turns authentication on.
   */
  requireRole: boolean;
  /** At most this many export configurations (every timer reads them all). */
  maxConfigurations: number;
  /** A configuration (JSON, any form) stored under its name when none of that name exists: a deployment exports without a further call. */
  initialConfiguration: { name: string; json: string } | undefined;
  armEndpoint: string;
  tenantId: string | undefined;
  /** AZURE_CLIENT_ID: the user-assigned managed identity to use, when not the system-assigned one. */
  clientId: string | undefined;
  allowedDestinations: AllowedDestinations;
  /** The values of the app settings a destination may name (connectionStringSetting, uriSetting), and no other. */
  destinationAppSettings: Readonly<Record<string, string | undefined>>;
  storage: StorageSetting;
  graphQuota: GraphQuotaSetting;
}

/** What the Functions host needs to register the functions: each setting as given when it is valid, else its default. */
export type RegistrationSettings = Pick<AppSettings, "streamSchedule" | "snapshotCheckSchedule" | "queue">;

/**
 * The schedules and the queue, read one by one: a bad value of any setting must not leave the host with no
 * functions (then even health would be a 404); the service names the bad setting at every call instead.
 */
export function registrationSettings(env: NodeJS.ProcessEnv = environment()): RegistrationSettings {
  const one = <K extends keyof typeof shape>(key: K, fallback: string): string => {
    const parsed = shape[key].safeParse(env[key]);
    return parsed.success && typeof parsed.data === "string" ? parsed.data : fallback;
  };
  return {
    streamSchedule: one(APP_SETTINGS.streamSchedule, DEFAULT_STREAM_SCHEDULE),
    snapshotCheckSchedule: one(APP_SETTINGS.snapshotCheckSchedule, DEFAULT_SNAPSHOT_CHECK_SCHEDULE),
    queue: one(APP_SETTINGS.queue, DEFAULT_QUEUE),
  };
}

/** Every app setting, parsed; a bad value throws, naming the setting and what was expected (never its value). */
export function readAppSettings(env: NodeJS.ProcessEnv = environment()): AppSettings {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  }
  const s = parsed.data;
  const allowedDestinations = allowedDestinationsSetting(env);
  const initial = s[APP_SETTINGS.initialConfiguration];
  return {
    streamSchedule: s[APP_SETTINGS.streamSchedule],
    snapshotCheckSchedule: s[APP_SETTINGS.snapshotCheckSchedule],
    queue: s[APP_SETTINGS.queue],
    passTimeLimitSeconds: s[APP_SETTINGS.passTimeLimit],
    maxBodyBytes: s[APP_SETTINGS.maxBodyBytes],
    writeRole: s[APP_SETTINGS.writeRole],
    requireRole: s[APP_SETTINGS.requireRole],
    maxConfigurations: s[APP_SETTINGS.maxConfigurations],
    initialConfiguration: initial === undefined ? undefined : { name: s[APP_SETTINGS.initialConfigurationName], json: initial },
    armEndpoint: armEndpointFrom(env[APP_SETTINGS.armEndpoint]),
    tenantId: env[APP_SETTINGS.tenantId] || undefined,
    clientId: env[APP_SETTINGS.clientId] || undefined,
    allowedDestinations,
    destinationAppSettings: Object.fromEntries(Object.entries(env).filter(([name]) => settingAllowed(name, allowedDestinations))),
    storage: storageSetting(env),
    graphQuota: s[APP_SETTINGS.graphQuota],
  };
}

/** DEFENDER_EXPORT_TRUSTED_HOSTS and DEFENDER_EXPORT_DESTINATION_SETTINGS alone: what validating a configuration needs. */
export function allowedDestinationsSetting(env: NodeJS.ProcessEnv = environment()): AllowedDestinations {
  return allowedDestinationsFrom({ trustedHosts: env[APP_SETTINGS.trustedHosts], destinationSettings: env[APP_SETTINGS.destinationSettings] });
}

/** ARM_ENDPOINT alone (the CLI's read, and its --arm-endpoint falls back on it). */
export function armEndpointSetting(env: NodeJS.ProcessEnv = environment()): string {
  return armEndpointFrom(env[APP_SETTINGS.armEndpoint]);
}

// Settings only the Functions app reads (its timers, queue, HTTP front and bounds).
const APP_ONLY = [
  APP_SETTINGS.streamSchedule,
  APP_SETTINGS.snapshotCheckSchedule,
  APP_SETTINGS.queue,
  APP_SETTINGS.passTimeLimit,
  APP_SETTINGS.maxBodyBytes,
  APP_SETTINGS.writeRole,
  APP_SETTINGS.requireRole,
  APP_SETTINGS.maxConfigurations,
  APP_SETTINGS.initialConfiguration,
  APP_SETTINGS.initialConfigurationName,
] as const;

/**
 * The settings the command line's export and replay read (storage, identity, destinations, ARM), with the
 * Functions app's own at their defaults: a bad one of those does not stop a command that never reads it.
 * `armEndpoint`: --arm-endpoint, already checked, over ARM_ENDPOINT.
 */
export function readCommandSettings(env: NodeJS.ProcessEnv, armEndpoint?: string): AppSettings {
  const read: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(env).filter(([name]) => !(APP_ONLY as readonly string[]).includes(name)));
  if (armEndpoint !== undefined) read[APP_SETTINGS.armEndpoint] = armEndpoint;
  return readAppSettings(read);
}

/** Who the app is, read apart: the CLI's read needs nothing else. */
export function identitySettings(env: NodeJS.ProcessEnv = environment()): { clientId: string | undefined; tenantId: string | undefined } {
  return { clientId: env[APP_SETTINGS.clientId] || undefined, tenantId: env[APP_SETTINGS.tenantId] || undefined };
}

const IDENTITY = `${APP_SETTINGS.storage}__`;

/**
 * DEFENDER_EXPORT_STORAGE, else AzureWebJobsStorage, as a connection string; else the identity-based
 * connection the Functions host uses when shared keys are off (`AzureWebJobsStorage__accountName`, or
 * `__blobServiceUri`, `__queueServiceUri` and `__tableServiceUri`); else Azurite's development storage.
 */
function storageSetting(env: NodeJS.ProcessEnv): StorageSetting {
  const override = env[APP_SETTINGS.storageOverride];
  if (override) return { setting: APP_SETTINGS.storageOverride, connectionString: override };
  const own = env[APP_SETTINGS.storage];
  if (own) return { setting: APP_SETTINGS.storage, connectionString: own };
  const account = env[`${IDENTITY}accountName`];
  const blob = env[`${IDENTITY}blobServiceUri`] ?? (account ? `https://${account}.blob.core.windows.net` : undefined);
  const queue = env[`${IDENTITY}queueServiceUri`] ?? (account ? `https://${account}.queue.core.windows.net` : undefined);
  const table = env[`${IDENTITY}tableServiceUri`] ?? (account ? `https://${account}.table.core.windows.net` : undefined);
  if (blob === undefined && queue === undefined && table === undefined)
    return { setting: `${APP_SETTINGS.storage} (unset: Azurite's development storage)`, connectionString: "UseDevelopmentStorage=true" };
  if (blob === undefined || queue === undefined || table === undefined) {
    throw new Error(`${IDENTITY}blobServiceUri, ${IDENTITY}queueServiceUri and ${IDENTITY}tableServiceUri: expected all three (or ${IDENTITY}accountName)`);
  }
  return { setting: account ? `${IDENTITY}accountName` : `${IDENTITY}blobServiceUri`, endpoints: { blob, queue, table } };
}
