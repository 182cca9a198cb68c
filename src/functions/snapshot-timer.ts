import type { TimerFunction } from "./definitions.js";

/** Hourly (DEFENDER_EXPORT_SNAPSHOT_CHECK_SCHEDULE): the snapshot passes whose configuration's schedule is due, queued. */
export const snapshotTimer: TimerFunction = {
  kind: "timer",
  name: "snapshotTimer",
  schedule: (settings) => settings.snapshotCheckSchedule,
  handler: async (_timer, context, service) => {
    const queued = await service.enqueueDueSnapshots();
    context.info(`snapshot passes queued: ${queued}`);
  },
};
