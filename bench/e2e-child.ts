// The exporter under measurement, in its own process: every source of a subscription, read from the local
// ARM and Resource Graph endpoint and exported to the local Logs Ingestion and Event Hubs endpoints through the real engine.
// Prints what it exported, the requests it made, its CPU time and its peak memory.
import { readFileSync } from "node:fs";
import { BlobServiceClient } from "@azure/storage-blob";
import { BlobStateStore } from "../src/state/blob-store.js";
import { parseExportConfiguration } from "../src/config/parse.js";
import { BlobDeadLetterStore } from "../src/destinations/dead-letter.js";
import { createSink } from "../src/destinations/factory.js";
import { readerSource } from "../src/engine/pass.js";
import { runConfiguration } from "../src/engine/runner.js";
import { ArmReader } from "../src/sources/reader.js";
import { RULE_ID } from "../test/helpers/destinations.js";
import { watchGc } from "./gc-watch.js";

interface Args {
  armUrl: string;
  certFile: string;
  subscription: string;
  ingestionUrl: string;
  caFile: string;
  eventHubs: string;
  trustedHosts: string[];
  storage: string;
  name: string;
  /** The management group benchmark's: scopes other than the one subscription, the reader, the sources. */
  scopes?: string[];
  reader?: "arm" | "resourceGraph";
  sources?: string[];
}
const args = JSON.parse(process.argv[2]!) as Args;
const credential = { getToken: async () => ({ token: "bench", expiresOnTimestamp: Date.now() + 3_600_000 }) };
const allowedDestinations = { trustedHosts: args.trustedHosts };
const parsed = parseExportConfiguration(
  {
    scopes: (args.scopes ?? [args.subscription]).map((scopePath) => ({ scopePath })),
    sources: (args.sources ?? ["Alerts", "Assessments", "SubAssessments", "SecureScores", "SecureScoreControls", "RegulatoryComplianceAssessment", "AttackPaths"]).map((eventSource) => ({
      eventSource,
    })),
    ...(args.reader ? { reader: args.reader } : {}),
    actions: [
      { actionType: "Workspace", dataCollectionEndpoint: args.ingestionUrl, dataCollectionRuleId: RULE_ID },
      { actionType: "EventHub", connectionStringSetting: "DEFENDER_EXPORT_DEST_BENCH_EVENT_HUBS", eventHubName: "bench" },
    ],
  },
  { allowedDestinations },
);
if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
const service = BlobServiceClient.fromConnectionString(args.storage);
const deadLetters = new BlobDeadLetterStore(service.getContainerClient(`${args.name}-dead-letters`));
const sinks = parsed.configuration.actions.map((action) =>
  createSink(action, {
    credential,
    deadLetters,
    overflow: service.getContainerClient(`${args.name}-overflow`),
    allowedDestinations,
    destinationAppSettings: { DEFENDER_EXPORT_DEST_BENCH_EVENT_HUBS: args.eventHubs },
    tlsCa: readFileSync(args.caFile, "utf8"),
  }),
);
const reader = new ArmReader({ credential, endpoint: args.armUrl, tlsCa: readFileSync(args.certFile, "utf8") });
const state = new BlobStateStore(service.getContainerClient(`${args.name}-state`));

let peakHeap = 0;
const heapWatch = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 200);
const gc = watchGc(`exporter ${args.name}`);
const cpu = process.cpuUsage();
const wall = performance.now();
const passes = await runConfiguration({ configurationName: args.name, configuration: parsed.configuration, read: readerSource(reader), sinks, state });
const seconds = (performance.now() - wall) / 1000;
const used = process.cpuUsage(cpu);
clearInterval(heapWatch);
gc();
for (const sink of sinks) await sink.close();
const failed = passes.filter((p) => p.error !== undefined).map((p) => `${p.eventSource}: ${p.error}`);
if (failed.length > 0) throw new Error(failed.join("; "));
const total = (pick: (a: { sent: number; cut: number; deadLettered: number; requests: number }) => number, action: number) => passes.reduce((n, p) => n + pick(Object.values(p.actions)[action]!), 0);
process.stdout.write(
  `${JSON.stringify({
    records: passes.reduce((n, p) => n + p.read, 0),
    exported: passes.reduce((n, p) => n + p.changed, 0),
    logAnalytics: { sent: total((a) => a.sent, 0), cut: total((a) => a.cut, 0), deadLettered: total((a) => a.deadLettered, 0), requests: total((a) => a.requests, 0) },
    eventHubs: { sent: total((a) => a.sent, 1), cut: total((a) => a.cut, 1), deadLettered: total((a) => a.deadLettered, 1), requests: total((a) => a.requests, 1) },
    armRequests: reader.stats.requests,
    quotaWaitMs: reader.stats.quotaWaitMs,
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    peakHeapBytes: peakHeap,
  })}\n`,
);
process.exit(0);
