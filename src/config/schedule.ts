import { Cron } from "croner";

/**
 * What is wrong with an NCRONTAB schedule, as Azure Functions timers take it (six fields, seconds first), or
 * undefined when croner, which runs the local host's timers and decides when snapshots are due, reads it.
 */
export function scheduleProblem(text: string): string | undefined {
  if (text.trim().split(/\s+/).length !== 6) return "expected six fields, seconds first (second minute hour day month day-of-week)";
  // croner reads L, W, # and ?, which the Functions host's NCRONTAB does not: a timer would not start.
  if (/[LW#?]/i.test(text.replace(/\b(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|SUN|MON|TUE|WED|THU|FRI|SAT)\b/gi, ""))) {
    return "L, W, # and ? are not NCRONTAB: use numbers, ranges (1-5), lists (1,15), steps (*/5) and names (MON, JAN)";
  }
  try {
    new Cron(text, { paused: true, timezone: "UTC" });
    return undefined;
  } catch (e) {
    return (e as Error).message.replace(/^CronPattern: /, "");
  }
}
