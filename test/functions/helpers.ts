import functions from "@azure/functions";
import type { HttpResponseInit } from "@azure/functions";
import { FUNCTIONS } from "../../src/functions/all.js";
import { bindHttp, bindQueue, bindTimer, type HttpFunction } from "../../src/functions/definitions.js";
import { decodeMessageText } from "../../src/hosting/queue.js";
import { ExportService, type ServiceDependencies } from "../../src/hosting/service.js";
import { readAppSettings } from "../../src/hosting/settings.js";
import { storageClients } from "../../src/hosting/storage.js";
import { startSandbox, type Sandbox } from "../../dev/local-host/sandbox.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { staticCredential } from "../helpers/arm.js";

const { HttpRequest, InvocationContext } = functions;

export interface Harness {
  azurite: Azurite;
  sandbox: Sandbox;
  service: ExportService;
  logs: string[];
  env: Record<string, string>;
  http(
    name: string,
    init: { method: string; params?: Record<string, string>; body?: string | Uint8Array; headers?: Record<string, string>; query?: Record<string, string> },
  ): Promise<HttpResponseInit & { json: Record<string, unknown> }>;
  runQueue(): Promise<number>;
  timer(name: string): Promise<void>;
  close(): Promise<void>;
}

export const SECRET_KEY = "c2VjcmV0LWtleS10aGF0LW11c3QtbmV2ZXItbGVhaw==";

/** An ExportService as the hosts make it, over Azurite and the sandbox's fakes, with `extraEnv` as app settings. */
export function sandboxService(
  azurite: Azurite,
  sandbox: Sandbox,
  extraEnv: Record<string, string> = {},
  extra: Partial<ServiceDependencies> = {},
): { service: ExportService; env: Record<string, string> } {
  const env: Record<string, string> = {
    AzureWebJobsStorage: azurite.connectionString,
    ARM_ENDPOINT: sandbox.arm.url,
    DEFENDER_EXPORT_TRUSTED_HOSTS: sandbox.trustedHosts.join(","),
    // The sandbox's hub, with a key that must never show anywhere.
    ...sandbox.appSettings,
    DEFENDER_EXPORT_DEST_SANDBOX_EVENTHUB: sandbox.appSettings["DEFENDER_EXPORT_DEST_SANDBOX_EVENTHUB"]!.replace("SharedAccessKey=fakekey", `SharedAccessKey=${SECRET_KEY}`),
    ...extraEnv,
  };
  const credential = staticCredential();
  const settings = readAppSettings(env);
  return { service: new ExportService({ storage: storageClients(settings.storage, credential), settings, credential, tlsCa: sandbox.tlsCa, ...extra }), env };
}

/** The functions as the hosts bind them, over Azurite and the sandbox's fakes. */
export async function harness(extraEnv: Record<string, string> = {}, extra: Partial<ServiceDependencies> = {}): Promise<Harness> {
  const azurite = await startAzurite();
  const sandbox = await startSandbox({ driftSeconds: 3600 });
  const { service, env } = sandboxService(azurite, sandbox, extraEnv, extra);
  const logs: string[] = [];
  const context = (name: string) =>
    new InvocationContext({
      invocationId: "test-invocation",
      functionName: name,
      logHandler: (level, ...args) => logs.push(`${level} ${args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ")}`),
    });
  const find = (name: string) => FUNCTIONS.find((f) => f.name === name)!;
  const provide = () => Promise.resolve(service);
  return {
    azurite,
    sandbox,
    service,
    logs,
    env,
    async http(name, init) {
      const f = find(name) as HttpFunction;
      const body = init.body === undefined ? undefined : typeof init.body === "string" ? { string: init.body } : { bytes: init.body };
      const request = new HttpRequest({
        method: init.method,
        url: `http://localhost/api/${f.route}`,
        headers: init.headers ?? {},
        params: init.params ?? {},
        query: init.query ?? {},
        ...(body ? { body } : {}),
      });
      const response = await bindHttp(f, provide)(request, context(name));
      return { ...response, json: (response.jsonBody ?? {}) as Record<string, unknown> };
    },
    async runQueue() {
      const worker = bindQueue(find("passWorker") as never, provide);
      let n = 0;
      for (;;) {
        const { receivedMessageItems } = await service.queue.queue.receiveMessages({ numberOfMessages: 32 });
        if (receivedMessageItems.length === 0) return n;
        for (const item of receivedMessageItems) {
          await worker(JSON.parse(decodeMessageText(item.messageText)), context("passWorker"));
          await service.queue.queue.deleteMessage(item.messageId, item.popReceipt);
          n++;
        }
      }
    },
    async timer(name) {
      await bindTimer(find(name) as never, provide)({ isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: "", next: "", lastUpdated: "" } }, context(name));
    },
    async close() {
      await sandbox.close();
      await azurite.stop();
    },
  };
}
