import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";
import { redactSecretsInText } from "../../src/config/secret.js";
import { toPublicConfiguration } from "../../src/config/public.js";
import type { ExportConfiguration } from "../../src/config/model.js";

const SUB = "a5caac9c-5c04-49af-b3d0-e204f40345d5";
const HUB_ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/contoso-ns/eventhubs/defender`;
const KEY = "c2VjcmV0LWtleS12YWx1ZS10aGF0LW11c3QtbmV2ZXItbGVhaw==";
const CONNECTION = `Endpoint=sb://contoso-ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=${KEY};EntityPath=defender`;
const TRIGGER = "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-10-01&sig=TRIGGERSIGNATURE123";

function configure(actions: unknown[], trustedHosts: string[] = []) {
  return parseExportConfiguration({ sources: [{ eventSource: "Alerts" }], scopes: [`/subscriptions/${SUB}`], actions }, { allowedDestinations: { trustedHosts } });
}

function ok(actions: unknown[], trustedHosts: string[] = []): ExportConfiguration {
  const result = configure(actions, trustedHosts);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.configuration;
}

describe("EventHub actions", () => {
  it("ARM's shape with a connection string: hub from EntityPath, sasPolicyName derived, key never shown", () => {
    const config = ok([{ actionType: "EventHub", eventHubResourceId: HUB_ID, connectionString: CONNECTION }]);
    expect(config.actions[0]).toMatchObject({ actionType: "EventHub", eventHubName: "defender" });
    const shown = toPublicConfiguration(config);
    expect(shown["actions"]).toEqual([{ actionType: "EventHub", eventHubResourceId: HUB_ID, eventHubName: "defender", sasPolicyName: "send" }]);
    for (const text of [
      JSON.stringify(shown),
      JSON.stringify(config),
      inspect(config, { depth: 10 }),
      String(config.actions[0] && (config.actions[0] as { connectionString?: unknown }).connectionString),
    ]) {
      expect(text).not.toContain(KEY);
      expect(text).not.toContain("SharedAccessKey=");
    }
  });

  it("managed identity: namespace and hub, or derived from the resource id", () => {
    expect(ok([{ actionType: "EventHub", fullyQualifiedNamespace: "contoso-ns.servicebus.windows.net", eventHubName: "defender" }]).actions[0]).toEqual({
      actionType: "EventHub",
      fullyQualifiedNamespace: "contoso-ns.servicebus.windows.net",
      eventHubName: "defender",
    });
    expect(ok([{ actionType: "EventHub", eventHubResourceId: HUB_ID }]).actions[0]).toEqual({
      actionType: "EventHub",
      eventHubResourceId: HUB_ID,
      fullyQualifiedNamespace: "contoso-ns.servicebus.windows.net",
      eventHubName: "defender",
    });
  });

  it("rejects a bad connection string without quoting it", () => {
    const result = configure([{ actionType: "EventHub", eventHubName: "h", connectionString: `Endpoint=https://x/;SharedAccessKey=${KEY}` }]);
    expect(result.ok).toBe(false);
    const text = JSON.stringify(result);
    expect(text).toContain("$.actions[0].connectionString");
    expect(text).toContain("invalid connectionString: its Endpoint is not sb://<host>/");
    expect(text).not.toContain(KEY);
    // A key pasted without its name (or with a space for "="): no part of a connection string is ever quoted.
    for (const pasted of [
      `Endpoint=sb://contoso-ns.servicebus.windows.net/;SharedAccessKeyName=send;${KEY}`,
      `Endpoint=sb://contoso-ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey ${KEY}=`,
    ]) {
      const bad = JSON.stringify(configure([{ actionType: "EventHub", eventHubName: "h", connectionString: pasted }]));
      expect(bad).toMatch(/invalid connectionString: its part 3 is not/);
      expect(bad).not.toContain(KEY.slice(0, 12));
    }
  });

  it("refuses a secret in free text (descriptions, rule values) and in resource ids, without quoting it", () => {
    const secret = `Endpoint=sb://contoso-ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=${KEY}`;
    const cases = [
      { description: secret },
      { scopes: [{ scopePath: "/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23", description: `https://prod-00.westeurope.logic.azure.com/workflows/x?sig=${KEY}` }] },
      { sources: [{ eventSource: "Alerts", ruleSets: [{ rules: [{ propertyJPath: "a", propertyType: "String", operator: "Equals", expectedValue: `AccountKey=${KEY}` }] }] }] },
      {
        actions: [
          {
            actionType: "EventHub",
            eventHubResourceId: `/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/resourceGroups/SharedAccessKey=${KEY}/providers/Microsoft.EventHub/namespaces/contoso-ns/eventhubs/h`,
          },
        ],
      },
      { actions: [{ actionType: "EventHub", fullyQualifiedNamespace: KEY, eventHubName: "h" }] },
      { actions: [{ actionType: "StorageAccount", blobServiceUrl: `https://${KEY}` }] },
    ];
    for (const extra of cases) {
      const result = parseExportConfiguration({ sources: [{ eventSource: "Alerts" }], ...extra });
      expect(result.ok, JSON.stringify(extra).slice(0, 60)).toBe(false);
      expect(JSON.stringify(result)).not.toContain(KEY.slice(0, 12));
    }
  });

  it("accepts destinations only on Event Hubs hosts, or hosts the operator trusts", () => {
    const local = `Endpoint=sb://localhost:5672;SharedAccessKeyName=x;SharedAccessKey=${KEY};UseDevelopmentEmulator=true;EntityPath=hub1`;
    const refused = configure([{ actionType: "EventHub", connectionString: local }]);
    expect(!refused.ok && refused.errors[0]).toEqual({ path: "$.actions[0].connectionString", message: expect.stringMatching(/Endpoint host "localhost" is not an Event Hubs namespace/) });
    expect(configure([{ actionType: "EventHub", connectionString: local }], ["localhost:5672"]).ok).toBe(true);
    const evil = configure([{ actionType: "EventHub", fullyQualifiedNamespace: "servicebus.windows.net.evil.com", eventHubName: "h" }]);
    expect(!evil.ok && evil.errors[0]!.path).toBe("$.actions[0].fullyQualifiedNamespace");
  });

  it("needs a way to connect and one hub", () => {
    const none = configure([{ actionType: "EventHub" }]);
    expect(!none.ok && none.errors[0]!.message).toMatch(/needs eventHubResourceId, fullyQualifiedNamespace with eventHubName, connectionString or connectionStringSetting/);
    const two = configure([{ actionType: "EventHub", eventHubResourceId: HUB_ID, eventHubName: "other" }]);
    expect(!two.ok && two.errors[0]!.message).toMatch(/names different hubs: eventHubName "other", eventHubResourceId "defender"/);
    const setting = ok([{ actionType: "EventHub", connectionStringSetting: "DEFENDER_EXPORT_DEST_EVENTHUB" }]);
    expect(toPublicConfiguration(setting)["actions"]).toEqual([{ actionType: "EventHub", connectionStringSetting: "DEFENDER_EXPORT_DEST_EVENTHUB" }]);
  });
});

describe("Workspace actions", () => {
  const workspaceId = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law`;
  it("ARM's shape plus the Logs Ingestion endpoint, rule and streams", () => {
    const config = ok([
      {
        actionType: "Workspace",
        workspaceResourceId: workspaceId,
        dataCollectionEndpoint: "https://defender-dce-a1b2.westeurope-1.ingest.monitor.azure.com/",
        dataCollectionRuleId: "dcr-00112233445566778899AABBCCDDEEFF",
        streams: { SecurityAlert: "Custom-DefenderAlerts_CL" },
      },
    ]);
    expect(config.actions[0]).toEqual({
      actionType: "Workspace",
      workspaceResourceId: workspaceId,
      dataCollectionEndpoint: "https://defender-dce-a1b2.westeurope-1.ingest.monitor.azure.com",
      dataCollectionRuleId: "dcr-00112233445566778899aabbccddeeff",
      streams: { SecurityAlert: "Custom-DefenderAlerts_CL" },
    });
  });
  it("names what is wrong", () => {
    const bad = configure([
      {
        actionType: "workspace",
        workspaceResourceId: "/subscriptions/x/workspaces/law",
        dataCollectionEndpoint: "http://10.0.0.1/",
        dataCollectionRuleId: "my-rule",
        streams: { SecurityAlerts: "Custom-X_CL", SecureScores: "Scores" },
      },
    ]);
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.errors.map((e) => e.path)).toEqual([
      "$.actions[0].workspaceResourceId",
      "$.actions[0].dataCollectionEndpoint",
      "$.actions[0].dataCollectionRuleId",
      "$.actions[0].streams.SecurityAlerts",
      "$.actions[0].streams.SecureScores",
    ]);
    const half = configure([{ actionType: "Workspace", dataCollectionRuleId: "dcr-00112233445566778899aabbccddeeff" }]);
    expect(!half.ok && half.errors[0]).toEqual({ path: "$.actions[0].dataCollectionEndpoint", message: "dataCollectionEndpoint is required with dataCollectionRuleId" });
  });
});

describe("LogicApp actions and other action problems", () => {
  it("keeps the trigger URI write-only", () => {
    const config = ok([{ actionType: "LogicApp", logicAppResourceId: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Logic/workflows/wf`, uri: TRIGGER }]);
    const text = JSON.stringify(toPublicConfiguration(config)) + inspect(config, { depth: 10 });
    expect(text).not.toContain("TRIGGERSIGNATURE123");
    expect(text).not.toContain("logic.azure.com");
    expect(configure([{ actionType: "LogicApp", uri: TRIGGER }]).warnings).toEqual([]);
  });
  it("unknown actionType and a non-object action", () => {
    const result = configure([{ actionType: "Webhook" }, "EventHub", { uri: "https://x" }]);
    expect(!result.ok && result.errors).toEqual([
      { path: "$.actions[0].actionType", message: 'unknown actionType "Webhook"; expected one of EventHub, Workspace, LogicApp, StorageAccount' },
      { path: "$.actions[1]", message: "expected an action (an object with actionType EventHub, Workspace, LogicApp, StorageAccount), got a string" },
      { path: "$.actions[2].actionType", message: "expected actionType: one of EventHub, Workspace, LogicApp, StorageAccount, got nothing" },
    ]);
  });
});

describe("redactSecretsInText", () => {
  it("scrubs keys, signatures and tokens from free text", () => {
    const text = redactSecretsInText(`failed with ${CONNECTION} calling ${TRIGGER} (Authorization: Bearer eyJhbGciOi.abc-def_ghi)`);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain("TRIGGERSIGNATURE123");
    expect(text).not.toContain("eyJhbGciOi");
    expect(text).toContain("SharedAccessKeyName=send");
  });
});
