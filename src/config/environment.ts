import { z } from "zod";
import type { AllowedDestinations } from "./endpoints.js";

const HOST_ENTRY = /^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9a-fA-F:]+\](?::\d{1,5})?$/;

const trustedHosts = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? "")
      .split(",")
      .map((h) => h.trim())
      .filter((h) => h !== ""),
  )
  .pipe(z.array(z.string().regex(HOST_ENTRY, { message: "expected host or host:port entries separated by commas" })));

// The app's own settings (its storage, identity, telemetry) can never be named, even when listed.
const RESERVED_SETTING = /^(?:AzureWebJobs|WEBSITE_|FUNCTIONS_|APPLICATIONINSIGHTS_|IDENTITY_|MSI_|AZURE_|DEFENDER_EXPORT_(?!DEST_))/i;
const settingNames = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? "")
      .split(",")
      .map((h) => h.trim())
      .filter((h) => h !== ""),
  )
  .pipe(
    z.array(
      z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/, { message: "expected app setting names separated by commas" })
        .refine((name) => !RESERVED_SETTING.test(name), { message: "names a setting of the app itself (its storage, identity, telemetry or its own settings), which a destination may not read" }),
    ),
  );

/**
 * DEFENDER_EXPORT_TRUSTED_HOSTS: destination hosts accepted besides Azure's service domains
 * (local fakes in tests, a webhook the operator chose). Comma-separated `host` or `host:port`.
 */
export function allowedDestinationsFrom(values: { trustedHosts: string | undefined; destinationSettings: string | undefined }): AllowedDestinations {
  const parsed = trustedHosts.safeParse(values.trustedHosts);
  if (!parsed.success) {
    throw new Error(`DEFENDER_EXPORT_TRUSTED_HOSTS: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  }
  const settings = settingNames.safeParse(values.destinationSettings);
  if (!settings.success) {
    throw new Error(`DEFENDER_EXPORT_DESTINATION_SETTINGS: ${settings.error.issues[0]?.message ?? "invalid"}`);
  }
  return { trustedHosts: parsed.data, destinationSettings: settings.data };
}
