import type { app as functionsApp } from "@azure/functions";
import { environment } from "../hosting/environment.js";
import { readAppSettings, registrationSettings, type AppSettings } from "../hosting/settings.js";
import { FUNCTIONS } from "./all.js";
import { register } from "./register.js";
import { CONFIGURATION_TABLE } from "../hosting/configurations.js";
import { contextFromSettings } from "../hosting/context.js";
import { ProblemError } from "../hosting/problem.js";
import { ExportService } from "../hosting/service.js";

/**
 * Every function registered, whatever the settings hold: they are parsed once, here, and a bad one is named at
 * start-up (the worker's output is the host's log) and by every call, health included, with a 503.
 */
export function registerApp(app: typeof functionsApp, env: NodeJS.ProcessEnv = environment()): void {
  let settings: AppSettings | Error;
  try {
    settings = readAppSettings(env);
  } catch (e) {
    settings = e as Error;
    console.error(`defender-export: the app's settings are not valid: ${settings.message}`);
  }
  let service: Promise<ExportService> | undefined;
  const provide = () =>
    (service ??= Promise.resolve().then(() => {
      try {
        if (settings instanceof Error) throw settings;
        const context = contextFromSettings(settings);
        // The app needs all three services of its account: a connection string that cannot give one is a bad setting.
        void [context.storage.blob, context.storage.queue, context.storage.table(CONFIGURATION_TABLE)];
        return new ExportService(context);
      } catch (e) {
        throw new ProblemError(503, "Service Unavailable", `the app's settings are not valid: ${(e as Error).message}`);
      }
    }));
  register(app, FUNCTIONS, registrationSettings(env), provide);
}
