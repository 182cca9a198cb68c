// `npm start`: the Functions app on this machine, without the Functions host. Azurite for storage, and
// unless AZURE_SUBSCRIPTION_ID is set, a sandbox of local ARM, Logs Ingestion and Event Hubs endpoints.
import { startAzurite } from "../fakes/azurite.js";
import { FUNCTIONS } from "../../src/functions/all.js";
import { environment } from "../../src/hosting/environment.js";
import { readAppSettings } from "../../src/hosting/settings.js";
import { storageClients } from "../../src/hosting/storage.js";
import { defaultCredential } from "../../src/sources/credentials.js";
import { startLocalHost } from "./host.js";
import { startSandbox } from "./sandbox.js";

const log = (line: string) => process.stdout.write(`${line}\n`);
const env = { ...environment() };
const port = env["PORT"] === undefined ? 7071 : Number(env["PORT"]);

const azurite = env["AzureWebJobsStorage"] || env["DEFENDER_EXPORT_STORAGE"] ? undefined : await startAzurite();
if (azurite) env["AzureWebJobsStorage"] = azurite.connectionString;

const real = Boolean(env["AZURE_SUBSCRIPTION_ID"]);
const sandbox = real ? undefined : await startSandbox();
if (sandbox) {
  env["ARM_ENDPOINT"] = sandbox.arm.url;
  env["DEFENDER_EXPORT_TRUSTED_HOSTS"] = [env["DEFENDER_EXPORT_TRUSTED_HOSTS"], ...sandbox.trustedHosts].filter(Boolean).join(",");
  env["DEFENDER_EXPORT_STREAM_SCHEDULE"] ??= "*/20 * * * * *";
  Object.assign(env, sandbox.appSettings);
}
const settings = readAppSettings(env);
const credential = sandbox ? { getToken: async () => ({ token: "sandbox", expiresOnTimestamp: Date.now() + 3_600_000 }) } : defaultCredential(settings.clientId);
const host = await startLocalHost({
  functions: FUNCTIONS,
  storage: storageClients(settings.storage, credential),
  settings,
  credential,
  ...(sandbox ? { tlsCa: sandbox.tlsCa, extraRoutes: { "/api/sandbox": () => sandbox.received() } } : {}),
  port,
  log,
}).catch(async (e: unknown) => {
  process.stderr.write(`defender-export local host: ${(e as Error).message}\n`);
  await sandbox?.close();
  await azurite?.stop();
  process.exit(1);
});

if (sandbox) {
  const existing = await host.service.configurations.get("sandbox");
  if (existing === undefined) await host.service.put("sandbox", sandbox.configuration, { create: true });
  // The first passes now (the baseline snapshot), not at the first timer.
  await host.service.enqueueStreaming();
}

log(
  `defender-export local host listening on ${host.url}/api (storage: ${azurite ? "Azurite, in memory" : "from AzureWebJobsStorage"}; data: ${sandbox ? `sandbox subscription ${sandbox.dataset.subscriptionPath}` : `Azure subscription ${env["AZURE_SUBSCRIPTION_ID"]}`})`,
);
log(`  streaming passes ${settings.streamSchedule} (NCRONTAB, UTC); try: curl ${host.url}/api/exports${sandbox ? `/sandbox/status   curl ${host.url}/api/sandbox` : ""}`);

let closing = false;
const shutdown = async () => {
  if (closing) return;
  closing = true;
  log("stopping");
  await host.close();
  await sandbox?.close();
  await azurite?.stop();
  process.exit(0);
};
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());
