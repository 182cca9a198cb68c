import { onceUntilRejected } from "../shared/once.js";
import type { QueueClient, QueueServiceClient } from "@azure/storage-queue";
import { z } from "zod";
import { EVENT_SOURCES } from "../config/enums.js";

/** One pass to run: what the timers and the snapshot endpoint enqueue and the queue worker takes. */
export const passMessageSchema = z.strictObject({
  configuration: z.string().min(1),
  scope: z.string().min(1),
  eventSource: z.enum(EVENT_SOURCES),
  snapshot: z.boolean().optional(),
  reason: z.enum(["timer", "snapshot-timer", "request"]),
  enqueuedAt: z.string(),
  /** The pass is tried again after a failure taken for a passing one (this many times so far). */
  retry: z.number().int().positive().optional(),
});
export type PassMessage = z.infer<typeof passMessageSchema>;

export interface PoisonMessage {
  id: string;
  insertedOn: string | undefined;
  message: PassMessage | undefined;
  text: string;
}

/**
 * The pass queue in the app's storage account. Messages are base64 JSON, as the Functions queue trigger
 * reads them by default (host.json `extensions.queues.messageEncoding`); the host moves a message that
 * failed `maxDequeueCount` times to `<queue>-poison`, where status shows it.
 */
export class PassQueue {
  readonly queue: QueueClient;
  readonly poison: QueueClient;
  constructor(
    service: QueueServiceClient,
    readonly name: string,
  ) {
    this.queue = service.getQueueClient(name);
    this.poison = service.getQueueClient(`${name}-poison`);
  }

  /** Its queues exist: made once; a failure is tried again at the next call. */
  readonly ready = onceUntilRejected(() => Promise.all([this.queue.createIfNotExists(), this.poison.createIfNotExists()]));

  /** Queues a pass; `delaySeconds`: not to be taken before then. */
  async send(message: PassMessage, delaySeconds = 0): Promise<void> {
    await this.ready();
    await this.queue.sendMessage(encodeMessage(message), delaySeconds > 0 ? { visibilityTimeout: delaySeconds } : {});
  }

  /** Poison messages, newest not guaranteed first (a queue peek returns at most 32). */
  async poisoned(): Promise<PoisonMessage[]> {
    await this.ready();
    const peeked = await this.poison.peekMessages({ numberOfMessages: 32 });
    return peeked.peekedMessageItems.map((m) => {
      const text = decodeMessageText(m.messageText);
      const parsed = parsePassMessage(text);
      return { id: m.messageId, insertedOn: m.insertedOn?.toISOString(), message: parsed.ok ? parsed.message : undefined, text: parsed.ok ? "" : text.slice(0, 200) };
    });
  }
}

export function encodeMessage(message: PassMessage): string {
  return Buffer.from(JSON.stringify(message), "utf8").toString("base64");
}

export function decodeMessageText(text: string): string {
  // base64 as the host writes it; a plain JSON message (put by hand) is read as it is.
  if (/^[A-Za-z0-9+/]+=*$/.test(text)) return Buffer.from(text, "base64").toString("utf8");
  return text;
}

/** A queue message as the worker gets it: the host's parsed JSON, or text. */
export function parsePassMessage(input: unknown): { ok: true; message: PassMessage } | { ok: false; reason: string } {
  let value = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch {
      return { ok: false, reason: "the message is not JSON" };
    }
  }
  const parsed = passMessageSchema.safeParse(value);
  if (!parsed.success) return { ok: false, reason: parsed.error.issues.map((i) => `${i.path.join(".") || "message"}: ${i.message}`).join("; ") };
  return { ok: true, message: parsed.data };
}
