// Issue 17: one configuration scoped to a synthetic management group, every data type read through Resource
// Graph and exported end to end, the exporter, the fake and the destinations each in a process of their own;
// and the same subscriptions read with per-subscription ARM list reads, for comparison.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { startAzurite } from "../dev/fakes/azurite.js";
import { DATA_TYPES } from "../src/datatypes/registry.js";
import { GRAPH_PAGE_ROWS } from "../src/sources/resource-graph.js";
import { runChild, startSinks, type Exported } from "./e2e.js";
import type { Figure } from "./figures.js";
import { TSX } from "./read.js";

// BENCH_MG_SCALE=1 is the 2,000,000 records (over 20 minutes here, most of it the documented quota's pace).
const SCALE = Number(process.env["BENCH_MG_SCALE"] ?? "10");
const ARM_SUBSCRIPTIONS = Number(process.env["BENCH_MG_ARM_SUBSCRIPTIONS"] ?? "100");
const ALL_SOURCES = ["Alerts", "Assessments", "SubAssessments", "SecureScores", "SecureScoreControls", "RegulatoryComplianceAssessment", "AttackPaths"];
const MINUTE = 60_000;

interface GroupInfo {
  url: string;
  certFile: string;
  group: string;
  subscriptions: string[];
  rows: Record<string, number>;
  warmUpSeconds: number;
}

/** The synthetic management group's endpoint in its own process; `stop` returns when each Resource Graph query came. */
async function startGroup(subscriptions: number) {
  const child = spawn(process.execPath, [...TSX, fileURLToPath(new URL("./mg-server.ts", import.meta.url)), String(subscriptions), String(SCALE)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const info = JSON.parse((await lines.next()).value as string) as GroupInfo;
  return {
    info,
    stop: async () => {
      child.stdin!.end();
      return JSON.parse((await lines.next()).value as string) as { graphAt: number[]; throttled: number; statuses: Record<string, number>; otherRequests: number };
    },
  };
}

/** The most of `times` in any minute. */
export function peakPerMinute(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  for (let start = 0, end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= MINUTE) start++;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}

async function measure(subscriptions: number, reader: "arm" | "resourceGraph", storage: string) {
  const group = await startGroup(subscriptions);
  const sinks = await startSinks();
  let served: { graphAt: number[]; throttled: number; statuses: Record<string, number>; otherRequests: number } | undefined;
  try {
    const { info } = group;
    // Through the lists, no attack paths: they have none (the ARM reader reads them through Resource Graph).
    const sources = reader === "arm" ? ALL_SOURCES.filter((s) => s !== "AttackPaths") : ALL_SOURCES;
    const types = DATA_TYPES.filter((d) => reader === "resourceGraph" || d.read.kind !== "resourceGraph").map((d) => d.graph.type.toLowerCase());
    const expected = types.reduce((n, t) => n + (info.rows[t] ?? 0), 0);
    const ours = await runChild<Exported>("./e2e-child.ts", [
      JSON.stringify({
        armUrl: info.url,
        certFile: info.certFile,
        subscription: info.subscriptions[0],
        scopes: reader === "arm" ? info.subscriptions : [`/providers/Microsoft.Management/managementGroups/${info.group}`],
        reader,
        sources,
        ingestionUrl: sinks.info.ingestionUrl,
        caFile: sinks.info.caFile,
        eventHubs: sinks.info.eventHubs,
        trustedHosts: [sinks.info.ingestionHost, sinks.info.hubHost],
        storage,
        name: `mg${subscriptions}${reader === "arm" ? "arm" : "graph"}`,
      }),
    ]);
    const received = await sinks.stop();
    served = await group.stop();
    const rows = Object.values(received.rows).reduce((a, b) => a + b, 0);
    if (ours.records !== expected) throw new Error(`the exporter read ${ours.records} records of the ${expected} the group holds`);
    if (rows !== ours.logAnalytics.sent || received.events !== ours.eventHubs.sent || ours.logAnalytics.deadLettered + ours.eventHubs.deadLettered > 0) {
      throw new Error(`delivered ${rows} rows and ${received.events} events for ${JSON.stringify(ours)}`);
    }
    // The fewest pages that could carry the rows: each type's query, a full page at a time.
    const minimumPages = types.reduce((n, t) => n + Math.max(1, Math.ceil((info.rows[t] ?? 0) / GRAPH_PAGE_ROWS)), 0);
    return { ours, served, minimumPages, warmUpSeconds: info.warmUpSeconds };
  } finally {
    if (served === undefined) {
      await sinks.stop().catch(() => undefined);
      await group.stop().catch(() => undefined);
    }
  }
}

export async function run(): Promise<Figure[]> {
  const azurite = await startAzurite();
  try {
    const large = await measure(1000, "resourceGraph", azurite.connectionString);
    const small = await measure(100, "resourceGraph", azurite.connectionString);
    const arm = await measure(ARM_SUBSCRIPTIONS, "arm", azurite.connectionString);
    const graphAtArmSize = ARM_SUBSCRIPTIONS === 100 ? small : ARM_SUBSCRIPTIONS === 1000 ? large : await measure(ARM_SUBSCRIPTIONS, "resourceGraph", azurite.connectionString);
    const { ours, served } = large;
    const mb = (b: number) => b / 2 ** 20;
    const perSecond = (e: Exported) => e.records / e.seconds;
    process.stderr.write(`mg: Resource Graph answers by status (1,000 subscriptions): ${JSON.stringify(served.statuses)}\n`);
    process.stderr.write(`mg: the fake worked out the queries' results in ${large.warmUpSeconds.toFixed(1)} s before the exporter started (1,000 subscriptions)\n`);
    return [
      { name: "mg.scale_divisor", value: SCALE, unit: "×" },
      { name: "mg.records", value: ours.records, unit: "records" },
      { name: "mg.graph_requests", value: served.graphAt.length, unit: "requests" },
      { name: "mg.graph_requests_minimum", value: large.minimumPages, unit: "requests" },
      { name: "mg.graph_requests_ratio_to_minimum", value: served.graphAt.length / large.minimumPages, unit: "ratio", target: { op: "<=", value: 1.1 } },
      { name: "mg.graph_requests_peak_minute", value: peakPerMinute(served.graphAt), unit: "requests/min", target: { op: "<=", value: 180 } },
      { name: "mg.graph_requests_throttled", value: served.throttled, unit: "requests" },
      { name: "mg.other_requests", value: served.otherRequests, unit: "requests" },
      { name: "mg.quota_wait_seconds", value: ours.quotaWaitMs / 1000, unit: "s" },
      { name: "mg.seconds", value: ours.seconds, unit: "s" },
      { name: "mg.records_per_second", value: perSecond(ours), unit: "records/s" },
      { name: "mg.cpu_seconds", value: ours.cpuSeconds, unit: "s" },
      { name: "mg.peak_rss_100_subscriptions", value: mb(small.ours.maxRssBytes), unit: "MB" },
      { name: "mg.peak_rss_1000_subscriptions", value: mb(ours.maxRssBytes), unit: "MB" },
      { name: "mg.peak_rss_difference", value: mb(ours.maxRssBytes - small.ours.maxRssBytes), unit: "MB", target: { op: "<=", value: 64 } },
      { name: "mg.peak_heap_difference", value: mb(ours.peakHeapBytes - small.ours.peakHeapBytes), unit: "MB" },
      { name: "mg.compare.subscriptions", value: ARM_SUBSCRIPTIONS, unit: "subscriptions" },
      { name: "mg.compare.graph_records", value: graphAtArmSize.ours.records, unit: "records" },
      { name: "mg.compare.graph_requests", value: graphAtArmSize.served.graphAt.length + graphAtArmSize.served.otherRequests, unit: "requests" },
      { name: "mg.compare.graph_records_per_second", value: perSecond(graphAtArmSize.ours), unit: "records/s" },
      { name: "mg.compare.arm_records", value: arm.ours.records, unit: "records" },
      { name: "mg.compare.arm_requests", value: arm.served.graphAt.length + arm.served.otherRequests, unit: "requests" },
      { name: "mg.compare.arm_records_per_second", value: perSecond(arm.ours), unit: "records/s" },
      { name: "mg.compare.arm_peak_rss", value: mb(arm.ours.maxRssBytes), unit: "MB" },
    ];
  } finally {
    await azurite.stop();
  }
}
