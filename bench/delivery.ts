import { gzipSync } from "node:zlib";
import { parseExportConfiguration } from "../src/config/parse.js";
import type { EventHubAction, WorkspaceAction } from "../src/config/model.js";
import { EventHubSink } from "../src/destinations/event-hubs.js";
import { LogAnalyticsSink } from "../src/destinations/log-analytics.js";
import type { DeadLetterStore } from "../src/destinations/dead-letter.js";
import { toLogAnalyticsRow } from "../src/mapping/to-row.js";
import type { OutgoingRecord } from "../src/records/record.js";
import { isSnapshotSource } from "../src/datatypes/registry.js";
import { stableId } from "../src/records/record.js";
import type { EventSource } from "../src/config/enums.js";
import { SyntheticDataset } from "../dev/fakes/arm/dataset.js";
import { startFakeEventHubs } from "../dev/fakes/eventhubs.js";
import { startFakeLogsIngestion } from "../dev/fakes/logs-ingestion.js";
import { declaredStreams, RULE_ID } from "../test/helpers/destinations.js";
import { minimumIngestionRequests, type Figure } from "./figures.js";

const COUNT = 100_000;
const DISTINCT = 10_000;
const CHUNK = 1_000_000;

/** 10,000 distinct records as JSON text, cycled to 100,000: every 50th carries a description over 32 KB. */
export function corpus(): { line: string; eventSource: EventSource }[] {
  const d = new SyntheticDataset({ alerts: DISTINCT, assessments: DISTINCT, subAssessments: DISTINCT });
  const out: { line: string; eventSource: EventSource }[] = [];
  for (let i = 0; i < DISTINCT; i++) {
    const kind = i % 3;
    const record = kind === 0 ? d.alert(i) : kind === 1 ? d.assessment(i) : d.subAssessment(i);
    if (i % 50 === 0) (record["properties"] as Record<string, unknown>)["description"] = `${i} ${"é€x".repeat(12_000)}`;
    out.push({ line: JSON.stringify(record), eventSource: kind === 0 ? "Alerts" : kind === 1 ? "AssessmentsSnapshot" : "SubAssessments" });
  }
  return out;
}

export function inputOf(line: string, eventSource: EventSource, exportedAt: string): OutgoingRecord {
  const record = JSON.parse(line) as Record<string, unknown>;
  return { record, eventSource, id: stableId(record)!, isSnapshot: isSnapshotSource(eventSource), action: "Insert", exportedAt };
}

/** Serializes into ~1 MB chunks and gzips each, as the upload does. */
function gzipChunks(serialized: Iterable<string>): number {
  let parts: string[] = [];
  let size = 0;
  let compressed = 0;
  const flush = () => {
    compressed += gzipSync(`[${parts.join(",")}]`).length;
    parts = [];
    size = 0;
  };
  for (const s of serialized) {
    if (size + s.length > CHUNK && parts.length > 0) flush();
    parts.push(s);
    size += s.length + 1;
  }
  if (parts.length > 0) flush();
  return compressed;
}

function cpu<T>(fn: () => T): { result: T; seconds: number } {
  const start = process.cpuUsage();
  const result = fn();
  const used = process.cpuUsage(start);
  return { result, seconds: (used.user + used.system) / 1e6 };
}

export const noDeadLetters: DeadLetterStore = {
  put: async () => {
    throw new Error("the benchmark expects no dead letters");
  },
  list: async function* () {},
  names: async function* () {},
  read: async () => undefined,
  remove: async () => undefined,
};

export async function run(): Promise<Figure[]> {
  const records = corpus();
  const exportedAt = new Date().toISOString();
  const each = function* <T>(fn: (r: { line: string; eventSource: EventSource }) => T) {
    for (let i = 0; i < COUNT; i++) yield fn(records[i % DISTINCT]!);
  };
  const floorRun = () => gzipChunks(each((r) => JSON.stringify(JSON.parse(r.line))));
  let cuts = 0;
  const oursRun = () =>
    gzipChunks(
      each((r) => {
        const row = toLogAnalyticsRow(inputOf(r.line, r.eventSource, exportedAt));
        if (row === undefined || !row.ok) throw new Error("unmappable record");
        if (row.cut.length > 0) cuts++;
        return row.json;
      }),
    );
  floorRun();
  oursRun(); // warm up
  let floor = Infinity;
  let ours = Infinity;
  for (let i = 0; i < 2; i++) {
    floor = Math.min(floor, cpu(floorRun).seconds);
    cuts = 0;
    ours = Math.min(ours, cpu(oursRun).seconds);
  }

  // Requests to the Logs Ingestion endpoint for the same rows, against the fewest that can carry them.
  const ingestion = await startFakeLogsIngestion({ ruleId: RULE_ID, streams: declaredStreams() });
  const credential = { getToken: async () => ({ token: "bench", expiresOnTimestamp: Date.now() + 3_600_000 }) };
  const policy = { trustedHosts: [new URL(ingestion.url).host] };
  const config = parseExportConfiguration(
    { sources: [{ eventSource: "Alerts" }], actions: [{ actionType: "Workspace", dataCollectionEndpoint: ingestion.url, dataCollectionRuleId: RULE_ID }] },
    { allowedDestinations: policy },
  );
  if (!config.ok) throw new Error("config");
  const la = new LogAnalyticsSink(config.configuration.actions[0] as WorkspaceAction, { credential, deadLetters: noDeadLetters, allowedDestinations: policy, tlsCa: ingestion.ca });
  for (let i = 0; i < COUNT; i++) await la.write(inputOf(records[i % DISTINCT]!.line, records[i % DISTINCT]!.eventSource, exportedAt));
  const laReport = await la.flush();
  const minimum = minimumIngestionRequests(ingestion.requests);
  const rowsAccepted = [...ingestion.accepted.values()].reduce((n, rows) => n + rows.length, 0);
  await ingestion.close();
  if (rowsAccepted !== COUNT || laReport.deadLettered > 0) throw new Error(`Log Analytics got ${rowsAccepted} of ${COUNT} rows`);

  // Event Hubs batch fill against a Standard hub's 1 MB.
  const hubs = await startFakeEventHubs({ hubs: ["defender"], partitionCount: 4, maxMessageSize: 1024 * 1024 });
  const ehConfig = parseExportConfiguration(
    { sources: [{ eventSource: "Alerts" }], actions: [{ actionType: "EventHub", connectionString: hubs.connectionString("defender") }] },
    { allowedDestinations: { trustedHosts: [`localhost:${hubs.port}`] } },
  );
  if (!ehConfig.ok) throw new Error("config");
  const eh = new EventHubSink(ehConfig.configuration.actions[0] as EventHubAction, { credential, deadLetters: noDeadLetters, allowedDestinations: { trustedHosts: [`localhost:${hubs.port}`] } });
  for (let i = 0; i < COUNT; i++) await eh.write(inputOf(records[i % DISTINCT]!.line, records[i % DISTINCT]!.eventSource, exportedAt));
  const ehReport = await eh.flush();
  await eh.close();
  const events = hubs.events.length;
  hubs.events.length = 0;
  await hubs.close();
  if (events !== COUNT || ehReport.deadLettered > 0) throw new Error(`Event Hubs got ${events} of ${COUNT} events`);
  const fill = eh.batchFill;
  const mean = fill.sum / fill.count;

  return [
    { name: "delivery.map_cut_serialize_cpu_ratio_to_floor", value: ours / floor, unit: "ratio", target: { op: "<=", value: 1.5 } },
    { name: "delivery.map_cut_serialize_records_per_second", value: COUNT / ours, unit: "records/s" },
    { name: "delivery.rows_cut_to_32kb", value: cuts, unit: "rows" },
    { name: "delivery.logs_ingestion_requests", value: ingestion.requests.length, unit: "requests" },
    { name: "delivery.logs_ingestion_requests_ratio_to_minimum", value: ingestion.requests.length / minimum, unit: "ratio", target: { op: "<=", value: 1.1 } },
    { name: "delivery.event_hubs_batch_fill_mean", value: mean, unit: "fraction", target: { op: ">=", value: 0.9 } },
    { name: "delivery.event_hubs_batch_fill_min", value: fill.least, unit: "fraction" },
  ];
}
