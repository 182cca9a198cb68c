import type { TimerFunction } from "./definitions.js";

/** Hourly (DEFENDER_EXPORT_SNAPSHOT_CHECK_SCHEDULE): the snapshot passes whose configuration's schedule is due, queued. */
export const snapshotTimer: TimerFunction = {
  kind: "timer",
  name: "snapshotTimer",
  schedule: (settings) => settings.snapshotCheckSchedule,
  handler: async (_timer, context, service) => {
    const { queued, invalid } = await service.enqueueDueSnapshots();
    for (const bad of invalid) context.warn(`stored configuration ${bad.name} no longer validates and runs no pass: ${bad.errors.map((p) => `${p.path}: ${p.message}`).join("; ")}`);
    context.info(`snapshot passes queued: ${queued}${invalid.length > 0 ? `; ${invalid.length} configuration(s) skipped: no longer valid` : ""}`);
  },
};
