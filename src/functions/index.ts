// The Functions host's entry point (package.json "main"): telemetry first, then every function registered,
// whatever the settings hold (a bad one is named by every call, health included, not by a missing function).
import functions from "@azure/functions";
import { registrationSettings } from "../hosting/settings.js";
import { startTelemetry } from "../telemetry/setup.js";
import { FUNCTIONS } from "./all.js";
import { register } from "./register.js";
import { serviceFromEnvironment } from "./service.js";

await startTelemetry(functions.app, process.env);
register(functions.app, FUNCTIONS, registrationSettings(), () => serviceFromEnvironment());
