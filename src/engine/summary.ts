import type { PassRecord } from "./pass.js";

/** One line per pass: what it read, matched and sent, per action, and its error. */
export function summarize(r: PassRecord): string {
  const head = `[${r.startedAt}] ${r.eventSource} ${r.scope}`;
  if (r.skipped) return `${head}: skipped: ${r.skipped}`;
  const actions = Object.entries(r.actions)
    .map(([key, a]) => `${key}: sent ${a.sent}, cut ${a.cut}, dead-lettered ${a.deadLettered}`)
    .join("; ");
  const error = (r.stopped ? `; stopped at the time limit, the next pass goes on` : "") + (r.incomplete ? `; incomplete: ${r.incomplete}` : "") + (r.error ? `; ERROR: ${r.error}` : "");
  return `${head}: ${r.mode}; read ${r.read}, matched ${r.matched}, changed ${r.changed}, removed ${r.removed}; ${actions} (${(r.durationMs / 1000).toFixed(1)} s)${error}`;
}
