// One round of passes in a process of its own (a host that can be killed): prints a line per pass. With
// `concurrent`, every pass at once, as a queue worker runs them: a line as each ends, and one as each has
// written `reportWritten` records (a test kills the process in the middle of its passes from there).
import type { PassRecord } from "../../src/engine/pass.js";
import { concurrentPassesWith, passWith, type ChildArgs } from "./harness.js";

const args = JSON.parse(process.argv[2]!) as ChildArgs;
const line = (r: PassRecord) =>
  `${JSON.stringify({ ...(args.concurrent ? { scope: r.scope } : {}), eventSource: r.eventSource, changed: r.changed, skipped: r.skipped ?? null, error: r.error ?? null })}\n`;
if (args.concurrent) {
  await concurrentPassesWith(args, {
    hooks: (key) => ({ hooks: { afterWrite: (n) => void (n === args.reportWritten && process.stdout.write(`${JSON.stringify({ ...key, written: n })}\n`)) } }),
    onPass: (r) => process.stdout.write(line(r)),
  });
} else {
  for (const r of await passWith(args)) process.stdout.write(line(r));
}
process.exit(0);
