import type { app as functionsApp } from "@azure/functions";
import { registrationSettings } from "../hosting/settings.js";
import { FUNCTIONS } from "./all.js";
import { register } from "./register.js";
import { serviceFromEnvironment } from "./service.js";

/** Every function registered, whatever the settings hold (a bad one is named by every call, health included). */
export function registerApp(app: typeof functionsApp): void {
  register(app, FUNCTIONS, registrationSettings(), () => serviceFromEnvironment());
}
