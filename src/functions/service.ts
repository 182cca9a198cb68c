import { ExportService } from "../hosting/service.js";
import { hostSettings } from "../hosting/settings.js";
import { ProblemError } from "../hosting/problem.js";
import { storageClients } from "../hosting/storage.js";
import { defaultCredential } from "../sources/index.js";

let service: Promise<ExportService> | undefined;

/**
 * The service for this process, made from the app settings on first use. A bad setting fails every call with
 * a 503 naming the setting and what was expected (never its value): the functions stay registered, so that
 * health says so instead of the host having none.
 */
export function serviceFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<ExportService> {
  service ??= Promise.resolve().then(() => {
    try {
      const credential = defaultCredential(env);
      return new ExportService({ storage: storageClients(env, credential), settings: hostSettings(env), credential, appSettings: env });
    } catch (e) {
      throw new ProblemError(503, "Service Unavailable", `the app's settings are not valid: ${(e as Error).message}`);
    }
  });
  return service;
}
