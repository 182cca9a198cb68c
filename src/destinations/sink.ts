import type { TokenCredential } from "@azure/core-auth";
import type { HttpClient } from "@azure/core-rest-pipeline";
import type { ContainerClient } from "@azure/storage-blob";
import type { AllowedDestinations } from "../config/endpoints.js";
import type { Json, OutgoingRecord } from "../records/record.js";
import type { DeadLetterStore } from "./dead-letter.js";
import type { BackoffStore } from "./delivery.js";
import type { RetryPolicy, SdkRetryOptions, SendOutcome } from "./retry.js";

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
  /** The payload's JSON as UTF-8, when already made: sent as it is, not serialized or encoded again. */
  json?: Buffer;
}

/**
 * An item kept as the bytes it is sent as: the payload object is made again from them only when it is asked
 * for (a dead letter, a resend), which gives the same JSON. A batch waiting to be sent then holds bytes, not
 * each record's object graph (rows, events and the records they point into), which would outlive the page
 * they came on and be copied by every scavenge until the batch goes.
 */
export class EncodedItem implements DeliveryItem {
  /** `bytes`: the JSON's size, where the destination counts it (a dead letter keeps it, as it keeps the item's other fields). */
  constructor(
    readonly id: string,
    readonly route: string,
    readonly json: Buffer,
    readonly bytes: number | undefined,
    readonly partitionKey?: string,
  ) {}

  get payload(): Json {
    return JSON.parse(this.json.toString("utf8")) as Json;
  }
}

/** An item's fields as a dead letter keeps them (the payload, not the JSON beside it), in the order items have them. */
export function letterItem(item: DeliveryItem): Omit<DeliveryItem, "json"> {
  return {
    id: item.id,
    route: item.route,
    ...(item.partitionKey !== undefined ? { partitionKey: item.partitionKey } : {}),
    payload: item.payload,
    ...(item.bytes !== undefined ? { bytes: item.bytes } : {}),
  };
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

/** What a resend leaves: the items that failed again, and the first reason why. */
export interface Resent {
  failed: DeliveryItem[];
  reason?: string;
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
  /**
   * Takes a record. Nothing to await (undefined) when it was taken at once, as most are: a promise only when the
   * sink must wait (a full batch to send first, a destination being opened), so that a record costs no promise.
   */
  write(input: OutgoingRecord): Promise<void> | undefined;
  flush(): Promise<DeliveryReport>;
  /** Sends payloads again exactly as they were (replay of dead letters). */
  resend(items: readonly DeliveryItem[]): Promise<Resent>;
  close(): Promise<void>;
}

/** Everything a sink may need; each sink's options are the part of it that sink uses. */
export interface SinkDependencies {
  credential: TokenCredential;
  deadLetters: DeadLetterStore;
  allowedDestinations: AllowedDestinations;
  /** The app settings a destination may name (connectionStringSetting, uriSetting), by name. */
  destinationAppSettings?: Readonly<Record<string, string | undefined>>;
  /** Where whole originals of cut rows are kept (container `overflow`); none: the row says only what was cut. */
  overflow?: ContainerClient;
  retry?: RetryPolicy;
  /** The Azure SDKs' own retries, inside each of ours. */
  sdkRetryOptions?: SdkRetryOptions;
  /** Sends in flight at once, per sink (Log Analytics, Event Hubs). */
  concurrency?: number;
  /** Backoffs of failing destinations, shared across passes (and instances, in Blob storage). */
  backoff?: BackoffStore;
  /** The configuration the sinks deliver for: its dead letters are filed under it. */
  configuration?: string;
  /** Tests: trust a local endpoint's certificate. */
  tlsCa?: string;
  httpClient?: HttpClient;
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

/** Payloads a sink sends together again (a stream's request, a batch, one event), and how. */
export interface ResendUnit {
  items: readonly DeliveryItem[];
  send(): Promise<SendOutcome>;
}

/** A resend, unit by unit and one at a time: what failed, and the first reason why. */
export async function resendUnits(units: Iterable<ResendUnit> | AsyncIterable<ResendUnit>): Promise<Resent> {
  const failed: DeliveryItem[] = [];
  let reason: string | undefined;
  for await (const unit of units) {
    const outcome = await unit.send();
    if (!outcome.ok) {
      failed.push(...unit.items);
      reason ??= outcome.reason;
    }
  }
  return reason === undefined ? { failed } : { failed, reason };
}
