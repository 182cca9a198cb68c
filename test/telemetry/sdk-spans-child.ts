// A child process of test/telemetry/setup.test.ts: OpenTelemetry's globals are the process's, so each test of them
// gets a process of its own. It stands for useAzureMonitor's setup (a tracer provider, the Azure SDK
// instrumentation) with an in-memory exporter, then runs a handler the way the host would, and prints the spans.
import type { app as functionsApp } from "@azure/functions";
import { createAzureSdkInstrumentation } from "@azure/opentelemetry-instrumentation-azure-sdk";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { correlateInvocations, traceAzureSdk } from "../../src/telemetry/setup.js";

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
registerInstrumentations({ instrumentations: [createAzureSdkInstrumentation()] });
if (process.argv[3] !== "without") traceAzureSdk();

let preInvocation: ((c: { invocationContext: unknown; functionHandler: () => Promise<unknown> }) => void) | undefined;
const app = { setup: () => undefined, hook: { log: () => undefined, preInvocation: (h: typeof preInvocation) => (preInvocation = h) } } as unknown as typeof functionsApp;
correlateInvocations(app);

// The SDK loaded after, as the app's entry point loads it: an ES module.
const { BlobServiceClient } = await import("@azure/storage-blob");
const client = BlobServiceClient.fromConnectionString(process.argv[2]!, { retryOptions: { maxTries: 1 } });
const traceId = "0af7651916cd43dd8448eb211c80319c";
const invocation = { invocationContext: { traceContext: { traceParent: `00-${traceId}-b7ad6b7169203331-01` } }, functionHandler: () => client.getProperties() };
preInvocation!(invocation);
await invocation.functionHandler();
await provider.forceFlush();
process.stdout.write(JSON.stringify(exporter.getFinishedSpans().map((s) => ({ name: s.name, traceId: s.spanContext().traceId }))));
process.exit(0);
