import type { app as functionsApp } from "@azure/functions";
import { context, propagation, trace } from "@opentelemetry/api";
import { logs } from "@opentelemetry/api-logs";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { startAzurite } from "../../dev/fakes/azurite.js";
import { correlateInvocations } from "../../src/telemetry/setup.js";

// What useAzureMonitor registers globally: a context manager and the W3C propagator.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const exported = new InMemoryLogRecordExporter();
logs.setGlobalLoggerProvider(new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: exported })] }));
afterAll(() => {
  context.disable();
  propagation.disable();
  logs.disable();
});

/** The library's hook registry as the worker holds it: what the app asked for, and the hooks it added. */
function hooks() {
  const seen = { setup: [] as unknown[], preInvocation: [] as ((c: never) => void)[], log: [] as ((c: never) => void)[] };
  const app = {
    setup: (options: unknown) => seen.setup.push(options),
    hook: { preInvocation: (h: (c: never) => void) => seen.preInvocation.push(h), log: (h: (c: never) => void) => seen.log.push(h) },
  } as unknown as typeof functionsApp;
  correlateInvocations(app);
  return seen;
}

describe("Application Insights correlation", () => {
  it("tells the host the worker sends its own telemetry, runs each handler in the invocation's trace, and sends the logs in it", async () => {
    const seen = hooks();
    expect(seen.setup).toEqual([{ capabilities: { WorkerOpenTelemetryEnabled: true } }]);
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const invocation = {
      invocationContext: { traceContext: { traceParent: `00-${traceId}-b7ad6b7169203331-01`, traceState: "" } },
      functionHandler: async () => trace.getSpanContext(context.active())?.traceId,
    };
    seen.preInvocation[0]!(invocation as never);
    expect(await invocation.functionHandler()).toBe(traceId);
    // Without a trace context from the host, the handler is left as it was.
    const bare = { invocationContext: {}, functionHandler: async () => trace.getSpanContext(context.active())?.traceId };
    const before = bare.functionHandler;
    seen.preInvocation[0]!(bare as never);
    expect(bare.functionHandler).toBe(before);

    seen.log[0]!({ message: "pass done", level: "warning", category: "user" } as never);
    expect(exported.getFinishedLogRecords().map((r) => [r.body, r.severityText])).toEqual([["pass done", "warning"]]);
  });
});

describe("Azure SDK spans under the invocation", () => {
  it("each SDK call of a handler is a span in the host's trace, once @azure/core-tracing is required for the ES module SDKs", async () => {
    const azurite = await startAzurite();
    try {
      const child = fileURLToPath(new URL("./sdk-spans-child.ts", import.meta.url));
      const spans = async (mode: string) =>
        JSON.parse((await promisify(execFile)(process.execPath, ["--import", "tsx", child, azurite.connectionString, mode], { timeout: 30_000 })).stdout) as { name: string; traceId: string }[];
      const traced = await spans("with");
      expect(traced.map((s) => s.name)).toEqual(expect.arrayContaining(["BlobServiceClient-getProperties", "HTTP GET"]));
      expect(traced.every((s) => s.traceId === "0af7651916cd43dd8448eb211c80319c")).toBe(true);
      // Without it, the instrumentation never sees the SDK's core-tracing: no span at all.
      expect(await spans("without")).toEqual([]);
    } finally {
      await azurite.stop();
    }
  }, 60_000);
});
