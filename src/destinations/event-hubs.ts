import type { TokenCredential } from "@azure/core-auth";
import { EventHubProducerClient, type EventData, type EventDataBatch } from "@azure/event-hubs";
import { actionKey, type DestinationPolicy, type EventHubAction } from "../config/index.js";
import { isTrustedEventHubsHost, parseEventHubConnectionString } from "../config/actions.js";
import { EVENT_CATEGORIES, jsonBytes, toEventWithin, type Json, type MappingInput } from "../mapping/index.js";
import { EVENT_SOURCE_DATA_TYPE } from "../records/kinds.js";
import type { DeadLetterStore } from "./dead-letter.js";
import { describeError } from "./log-analytics.js";
import { DEFAULT_RETRY, withRetries, type RetryPolicy, type SdkRetryOptions } from "./retry.js";
import { emptyReport, groupBy, recordDeadLetter, type DeliveryItem, type DeliveryReport, type Sink } from "./types.js";

export interface EventHubSinkOptions {
  credential: TokenCredential;
  deadLetters: DeadLetterStore;
  destinationPolicy: DestinationPolicy;
  /** App settings, for connectionStringSetting. */
  settings?: Readonly<Record<string, string | undefined>>;
  retry?: RetryPolicy;
  concurrency?: number;
  /** The SDK's retries; `timeoutInMs` bounds how long a send waits on a connection that died. */
  sdkRetryOptions?: SdkRetryOptions;
}

// Room a batch needs around one event's body (AMQP sections, annotations, properties).
const EVENT_OVERHEAD = 512;

interface Partition {
  batch: EventDataBatch | undefined;
  items: DeliveryItem[];
  /** The XDR envelope being filled: many records per message. */
  envelope: { records: Json[]; items: DeliveryItem[]; bytes: number };
}

interface Hub {
  name: string;
  client: EventHubProducerClient;
  partitionIds: string[];
  maxMessageSize: number;
  partitions: Map<string, Partition>;
}

/**
 * Event Hubs through @azure/event-hubs. Events are routed to partitions by a consistent hash of their
 * partition key (the resource they are about), so that each resource's events stay in order while batches
 * fill up per partition (batching by partition key would send one small batch per resource).
 */
export class EventHubSink implements Sink {
  readonly actionKey: string;
  readonly description: string;
  readonly #action: EventHubAction;
  readonly #options: EventHubSinkOptions;
  readonly #hubs = new Map<string, Promise<Hub>>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #connectionString: string | undefined;
  #report: DeliveryReport = emptyReport();
  /** Fill of each full batch sent, as a fraction of the hub's maximum (benchmarks read it). */
  readonly batchFill: number[] = [];

  constructor(action: EventHubAction, options: EventHubSinkOptions) {
    this.#action = action;
    this.#options = options;
    this.actionKey = actionKey(action);
    const fromSetting = action.connectionStringSetting === undefined ? undefined : options.settings?.[action.connectionStringSetting];
    if (action.connectionStringSetting !== undefined && action.connectionString === undefined && !fromSetting) {
      throw new Error(`the app setting ${action.connectionStringSetting} (connectionStringSetting) is not set`);
    }
    this.#connectionString = action.connectionString?.reveal() ?? fromSetting;
    if (this.#connectionString !== undefined) {
      const parsed = parseEventHubConnectionString(this.#connectionString);
      if (!parsed.ok) throw new Error(`invalid Event Hubs connection string: ${parsed.message}`);
      if (!isTrustedEventHubsHost(parsed.host, parsed.port, options.destinationPolicy)) {
        throw new Error(`the Event Hubs connection string points at ${parsed.host}, which is not an Event Hubs namespace or a trusted host`);
      }
    } else if (action.fullyQualifiedNamespace === undefined) {
      throw new Error("this EventHub action has neither a connection string nor a namespace");
    }
    const where = action.fullyQualifiedNamespace ?? (this.#connectionString ? parseEventHubConnectionString(this.#connectionString) : undefined);
    const host = typeof where === "string" ? where : where?.ok ? where.host : "?";
    this.description = `Event Hubs ${host}/${action.eventHubName ?? "(per type)"}`;
  }

  #hubName(category: string): string {
    const name = this.#action.eventHubNames?.[category] ?? this.#action.eventHubName;
    if (name === undefined) throw new Error(`no hub for ${category}: set eventHubName or eventHubNames.${category}`);
    return name;
  }

  #hub(name: string): Promise<Hub> {
    let hub = this.#hubs.get(name);
    if (hub === undefined) {
      hub = this.#open(name);
      this.#hubs.set(name, hub);
    }
    return hub;
  }

  async #open(name: string): Promise<Hub> {
    const options = this.#options.sdkRetryOptions ? { retryOptions: this.#options.sdkRetryOptions } : {};
    const client = this.#connectionString
      ? new EventHubProducerClient(withoutEntityPath(this.#connectionString), name, options)
      : new EventHubProducerClient(this.#action.fullyQualifiedNamespace!, name, this.#options.credential, options);
    const partitionIds = await client.getPartitionIds();
    const probe = await client.createBatch({ partitionId: partitionIds[0]! });
    return { name, client, partitionIds, maxMessageSize: probe.maxSizeInBytes, partitions: new Map() };
  }

  async write(input: MappingInput): Promise<void> {
    const category = EVENT_CATEGORIES[EVENT_SOURCE_DATA_TYPE[input.eventSource]];
    const hub = await this.#hub(this.#hubName(category));
    const limit = hub.maxMessageSize - EVENT_OVERHEAD;
    const format = this.#action.format ?? "defender";
    const shape = { format, ...(this.#action.findingsShape ? { findingsShape: this.#action.findingsShape } : {}) };
    const result = toEventWithin(input, format === "xdr" ? limit - 16 : limit, shape);
    if (!result.ok) {
      await this.#deadLetter([{ id: input.id, route: hub.name, partitionKey: result.event.partitionKey, payload: result.event.body }], `the event cannot fit the hub's ${hub.maxMessageSize} bytes: ${result.reason}`, 0);
      return;
    }
    if (result.cut.length > 0) this.#report.cut++;
    const partitionId = hub.partitionIds[partitionIndex(result.event.partitionKey, hub.partitionIds.length)]!;
    const partition = this.#partition(hub, partitionId);
    const item: DeliveryItem = { id: input.id, route: hub.name, partitionKey: result.event.partitionKey, payload: result.event.body };
    // The JSON already measured, as bytes: the SDK sends a Buffer body as it is, the same data section it
    // would make of the object by serializing it once more.
    if (format !== "xdr") return this.#add(hub, partitionId, partition, { body: Buffer.from(result.json, "utf8") }, [item]);
    const bytes = Buffer.byteLength(result.json, "utf8") + 1;
    if (partition.envelope.records.length > 0 && partition.envelope.bytes + bytes > limit) await this.#closeEnvelope(hub, partitionId, partition);
    partition.envelope.records.push(item.payload);
    partition.envelope.items.push(item);
    partition.envelope.bytes += bytes;
  }

  #partition(hub: Hub, partitionId: string): Partition {
    let partition = hub.partitions.get(partitionId);
    if (partition === undefined) {
      partition = { batch: undefined, items: [], envelope: { records: [], items: [], bytes: 14 } };
      hub.partitions.set(partitionId, partition);
    }
    return partition;
  }

  async #closeEnvelope(hub: Hub, partitionId: string, partition: Partition): Promise<void> {
    const { records, items } = partition.envelope;
    partition.envelope = { records: [], items: [], bytes: 14 };
    if (records.length > 0) await this.#add(hub, partitionId, partition, { body: { records } }, items);
  }

  async #add(hub: Hub, partitionId: string, partition: Partition, event: EventData, items: DeliveryItem[]): Promise<void> {
    partition.batch ??= await hub.client.createBatch({ partitionId });
    if (partition.batch.tryAdd(event)) {
      partition.items.push(...items);
      return;
    }
    if (partition.batch.count > 0) {
      await this.#dispatch(hub, partition, true);
      partition.batch = await hub.client.createBatch({ partitionId });
      if (partition.batch.tryAdd(event)) {
        partition.items.push(...items);
        return;
      }
    }
    await this.#deadLetter(items, `the event does not fit an empty batch of ${partition.batch.maxSizeInBytes} bytes`, 0);
  }

  async #dispatch(hub: Hub, partition: Partition, full: boolean): Promise<void> {
    const { batch, items } = partition;
    partition.batch = undefined;
    partition.items = [];
    if (batch === undefined || batch.count === 0) return;
    if (full) this.batchFill.push(batch.sizeInBytes / batch.maxSizeInBytes);
    while (this.#inFlight.size >= (this.#options.concurrency ?? 4)) await Promise.race(this.#inFlight);
    const sending = this.#deliver(hub, batch, items).finally(() => this.#inFlight.delete(sending));
    this.#inFlight.add(sending);
  }

  async #deliver(hub: Hub, batch: EventDataBatch, items: DeliveryItem[]): Promise<void> {
    const outcome = await this.#send(hub, batch);
    if (outcome.reason === undefined) this.#report.sent += items.length;
    else await this.#deadLetter(items, outcome.reason, this.#options.retry?.attempts ?? DEFAULT_RETRY.attempts);
  }

  /** Sends a batch, again with backoff after the SDK's own retries; MessageTooLarge is not worth another try. */
  async #send(hub: Hub, batch: EventDataBatch): Promise<{ reason?: string }> {
    const reason = await withRetries(this.#options.retry ?? DEFAULT_RETRY, () => hub.client.sendBatch(batch), {
      onAttempt: () => this.#report.requests++,
      describe: describeError,
      final: (e) => (e as { code?: string }).code === "MessageTooLargeError",
    });
    return reason === undefined ? {} : { reason };
  }

  async flush(): Promise<DeliveryReport> {
    for (const hubPromise of this.#hubs.values()) {
      const hub = await hubPromise;
      for (const [partitionId, partition] of hub.partitions) {
        await this.#closeEnvelope(hub, partitionId, partition);
        await this.#dispatch(hub, partition, false);
      }
    }
    await Promise.all(this.#inFlight);
    const report = this.#report;
    this.#report = emptyReport();
    return report;
  }

  async resend(items: readonly DeliveryItem[]): Promise<{ failed: DeliveryItem[]; reason?: string }> {
    const failed: DeliveryItem[] = [];
    let reason: string | undefined;
    for (const group of groupBy(items, (i) => `${i.route}\n${i.partitionKey ?? ""}`).values()) {
      const hub = await this.#hub(group[0]!.route);
      const partitionId = hub.partitionIds[partitionIndex(group[0]!.partitionKey ?? group[0]!.id, hub.partitionIds.length)]!;
      // A dead letter may hold more than one batch can carry: resend in batches that fit.
      const limit = hub.maxMessageSize - EVENT_OVERHEAD - 16;
      const units = this.#action.format === "xdr" ? envelopes(group, limit) : group.map((i) => ({ event: { body: i.payload }, items: [i] }));
      for (const { batch, items: chunk } of await fitBatches(hub, partitionId, units)) {
        const outcome = await this.#send(hub, batch);
        if (outcome.reason !== undefined) {
          failed.push(...chunk);
          reason ??= outcome.reason;
        }
      }
    }
    return reason === undefined ? { failed } : { failed, reason };
  }

  #deadLetter(items: DeliveryItem[], reason: string, attempts: number): Promise<void> {
    return recordDeadLetter(this.#options.deadLetters, this, this.#report, items, reason, attempts);
  }

  async close(): Promise<void> {
    await Promise.all(this.#inFlight);
    for (const hub of this.#hubs.values()) await (await hub).client.close();
  }
}

interface Unit {
  event: EventData;
  items: DeliveryItem[];
}

/** XDR records packed into `{"records": [...]}` envelopes of at most `limit` bytes. */
function envelopes(items: readonly DeliveryItem[], limit: number): Unit[] {
  const units: Unit[] = [];
  let current: Unit | undefined;
  let bytes = 0;
  for (const item of items) {
    const size = jsonBytes(item.payload) + 1;
    if (current === undefined || bytes + size > limit) {
      current = { event: { body: { records: [] as Json[] } }, items: [] };
      units.push(current);
      bytes = 14;
    }
    (current.event.body as { records: Json[] }).records.push(item.payload);
    current.items.push(item);
    bytes += size;
  }
  return units;
}

async function fitBatches(hub: Hub, partitionId: string, units: readonly Unit[]): Promise<{ batch: EventDataBatch; items: DeliveryItem[] }[]> {
  const out: { batch: EventDataBatch; items: DeliveryItem[] }[] = [];
  let current = { batch: await hub.client.createBatch({ partitionId }), items: [] as DeliveryItem[] };
  for (const unit of units) {
    if (!current.batch.tryAdd(unit.event)) {
      if (current.items.length > 0) out.push(current);
      current = { batch: await hub.client.createBatch({ partitionId }), items: [] };
      current.batch.tryAdd(unit.event);
    }
    current.items.push(...unit.items);
  }
  if (current.items.length > 0) out.push(current);
  return out;
}

/**
 * The partition of a key: a stable hash (32-bit FNV-1a over the UTF-16 units), so one resource's events
 * always land in one partition. Not cryptographic, and needs none: it runs for every event.
 */
export function partitionIndex(key: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % count;
}

function withoutEntityPath(connectionString: string): string {
  return connectionString
    .split(";")
    .filter((part) => part.trim() !== "" && !/^\s*EntityPath\s*=/i.test(part))
    .join(";");
}
