#!/usr/bin/env node
// The CLI is compiled by `npm ci` / `npm run build` (the "prepare" script) into dist/.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write("defender-export: dist/ is missing; run `npm run build` first.\n");
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
