import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

interface Registered {
  name: string;
  bindings: Record<string, Record<string, unknown>>;
}

// @azure/functions loads @azure/functions-core (the host's worker) lazily: stand in for it and record
// what index.ts registers, as the host would see it.
const registered: Registered[] = [];
const require = createRequire(import.meta.url);
const Module = require("node:module") as { _load: (request: string, ...rest: unknown[]) => unknown };
const load = Module._load;
Module._load = function (request: string, ...rest: unknown[]) {
  if (request === "@azure/functions-core") {
    return {
      registerFunction: (metadata: Registered) => registered.push(metadata),
      setProgrammingModel: () => undefined,
      getProgrammingModel: () => undefined,
      registerHook: () => ({ dispose: () => undefined }),
      log: () => undefined,
    };
  }
  return load.call(this, request, ...rest);
};

describe("the Functions host's registrations", () => {
  it("every function through one path: routes, methods, auth levels, schedules and the queue", async () => {
    const before = process.env["DEFENDER_EXPORT_STREAM_SCHEDULE"];
    process.env["DEFENDER_EXPORT_STREAM_SCHEDULE"] = "0 */10 * * * *";
    try {
      await import("../../src/functions/index.js");
    } finally {
      if (before === undefined) delete process.env["DEFENDER_EXPORT_STREAM_SCHEDULE"];
      else process.env["DEFENDER_EXPORT_STREAM_SCHEDULE"] = before;
    }
    const trigger = (name: string) => Object.values(registered.find((r) => r.name === name)!.bindings).find((b) => String(b["type"]).endsWith("Trigger"))!;
    expect(registered.map((r) => r.name)).toEqual([
      "exportsList",
      "export",
      "exportRun",
      "exportSnapshot",
      "exportPreview",
      "exportStatus",
      "deadLetters",
      "deadLettersReplay",
      "health",
      "openapi",
      "streamTimer",
      "snapshotTimer",
      "passWorker",
    ]);
    expect(trigger("export")).toMatchObject({ type: "httpTrigger", route: "exports/{name}", methods: ["GET", "PUT", "DELETE"], authLevel: "function" });
    expect(trigger("exportRun")).toMatchObject({ route: "exports/{name}/run", methods: ["POST"], authLevel: "function" });
    expect(trigger("health")).toMatchObject({ route: "health", authLevel: "anonymous" });
    const http = registered.filter((r) => trigger(r.name)["type"] === "httpTrigger");
    expect(http.filter((r) => trigger(r.name)["authLevel"] === "anonymous").map((r) => r.name)).toEqual(["health", "openapi"]);
    expect(trigger("streamTimer")).toMatchObject({ type: "timerTrigger", schedule: "0 */10 * * * *" });
    expect(trigger("snapshotTimer")).toMatchObject({ type: "timerTrigger", schedule: "0 0 * * * *" });
    expect(trigger("passWorker")).toMatchObject({ type: "queueTrigger", queueName: "export-passes", connection: "AzureWebJobsStorage" });
  });
});
