import { useAzureMonitor } from "@azure/monitor-opentelemetry";

// With Application Insights configured, metrics, traces and logs go there through OpenTelemetry
// (host.json's telemetryMode is OpenTelemetry, so the host's own telemetry joins them).
if (process.env["APPLICATIONINSIGHTS_CONNECTION_STRING"]) {
  useAzureMonitor({ azureMonitorExporterOptions: { connectionString: process.env["APPLICATIONINSIGHTS_CONNECTION_STRING"] } });
}
