import { settingAllowed, type DestinationPolicy } from "../config/endpoints.js";

/**
 * The value of the app setting an action names for its secret (a connection string, a trigger URL). Only
 * settings set aside for destinations can be read, and every failure reads the same, so that an answer
 * never tells which settings exist.
 */
export function destinationSetting(name: string, field: string, what: string, settings: Readonly<Record<string, string | undefined>> | undefined, policy: DestinationPolicy): string {
  const value = settingAllowed(name, policy) ? settings?.[name] : undefined;
  if (value === undefined || value.trim() === "") throw unusableSetting(name, field, what);
  return value;
}

export function unusableSetting(name: string, field: string, what: string): Error {
  return new Error(`the app setting ${name} (${field}) is not set, or does not hold ${what} this action can use (a destination on an Azure service host, or one in DEFENDER_EXPORT_TRUSTED_HOSTS)`);
}
