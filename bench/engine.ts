import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BlobServiceClient } from "@azure/storage-blob";
import { parseExportConfiguration } from "../src/config/parse.js";
import { BlobStateStore } from "../src/state/blob-store.js";
import { emptyReport, type Sink } from "../src/destinations/sink.js";
import { readerSource, runPass } from "../src/engine/pass.js";
import { ArmReader } from "../src/sources/reader.js";
import { startAzurite } from "../dev/fakes/azurite.js";
import type { Figure } from "./figures.js";
import { startServer, stop } from "./read.js";

const COUNT = 100_000;

/** A destination that takes everything: the benchmark measures the pass, not a destination. */
const nullSink: Sink = {
  actionKey: "null",
  description: "null",
  write: async () => undefined,
  flush: async () => emptyReport(),
  resend: async () => ({ failed: [] }),
  close: async () => undefined,
};

export async function run(): Promise<Figure[]> {
  const endpoint = await startServer(COUNT);
  const azurite = await startAzurite();
  try {
    const ca = readFileSync(endpoint.certFile, "utf8");
    const credential = { getToken: async () => ({ token: "bench", expiresOnTimestamp: Date.now() + 3_600_000 }) };
    const reader = () => new ArmReader({ credential, endpoint: endpoint.url, tlsCa: ca });
    const parsed = parseExportConfiguration({ scopes: [endpoint.subscription], sources: [{ eventSource: "SubAssessments" }, { eventSource: "Assessments" }] });
    if (!parsed.ok) throw new Error("config");
    const state = new BlobStateStore(BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("bench-state"));
    const passOf = () =>
      runPass({
        configurationName: "bench",
        configuration: parsed.configuration,
        scope: endpoint.subscription,
        eventSource: "SubAssessments",
        read: readerSource(reader()),
        sinks: [nullSink],
        state,
        checkpointEvery: 1_000_000,
      });
    const seeded = await passOf(); // the baseline: every finding exported once, the state written
    if (seeded.changed !== COUNT) throw new Error(`the baseline exported ${seeded.changed}`);

    const timed = async (fn: () => Promise<unknown>) => {
      const cpu = process.cpuUsage();
      const wall = performance.now();
      await fn();
      const used = process.cpuUsage(cpu);
      return { wall: (performance.now() - wall) / 1000, cpu: (used.user + used.system) / 1e6 };
    };
    let readAlone = { wall: Infinity, cpu: Infinity };
    let unchangedPass = { wall: Infinity, cpu: Infinity };
    for (let i = 0; i < 5; i++) {
      const r = await timed(async () => {
        let n = 0;
        for await (const item of reader().subAssessments(endpoint.subscription)) if (item.record["id"]) n++;
        if (n !== COUNT) throw new Error("short read");
      });
      const p = await timed(async () => {
        const result = await passOf();
        if (result.changed !== 0 || result.read !== COUNT || result.error) throw new Error(`an unchanged pass changed ${result.changed}: ${result.error ?? ""}`);
      });
      readAlone = { wall: Math.min(readAlone.wall, r.wall), cpu: Math.min(readAlone.cpu, r.cpu) };
      unchangedPass = { wall: Math.min(unchangedPass.wall, p.wall), cpu: Math.min(unchangedPass.cpu, p.cpu) };
    }

    const diff = await new Promise<{ count: number; changed: number; removed: number; seconds: number; cpuSeconds: number; maxRssBytes: number }>((resolve, reject) => {
      const child = spawn(process.execPath, [fileURLToPath(new URL("../node_modules/tsx/dist/cli.mjs", import.meta.url)), fileURLToPath(new URL("./diff-child.ts", import.meta.url)), "1000000"], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`diff child exited ${code}`))));
    });

    return [
      { name: "engine.unchanged_pass_wall_ratio_to_reading", value: unchangedPass.wall / readAlone.wall, unit: "ratio", target: { op: "<=", value: 1.3 } },
      { name: "engine.unchanged_pass_cpu_ratio_to_reading", value: unchangedPass.cpu / readAlone.cpu, unit: "ratio" },
      { name: "engine.unchanged_pass_records_per_second", value: COUNT / unchangedPass.wall, unit: "records/s" },
      { name: "engine.state_bytes_per_record", value: (seeded.stateBytes ?? 0) / COUNT, unit: "bytes", target: { op: "<=", value: 32 } },
      { name: "engine.diff_1m_seconds", value: diff.seconds, unit: "s" },
      { name: "engine.diff_1m_peak_rss", value: diff.maxRssBytes / 2 ** 20, unit: "MB" },
    ];
  } finally {
    stop(endpoint);
    await azurite.stop();
  }
}
