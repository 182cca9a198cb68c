import type { EventHubAction, LogicAppAction, StorageAccountAction } from "../config/model.js";
import { settingAllowed, type AllowedDestinations } from "../config/endpoints.js";
import type { SinkDependencies } from "./sink.js";

type ActionWithSetting = EventHubAction | LogicAppAction | StorageAccountAction;

/** Per action type: the field that names the setting, and what the setting must hold. */
const SECRET_SETTING = {
  EventHub: { field: "connectionStringSetting", holds: "an Event Hubs connection string" },
  StorageAccount: { field: "connectionStringSetting", holds: "a Blob storage connection string" },
  LogicApp: { field: "uriSetting", holds: "a Logic Apps trigger URL" },
} as const satisfies Record<ActionWithSetting["actionType"], { field: string; holds: string }>;

/**
 * The secret an action names by app setting (a connection string, a trigger URL), as `use` makes it (a
 * checked connection, a client); undefined when the action names no setting. Only settings set aside for
 * destinations are read, and a setting that is not set, not allowed, or that `use` refuses (undefined) fails
 * in the same words, so that an answer never tells which settings exist or what they hold.
 */
export function resolveSetting<T>(
  action: ActionWithSetting,
  appSettings: SinkDependencies["destinationAppSettings"],
  allowed: AllowedDestinations,
  use: (value: string) => T | undefined,
): T | undefined {
  const name = action.actionType === "LogicApp" ? action.uriSetting : action.connectionStringSetting;
  if (name === undefined) return undefined;
  const value = settingAllowed(name, allowed) ? appSettings?.[name] : undefined;
  const used = value === undefined || value.trim() === "" ? undefined : use(value);
  if (used === undefined) {
    const { field, holds } = SECRET_SETTING[action.actionType];
    throw new Error(`the app setting ${name} (${field}) is not set, or does not hold ${holds} this action can use (a destination on an Azure service host, or one in DEFENDER_EXPORT_TRUSTED_HOSTS)`);
  }
  return used;
}
