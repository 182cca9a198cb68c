import { summarize } from "../engine/summary.js";
import { parsePassMessage } from "../hosting/queue.js";
import type { QueueFunction } from "./definitions.js";

/** One queued pass; a message it cannot read fails, so that the host keeps it in the poison queue. */
export const passWorker: QueueFunction = {
  kind: "queue",
  name: "passWorker",
  queueName: (settings) => settings.queue,
  handler: async (message, context, service) => {
    const parsed = parsePassMessage(message);
    if (!parsed.ok) throw new Error(`not a pass message: ${parsed.reason}`);
    const record = await service.runMessage(parsed.message);
    if (record === undefined) {
      context.info(`pass skipped: ${parsed.message.configuration} no longer exports ${parsed.message.eventSource} from ${parsed.message.scope}`);
      return;
    }
    const properties = { configuration: record.configuration, eventSource: record.eventSource, scope: record.scope, passId: record.id, mode: record.mode };
    if (record.error) context.error(summarize(record), properties);
    else context.info(summarize(record), properties);
  },
};
