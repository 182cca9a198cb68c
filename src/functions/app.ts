import type { app as functionsApp } from "@azure/functions";
import { hostSettings, registrationSettings } from "../hosting/settings.js";
import { FUNCTIONS } from "./all.js";
import { register } from "./register.js";
import { contextFromEnvironment } from "../hosting/context.js";
import { ProblemError } from "../hosting/problem.js";
import { ExportService } from "../hosting/service.js";

/** Every function registered, whatever the settings hold (a bad one is named by every call, health included). */
export function registerApp(app: typeof functionsApp): void {
  try {
    hostSettings(process.env);
  } catch (e) {
    // Said at start-up too (the worker's output is the host's log), not only at the first call.
    console.error(`defender-export: the app's settings are not valid: ${(e as Error).message}`);
  }
  register(app, FUNCTIONS, registrationSettings(), () => serviceFromEnvironment());
}

let service: Promise<ExportService> | undefined;

/**
 * The service for this process, made from the app settings on first use. A bad setting fails every call with
 * a 503 naming the setting and what was expected (never its value): the functions stay registered, so that
 * health says so instead of the host having none.
 */
export function serviceFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<ExportService> {
  service ??= Promise.resolve().then(() => {
    try {
      return new ExportService(contextFromEnvironment(env));
    } catch (e) {
      throw new ProblemError(503, "Service Unavailable", `the app's settings are not valid: ${(e as Error).message}`);
    }
  });
  return service;
}
