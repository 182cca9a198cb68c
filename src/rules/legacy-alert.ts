import { isPlainObject } from "./jsonpath.js";

/**
 * Real automation rules on alerts use the legacy alert event model's top-level names (`Severity`,
 * `AlertType`, `Intent`, `CompromisedEntity`, ...). Most are the ARM alert's `properties` fields under
 * another casing, which the fallback into `properties` resolves; these are the ones whose ARM name differs.
 */
type Resolver = (alert: Record<string, unknown>) => unknown;

function properties(alert: Record<string, unknown>): Record<string, unknown> | undefined {
  const p = alert["properties"];
  return isPlainObject(p) ? p : undefined;
}

function identifier(alert: Record<string, unknown>, type: string): Record<string, unknown> | undefined {
  const list = properties(alert)?.["resourceIdentifiers"];
  if (!Array.isArray(list)) return undefined;
  return list.find((item): item is Record<string, unknown> => isPlainObject(item) && typeof item["type"] === "string" && item["type"].toLowerCase() === type);
}

const azureResourceId: Resolver = (a) => identifier(a, "azureresource")?.["azureResourceId"];

export const LEGACY_ALERT_FIELDS: ReadonlyMap<string, Resolver> = new Map<string, Resolver>([
  ["timegenerated", (a) => properties(a)?.["timeGeneratedUtc"]],
  ["processingendtime", (a) => properties(a)?.["processingEndTimeUtc"]],
  ["reportedseverity", (a) => properties(a)?.["severity"]],
  ["azureresourceid", azureResourceId],
  [
    "azureresourcesubscriptionid",
    (a) => {
      const id = azureResourceId(a);
      return typeof id === "string" ? /^\/subscriptions\/([^/]+)/i.exec(id)?.[1] : undefined;
    },
  ],
  ["workspaceid", (a) => identifier(a, "loganalytics")?.["workspaceId"]],
  ["workspacesubscriptionid", (a) => identifier(a, "loganalytics")?.["workspaceSubscriptionId"]],
  ["workspaceresourcegroup", (a) => identifier(a, "loganalytics")?.["workspaceResourceGroup"]],
  ["agentid", (a) => identifier(a, "loganalytics")?.["agentId"]],
]);
