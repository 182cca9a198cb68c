import { z } from "zod";
import { GUID, RESOURCE_GROUP } from "./automation.js";
import { ACTION_TYPES, EVENT_HUB_FORMATS, FINDINGS_SHAPES, matchEnum } from "./enums.js";
import { DATA_TYPES, LOG_ANALYTICS_TABLES } from "../datatypes/registry.js";
import type { Action, EventHubAction, LogicAppAction, StorageAccountAction, WorkspaceAction } from "./model.js";
import { Secret } from "./secret.js";
import {
  DESTINATION_SETTING_PREFIX,
  EVENT_HUB_NAME,
  EVENT_HUB_NAMESPACE_NAME,
  parseEventHubConnectionString,
  isTrustedHost,
  parseNamespace,
  settingAllowed,
  urlAllowed,
  type AllowedDestinations,
} from "./endpoints.js";
import { describe, nonEmptyString, show, strictObject } from "./zod-helpers.js";

// The Event Hubs message formats (mapping/eventhub.ts has their shapes) and the event types that can be sent.
const EVENT_TYPE_NAMES: readonly string[] = DATA_TYPES.map((d) => d.eventHub.category);

const RESOURCE_GROUP_ID = `/subscriptions/${GUID}/resourceGroups/${RESOURCE_GROUP}`;
// The namespace and hub segments follow Event Hubs' naming rules: nothing in them can change the host dialled.
const EVENT_HUB_ID = new RegExp(
  `^${RESOURCE_GROUP_ID}/providers/Microsoft\\.EventHub/namespaces/(${EVENT_HUB_NAMESPACE_NAME.source.slice(1, -1)})/eventhubs/(${EVENT_HUB_NAME.source.slice(1, -1)})$`,
  "iu",
);
// Workspaces: letters, digits and hyphens (Azure: 4 to 63); workflows: up to 80 letters, digits, `_ - . ( )`.
const WORKSPACE_ID = new RegExp(`^${RESOURCE_GROUP_ID}/providers/Microsoft\\.OperationalInsights/workspaces/[A-Za-z0-9][A-Za-z0-9-]{0,62}$`, "iu");
const LOGIC_APP_ID = new RegExp(`^${RESOURCE_GROUP_ID}/providers/Microsoft\\.Logic/workflows/[-\\w.()]{1,80}$`, "iu");
const APP_SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/;

function resourceId(what: string, pattern: RegExp, shape: string) {
  return z.string({ error: (i) => `expected ${what} (a string), got ${describe(i.input)}` }).refine((v) => pattern.test(v.trim()), {
    message: `invalid ${what}; expected ${shape}`,
  });
}

/** A setting a destination reads its secret from: only those the operator set aside for destinations. */
const appSettingName = (what: string, allowed: AllowedDestinations) =>
  z.string({ error: (i) => `expected ${what} (a string), got ${describe(i.input)}` }).superRefine((v, ctx) => {
    if (!APP_SETTING_NAME.test(v)) {
      ctx.addIssue({ code: "custom", message: `invalid ${what}; expected the name of an app setting (letters, digits, _ . : -)` });
    } else if (!settingAllowed(v, allowed)) {
      ctx.addIssue({
        code: "custom",
        message: `${what} must name an app setting set aside for destinations: ${DESTINATION_SETTING_PREFIX}<name>, or one listed in DEFENDER_EXPORT_DESTINATION_SETTINGS`,
      });
    }
  });

const hubName = (what: string) =>
  z.string({ error: (i) => `expected ${what} (a string), got ${describe(i.input)}` }).refine((v) => EVENT_HUB_NAME.test(v), {
    message: `invalid ${what}; expected an Event Hubs name: 1 to 256 letters, digits, '.', '-' and '_', starting and ending with a letter or digit`,
  });

function eventHubSchema(allowed: AllowedDestinations) {
  return strictObject(
    {
      actionType: z.literal("EventHub"),
      eventHubResourceId: resourceId("eventHubResourceId", EVENT_HUB_ID, "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.EventHub/namespaces/<namespace>/eventhubs/<hub>").optional(),
      fullyQualifiedNamespace: nonEmptyString("fullyQualifiedNamespace")
        .superRefine((v, ctx) => {
          const parsed = parseNamespace(v, allowed);
          if (!parsed.ok) ctx.addIssue({ code: "custom", message: `fullyQualifiedNamespace ${show(v)} ${parsed.reason}` });
        })
        .optional(),
      eventHubName: hubName("eventHubName").optional(),
      // Never echo the value: the message names what is wrong, not what was given.
      connectionString: z.string({ error: (i) => `expected connectionString (a string), got ${describe(i.input)}` }).optional(),
      connectionStringSetting: appSettingName("connectionStringSetting", allowed).optional(),
      isTrustedServiceEnabled: z.boolean({ error: (i) => `expected isTrustedServiceEnabled (true or false), got ${describe(i.input)}` }).optional(),
      // Read-only in ARM responses; accepted so that a resource copied from ARM validates, then derived again.
      sasPolicyName: z.string().optional(),
      format: z.enum(EVENT_HUB_FORMATS, { error: (i) => `expected format: one of ${EVENT_HUB_FORMATS.join(", ")}, got ${typeof i.input === "string" ? show(i.input) : describe(i.input)}` }).optional(),
      findingsShape: z.enum(FINDINGS_SHAPES, { error: () => `expected findingsShape: ${FINDINGS_SHAPES.join(" or ")}` }).optional(),
      eventHubNames: z
        .record(z.string(), hubName("a hub name"), { error: (i) => `expected eventHubNames (an object of event type: hub), got ${describe(i.input)}` })
        .superRefine((map, ctx) => {
          for (const key of Object.keys(map)) {
            if (!EVENT_TYPE_NAMES.includes(key)) ctx.addIssue({ code: "custom", path: [key], message: `unknown event type ${show(key)}; expected ${EVENT_TYPE_NAMES.join(", ")}` });
          }
        })
        .optional(),
    },
    "an EventHub action",
  )
    .superRefine((a, ctx) => {
      const fromId = a.eventHubResourceId ? EVENT_HUB_ID.exec(a.eventHubResourceId.trim()) : null;
      let entityPath: string | undefined;
      let badConnectionString = false;
      if (a.connectionString !== undefined) {
        const cs = parseEventHubConnectionString(a.connectionString, allowed);
        badConnectionString = !cs.ok;
        if (!cs.ok) ctx.addIssue({ code: "custom", path: ["connectionString"], message: `invalid connectionString: ${cs.message}` });
        else entityPath = cs.connection.entityPath;
      }
      const hubs = [
        ["eventHubName", a.eventHubName],
        ["the connectionString's EntityPath", entityPath],
        ["eventHubResourceId", fromId?.[2]],
      ].filter((h): h is [string, string] => h[1] !== undefined);
      const distinct = new Set(hubs.map(([, h]) => h.toLowerCase()));
      if (distinct.size > 1) {
        ctx.addIssue({
          code: "custom",
          path: ["eventHubName"],
          message: `the action names different hubs: ${hubs.map(([where, h]) => `${where} ${show(h)}`).join(", ")}`,
        });
      }
      const canConnect = a.connectionString !== undefined || a.connectionStringSetting !== undefined || a.fullyQualifiedNamespace !== undefined || fromId;
      if (!canConnect) {
        ctx.addIssue({
          code: "custom",
          path: [],
          message: "an EventHub action needs eventHubResourceId, fullyQualifiedNamespace with eventHubName, connectionString or connectionStringSetting",
        });
      } else if (hubs.length === 0 && a.connectionStringSetting === undefined && a.eventHubNames === undefined && !badConnectionString) {
        ctx.addIssue({ code: "custom", path: ["eventHubName"], message: "an EventHub action needs the hub: eventHubName, eventHubResourceId or EntityPath in the connection string" });
      }
    })
    .transform((a): EventHubAction => {
      const fromId = a.eventHubResourceId ? EVENT_HUB_ID.exec(a.eventHubResourceId.trim()) : null;
      const out: EventHubAction = { actionType: "EventHub" };
      if (a.eventHubResourceId !== undefined) out.eventHubResourceId = a.eventHubResourceId.trim();
      const namespace =
        a.fullyQualifiedNamespace?.trim().toLowerCase() ?? (fromId && !a.connectionString && !a.connectionStringSetting ? `${fromId[1]!.toLowerCase()}.servicebus.windows.net` : undefined);
      if (namespace !== undefined) out.fullyQualifiedNamespace = namespace;
      const cs = a.connectionString === undefined ? undefined : parseEventHubConnectionString(a.connectionString, allowed);
      const hub = a.eventHubName ?? (cs?.ok ? cs.connection.entityPath : undefined) ?? fromId?.[2];
      if (hub !== undefined) out.eventHubName = hub;
      if (a.connectionString !== undefined) out.connectionString = new Secret(a.connectionString);
      if (a.connectionStringSetting !== undefined) out.connectionStringSetting = a.connectionStringSetting;
      if (a.isTrustedServiceEnabled !== undefined) out.isTrustedServiceEnabled = a.isTrustedServiceEnabled;
      if (a.format !== undefined) out.format = a.format;
      if (a.findingsShape !== undefined) out.findingsShape = a.findingsShape;
      if (a.eventHubNames !== undefined && Object.keys(a.eventHubNames).length > 0) out.eventHubNames = { ...a.eventHubNames };
      return out;
    });
}

function workspaceSchema(allowed: AllowedDestinations) {
  const streams = z.record(z.string(), z.string(), { error: (i) => `expected streams (an object of table: stream), got ${describe(i.input)}` }).superRefine((map, ctx) => {
    for (const [table, stream] of Object.entries(map)) {
      if (!(LOG_ANALYTICS_TABLES as readonly string[]).includes(table)) {
        ctx.addIssue({ code: "custom", path: [table], message: `unknown table ${show(table)}; expected one of ${LOG_ANALYTICS_TABLES.join(", ")}` });
      } else if (!/^(Custom|Microsoft)-[A-Za-z][A-Za-z0-9_]{0,63}$/.test(stream)) {
        ctx.addIssue({ code: "custom", path: [table], message: `invalid stream ${show(stream)}; expected Custom-<name>, for example Custom-${table}_CL` });
      }
    }
  });
  return strictObject(
    {
      actionType: z.literal("Workspace"),
      workspaceResourceId: resourceId("workspaceResourceId", WORKSPACE_ID, "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.OperationalInsights/workspaces/<name>").optional(),
      dataCollectionEndpoint: z
        .string({ error: (i) => `expected dataCollectionEndpoint (a URL), got ${describe(i.input)}` })
        .superRefine((v, ctx) => {
          const checked = urlAllowed("logsIngestion", v, allowed);
          if (!checked.ok)
            ctx.addIssue({ code: "custom", message: `invalid dataCollectionEndpoint ${show(v)}: it ${checked.reason}; expected https://<endpoint>.<region>-1.ingest.monitor.azure.com` });
        })
        .optional(),
      dataCollectionRuleId: z
        .string({ error: (i) => `expected dataCollectionRuleId (a string), got ${describe(i.input)}` })
        .refine((v) => /^dcr-[0-9a-f]{32}$/i.test(v), { message: "invalid dataCollectionRuleId; expected the rule's immutable id, dcr- and 32 hex digits" })
        .optional(),
      streams: streams.optional(),
    },
    "a Workspace action",
  )
    .superRefine((a, ctx) => {
      if ((a.dataCollectionEndpoint === undefined) !== (a.dataCollectionRuleId === undefined)) {
        const missing = a.dataCollectionEndpoint === undefined ? "dataCollectionEndpoint" : "dataCollectionRuleId";
        ctx.addIssue({ code: "custom", path: [missing], message: `${missing} is required with ${missing === "dataCollectionEndpoint" ? "dataCollectionRuleId" : "dataCollectionEndpoint"}` });
      }
      if (a.workspaceResourceId === undefined && a.dataCollectionEndpoint === undefined && a.dataCollectionRuleId === undefined) {
        ctx.addIssue({ code: "custom", path: [], message: "a Workspace action needs dataCollectionEndpoint and dataCollectionRuleId (or at least workspaceResourceId)" });
      }
    })
    .transform((a): WorkspaceAction => {
      const out: WorkspaceAction = { actionType: "Workspace" };
      if (a.workspaceResourceId !== undefined) out.workspaceResourceId = a.workspaceResourceId.trim();
      if (a.dataCollectionEndpoint !== undefined) out.dataCollectionEndpoint = new URL(a.dataCollectionEndpoint).origin;
      if (a.dataCollectionRuleId !== undefined) out.dataCollectionRuleId = a.dataCollectionRuleId.toLowerCase();
      if (a.streams !== undefined && Object.keys(a.streams).length > 0) out.streams = { ...a.streams };
      return out;
    });
}

/**
 * Whether a webhook URI may be called: Logic Apps hosts, or hosts the operator trusted.
 * Checked as a warning at validation (a resource copied from ARM stays valid) and enforced on delivery.
 */
export function isTrustedWebhook(uri: string, allowed: AllowedDestinations): boolean {
  return urlAllowed("logicApps", uri, allowed, { path: true, query: true }).ok;
}

function logicAppSchema(allowed: AllowedDestinations) {
  return strictObject(
    {
      actionType: z.literal("LogicApp"),
      logicAppResourceId: resourceId("logicAppResourceId", LOGIC_APP_ID, "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Logic/workflows/<name>").optional(),
      // The trigger URI carries its signature: a secret, so never echoed.
      uri: z
        .string({ error: (i) => `expected uri (a URL), got ${describe(i.input)}` })
        .superRefine((v, ctx) => {
          const url = URL.canParse(v) ? new URL(v) : undefined;
          if (url === undefined || url.protocol !== "https:") {
            ctx.addIssue({ code: "custom", message: "invalid uri; expected the https:// trigger URL of the Logic App (or webhook)" });
          }
        })
        .optional(),
      uriSetting: appSettingName("uriSetting", allowed).optional(),
    },
    "a LogicApp action",
  ).transform((a): LogicAppAction => {
    const out: LogicAppAction = { actionType: "LogicApp" };
    if (a.logicAppResourceId !== undefined) out.logicAppResourceId = a.logicAppResourceId.trim();
    if (a.uri !== undefined) out.uri = new Secret(a.uri);
    if (a.uriSetting !== undefined) out.uriSetting = a.uriSetting;
    return out;
  });
}

/**
 * A Blob service endpoint for the app's identity: the account's URL and nothing else (a SAS pasted here would
 * be stored and shown). An emulator the operator trusts may be path-style (http://127.0.0.1:10000/account).
 */
export function blobServiceUrl(text: string, allowed: AllowedDestinations): { ok: true; url: URL } | { ok: false; reason: string } {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  const trusted = url !== undefined && isTrustedHost(url.hostname, url.port, allowed);
  return urlAllowed("blob", text, allowed, { http: true, path: trusted });
}

function storageAccountSchema(allowed: AllowedDestinations) {
  return strictObject(
    {
      actionType: z.literal("StorageAccount"),
      blobServiceUrl: z
        .string({ error: (i) => `expected blobServiceUrl (a URL), got ${describe(i.input)}` })
        .superRefine((v, ctx) => {
          const checked = blobServiceUrl(v, allowed);
          if (!checked.ok) ctx.addIssue({ code: "custom", message: `invalid blobServiceUrl ${show(v)}: it ${checked.reason}; expected https://<account>.blob.core.windows.net` });
        })
        .optional(),
      connectionStringSetting: appSettingName("connectionStringSetting", allowed).optional(),
    },
    "a StorageAccount action",
  )
    .superRefine((a, ctx) => {
      if (a.blobServiceUrl === undefined && a.connectionStringSetting === undefined) {
        ctx.addIssue({ code: "custom", path: [], message: "a StorageAccount action needs blobServiceUrl (managed identity) or connectionStringSetting" });
      }
    })
    .transform((a): StorageAccountAction => {
      const out: StorageAccountAction = { actionType: "StorageAccount" };
      if (a.blobServiceUrl !== undefined) out.blobServiceUrl = a.blobServiceUrl.replace(/\/+$/, "");
      if (a.connectionStringSetting !== undefined) out.connectionStringSetting = a.connectionStringSetting;
      return out;
    });
}

/** Each action type's own schema, for documentation (OpenAPI); `actionSchema` is what validates. */
export function actionSchemasByType(allowed: AllowedDestinations) {
  return [eventHubSchema(allowed), workspaceSchema(allowed), logicAppSchema(allowed), storageAccountSchema(allowed)] as const;
}

/** One action; `Internal` (Microsoft's own) parses to null so that the caller can drop it with a warning. */
export function actionSchema(allowed: AllowedDestinations) {
  const byType = {
    EventHub: eventHubSchema(allowed),
    Workspace: workspaceSchema(allowed),
    LogicApp: logicAppSchema(allowed),
    StorageAccount: storageAccountSchema(allowed),
  };
  const expected = ACTION_TYPES.filter((t) => t !== "Internal").join(", ");
  return z.unknown().transform((value, ctx): Action | null => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      ctx.issues.push({ code: "custom", input: value, message: `expected an action (an object with actionType ${expected}), got ${describe(value)}` });
      return z.NEVER;
    }
    const raw = (value as Record<string, unknown>)["actionType"];
    if (typeof raw !== "string") {
      ctx.issues.push({ code: "custom", input: value, path: ["actionType"], message: `expected actionType: one of ${expected}, got ${describe(raw)}` });
      return z.NEVER;
    }
    const actionType = matchEnum(ACTION_TYPES, raw);
    if (actionType === undefined) {
      ctx.issues.push({ code: "custom", input: raw, path: ["actionType"], message: `unknown actionType ${show(raw)}; expected one of ${expected}` });
      return z.NEVER;
    }
    if (actionType === "Internal") return null;
    const parsed = byType[actionType].safeParse({ ...value, actionType });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.issues.push({ code: "custom", input: undefined, message: issue.message, path: issue.path });
      return z.NEVER;
    }
    return parsed.data;
  });
}
