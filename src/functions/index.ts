// The Functions host's entry point (package.json "main"): telemetry first, then every function registered.
import "../telemetry/setup.js";
import functions from "@azure/functions";
import { hostSettings } from "../hosting/settings.js";
import { FUNCTIONS } from "./all.js";
import { register } from "./register.js";
import { serviceFromEnvironment } from "./service.js";

register(functions.app, FUNCTIONS, hostSettings(), () => serviceFromEnvironment());
