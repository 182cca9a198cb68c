// The Functions host's entry point (package.json "main"): telemetry first, then the app loaded and every function
// registered. Loaded after telemetry so that its instrumentations are in place before the SDKs are.
import functions from "@azure/functions";
import { telemetrySettings } from "../hosting/environment.js";
import { startTelemetry } from "../telemetry/setup.js";

await startTelemetry(functions.app, telemetrySettings());
const { registerApp } = await import("./app.js");
registerApp(functions.app);
