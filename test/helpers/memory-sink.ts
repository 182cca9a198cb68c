import type { Sink } from "../../src/destinations/sink.js";
import type { OutgoingRecord } from "../../src/records/record.js";

/** A sink that acknowledges everything at each flush and keeps what was flushed, for engine tests. */
export function recordingSink(): Sink & { sent: OutgoingRecord[] } {
  const sent: OutgoingRecord[] = [];
  let pending: OutgoingRecord[] = [];
  return {
    sent,
    actionKey: "memory",
    description: "memory",
    write: async (input) => void pending.push(input),
    flush: async () => {
      sent.push(...pending);
      const n = pending.length;
      pending = [];
      return { sent: n, cut: 0, deadLettered: 0, requests: n > 0 ? 1 : 0, failures: [] };
    },
    resend: async () => ({ failed: [] }),
    close: async () => undefined,
  };
}
