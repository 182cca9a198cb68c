import { ExportService } from "../hosting/service.js";
import { hostSettings } from "../hosting/settings.js";
import { storageClients } from "../hosting/storage.js";
import { defaultCredential } from "../sources/index.js";

let service: Promise<ExportService> | undefined;

/** The service for this process, made from the app settings on first use; a bad setting fails every call, by name. */
export function serviceFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<ExportService> {
  service ??= Promise.resolve().then(() => {
    const credential = defaultCredential(env);
    return new ExportService({ storage: storageClients(env, credential), settings: hostSettings(env), credential, appSettings: env });
  });
  return service;
}
