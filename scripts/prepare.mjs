// npm's prepare: builds dist/. A production install (npm ci --omit=dev, a remote build) has no TypeScript and
// runs the dist/ it was shipped with; any other install must compile, and fails when it does not.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve("typescript/bin/tsc");
} catch {
  process.stdout.write("prepare: TypeScript is not installed (a production install); dist/ is used as shipped\n");
  process.exit(0);
}
const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { stdio: "inherit" });
process.exit(result.status ?? 1);
