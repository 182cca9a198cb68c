// The one place that reads the process's environment. The app settings are parsed once, by settings.ts, into
// AppSettings; telemetry's few are read here, without the rest, because telemetry starts before anything loads.

/** The app settings as the process got them, for the entry points to parse (and the local host to extend). */
export function environment(): NodeJS.ProcessEnv {
  return process.env;
}

export const TELEMETRY_SETTINGS = {
  connectionString: "APPLICATIONINSIGHTS_CONNECTION_STRING",
  authentication: "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
  clientId: "AZURE_CLIENT_ID",
} as const;

export interface TelemetrySettings {
  connectionString: string | undefined;
  /** Local authentication off on the resource (infra/): the app sends with its managed identity, as the host does. */
  entraAuthentication: boolean;
  clientId: string | undefined;
}

export function telemetrySettings(env: NodeJS.ProcessEnv = environment()): TelemetrySettings {
  return {
    connectionString: env[TELEMETRY_SETTINGS.connectionString] || undefined,
    entraAuthentication: /Authorization=AAD/i.test(env[TELEMETRY_SETTINGS.authentication] ?? ""),
    clientId: env[TELEMETRY_SETTINGS.clientId] || undefined,
  };
}
