import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { startAzurite } from "../dev/fakes/azurite.js";
import { minimumIngestionRequests, type Figure } from "./figures.js";
import { startServer, stop, TSX } from "./read.js";

export interface Exported {
  records: number;
  exported: number;
  logAnalytics: { sent: number; cut: number; deadLettered: number; requests: number };
  eventHubs: { sent: number; cut: number; deadLettered: number; requests: number };
  armRequests: number;
  quotaWaitMs: number;
  seconds: number;
  cpuSeconds: number;
  maxRssBytes: number;
  peakHeapBytes: number;
}
interface Floor {
  records: number;
  seconds: number;
  cpuSeconds: number;
}
export interface SinkStats {
  rows: Record<string, number>;
  requests: { stream: string; status: number; inflatedBytes: number }[];
  events: number;
}

// BENCH_CPU_PROF=<folder>: the exporter writes a V8 CPU profile there (open it in Chrome DevTools or speedscope), the
// delivery floor in its subfolder delivery-floor (to compare where each spends its time).
const PROFILE = process.env["BENCH_CPU_PROF"];

export function runChild<T>(script: string, args: string[], profile?: string): Promise<T> {
  const runner = profile === undefined ? TSX : ["--import", "tsx", "--cpu-prof", `--cpu-prof-dir=${profile}`];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...runner, fileURLToPath(new URL(script, import.meta.url)), ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`${script} exited with ${code}`))));
  });
}

/** The local Logs Ingestion and Event Hubs endpoints in a process of their own; `stop` returns what they accepted. */
export async function startSinks() {
  const child = spawn(process.execPath, [...TSX, fileURLToPath(new URL("./sinks-server.ts", import.meta.url))], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const info = JSON.parse((await lines.next()).value as string) as { ingestionUrl: string; caFile: string; eventHubs: string; hubHost: string; ingestionHost: string };
  return {
    info,
    stop: async (): Promise<SinkStats> => {
      child.stdin!.end();
      return JSON.parse((await lines.next()).value as string) as SinkStats;
    },
  };
}

async function measure(findings: number, storage: string, withDelivery = false): Promise<{ ours: Exported; floor: Floor; deliveryFloor?: Floor; sinks: SinkStats }> {
  const arm = await startServer(findings, "subscription");
  const sinks = await startSinks();
  try {
    const floorArgs = [arm.url, arm.certFile, arm.subscription];
    await runChild<Floor>("./e2e-floor.ts", floorArgs); // renders every page once: the runs below read cached pages
    const floor = await runChild<Floor>("./e2e-floor.ts", floorArgs);
    let deliveryFloor: Floor | undefined;
    if (withDelivery) {
      // Its own endpoints: what it sends is in none of the exporter's counts.
      const own = await startSinks();
      deliveryFloor = await runChild<Floor>(
        "./e2e-floor.ts",
        [...floorArgs, JSON.stringify({ ingestionUrl: own.info.ingestionUrl, caFile: own.info.caFile, eventHubs: own.info.eventHubs })],
        PROFILE === undefined ? undefined : `${PROFILE}/delivery-floor`,
      );
      const received = await own.stop();
      if (received.events !== deliveryFloor.records) throw new Error(`the delivery floor sent ${deliveryFloor.records} events, the endpoint received ${received.events}`);
    }
    const ours = await runChild<Exported>(
      "./e2e-child.ts",
      [
        JSON.stringify({
          armUrl: arm.url,
          certFile: arm.certFile,
          subscription: arm.subscription,
          ingestionUrl: sinks.info.ingestionUrl,
          caFile: sinks.info.caFile,
          eventHubs: sinks.info.eventHubs,
          trustedHosts: [sinks.info.ingestionHost, sinks.info.hubHost],
          storage,
          name: `e2e${findings}`,
        }),
      ],
      PROFILE,
    );
    if (ours.records !== floor.records) throw new Error(`the exporter read ${ours.records} records, the floor ${floor.records}`);
    return { ours, floor, ...(deliveryFloor ? { deliveryFloor } : {}), sinks: await sinks.stop() };
  } finally {
    stop(arm);
  }
}

export async function run(): Promise<Figure[]> {
  const azurite = await startAzurite();
  try {
    const small = await measure(20_000, azurite.connectionString);
    const large = await measure(200_000, azurite.connectionString, true);
    const { ours, floor, sinks } = large;
    const deliveryFloor = large.deliveryFloor!;
    const rows = Object.values(sinks.rows).reduce((a, b) => a + b, 0);
    if (rows !== ours.logAnalytics.sent || sinks.events !== ours.eventHubs.sent || ours.logAnalytics.deadLettered + ours.eventHubs.deadLettered > 0) {
      throw new Error(`delivered ${rows} rows and ${sinks.events} events for ${JSON.stringify(ours)}`);
    }
    const minimum = minimumIngestionRequests(sinks.requests);
    const mb = (b: number) => b / 2 ** 20;
    return [
      { name: "e2e.records", value: ours.records, unit: "records" },
      { name: "e2e.records_per_second", value: ours.records / ours.seconds, unit: "records/s" },
      { name: "e2e.cpu_ratio_to_floor", value: ours.cpuSeconds / floor.cpuSeconds, unit: "ratio", target: { op: "<=", value: 1.5 } },
      { name: "e2e.cpu_seconds", value: ours.cpuSeconds, unit: "s" },
      { name: "e2e.floor_cpu_seconds", value: floor.cpuSeconds, unit: "s" },
      // For context, not the target: the floor that also sends its bytes (HTTPS POSTs, @azure/event-hubs).
      { name: "e2e.delivery_floor_cpu_seconds", value: deliveryFloor.cpuSeconds, unit: "s" },
      { name: "e2e.cpu_ratio_to_delivery_floor", value: ours.cpuSeconds / deliveryFloor.cpuSeconds, unit: "ratio" },
      { name: "e2e.rows_cut_to_32kb", value: ours.logAnalytics.cut, unit: "rows" },
      { name: "e2e.peak_rss_20k_findings", value: mb(small.ours.maxRssBytes), unit: "MB" },
      { name: "e2e.peak_rss_200k_findings", value: mb(ours.maxRssBytes), unit: "MB" },
      { name: "e2e.peak_rss_difference", value: mb(ours.maxRssBytes - small.ours.maxRssBytes), unit: "MB", target: { op: "<=", value: 64 } },
      { name: "e2e.peak_heap_difference", value: mb(ours.peakHeapBytes - small.ours.peakHeapBytes), unit: "MB" },
      { name: "e2e.arm_requests_per_10k_records", value: (ours.armRequests / ours.records) * 10_000, unit: "requests" },
      { name: "e2e.logs_ingestion_requests", value: sinks.requests.length, unit: "requests" },
      { name: "e2e.logs_ingestion_requests_ratio_to_minimum", value: sinks.requests.length / minimum, unit: "ratio", target: { op: "<=", value: 1.1 } },
      { name: "e2e.event_hubs_batches", value: ours.eventHubs.requests, unit: "batches" },
    ];
  } finally {
    await azurite.stop();
  }
}
