import { useAzureMonitor } from "@azure/monitor-opentelemetry";
import { defaultCredential } from "../sources/credentials.js";

// With Application Insights configured, metrics, traces and logs go there through OpenTelemetry
// (host.json's telemetryMode is OpenTelemetry, so the host's own telemetry joins them).
const connectionString = process.env["APPLICATIONINSIGHTS_CONNECTION_STRING"];
if (connectionString) {
  // Local auth off on the resource (infra/): the app sends with its managed identity, as the host does.
  const aad = /Authorization=AAD/i.test(process.env["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] ?? "");
  useAzureMonitor({ azureMonitorExporterOptions: { connectionString, ...(aad ? { credential: defaultCredential(process.env) } : {}) } });
}
