import type { TimerFunction } from "./definitions.js";

/** Every few minutes (DEFENDER_EXPORT_STREAM_SCHEDULE): a streaming pass per configuration, scope and source, queued. */
export const streamTimer: TimerFunction = {
  kind: "timer",
  name: "streamTimer",
  schedule: (settings) => settings.streamSchedule,
  handler: async (_timer, context, service) => {
    const { queued, invalid, initialConfiguration } = await service.enqueueStreaming();
    if (initialConfiguration !== undefined) context.error(initialConfiguration);
    for (const bad of invalid) context.warn(`stored configuration ${bad.name} no longer validates and runs no pass: ${bad.errors.map((p) => `${p.path}: ${p.message}`).join("; ")}`);
    context.info(`streaming passes queued: ${queued}${invalid.length > 0 ? `; ${invalid.length} configuration(s) skipped: no longer valid` : ""}`);
  },
};
