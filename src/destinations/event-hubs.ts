import { ConnectionConfig } from "@azure/core-amqp";
import { EventHubProducerClient, type EventData, type EventDataBatch } from "@azure/event-hubs";
import { actionKey } from "../config/action-key.js";
import type { AllowedDestinations } from "../config/endpoints.js";
import type { EventHubAction } from "../config/model.js";
import { hostAllowed, isTrustedHost, parseEventHubConnectionString, parseNamespace } from "../config/endpoints.js";
import { EVENT_CATEGORIES, toEvent } from "../mapping/eventhub.js";
import { jsonBytes } from "../mapping/cut.js";
import { eventBody, eventBytes, toEventWithin } from "../mapping/to-event.js";
import type { Json, OutgoingRecord } from "../records/record.js";
import { EVENT_SOURCE_DATA_TYPE } from "../datatypes/registry.js";
import { DeliveryLedger } from "./delivery.js";
import { describeError } from "./errors.js";
import { InFlight } from "./in-flight.js";
import { DEFAULT_RETRY, SENT, withRetries, type SendOutcome } from "./retry.js";
import { resolveSetting } from "./settings.js";
import { EncodedItem, groupBy, resendUnits, type DeliveryItem, type DeliveryReport, type Resent, type ResendUnit, type Sink, type SinkDependencies } from "./sink.js";

/** `concurrency`: batches in flight at once; `sdkRetryOptions.timeoutInMs` bounds how long a send waits on a connection that died. */
export type EventHubSinkOptions = Pick<
  SinkDependencies,
  "credential" | "deadLetters" | "allowedDestinations" | "destinationAppSettings" | "retry" | "concurrency" | "sdkRetryOptions" | "backoff" | "configuration"
>;

// Room a batch needs around one event's body (AMQP sections, annotations, properties).
const EVENT_OVERHEAD = 512;
// The XDR envelope around its records, `{"records":[]}`, and the comma counted with each record.
const ENVELOPE_BYTES = Buffer.byteLength('{"records":[]}');
const RECORD_SEPARATOR_BYTES = 1;
// What one record alone in an envelope adds to its JSON, with a byte to spare.
const ENVELOPE_SLACK = ENVELOPE_BYTES + RECORD_SEPARATOR_BYTES + 1;
const CONCURRENCY = 4;

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

/** An event and the payloads it carries (one, or an XDR envelope's records). */
interface Unit {
  event: EventData;
  items: DeliveryItem[];
}

/** A batch closed for sending, and the payloads in it. */
interface Sealed {
  batch: EventDataBatch;
  items: DeliveryItem[];
}

/** One partition's open batch, filled to the hub's advertised maximum. */
class Batcher {
  #batch: EventDataBatch | undefined;
  #items: DeliveryItem[] = [];

  constructor(
    private readonly client: EventHubProducerClient,
    private readonly partitionId: string,
  ) {}

  /**
   * Adds a unit; when the open batch cannot take it, hands that batch to `full` and opens another. Returns
   * the refusal when the unit does not fit even an empty batch. `refusedByOpen`: addToOpen has just been refused
   * by the open batch, which is not asked again.
   */
  async add(unit: Unit, full: (sealed: Sealed) => Promise<void>, refusedByOpen = false): Promise<SendOutcome | undefined> {
    const opening = this.#batch === undefined;
    this.#batch ??= await this.client.createBatch({ partitionId: this.partitionId });
    if ((opening || !refusedByOpen) && this.#tryAdd(unit)) return undefined;
    if (this.#batch.count > 0) {
      await full(this.take()!);
      this.#batch = await this.client.createBatch({ partitionId: this.partitionId });
      if (this.#tryAdd(unit)) return undefined;
    }
    return { ok: false, reason: `the event does not fit an empty batch of ${this.#batch.maxSizeInBytes} bytes`, final: true, attempts: 0 };
  }

  /** Adds a unit to the open batch, if there is one and it takes it: no waiting. */
  addToOpen(unit: Unit): boolean {
    return this.#batch !== undefined && this.#tryAdd(unit);
  }

  #tryAdd(unit: Unit): boolean {
    if (!this.#batch!.tryAdd(unit.event)) return false;
    this.#items.push(...unit.items);
    return true;
  }

  /** The open batch, closed; undefined when it holds nothing. */
  take(): Sealed | undefined {
    const batch = this.#batch;
    const items = this.#items;
    this.#batch = undefined;
    this.#items = [];
    return batch === undefined || batch.count === 0 ? undefined : { batch, items };
  }
}

/** XDR records packed into one `{"records":[...]}` event, up to `limit` bytes of JSON. */
class Envelope {
  readonly #records: Json[] = [];
  readonly #items: DeliveryItem[] = [];
  #bytes = ENVELOPE_BYTES;

  constructor(private readonly limit: number) {}

  get empty(): boolean {
    return this.#records.length === 0;
  }

  /** Whether a record of `jsonBytes` still fits; an empty envelope takes any one. */
  fits(jsonBytes: number): boolean {
    return this.empty || this.#bytes + jsonBytes + RECORD_SEPARATOR_BYTES <= this.limit;
  }

  add(item: DeliveryItem, jsonBytes: number): void {
    this.#records.push(item.payload);
    this.#items.push(item);
    this.#bytes += jsonBytes + RECORD_SEPARATOR_BYTES;
  }

  unit(): Unit {
    return { event: { body: { records: this.#records } }, items: this.#items };
  }
}

interface Partition {
  batcher: Batcher;
  /** The XDR envelope being filled: many records per message. */
  envelope: Envelope;
}

interface Hub {
  name: string;
  client: EventHubProducerClient;
  partitionIds: string[];
  maxMessageSize: number;
  partitions: Map<string, Partition>;
}

/** How large an XDR envelope's JSON may be on a hub. */
const envelopeLimit = (hub: Hub) => hub.maxMessageSize - EVENT_OVERHEAD;

/** The partition a key's events go to. */
const partitionOf = (hub: Hub, partitionKey: string) => hub.partitionIds[partitionIndex(partitionKey, hub.partitionIds.length)]!;

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
  /** The hubs opened, by name: a record for one of them is taken without waiting. */
  readonly #opened = new Map<string, Hub>();
  readonly #inFlight: InFlight;
  readonly #ledger: DeliveryLedger;
  /** How full the full batches sent were, as fractions of the hub's maximum (benchmarks read it): a tally, not a list, so a long-lived sink holds no more. */
  readonly batchFill = { count: 0, sum: 0, least: 1 };

  constructor(action: EventHubAction, options: EventHubSinkOptions) {
    this.#action = action;
    this.#options = options;
    this.actionKey = actionKey(action);
    // Checked now, for every hub this action can send to, before anything is dialled.
    this.#target = target(action, options);
    this.description = `Event Hubs ${this.#target.namespace}/${action.eventHubName ?? this.#target.entityPath ?? "(per type)"}`;
    this.#ledger = new DeliveryLedger(this, options);
    this.#inFlight = new InFlight(options.concurrency ?? CONCURRENCY);
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
      hub.then((opened) => this.#opened.set(name, opened)).catch(() => undefined);
      this.#hubs.set(name, hub);
    }
    return hub;
  }

  async #open(name: string): Promise<Hub> {
    const options = this.#options.sdkRetryOptions ? { retryOptions: this.#options.sdkRetryOptions } : {};
    const t = this.#target;
    const client = t.connectionString ? new EventHubProducerClient(t.connectionString, name, options) : new EventHubProducerClient(t.namespace, name, this.#options.credential, options);
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

  write(input: OutgoingRecord): Promise<void> | undefined {
    const category = EVENT_CATEGORIES[EVENT_SOURCE_DATA_TYPE[input.eventSource]];
    const name = this.#hubName(category);
    // Most records: the hub is open and its lane known to be tried; nothing to wait for.
    const hub = this.#opened.get(name);
    if (hub === undefined || this.#ledger.mayTryNow(name) !== true) return this.#writeWhenReady(input, name);
    return this.#take(hub, input);
  }

  async #writeWhenReady(input: OutgoingRecord, name: string): Promise<void> {
    if (!(await this.#ledger.mayTry(name))) return this.#ledger.hold(name, [this.#uncut(input, name)]);
    let hub: Hub;
    try {
      hub = await this.#hub(name);
    } catch (e) {
      // The hub cannot be reached (after the SDK's retries): that unit is spent; the action backs off.
      return this.#ledger.settle(name, [this.#uncut(input, name)], unopened(name, e));
    }
    return this.#take(hub, input);
  }

  /** A record's event into its partition's batch (or XDR envelope) on an open hub. */
  #take(hub: Hub, input: OutgoingRecord): Promise<void> | undefined {
    const format = this.#action.format ?? "defender";
    const result = toEventWithin(input, eventLimit(hub.maxMessageSize, format), eventShape(this.#action));
    if (!result.ok) return this.#ledger.refused([item(input, hub.name, result.partitionKey, result.body)], `the event cannot fit the hub's ${hub.maxMessageSize} bytes: ${result.reason}`, 0);
    if (result.cut.length > 0) this.#ledger.countCut();
    const partition = this.#partition(hub, result.partitionKey);
    // The JSON already measured, as bytes: the SDK sends a Buffer body as it is, the same data section it
    // would make of the object by serializing it once more.
    if (format !== "xdr") {
      const json = eventBytes(result);
      return this.#add(hub, partition, { event: { body: json }, items: [new EncodedItem(input.id, hub.name, json, undefined, result.partitionKey)] });
    }
    const bytes = Buffer.byteLength(result.json, "utf8");
    const record = item(input, hub.name, result.partitionKey, eventBody(result));
    if (partition.envelope.fits(bytes)) {
      partition.envelope.add(record, bytes);
      return undefined;
    }
    // The envelope is replaced at once: the record goes into the new one.
    return this.#closeEnvelope(hub, partition).then(() => partition.envelope.add(record, bytes));
  }

  /** While the hub cannot be tried, the event as it would have gone, kept for a dead letter. */
  #uncut(input: OutgoingRecord, hub: string): DeliveryItem {
    const event = toEvent(input, eventShape(this.#action));
    return item(input, hub, event.partitionKey, event.body);
  }

  #partition(hub: Hub, partitionKey: string): Partition {
    const partitionId = partitionOf(hub, partitionKey);
    let partition = hub.partitions.get(partitionId);
    if (partition === undefined) {
      partition = { batcher: new Batcher(hub.client, partitionId), envelope: new Envelope(envelopeLimit(hub)) };
      hub.partitions.set(partitionId, partition);
    }
    return partition;
  }

  async #closeEnvelope(hub: Hub, partition: Partition): Promise<void> {
    const envelope = partition.envelope;
    partition.envelope = new Envelope(envelopeLimit(hub));
    if (!envelope.empty) await this.#add(hub, partition, envelope.unit());
  }

  #add(hub: Hub, partition: Partition, unit: Unit): Promise<void> | undefined {
    if (partition.batcher.addToOpen(unit)) return undefined;
    return this.#addToNew(hub, partition, unit);
  }

  async #addToNew(hub: Hub, partition: Partition, unit: Unit): Promise<void> {
    const refusal = await partition.batcher.add(unit, (full) => this.#dispatch(hub, full, true), true);
    if (refusal !== undefined) await this.#ledger.settle(hub.name, unit.items, refusal);
  }

  async #dispatch(hub: Hub, sealed: Sealed | undefined, full: boolean): Promise<void> {
    if (sealed === undefined) return;
    if (!(await this.#ledger.mayTry(hub.name))) return this.#ledger.hold(hub.name, sealed.items);
    if (full) {
      const fill = sealed.batch.sizeInBytes / sealed.batch.maxSizeInBytes;
      this.batchFill.count++;
      this.batchFill.sum += fill;
      this.batchFill.least = Math.min(this.batchFill.least, fill);
    }
    await this.#inFlight.start(async () => this.#ledger.settle(hub.name, sealed.items, await this.#send(hub, sealed.batch)));
  }

  /** Sends a batch, again with backoff after the SDK's own retries; MessageTooLarge is not worth another try. */
  #send(hub: Hub, batch: EventDataBatch): Promise<SendOutcome> {
    return withRetries(
      this.#options.retry ?? DEFAULT_RETRY,
      async () => {
        await hub.client.sendBatch(batch);
        return SENT;
      },
      { onAttempt: () => this.#ledger.countRequest(), refuses: (e) => (e as { code?: string }).code === "MessageTooLargeError" },
    );
  }

  async flush(): Promise<DeliveryReport> {
    for (const hubPromise of this.#hubs.values()) {
      const hub = await hubPromise.catch(() => undefined);
      if (hub === undefined) continue;
      for (const partition of hub.partitions.values()) {
        await this.#closeEnvelope(hub, partition);
        await this.#dispatch(hub, partition.batcher.take(), false);
      }
    }
    await this.#inFlight.drained();
    return this.#ledger.take();
  }

  resend(items: readonly DeliveryItem[]): Promise<Resent> {
    return resendUnits(this.#resendUnits(items));
  }

  /** A dead letter may hold more than one batch can carry: per hub and partition key, in batches that fit. */
  async *#resendUnits(items: readonly DeliveryItem[]): AsyncGenerator<ResendUnit> {
    for (const group of groupBy(items, (i) => `${i.route}\n${i.partitionKey ?? ""}`).values()) {
      const first = group[0]!;
      let hub: Hub;
      try {
        hub = await this.#hub(first.route);
      } catch (e) {
        const outcome = unopened(first.route, e);
        yield { items: group, send: async () => outcome };
        continue;
      }
      const batcher = new Batcher(hub.client, partitionOf(hub, first.partitionKey ?? first.id));
      const units: ResendUnit[] = [];
      const sealed = async ({ batch, items }: Sealed): Promise<void> => {
        units.push({ items, send: () => this.#send(hub, batch) });
      };
      for (const unit of this.#action.format === "xdr" ? envelopes(group, envelopeLimit(hub)) : group.map((i) => ({ event: { body: i.payload }, items: [i] }))) {
        const refusal = await batcher.add(unit, sealed);
        if (refusal !== undefined) units.push({ items: unit.items, send: async () => refusal });
      }
      const rest = batcher.take();
      if (rest !== undefined) await sealed(rest);
      yield* units;
    }
  }

  /** Never throws: a hub that could not be opened has nothing to close, and the pass has its reason already. */
  async close(): Promise<void> {
    await this.#inFlight.drained().catch(() => undefined);
    for (const hub of this.#hubs.values()) {
      const opened = await hub.catch(() => undefined);
      await opened?.client.close().catch(() => undefined);
    }
  }
}

/** What a dead letter keeps of an event. */
function item(input: OutgoingRecord, hub: string, partitionKey: string, payload: Json): DeliveryItem {
  return { id: input.id, route: hub, partitionKey, payload };
}

/** A hub that could not be opened (after the SDK's retries): one attempt spent. */
function unopened(hub: string, e: unknown): SendOutcome {
  return { ok: false, reason: `cannot open hub ${hub}: ${describeError(e)}`, final: false, attempts: 1 };
}

/** XDR records packed into envelopes of at most `limit` bytes, in order. */
function envelopes(items: readonly DeliveryItem[], limit: number): Unit[] {
  const out: Envelope[] = [];
  for (const item of items) {
    const bytes = jsonBytes(item.payload);
    if (out.length === 0 || !out.at(-1)!.fits(bytes)) out.push(new Envelope(limit));
    out.at(-1)!.add(item, bytes);
  }
  return out.map((e) => e.unit());
}

/** The action's connection, checked as the SDK will read it for every hub the action can send to. */
function target(action: EventHubAction, options: EventHubSinkOptions): Target {
  const policy = options.allowedDestinations;
  const checked = (t: Target): Target => {
    const problem = dialProblem(t, action, policy);
    if (problem !== undefined) throw new Error(problem);
    return t;
  };
  const inline = action.connectionString?.reveal();
  if (inline !== undefined) {
    const parsed = fromConnectionString(inline, policy);
    if (!parsed.ok) throw new Error(`invalid Event Hubs connection string: ${parsed.message}`);
    return checked(parsed.target);
  }
  // From an app setting, every refusal reads the same: it tells nothing of what the setting holds.
  const fromSetting = resolveSetting(action, options.destinationAppSettings, policy, (text) => {
    const parsed = fromConnectionString(text, policy);
    return parsed.ok && dialProblem(parsed.target, action, policy) === undefined ? parsed.target : undefined;
  });
  if (fromSetting !== undefined) return fromSetting;
  if (action.fullyQualifiedNamespace === undefined) throw new Error("this EventHub action has neither a connection string nor a namespace");
  const ns = parseNamespace(action.fullyQualifiedNamespace, policy);
  if (!ns.ok) throw new Error(`fullyQualifiedNamespace ${ns.reason}`);
  return checked({ connectionString: undefined, namespace: ns.port ? `${ns.host}:${ns.port}` : ns.host, host: ns.host, port: ns.port, emulator: false, entityPath: undefined });
}

function fromConnectionString(text: string, allowed: AllowedDestinations): { ok: true; target: Target } | { ok: false; message: string } {
  const parsed = parseEventHubConnectionString(text, allowed);
  if (!parsed.ok) return parsed;
  const c = parsed.connection;
  return {
    ok: true,
    target: { connectionString: withoutEntityPath(text), namespace: c.port ? `${c.host}:${c.port}` : c.host, host: c.host, port: c.port, emulator: c.emulator, entityPath: c.entityPath },
  };
}

/**
 * Reads what the SDK will be given for each hub of the action with the SDK's own parser (@azure/core-amqp's
 * ConnectionConfig, which the Event Hubs client calls): why it would not dial the host, port and transport
 * checked, or undefined when it would. The credential form is given as the client builds it:
 * `Endpoint=sb://<namespace>/;...;EntityPath=<hub>`.
 */
function dialProblem(t: Target, action: EventHubAction, allowed: AllowedDestinations): string | undefined {
  for (const hub of new Set([action.eventHubName, t.entityPath, ...Object.values(action.eventHubNames ?? {})])) {
    if (hub === undefined) continue;
    const given = t.connectionString ?? `Endpoint=sb://${t.namespace}/;SharedAccessKeyName=defaultKeyName;SharedAccessKey=defaultKeyValue;EntityPath=${hub}`;
    let config: ReturnType<typeof ConnectionConfig.create>;
    try {
      config = ConnectionConfig.create(given, t.connectionString === undefined ? undefined : hub);
    } catch {
      return "the Event Hubs client cannot read this connection; nothing is sent";
    }
    const port = config.port === undefined ? "" : String(config.port);
    const same = config.host.toLowerCase() === t.host && port === t.port && config.useDevelopmentEmulator === t.emulator && config.entityPath === hub;
    if (!same || !hostAllowed("eventHubs", config.host, port, allowed) || (config.useDevelopmentEmulator && !isTrustedHost(config.host, port, allowed))) {
      return `the Event Hubs client would not connect to ${t.namespace}/${hub} as checked; nothing is sent`;
    }
  }
  return undefined;
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
