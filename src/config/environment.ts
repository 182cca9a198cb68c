import { z } from "zod";
import type { DestinationPolicy } from "./actions.js";

const HOST_ENTRY = /^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9a-fA-F:]+\](?::\d{1,5})?$/;

const trustedHosts = z
  .string()
  .optional()
  .transform((v) => (v ?? "").split(",").map((h) => h.trim()).filter((h) => h !== ""))
  .pipe(z.array(z.string().regex(HOST_ENTRY, { message: "expected host or host:port entries separated by commas" })));

/**
 * DEFENDER_EXPORT_TRUSTED_HOSTS: destination hosts accepted besides Azure's service domains
 * (local fakes in tests, a webhook the operator chose). Comma-separated `host` or `host:port`.
 */
export function destinationPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): DestinationPolicy {
  const parsed = trustedHosts.safeParse(env["DEFENDER_EXPORT_TRUSTED_HOSTS"]);
  if (!parsed.success) {
    throw new Error(`DEFENDER_EXPORT_TRUSTED_HOSTS: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  }
  return { trustedHosts: parsed.data };
}
