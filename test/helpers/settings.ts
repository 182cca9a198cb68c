import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { APP_SETTINGS } from "../../src/hosting/settings.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** The app settings the deployed code reads: env["NAME"] in src and APP_SETTINGS. */
export function settingsRead(): string[] {
  const names = new Set<string>(Object.values(APP_SETTINGS));
  for (const file of filesUnder(join(ROOT, "src")).filter((f) => f.endsWith(".ts"))) {
    for (const m of readFileSync(file, "utf8").matchAll(/env\["([A-Za-z_]+)"\]/g)) names.add(m[1]!);
  }
  return [...names].sort();
}
