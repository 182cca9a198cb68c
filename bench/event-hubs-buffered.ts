// The measurement behind keeping the hand-written Event Hubs batcher (issue 15): EventHubSink against the same
// mapping, cut and partitioning on the SDK's EventHubBufferedProducerClient, each scenario in a process of its
// own, on the delivery benchmark's corpus and hub (4 partitions, 1 MB). Run: npx tsx bench/event-hubs-buffered.ts
import { spawnSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { EventHubBufferedProducerClient, type EventData } from "@azure/event-hubs";
import { parseExportConfiguration } from "../src/config/parse.js";
import type { EventHubAction } from "../src/config/model.js";
import { EventHubSink, partitionIndex } from "../src/destinations/event-hubs.js";
import type { DeliveryItem, DeliveryReport } from "../src/destinations/sink.js";
import { DeliveryLedger } from "../src/destinations/delivery.js";
import { describeError } from "../src/destinations/errors.js";
import { eventBody, toEventWithin } from "../src/mapping/to-event.js";
import type { OutgoingRecord } from "../src/records/record.js";
import { startFakeEventHubs } from "../dev/fakes/eventhubs.js";
import { corpus, inputOf, noDeadLetters } from "./delivery.js";

const MAX_MESSAGE_BYTES = 1024 * 1024;
/** Records, and how they arrive: back to back, or in pages some time apart (an ARM page a second is usual). */
const SCENARIOS = {
  tight: { count: 100_000, page: 100_000, pauseMs: 0 },
  paced: { count: 20_000, page: 1_000, pauseMs: 200 },
  slow: { count: 10_000, page: 500, pauseMs: 1_000 },
};
type Scenario = keyof typeof SCENARIOS;
const VARIANTS = ["hand-written", "buffered"] as const;
type Variant = (typeof VARIANTS)[number];

/**
 * The prototype: events enqueued to the partition the sink would pick; the SDK batches, sends and reports each
 * batch to its handlers, which book it in a ledger as the sink does. flush() resolves when the SDK has reported
 * every event enqueued.
 */
class BufferedSink {
  readonly actionKey = "bench";
  readonly description = "bench";
  readonly #ledger = new DeliveryLedger(this, { deadLetters: noDeadLetters });
  readonly #items = new WeakMap<EventData, DeliveryItem>();
  readonly #booking = new Set<Promise<void>>();
  readonly #client: EventHubBufferedProducerClient;
  #partitionIds: string[] = [];

  constructor(
    connectionString: string,
    readonly hub: string,
  ) {
    this.#client = new EventHubBufferedProducerClient(connectionString, hub, {
      onSendEventsSuccessHandler: ({ events }) => this.#book(this.#ledger.delivered(hub, events.length)),
      onSendEventsErrorHandler: ({ events, error }) =>
        this.#book(
          this.#ledger.exhausted(
            hub,
            events.map((e) => this.#items.get(e as EventData)!),
            describeError(error),
            1,
          ),
        ),
    });
  }

  #book(booking: Promise<void>): void {
    this.#booking.add(booking);
    void booking.finally(() => this.#booking.delete(booking));
  }

  async write(input: OutgoingRecord): Promise<void> {
    if (this.#partitionIds.length === 0) this.#partitionIds = await this.#client.getPartitionIds();
    const result = toEventWithin(input, MAX_MESSAGE_BYTES - 512, { format: "defender" });
    if (!result.ok) throw new Error(result.reason);
    const event: EventData = { body: Buffer.from(result.json, "utf8") };
    this.#items.set(event, { id: input.id, route: this.hub, payload: eventBody(result) });
    await this.#client.enqueueEvent(event, { partitionId: this.#partitionIds[partitionIndex(result.partitionKey, this.#partitionIds.length)]! });
  }

  async flush(): Promise<DeliveryReport> {
    await this.#client.flush();
    await Promise.all(this.#booking);
    return this.#ledger.take();
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}

async function measure(scenario: Scenario, variant: Variant) {
  const { count, page, pauseMs } = SCENARIOS[scenario];
  const records = corpus();
  const exportedAt = new Date().toISOString();
  const hubs = await startFakeEventHubs({ hubs: ["defender"], partitionCount: 4, maxMessageSize: MAX_MESSAGE_BYTES });
  const policy = { trustedHosts: [`localhost:${hubs.port}`] };
  const config = parseExportConfiguration(
    { sources: [{ eventSource: "Alerts" }], actions: [{ actionType: "EventHub", connectionString: hubs.connectionString("defender") }] },
    { allowedDestinations: policy },
  );
  if (!config.ok) throw new Error("config");
  const credential = { getToken: async () => ({ token: "bench", expiresOnTimestamp: Date.now() + 3_600_000 }) };
  const sink =
    variant === "hand-written"
      ? new EventHubSink(config.configuration.actions[0] as EventHubAction, { credential, deadLetters: noDeadLetters, allowedDestinations: policy })
      : new BufferedSink(hubs.connectionString("defender"), "defender");
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const r = records[i % records.length]!;
    await sink.write(inputOf(r.line, r.eventSource, exportedAt));
    if (pauseMs > 0 && (i + 1) % page === 0) await sleep(pauseMs);
  }
  const flushing = performance.now();
  const report = await sink.flush();
  const end = performance.now();
  const used = process.cpuUsage(cpu);
  await sink.close();
  const accepted = hubs.deliveries.filter((d) => d.outcome === "accepted");
  const bytes = accepted.reduce((n, d) => n + d.bytes, 0);
  await hubs.close();
  if (hubs.events.length !== count || report.sent !== count) throw new Error(`${variant}: ${hubs.events.length} events of ${count}, ${report.sent} acknowledged`);
  return {
    scenario,
    variant,
    events: count,
    messages: accepted.length,
    fillMean: +(bytes / (accepted.length * MAX_MESSAGE_BYTES)).toFixed(3),
    wallSeconds: +((end - start) / 1000).toFixed(2),
    cpuSeconds: +((used.user + used.system) / 1e6).toFixed(2),
    flushSeconds: +((end - flushing) / 1000).toFixed(3),
  };
}

const [scenario, variant] = process.argv.slice(2) as [Scenario | undefined, Variant | undefined];
if (scenario !== undefined && variant !== undefined) {
  process.stdout.write(`${JSON.stringify(await measure(scenario, variant))}\n`);
  process.exit(0);
} else {
  const tsx = fileURLToPath(new URL("../node_modules/tsx/dist/cli.mjs", import.meta.url));
  const self = fileURLToPath(import.meta.url);
  for (const s of Object.keys(SCENARIOS)) {
    for (const v of VARIANTS) {
      const child = spawnSync(process.execPath, [tsx, self, s, v], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
      process.stdout.write(child.stdout);
    }
  }
}
