import type { Json, MappingInput } from "../mapping/index.js";
import type { SendOutcome } from "./retry.js";

/** One payload as a destination receives it: a row, an event body. */
export interface DeliveryItem {
  /** The record's stable id. */
  id: string;
  /** Where it goes within the destination: the stream (Log Analytics), the hub (Event Hubs), the URL's name. */
  route: string;
  /** Event Hubs: the key that keeps a resource's events in order. */
  partitionKey?: string;
  payload: Json;
  /** The payload's JSON size in bytes, when already measured. */
  bytes?: number;
  /** The payload's JSON text, when already made: sent as it is, not serialized again. */
  json?: string;
}

export interface DeliveryReport {
  /** Payloads the destination acknowledged. */
  sent: number;
  /** Payloads cut to fit (32 KB rows, the hub's limit). */
  cut: number;
  /** Payloads that could not be delivered and went to the dead-letter store. */
  deadLettered: number;
  /** Requests or batches sent to the destination, retries included. */
  requests: number;
  /** Why things failed, one line each, secret-free. */
  failures: string[];
  /** The action is backed off until then: its items were dead-lettered without being tried. */
  backedOffUntil?: string;
}

export function emptyReport(): DeliveryReport {
  return { sent: 0, cut: 0, deadLettered: 0, requests: 0, failures: [] };
}

/**
 * Delivers mapped records to one action. `write` buffers and sends full batches as they fill; `flush`
 * sends the rest and resolves only when every payload was acknowledged or dead-lettered, so that a
 * checkpoint may move after it.
 */
export interface Sink {
  readonly actionKey: string;
  /** What the destination is, never with a secret. */
  readonly description: string;
  write(input: MappingInput): Promise<void>;
  flush(): Promise<DeliveryReport>;
  /** Sends payloads again exactly as they were (replay of dead letters); returns those that failed again. */
  resend(items: readonly DeliveryItem[]): Promise<{ failed: DeliveryItem[]; reason?: string }>;
  close(): Promise<void>;
}

export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group === undefined) groups.set(k, [item]);
    else group.push(item);
  }
  return groups;
}

/** A resend, unit by unit (a stream's rows, a batch, one event): what failed, and the first reason why. */
export async function resendUnits<T>(units: Iterable<T>, itemsOf: (unit: T) => readonly DeliveryItem[], send: (unit: T) => Promise<SendOutcome>): Promise<{ failed: DeliveryItem[]; reason?: string }> {
  const failed: DeliveryItem[] = [];
  let reason: string | undefined;
  for (const unit of units) {
    const outcome = await send(unit);
    if (!outcome.ok) {
      failed.push(...itemsOf(unit));
      reason ??= outcome.reason;
    }
  }
  return reason === undefined ? { failed } : { failed, reason };
}
