// One round of passes in a process of its own (a host that can be killed): prints a line per pass.
import { passWith, type PassArgs } from "./harness.js";

const records = await passWith(JSON.parse(process.argv[2]!) as PassArgs);
for (const r of records) process.stdout.write(`${JSON.stringify({ eventSource: r.eventSource, changed: r.changed, skipped: r.skipped ?? null, error: r.error ?? null })}\n`);
process.exit(0);
