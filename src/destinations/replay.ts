import type { DeadLetterStore, LetterFilter } from "./dead-letter.js";
import type { Sink } from "./sink.js";

export interface ReplayReport {
  letters: number;
  resent: number;
  failed: number;
  /** Dead letters whose action is not in the configuration: left in place. */
  skipped: number;
}

/**
 * Sends dead-lettered payloads again, exactly as they were, through the sinks of their actions. A letter
 * that went through is removed; what fails again is written back as a new letter with the new reason. The
 * letters are those there when the replay starts: one written back is not tried again in the same replay.
 */
export async function replayDeadLetters(store: DeadLetterStore, sinks: readonly Sink[], filter: LetterFilter = {}): Promise<ReplayReport> {
  const byKey = new Map(sinks.map((s) => [s.actionKey, s]));
  const report: ReplayReport = { letters: 0, resent: 0, failed: 0, skipped: 0 };
  // A configuration's own letters, and those filed (before letters were kept per configuration) under its actions.
  const scopes = filter.actionKey !== undefined || filter.configuration === undefined ? [filter] : [{ configuration: filter.configuration }, ...sinks.map((s) => ({ actionKey: s.actionKey }))];
  const names: string[] = [];
  for (const scope of scopes) for await (const { name } of store.names(scope)) names.push(name);
  for (const name of names) {
    const letter = await store.read(name);
    if (letter === undefined) continue;
    report.letters++;
    const sink = byKey.get(letter.actionKey);
    if (sink === undefined) {
      report.skipped++;
      continue;
    }
    const outcome = await sink.resend(letter.items);
    report.resent += letter.items.length - outcome.failed.length;
    report.failed += outcome.failed.length;
    if (outcome.failed.length > 0) {
      const configuration = letter.configuration ?? filter.configuration;
      await store.put({
        actionKey: letter.actionKey,
        destination: letter.destination,
        reason: outcome.reason ?? letter.reason,
        attempts: letter.attempts + 1,
        items: outcome.failed,
        ...(configuration !== undefined ? { configuration } : {}),
      });
    }
    await store.remove(name);
  }
  return report;
}
