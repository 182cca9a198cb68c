import { createHash } from "node:crypto";
import type { Action } from "./model.js";

/**
 * A stable name for an action, made of what identifies its destination and never of its secrets:
 * dead letters and pass records are filed under it, and replay finds the action by it.
 */
export function actionKey(action: Action): string {
  const parts: (string | undefined)[] =
    action.actionType === "EventHub"
      ? [action.eventHubResourceId, action.fullyQualifiedNamespace, action.eventHubName, action.connectionStringSetting]
      : action.actionType === "Workspace"
        ? [action.workspaceResourceId, action.dataCollectionEndpoint, action.dataCollectionRuleId]
        : action.actionType === "StorageAccount"
          ? [action.blobServiceUrl, action.connectionStringSetting]
          : [action.logicAppResourceId, action.uriSetting, action.uri === undefined ? undefined : createHash("sha256").update(action.uri.reveal()).digest("hex")];
  const digest = createHash("sha256")
    .update([action.actionType, ...parts.map((p) => (p ?? "").toLowerCase())].join("\n"))
    .digest("hex")
    .slice(0, 16);
  return `${action.actionType.toLowerCase()}-${digest}`;
}
