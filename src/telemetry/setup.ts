import { createRequire } from "node:module";
import type { app as functionsApp, LogLevel } from "@azure/functions";
import { context, propagation } from "@opentelemetry/api";
import { logs, SeverityNumber } from "@opentelemetry/api-logs";
import type { TelemetrySettings } from "../hosting/environment.js";

/**
 * With Application Insights configured, metrics, traces and logs go there through OpenTelemetry (host.json's
 * telemetryMode is OpenTelemetry, so the host's own telemetry joins them). The exporter is imported only then:
 * it is half a second of start-up that an app without Application Insights does not pay. The entry point calls
 * this before it loads anything else, as the exporter's instrumentations need.
 */
export async function startTelemetry(app: typeof functionsApp, settings: TelemetrySettings): Promise<boolean> {
  const { connectionString } = settings;
  if (connectionString === undefined) return false;
  const [{ useAzureMonitor }, { defaultCredential }] = await Promise.all([import("@azure/monitor-opentelemetry"), import("../sources/credentials.js")]);
  useAzureMonitor({ azureMonitorExporterOptions: { connectionString, ...(settings.entraAuthentication ? { credential: defaultCredential(settings.clientId) } : {}) } });
  traceAzureSdk();
  correlateInvocations(app);
  return true;
}

/**
 * The Azure SDK's spans (each ARM, storage, Logs Ingestion and Event Hubs call). Its OpenTelemetry
 * instrumentation hooks @azure/core-tracing when it is loaded by require; this app loads the SDKs as ES modules,
 * which share core-tracing's state with its CommonJS build but never go through require. Requiring it once,
 * after the instrumentation is registered, sets the instrumenter for both.
 */
export function traceAzureSdk(): void {
  createRequire(import.meta.url)("@azure/core-tracing");
}

/**
 * What @azure/functions-opentelemetry-instrumentation does, through the library's own hooks: the host is told
 * the worker sends its telemetry itself (WorkerOpenTelemetryEnabled, so nothing is sent twice), each
 * invocation's handler runs in the host's trace context, so that a pass's SDK calls show under its invocation
 * in Application Insights, and the worker's logs go out in that trace. Not the package itself: it pins
 * @opentelemetry/instrumentation 0.52 beside the 0.2xx that @azure/monitor-opentelemetry uses, for three calls.
 */
export function correlateInvocations(app: typeof functionsApp): void {
  app.setup({ capabilities: { WorkerOpenTelemetryEnabled: true } });
  const logger = logs.getLogger("defender-export");
  // The host no longer forwards the worker's logs: they go from here, inside the invocation's trace.
  app.hook.log((log) => {
    logger.emit({ body: log.message, severityNumber: SEVERITY[log.level], severityText: log.level });
  });
  app.hook.preInvocation((invocation) => {
    const trace = invocation.invocationContext.traceContext;
    if (trace?.traceParent) {
      const parent = propagation.extract(context.active(), { traceparent: trace.traceParent, ...(trace.traceState ? { tracestate: trace.traceState } : {}) });
      invocation.functionHandler = context.bind(parent, invocation.functionHandler);
    }
  });
}

const SEVERITY: Record<LogLevel, SeverityNumber> = {
  trace: SeverityNumber.TRACE,
  debug: SeverityNumber.DEBUG,
  information: SeverityNumber.INFO,
  warning: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
  critical: SeverityNumber.FATAL,
  none: SeverityNumber.UNSPECIFIED,
};
