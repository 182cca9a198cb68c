import { sharedAccessKeyName } from "./endpoints.js";
import type { Action, ExportConfiguration } from "./model.js";

/**
 * The configuration as it may be shown: write-only fields (connection strings, trigger URIs) are left
 * out, as ARM leaves them out of responses; `sasPolicyName` is derived as ARM derives it.
 */
export function toPublicConfiguration(configuration: ExportConfiguration): Record<string, unknown> {
  const { actions, ...rest } = configuration;
  return { ...structuredClone(rest), actions: actions.map(publicAction) };
}

function publicAction(action: Action): Record<string, unknown> {
  const shown = JSON.parse(JSON.stringify(action)) as Record<string, unknown>;
  if (action.actionType === "EventHub" && action.connectionString !== undefined) {
    const keyName = sharedAccessKeyName(action.connectionString.reveal());
    if (keyName !== undefined) shown["sasPolicyName"] = keyName;
  }
  return shown;
}
