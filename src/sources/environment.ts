import { z } from "zod";
import { DEFAULT_ARM_ENDPOINT } from "./arm.js";

const endpoint = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? DEFAULT_ARM_ENDPOINT : v.trim()))
  .refine((v) => URL.canParse(v) && new URL(v).protocol === "https:", { message: "expected an https:// URL, such as https://management.azure.com" })
  .transform((v) => new URL(v).origin);

/** ARM_ENDPOINT (app setting and environment variable): https://management.azure.com unless set. */
export function armEndpointFrom(value: string | undefined, what = "ARM_ENDPOINT"): string {
  const parsed = endpoint.safeParse(value);
  if (!parsed.success) throw new Error(`${what}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return parsed.data;
}
