import { Cron } from "croner";

/**
 * What is wrong with an NCRONTAB schedule, as Azure Functions timers take it (six fields, seconds first), or
 * undefined when croner, which runs the local host's timers and decides when snapshots are due, reads it.
 */
export function scheduleProblem(text: string): string | undefined {
  if (text.trim().split(/\s+/).length !== 6) return "expected six fields, seconds first (second minute hour day month day-of-week)";
  try {
    new Cron(text, { paused: true, timezone: "UTC" });
    return undefined;
  } catch (e) {
    return (e as Error).message.replace(/^CronPattern: /, "");
  }
}
