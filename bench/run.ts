import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { publish, type Figure } from "./figures.js";
import * as delivery from "./delivery.js";
import * as e2e from "./e2e.js";
import * as engine from "./engine.js";
import * as mg from "./mg.js";
import * as read from "./read.js";
import * as rules from "./rules.js";

const BENCHES: Record<string, { run: () => Figure[] | Promise<Figure[]> }> = { rules, read, delivery, engine, e2e, mg };

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in BENCHES));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.join(", ")}; expected ${Object.keys(BENCHES).join(", ")}\n`);
  process.exit(2);
}
if (wanted.length === 1) {
  publish(await BENCHES[wanted[0]!]!.run());
} else {
  // Each benchmark in a process of its own: a fresh heap, nothing left over from the one before.
  const tsx = fileURLToPath(new URL("../node_modules/tsx/dist/cli.mjs", import.meta.url));
  const self = fileURLToPath(import.meta.url);
  let failed = false;
  for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHES)) {
    const child = spawnSync(process.execPath, [tsx, self, name], { stdio: "inherit" });
    failed ||= child.status !== 0;
  }
  process.exitCode = failed ? 1 : 0;
}
