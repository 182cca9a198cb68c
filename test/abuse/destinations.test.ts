import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import type { EventHubAction } from "../../src/config/model.js";
import { BlobSink } from "../../src/destinations/blob.js";
import { EventHubSink } from "../../src/destinations/event-hubs.js";
import { CONFIGURATION_TABLE } from "../../src/hosting/configurations.js";
import { storageClients } from "../../src/hosting/storage.js";
import type { SinkDependencies } from "../../src/destinations/sink.js";
import { readAppSettings } from "../../src/hosting/settings.js";
import { staticCredential } from "../helpers/arm.js";
import { storage } from "../helpers/destinations.js";
import { harness, type Harness } from "../functions/helpers.js";

// Every way the security review found to send the app's token and records to a host of the caller's choosing
// (the December 2026 security review, findings 1, 8, 9 and 10), refused before anything is stored or dialled.
// A listener on loopback stands where the attacker's host would: it must see no connection at all.

let h: Harness;
let trap: { port: number; connections: number; close(): Promise<void> };

const CANARY = "TRAPCANARY0123456789";

beforeAll(async () => {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  trap = {
    port,
    get connections() {
      return connections;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
  const key = `SharedAccessKeyName=k;SharedAccessKey=${CANARY}`;
  h = await harness({
    // Connection strings an operator might be tricked into setting (or a CLI file might hold), each aimed at the trap.
    DEFENDER_EXPORT_DEST_DUPLICATE_KEY: `Endpoint =sb://127.0.0.1:${port}/;endpoint=sb://contoso-ns.servicebus.windows.net/;${key};EntityPath=h`,
    DEFENDER_EXPORT_DEST_TWO_ENDPOINTS: `Endpoint=sb://contoso-ns.servicebus.windows.net/;${key};Endpoint=sb://127.0.0.1:${port}/;EntityPath=h`,
    DEFENDER_EXPORT_DEST_IPV6_IN_PATH: `Endpoint=sb://contoso-ns.servicebus.windows.net/::1;${key};EntityPath=h`,
    DEFENDER_EXPORT_DEST_IPV6: `Endpoint=sb://[::1]:${port}/;${key};EntityPath=h`,
    DEFENDER_EXPORT_DEST_PLAINTEXT: `Endpoint=sb://contoso-ns.servicebus.windows.net/;${key};UseDevelopmentEmulator=true;EntityPath=h`,
    DEFENDER_EXPORT_DEST_PORT_IN_PATH: `Endpoint=sb://contoso-ns.servicebus.windows.net/x:${port};${key};EntityPath=h`,
    DEFENDER_EXPORT_DEST_BLOB_ELSEWHERE: `DefaultEndpointsProtocol=http;AccountName=a;AccountKey=${Buffer.from(CANARY).toString("base64")};BlobEndpoint=http://127.0.0.1:${port}/a;`,
    DEFENDER_EXPORT_DEST_BLOB_SAS: `BlobEndpoint=https://127.0.0.1:${port}/;SharedAccessSignature=sv=2022-11-02&sig=${CANARY}`,
    DEFENDER_EXPORT_DEST_HOOK_ELSEWHERE: `https://127.0.0.1:${port}/hook?sig=${CANARY}`,
  });
}, 60_000);

afterAll(async () => {
  expect(trap.connections, "connections to the trap").toBe(0);
  await h.close();
  await trap.close();
});

const hostile = () => {
  const p = trap.port;
  const hub = { actionType: "EventHub", fullyQualifiedNamespace: "contoso-ns.servicebus.windows.net" };
  const rg = "/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/resourceGroups/rg/providers/Microsoft.EventHub/namespaces";
  return {
    "a namespace holding ; before the suffix": { actionType: "EventHub", fullyQualifiedNamespace: `127.0.0.1:${p};x=.servicebus.windows.net`, eventHubName: "h" },
    "a namespace holding / before the suffix": { actionType: "EventHub", fullyQualifiedNamespace: `127.0.0.1:${p}/x.servicebus.windows.net`, eventHubName: "h" },
    "a namespace asking for plain AMQP": { actionType: "EventHub", fullyQualifiedNamespace: `127.0.0.1;UseDevelopmentEmulator=true;x=.servicebus.windows.net`, eventHubName: "h" },
    "a namespace with a port": { actionType: "EventHub", fullyQualifiedNamespace: `contoso-ns.servicebus.windows.net:${p}`, eventHubName: "h" },
    "a namespace as an IP": { actionType: "EventHub", fullyQualifiedNamespace: `127.0.0.1`, eventHubName: "h" },
    "a namespace with a trailing dot": { actionType: "EventHub", fullyQualifiedNamespace: "contoso-ns.servicebus.windows.net.", eventHubName: "h" },
    "a lookalike suffix": { actionType: "EventHub", fullyQualifiedNamespace: "contoso-ns.servicebus.windows.net.evil.example", eventHubName: "h" },
    "a resource id's namespace holding ;": { actionType: "EventHub", eventHubResourceId: `${rg}/127.0.0.1:${p};x=/eventhubs/h` },
    "a resource id's namespace holding a port": { actionType: "EventHub", eventHubResourceId: `${rg}/contoso:1/eventhubs/hub` },
    "a hub name carrying an Endpoint": { ...hub, eventHubName: `h;Endpoint=sb://127.0.0.1:${p};UseDevelopmentEmulator=true` },
    "a per-type hub name carrying an Endpoint": { ...hub, eventHubNames: { SecurityAlert: `h;Endpoint=sb://127.0.0.1:${p}` } },
    "a resource id's hub carrying an Endpoint": { actionType: "EventHub", eventHubResourceId: `${rg}/contoso-ns/eventhubs/h;Endpoint=sb:` },
    "a connection string with a case-duplicated Endpoint": { actionType: "EventHub", connectionStringSetting: "DEFENDER_EXPORT_DEST_DUPLICATE_KEY" },
    "a connection string with two Endpoints": { actionType: "EventHub", connectionStringSetting: "DEFENDER_EXPORT_DEST_TWO_ENDPOINTS" },
    "a connection string whose path names ::1": { actionType: "EventHub", connectionStringSetting: "DEFENDER_EXPORT_DEST_IPV6_IN_PATH" },
    "a connection string to an IPv6 literal": { actionType: "EventHub", connectionStringSetting: "DEFENDER_EXPORT_DEST_IPV6" },
    "a connection string asking for plain AMQP": { actionType: "EventHub", connectionStringSetting: "DEFENDER_EXPORT_DEST_PLAINTEXT" },
    "a connection string with a port in its path": { actionType: "EventHub", connectionStringSetting: "DEFENDER_EXPORT_DEST_PORT_IN_PATH" },
    "a blob connection string elsewhere": { actionType: "StorageAccount", connectionStringSetting: "DEFENDER_EXPORT_DEST_BLOB_ELSEWHERE" },
    "a blob connection string with a SAS elsewhere": { actionType: "StorageAccount", connectionStringSetting: "DEFENDER_EXPORT_DEST_BLOB_SAS" },
    "the app's own storage account": { actionType: "StorageAccount", connectionStringSetting: "AzureWebJobsStorage" },
    "a setting of the app itself": { actionType: "EventHub", connectionStringSetting: "APPLICATIONINSIGHTS_CONNECTION_STRING", eventHubName: "h" },
    "a blob URL carrying a SAS": { actionType: "StorageAccount", blobServiceUrl: `https://contoso.blob.core.windows.net/?sv=2022-11-02&ss=b&sig=${CANARY}` },
    "a blob URL with a user": { actionType: "StorageAccount", blobServiceUrl: `https://user:${CANARY}@contoso.blob.core.windows.net` },
    "a blob URL with a path": { actionType: "StorageAccount", blobServiceUrl: "https://contoso.blob.core.windows.net/container/x" },
    "a blob URL in plain HTTP": { actionType: "StorageAccount", blobServiceUrl: "http://contoso.blob.core.windows.net" },
    "a blob URL elsewhere": { actionType: "StorageAccount", blobServiceUrl: `https://127.0.0.1:${p}` },
    "a trigger URL elsewhere": { actionType: "LogicApp", uriSetting: "DEFENDER_EXPORT_DEST_HOOK_ELSEWHERE" },
    "a Logs Ingestion endpoint elsewhere": { actionType: "Workspace", dataCollectionEndpoint: `https://127.0.0.1:${p}`, dataCollectionRuleId: "dcr-00112233445566778899aabbccddeeff" },
    "a Logs Ingestion endpoint with a key in its query": {
      actionType: "Workspace",
      dataCollectionEndpoint: `https://dce-1.westeurope-1.ingest.monitor.azure.com/?code=${CANARY}`,
      dataCollectionRuleId: "dcr-00112233445566778899aabbccddeeff",
    },
    "a connection string pasted as the namespace": { actionType: "EventHub", fullyQualifiedNamespace: `Endpoint=sb://contoso-ns.servicebus.windows.net/;SharedAccessKey=${CANARY}`, eventHubName: "h" },
  } satisfies Record<string, Record<string, unknown>>;
};

describe("destinations only on Azure service hosts, whatever the input", () => {
  it("every input of the review is refused with a 400 that names the field, and nothing is stored", async () => {
    for (const [what, action] of Object.entries(hostile())) {
      const r = await h.http("export", {
        method: "PUT",
        params: { name: "hostile" },
        body: JSON.stringify({ scopes: [h.sandbox.dataset.subscriptionPath], sources: [{ eventSource: "Alerts" }], actions: [action] }),
      });
      expect(r.status, what).toBe(400);
      const errors = r.json["errors"] as { path: string; message: string }[];
      expect(errors.length, what).toBeGreaterThan(0);
      expect(
        errors.every((e) => e.path.startsWith("$.actions[0]")),
        `${what}: ${JSON.stringify(errors)}`,
      ).toBe(true);
      // Never a secret in the answer, even one pasted into a field where none belongs.
      expect(JSON.stringify(r.json), what).not.toContain(CANARY);
      expect(JSON.stringify(r.json), what).not.toContain(Buffer.from(CANARY).toString("base64"));
    }
    expect(await h.service.configurations.find("hostile")).toBeUndefined();
  });

  it("the policy form's eventHubDetails takes the same rule", async () => {
    const rule = (ns: string) => `/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/${ns}/eventhubs/hub/authorizationrules/send`;
    for (const ns of [`127.0.0.1:${trap.port};x=`, "contoso:1"]) {
      const r = await h.http("export", { method: "PUT", params: { name: "hostile" }, body: JSON.stringify({ exportedDataTypes: ["Security alerts"], eventHubDetails: rule(ns) }) });
      expect(r.status, ns).toBe(400);
    }
    expect(await h.service.configurations.find("hostile")).toBeUndefined();
  });

  it("an answer never says whether an app setting exists", async () => {
    const refusal = async (setting: string) => {
      const r = await h.http("export", {
        method: "PUT",
        params: { name: "hostile" },
        body: JSON.stringify({ sources: [{ eventSource: "Alerts" }], actions: [{ actionType: "EventHub", connectionStringSetting: setting, eventHubName: "h" }] }),
      });
      expect(r.status).toBe(400);
      return JSON.stringify(r.json).replaceAll(setting, "<setting>");
    };
    // Set but pointing elsewhere, set but not a connection string, not set: the same answer.
    expect(await refusal("DEFENDER_EXPORT_DEST_DUPLICATE_KEY")).toBe(await refusal("DEFENDER_EXPORT_DEST_NOT_THERE"));
    expect(await refusal("DEFENDER_EXPORT_DEST_HOOK_ELSEWHERE")).toBe(await refusal("DEFENDER_EXPORT_DEST_NOT_THERE"));
    // Outside the prefix: refused by name, whether or not it exists.
    expect(await refusal("AzureWebJobsStorage")).toBe(await refusal("NO_SUCH_SETTING_ANYWHERE"));
  });

  it("a configuration stored past validation (an older version, a direct write) is not run, and nothing connects", async () => {
    const table = storageClients(readAppSettings(h.env).storage, staticCredential()).table(CONFIGURATION_TABLE);
    const hub = { actionType: "EventHub", fullyQualifiedNamespace: "contoso-ns.servicebus.windows.net", eventHubName: `h;Endpoint=sb://127.0.0.1:${trap.port};UseDevelopmentEmulator=true` };
    const document = JSON.stringify({
      isEnabled: true,
      scopes: [{ scopePath: h.sandbox.dataset.subscriptionPath }],
      sources: [{ eventSource: "Alerts", ruleSets: null }],
      actions: [hub],
      snapshotSchedule: "0 0 0 * * 0",
      baselineSnapshot: true,
    });
    await table.createTable();
    await table.upsertEntity({ partitionKey: "exports", rowKey: "0smuggled", version: 1, chunks: 1, updatedAt: new Date().toISOString(), document0: document }, "Replace");
    // Beside it, a valid configuration: it is queued and runs as if the other were not there.
    expect((await h.http("export", { method: "PUT", params: { name: "sandbox" }, body: JSON.stringify(h.sandbox.configuration) })).status).toBe(201);
    try {
      await h.timer("streamTimer");
      expect(await h.runQueue()).toBe(7);
      expect((await h.http("exportRun", { method: "POST", params: { name: "0smuggled" } })).status).toBe(409);
      expect(h.logs.some((l) => /stored configuration 0smuggled no longer validates/.test(l))).toBe(true);
      expect(h.sandbox.received().logAnalytics["Custom-SecurityAlert_CL"]).toBe(h.sandbox.dataset.sizes.alerts);
    } finally {
      await table.deleteEntity("exports", "0smuggled");
      await h.service.delete("sandbox");
    }
  });

  it("a sink given a hostile action past validation refuses it before dialling, as the SDK would read it", () => {
    const deps: SinkDependencies = { credential: staticCredential(), deadLetters: storage(h.azurite, "hostile").deadLetters, allowedDestinations: { trustedHosts: [] }, destinationAppSettings: h.env };
    const p = trap.port;
    const actions: EventHubAction[] = [
      { actionType: "EventHub", fullyQualifiedNamespace: `127.0.0.1:${p};x=.servicebus.windows.net`, eventHubName: "h" },
      { actionType: "EventHub", fullyQualifiedNamespace: "contoso-ns.servicebus.windows.net", eventHubName: `h;Endpoint=sb://127.0.0.1:${p};UseDevelopmentEmulator=true` },
      { actionType: "EventHub", fullyQualifiedNamespace: "contoso-ns.servicebus.windows.net", eventHubNames: { SecurityAlert: `h;Endpoint=sb://127.0.0.1:${p}` } },
      { actionType: "EventHub", connectionString: new Secret(h.env["DEFENDER_EXPORT_DEST_TWO_ENDPOINTS"]!) },
      { actionType: "EventHub", connectionString: new Secret(h.env["DEFENDER_EXPORT_DEST_IPV6_IN_PATH"]!) },
      { actionType: "EventHub", connectionString: new Secret(h.env["DEFENDER_EXPORT_DEST_PLAINTEXT"]!) },
      { actionType: "EventHub", connectionStringSetting: "DEFENDER_EXPORT_DEST_PORT_IN_PATH" },
    ];
    for (const action of actions) expect(() => new EventHubSink(action, deps), JSON.stringify(action)).toThrow(/Event Hubs|fullyQualifiedNamespace|app setting/);
    expect(() => new BlobSink({ actionType: "StorageAccount", connectionStringSetting: "DEFENDER_EXPORT_DEST_BLOB_ELSEWHERE" }, deps)).toThrow(/app setting/);
    expect(() => new BlobSink({ actionType: "StorageAccount", blobServiceUrl: `https://127.0.0.1:${p}` }, deps)).toThrow(/blobServiceUrl/);
  });
});
