import type { app as functionsApp } from "@azure/functions";
import type { ExportService } from "../hosting/service.js";
import type { RegistrationSettings } from "../hosting/settings.js";
import { bindHttp, bindQueue, bindTimer, type FunctionDefinition } from "./definitions.js";

/** Registers every function with the Functions host through one path. */
export function register(app: typeof functionsApp, functions: readonly FunctionDefinition[], settings: RegistrationSettings, service: () => Promise<ExportService>): void {
  app.setup({ enableHttpStream: false });
  for (const f of functions) {
    switch (f.kind) {
      case "http":
        app.http(f.name, { route: f.route, methods: f.methods, authLevel: f.authLevel, handler: bindHttp(f, service) });
        break;
      case "timer":
        app.timer(f.name, { schedule: f.schedule(settings), useMonitor: true, handler: bindTimer(f, service) });
        break;
      case "queue":
        app.storageQueue(f.name, { queueName: f.queueName(settings), connection: "AzureWebJobsStorage", handler: bindQueue(f, service) });
        break;
    }
  }
}
