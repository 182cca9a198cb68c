import type { TimerFunction } from "./definitions.js";

/** Every few minutes (DEFENDER_EXPORT_STREAM_SCHEDULE): a streaming pass per configuration, scope and source, queued. */
export const streamTimer: TimerFunction = {
  kind: "timer",
  name: "streamTimer",
  schedule: (settings) => settings.streamSchedule,
  handler: async (_timer, context, service) => {
    const queued = await service.enqueueStreaming();
    context.info(`streaming passes queued: ${queued}`);
  },
};
