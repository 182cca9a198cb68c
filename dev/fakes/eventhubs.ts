import rhea, { type Connection, type EventContext, type Message } from "rhea";
import type { AddressInfo } from "node:net";

export interface ReceivedEvent {
  hub: string;
  partitionId: string;
  partitionKey: string | undefined;
  body: unknown;
  /** The size of the event's body as sent. */
  bytes: number;
}

/** Service error conditions the fake can answer a delivery with (the SDK retries the first two). */
export type DeliveryFault = "com.microsoft:server-busy" | "amqp:internal-error" | "amqp:resource-limit-exceeded" | "amqp:link:message-size-exceeded" | "drop-connection";

export interface FakeEventHubs {
  port: number;
  /** A connection string for a hub; UseDevelopmentEmulator keeps the client off TLS. */
  connectionString(hub: string): string;
  events: ReceivedEvent[];
  /** Each delivery (a batch) received, accepted or not, with its size. */
  deliveries: { hub: string; partitionId: string; events: number; bytes: number; outcome: string }[];
  maxMessageSize: number;
  /** The next `times` deliveries get this fault instead of being accepted. */
  fail(fault: DeliveryFault, times?: number): void;
  clearFaults(): void;
  close(): Promise<void>;
}

const BATCH_FORMAT = 0x80013700;

/**
 * A local Event Hubs AMQP 1.0 endpoint on rhea: answers the client's $cbs tokens and $management reads,
 * advertises a real max_message_size, decodes batches, and settles every delivery itself (accept, or
 * reject with the service's error conditions) so that tests decide what succeeds.
 */
export async function startFakeEventHubs(options: { hubs: string[]; partitionCount?: number; maxMessageSize?: number }): Promise<FakeEventHubs> {
  const partitionIds = Array.from({ length: options.partitionCount ?? 2 }, (_, i) => String(i));
  const maxMessageSize = options.maxMessageSize ?? 1024 * 1024;
  const events: ReceivedEvent[] = [];
  const deliveries: FakeEventHubs["deliveries"] = [];
  const faults: DeliveryFault[] = [];
  const connections = new Set<Connection>();
  const container = rhea.create_container({ id: "fake-eventhubs" });

  container.on("connection_open", (context: EventContext) => {
    connections.add(context.connection);
    context.connection.on("connection_close", () => connections.delete(context.connection));
    context.connection.on("disconnected", () => connections.delete(context.connection));
  });
  container.on("receiver_open", (context: EventContext) => {
    const receiver = context.receiver!;
    receiver.set_target(receiver.target);
    receiver.set_source(receiver.source);
  });
  container.on("sender_open", (context: EventContext) => {
    const sender = context.sender!;
    sender.set_source(sender.source);
    sender.set_target(sender.target);
  });
  container.on("error", () => undefined);
  container.on("connection_error", () => undefined);
  container.on("protocol_error", () => undefined);

  container.on("message", (context: EventContext) => {
    const address = String(context.receiver?.target?.address ?? "");
    const message = context.message!;
    if (address === "$cbs") return reply(context, message, { "status-code": 200, "status-description": "OK" }, undefined);
    if (address === "$management") return management(context, message);
    const match = /^([^/]+)(?:\/Partitions\/(\d+))?$/i.exec(address);
    const hub = match?.[1];
    if (!hub || !options.hubs.includes(hub)) {
      context.delivery?.reject({ condition: "amqp:not-found", description: `The messaging entity '${address}' could not be found.` });
      return;
    }
    const partitionId = match[2] ?? "0";
    const parts = unpack(context.message as unknown as Message | Buffer);
    const bytes = parts.reduce((sum, p) => sum + p.bytes, 0);
    const fault = faults.shift();
    const record = { hub, partitionId, events: parts.length, bytes, outcome: fault ?? "accepted" };
    deliveries.push(record);
    if (fault === "drop-connection") {
      // The network goes away mid-send: the socket dies with the delivery unsettled.
      const socket = (context.connection as unknown as { socket?: { destroy(): void } }).socket;
      socket?.destroy();
      return;
    }
    if (fault !== undefined) {
      context.delivery?.reject({ condition: fault, description: `Injected fault ${fault}.` });
      return;
    }
    for (const p of parts) events.push({ hub, partitionId, partitionKey: p.partitionKey, body: p.body, bytes: p.bytes });
    context.delivery?.accept();
  });

  function management(context: EventContext, message: Message): void {
    const props = (message.application_properties ?? {}) as Record<string, unknown>;
    if (props["operation"] !== "READ") return reply(context, message, { "status-code": 400 }, undefined);
    const name = String(props["name"] ?? options.hubs[0]);
    if (props["type"] === "com.microsoft:partition") {
      return reply(
        context,
        message,
        { "status-code": 200 },
        {
          name,
          partition: String(props["partition"]),
          begin_sequence_number: 0,
          last_enqueued_sequence_number: -1,
          last_enqueued_offset: "-1",
          last_enqueued_time_utc: new Date(0),
          is_partition_empty: true,
          type: "com.microsoft:partition",
        },
      );
    }
    return reply(
      context,
      message,
      { "status-code": 200 },
      {
        name,
        type: "com.microsoft:eventhub",
        created_at: new Date(0),
        partition_count: partitionIds.length,
        partition_ids: rhea.types.wrap_array(partitionIds, 0xa1, undefined),
      },
    );
  }

  function reply(context: EventContext, request: Message, properties: Record<string, unknown>, body: unknown): void {
    context.delivery?.accept();
    const response: Message = {
      to: request.reply_to,
      correlation_id: request.message_id,
      application_properties: { ...properties, "status-code": rhea.types.wrap_int(Number(properties["status-code"])) },
      body,
    };
    const sender = context.connection.find_sender((s: { name: string; target?: { address?: string } }) => s.name === request.reply_to || s.target?.address === request.reply_to);
    if (sender) sender.send(response);
  }

  const listener = container.listen({
    port: 0,
    host: "127.0.0.1",
    receiver_options: { autoaccept: false, autosettle: true, max_message_size: maxMessageSize },
    sender_options: { autosettle: true, max_message_size: maxMessageSize },
  } as unknown as Parameters<typeof container.listen>[0]);
  await new Promise<void>((resolve, reject) => {
    listener.once("listening", () => resolve());
    listener.once("error", reject);
  });
  const port = (listener.address() as AddressInfo).port;

  return {
    port,
    connectionString: (hub) => `Endpoint=sb://localhost:${port};SharedAccessKeyName=fake;SharedAccessKey=fakekey;UseDevelopmentEmulator=true;EntityPath=${hub}`,
    events,
    deliveries,
    maxMessageSize,
    fail(fault, times = 1) {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    clearFaults() {
      faults.length = 0;
    },
    async close() {
      for (const c of connections) c.close();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}

interface Part {
  body: unknown;
  partitionKey: string | undefined;
  bytes: number;
}

/**
 * A delivery's events. A batch (message format 0x80013700) arrives as the raw encoded message: its data
 * sections are the encoded events; the partition key is on the batch and on each event.
 */
function unpack(received: Message | Buffer): Part[] {
  const message = (Buffer.isBuffer(received) ? (rhea.message.decode(received) as unknown) : received) as Message;
  const body = message.body as { multiple?: boolean; content?: unknown } | undefined;
  if (Buffer.isBuffer(received) || (message as unknown as { message_format?: number }).message_format === BATCH_FORMAT) {
    const content = body?.content;
    const sections = Array.isArray(content) ? (content as Buffer[]) : Buffer.isBuffer(content) ? [content] : [];
    const batchKey = (message.message_annotations as Record<string, unknown> | undefined)?.["x-opt-partition-key"];
    return sections.map((c) => {
      const p = part(rhea.message.decode(c) as unknown as Message);
      return p.partitionKey === undefined && typeof batchKey === "string" ? { ...p, partitionKey: batchKey } : p;
    });
  }
  return [part(message)];
}

function part(message: Message): Part {
  const annotations = (message.message_annotations ?? {}) as Record<string, unknown>;
  const raw = message.body as { content?: Buffer } | Buffer | string | undefined;
  const buffer = Buffer.isBuffer(raw) ? raw : raw && typeof raw === "object" && Buffer.isBuffer(raw.content) ? raw.content : undefined;
  const text = buffer ? buffer.toString("utf8") : typeof raw === "string" ? raw : JSON.stringify(raw);
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  const key = annotations["x-opt-partition-key"];
  return { body, partitionKey: typeof key === "string" ? key : undefined, bytes: Buffer.byteLength(text, "utf8") };
}
