import type { app as functionsApp } from "@azure/functions";
import { hostSettings, registrationSettings } from "../hosting/settings.js";
import { FUNCTIONS } from "./all.js";
import { register } from "./register.js";
import { serviceFromEnvironment } from "./service.js";

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
