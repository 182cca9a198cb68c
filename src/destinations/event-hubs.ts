import { ConnectionConfig } from "@azure/core-amqp";
import type { TokenCredential } from "@azure/core-auth";
import { EventHubProducerClient, type EventData, type EventDataBatch } from "@azure/event-hubs";
import { actionKey, type DestinationPolicy, type EventHubAction } from "../config/index.js";
import { hostAllowed, isTrustedHost, parseEventHubConnectionString, parseNamespace } from "../config/endpoints.js";
import { EVENT_CATEGORIES, jsonBytes, toEventWithin, type Json, type MappingInput } from "../mapping/index.js";
import { EVENT_SOURCE_DATA_TYPE } from "../datatypes/index.js";
import type { DeadLetterStore } from "./dead-letter.js";
import { DeliveryLedger, MemoryBackoffStore, type BackoffStore } from "./delivery.js";
import { describeError } from "./errors.js";
import { DEFAULT_RETRY, withRetries, type RetryPolicy, type SdkRetryOptions } from "./retry.js";
import { destinationSetting, unusableSetting } from "./settings.js";
import { groupBy, type DeliveryItem, type DeliveryReport, type Sink } from "./types.js";

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
  backoff?: BackoffStore;
  configuration?: string;
}

// Room a batch needs around one event's body (AMQP sections, annotations, properties).
const EVENT_OVERHEAD = 512;
// The XDR envelope around its records, `{"records":[]}`, and the slack kept for it below the hub's limit.
const ENVELOPE_BYTES = Buffer.byteLength('{"records":[]}');
const ENVELOPE_SLACK = 16;

/** What a Standard (or higher) tier hub advertises: what preview assumes, not having a hub to ask. */
export const STANDARD_MAX_MESSAGE_BYTES = 1_048_576;

/** How large one event's JSON may be, cut to fit, on a hub that advertises `maxMessageSize`. */
export function eventLimit(maxMessageSize: number, format: EventHubAction["format"]): number {
  return maxMessageSize - EVENT_OVERHEAD - (format === "xdr" ? ENVELOPE_SLACK : 0);
}

/** An action's message shape: its format and, for findings, its casing. */
export function eventShape(action: Pick<EventHubAction, "format" | "findingsShape">) {
  return { format: action.format ?? "defender", ...(action.findingsShape ? { findingsShape: action.findingsShape } : {}) };
}

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

/** Where the client connects: checked as the SDK reads what it is given. */
interface Target {
  /** A connection string without EntityPath (the hub is given beside it), or none for the app's identity. */
  connectionString: string | undefined;
  /** `host` or, for a trusted host, `host:port`: what the credential form of the client is given. */
  namespace: string;
  host: string;
  port: string;
  emulator: boolean;
  entityPath: string | undefined;
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
  readonly #target: Target;
  readonly #hubs = new Map<string, Promise<Hub>>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #ledger: DeliveryLedger;
  /** How full the full batches sent were, as fractions of the hub's maximum (benchmarks read it): a tally, not a list, so a long-lived sink holds no more. */
  readonly batchFill = { count: 0, sum: 0, least: 1 };

  constructor(action: EventHubAction, options: EventHubSinkOptions) {
    this.#action = action;
    this.#options = options;
    this.actionKey = actionKey(action);
    this.#target = target(action, options);
    // Every hub this action can send to, checked now, before anything is dialled.
    for (const hub of new Set([action.eventHubName, this.#target.entityPath, ...Object.values(action.eventHubNames ?? {})])) {
      if (hub !== undefined) checkWhatTheSdkDials(this.#target, hub, options.destinationPolicy);
    }
    this.description = `Event Hubs ${this.#target.namespace}/${action.eventHubName ?? this.#target.entityPath ?? "(per type)"}`;
    this.#ledger = new DeliveryLedger(this, {
      deadLetters: options.deadLetters,
      backoff: options.backoff ?? new MemoryBackoffStore(),
      ...(options.configuration !== undefined ? { configuration: options.configuration } : {}),
    });
  }

  #hubName(category: string): string {
    const name = this.#action.eventHubNames?.[category] ?? this.#action.eventHubName ?? this.#target.entityPath;
    if (name === undefined) throw new Error(`no hub for ${category}: set eventHubName or eventHubNames.${category}`);
    return name;
  }

  #hub(name: string): Promise<Hub> {
    let hub = this.#hubs.get(name);
    if (hub === undefined) {
      hub = this.#open(name);
      // Observed where it is awaited; a failed open is tried again by the next pass, not by this one.
      hub.catch(() => undefined);
      this.#hubs.set(name, hub);
    }
    return hub;
  }

  async #open(name: string): Promise<Hub> {
    const options = this.#options.sdkRetryOptions ? { retryOptions: this.#options.sdkRetryOptions } : {};
    const t = this.#target;
    const client = t.connectionString
      ? new EventHubProducerClient(t.connectionString, name, options)
      : new EventHubProducerClient(t.namespace, name, this.#options.credential, options);
    // What the client itself says it will dial, before it dials anything.
    if (client.fullyQualifiedNamespace.toLowerCase() !== t.host || client.eventHubName !== name) {
      await client.close().catch(() => undefined);
      throw new Error(`the Event Hubs client would connect to ${client.fullyQualifiedNamespace}/${client.eventHubName}, not ${t.host}/${name}; nothing is sent`);
    }
    try {
      const partitionIds = await client.getPartitionIds();
      const probe = await client.createBatch({ partitionId: partitionIds[0]! });
      return { name, client, partitionIds, maxMessageSize: probe.maxSizeInBytes, partitions: new Map() };
    } catch (e) {
      await client.close().catch(() => undefined);
      throw e;
    }
  }

  async write(input: MappingInput): Promise<void> {
    const category = EVENT_CATEGORIES[EVENT_SOURCE_DATA_TYPE[input.eventSource]];
    const name = this.#hubName(category);
    if (!(await this.#ledger.mayTry(name))) return this.#hold(input, name);
    let hub: Hub;
    try {
      hub = await this.#hub(name);
    } catch (e) {
      // The hub cannot be reached (after the SDK's retries): that unit is spent; the action backs off.
      const event = toEventWithin(input, Number.MAX_SAFE_INTEGER, this.#shape());
      await this.#ledger.exhausted(name, [{ id: input.id, route: name, partitionKey: event.event.partitionKey, payload: event.event.body }], `cannot open hub ${name}: ${describeError(e)}`, 1);
      return;
    }
    const limit = hub.maxMessageSize - EVENT_OVERHEAD;
    const format = this.#action.format ?? "defender";
    const result = toEventWithin(input, eventLimit(hub.maxMessageSize, format), this.#shape());
    if (!result.ok) {
      await this.#ledger.refused([{ id: input.id, route: hub.name, partitionKey: result.event.partitionKey, payload: result.event.body }], `the event cannot fit the hub's ${hub.maxMessageSize} bytes: ${result.reason}`, 0);
      return;
    }
    if (result.cut.length > 0) this.#ledger.report.cut++;
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

  #shape() {
    return eventShape(this.#action);
  }

  /** While the action is backed off: the event as it would have gone, kept for a dead letter. */
  async #hold(input: MappingInput, hub: string): Promise<void> {
    const event = toEventWithin(input, Number.MAX_SAFE_INTEGER, this.#shape());
    await this.#ledger.hold(hub, [{ id: input.id, route: hub, partitionKey: event.event.partitionKey, payload: event.event.body }]);
  }

  #partition(hub: Hub, partitionId: string): Partition {
    let partition = hub.partitions.get(partitionId);
    if (partition === undefined) {
      partition = { batch: undefined, items: [], envelope: { records: [], items: [], bytes: ENVELOPE_BYTES } };
      hub.partitions.set(partitionId, partition);
    }
    return partition;
  }

  async #closeEnvelope(hub: Hub, partitionId: string, partition: Partition): Promise<void> {
    const { records, items } = partition.envelope;
    partition.envelope = { records: [], items: [], bytes: ENVELOPE_BYTES };
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
    await this.#ledger.refused(items, `the event does not fit an empty batch of ${partition.batch.maxSizeInBytes} bytes`, 0);
  }

  async #dispatch(hub: Hub, partition: Partition, full: boolean): Promise<void> {
    const { batch, items } = partition;
    partition.batch = undefined;
    partition.items = [];
    if (batch === undefined || batch.count === 0) return;
    if (!(await this.#ledger.mayTry(hub.name))) return this.#ledger.hold(hub.name, items);
    if (full) {
      const fill = batch.sizeInBytes / batch.maxSizeInBytes;
      this.batchFill.count++;
      this.batchFill.sum += fill;
      this.batchFill.least = Math.min(this.batchFill.least, fill);
    }
    while (this.#inFlight.size >= (this.#options.concurrency ?? 4)) await Promise.race(this.#inFlight);
    const sending = this.#deliver(hub, batch, items).finally(() => this.#inFlight.delete(sending));
    this.#inFlight.add(sending);
  }

  async #deliver(hub: Hub, batch: EventDataBatch, items: DeliveryItem[]): Promise<void> {
    const outcome = await this.#send(hub, batch);
    if (outcome.ok) await this.#ledger.delivered(hub.name, items.length);
    else if (outcome.final) await this.#ledger.refused(items, outcome.reason, 1);
    else await this.#ledger.exhausted(hub.name, items, outcome.reason, this.#options.retry?.attempts ?? DEFAULT_RETRY.attempts);
  }

  /** Sends a batch, again with backoff after the SDK's own retries; MessageTooLarge is not worth another try. */
  #send(hub: Hub, batch: EventDataBatch) {
    return withRetries(this.#options.retry ?? DEFAULT_RETRY, () => hub.client.sendBatch(batch), {
      onAttempt: () => this.#ledger.report.requests++,
      final: (e) => (e as { code?: string }).code === "MessageTooLargeError",
    });
  }

  async flush(): Promise<DeliveryReport> {
    for (const hubPromise of this.#hubs.values()) {
      const hub = await hubPromise.catch(() => undefined);
      if (hub === undefined) continue;
      for (const [partitionId, partition] of hub.partitions) {
        await this.#closeEnvelope(hub, partitionId, partition);
        await this.#dispatch(hub, partition, false);
      }
    }
    await Promise.all(this.#inFlight);
    return this.#ledger.take();
  }

  async resend(items: readonly DeliveryItem[]): Promise<{ failed: DeliveryItem[]; reason?: string }> {
    const failed: DeliveryItem[] = [];
    let reason: string | undefined;
    for (const group of groupBy(items, (i) => `${i.route}\n${i.partitionKey ?? ""}`).values()) {
      let hub: Hub;
      try {
        hub = await this.#hub(group[0]!.route);
      } catch (e) {
        failed.push(...group);
        reason ??= `cannot open hub ${group[0]!.route}: ${describeError(e)}`;
        continue;
      }
      const partitionId = hub.partitionIds[partitionIndex(group[0]!.partitionKey ?? group[0]!.id, hub.partitionIds.length)]!;
      // A dead letter may hold more than one batch can carry: resend in batches that fit.
      const limit = eventLimit(hub.maxMessageSize, "xdr");
      const units = this.#action.format === "xdr" ? envelopes(group, limit) : group.map((i) => ({ event: { body: i.payload }, items: [i] }));
      for (const { batch, items: chunk } of await fitBatches(hub, partitionId, units)) {
        const outcome = await this.#send(hub, batch);
        if (!outcome.ok) {
          failed.push(...chunk);
          reason ??= outcome.reason;
        }
      }
    }
    return reason === undefined ? { failed } : { failed, reason };
  }

  /** Never throws: a hub that could not be opened has nothing to close, and the pass has its reason already. */
  async close(): Promise<void> {
    await Promise.all(this.#inFlight);
    for (const hub of this.#hubs.values()) {
      const opened = await hub.catch(() => undefined);
      await opened?.client.close().catch(() => undefined);
    }
  }
}

const EVENT_HUBS_CONNECTION = "an Event Hubs connection string";

/** The action's connection: a connection string (given, or from its app setting) or its namespace. */
function target(action: EventHubAction, options: EventHubSinkOptions): Target {
  const policy = options.destinationPolicy;
  const setting = action.connectionStringSetting;
  const text = action.connectionString?.reveal() ?? (setting === undefined ? undefined : destinationSetting(setting, "connectionStringSetting", EVENT_HUBS_CONNECTION, options.settings, policy));
  if (text !== undefined) {
    const parsed = parseEventHubConnectionString(text, policy);
    if (!parsed.ok) {
      if (action.connectionString === undefined && setting !== undefined) throw unusableSetting(setting, "connectionStringSetting", EVENT_HUBS_CONNECTION);
      throw new Error(`invalid Event Hubs connection string: ${parsed.message}`);
    }
    const c = parsed.connection;
    return { connectionString: withoutEntityPath(text), namespace: c.port ? `${c.host}:${c.port}` : c.host, host: c.host, port: c.port, emulator: c.emulator, entityPath: c.entityPath };
  }
  if (action.fullyQualifiedNamespace === undefined) throw new Error("this EventHub action has neither a connection string nor a namespace");
  const ns = parseNamespace(action.fullyQualifiedNamespace, policy);
  if (!ns.ok) throw new Error(`fullyQualifiedNamespace ${ns.reason}`);
  return { connectionString: undefined, namespace: ns.port ? `${ns.host}:${ns.port}` : ns.host, host: ns.host, port: ns.port, emulator: false, entityPath: undefined };
}

/**
 * Reads what the SDK will be given for `hub` with the SDK's own parser (@azure/core-amqp's ConnectionConfig,
 * which the Event Hubs client calls), and refuses unless it dials the host, port and transport checked.
 * The credential form is given as the client builds it: `Endpoint=sb://<namespace>/;...;EntityPath=<hub>`.
 */
function checkWhatTheSdkDials(t: Target, hub: string, policy: DestinationPolicy): void {
  const given = t.connectionString ?? `Endpoint=sb://${t.namespace}/;SharedAccessKeyName=defaultKeyName;SharedAccessKey=defaultKeyValue;EntityPath=${hub}`;
  let config: ReturnType<typeof ConnectionConfig.create>;
  try {
    config = ConnectionConfig.create(given, t.connectionString === undefined ? undefined : hub);
  } catch {
    throw new Error("the Event Hubs client cannot read this connection; nothing is sent");
  }
  const port = config.port === undefined ? "" : String(config.port);
  const same = config.host.toLowerCase() === t.host && port === t.port && config.useDevelopmentEmulator === t.emulator && config.entityPath === hub;
  if (!same || !hostAllowed("eventHubs", config.host, port, policy) || (config.useDevelopmentEmulator && !isTrustedHost(config.host, port, policy))) {
    throw new Error(`the Event Hubs client would not connect to ${t.namespace}/${hub} as checked; nothing is sent`);
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
      bytes = ENVELOPE_BYTES;
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
