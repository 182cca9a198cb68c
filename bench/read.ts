import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ArmReader } from "../src/sources/reader.js";
import { rowsQuery } from "../src/sources/resource-graph.js";
import { attackPath } from "../src/datatypes/attack-path.js";
import type { Figure } from "./figures.js";

export interface Endpoint {
  url: string;
  certFile: string;
  subscription: string;
  child: ChildProcess;
}

export const TSX = [fileURLToPath(new URL("../node_modules/tsx/dist/cli.mjs", import.meta.url))];

/** The local ARM endpoint in a process of its own: `findings` findings alone, or a whole subscription around them. */
export async function startServer(findings: number, shape: "findings" | "subscription" | "attackPaths" = "findings"): Promise<Endpoint> {
  const child = spawn(process.execPath, [...TSX, fileURLToPath(new URL("./arm-server.ts", import.meta.url)), String(findings), "1000", shape], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const line = (await lines.next()).value as string | undefined;
  return { ...(JSON.parse(line!) as Omit<Endpoint, "child">), child };
}

export function stop(endpoint: Endpoint): void {
  endpoint.child.stdin?.end();
}

/** The floor: the same pages with plain Node HTTPS and JSON.parse, following nextLink. */
async function plainFetch(endpoint: Endpoint, ca: string): Promise<number> {
  const agent = new Agent({ keepAlive: true, ca });
  let url: string | undefined = `${endpoint.url}${endpoint.subscription}/providers/Microsoft.Security/subAssessments?api-version=2019-01-01-preview`;
  let records = 0;
  while (url !== undefined) {
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(url!, { agent, headers: { authorization: "Bearer bench" } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    });
    const page = JSON.parse(text) as { value: unknown[]; nextLink?: string };
    records += page.value.length;
    url = page.nextLink;
  }
  agent.destroy();
  return records;
}

/** The floor for Resource Graph: the same queries with plain Node HTTPS and JSON.parse, following $skipToken. */
async function plainGraph(endpoint: Endpoint, ca: string): Promise<number> {
  const agent = new Agent({ keepAlive: true, ca });
  const subscription = endpoint.subscription.split("/").pop()!;
  let skipToken: string | undefined;
  let records = 0;
  do {
    const body = JSON.stringify({
      query: rowsQuery(attackPath.graph),
      subscriptions: [subscription],
      options: { $top: 1000, resultFormat: "objectArray", ...(skipToken ? { $skipToken: skipToken } : {}) },
    });
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(
        `${endpoint.url}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01`,
        { method: "POST", agent, headers: { authorization: "Bearer bench", "content-type": "application/json" } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    const page = JSON.parse(text) as { data: unknown[]; $skipToken?: string };
    records += page.data.length;
    skipToken = page.$skipToken;
  } while (skipToken !== undefined);
  agent.destroy();
  return records;
}

async function graphReader(endpoint: Endpoint, ca: string): Promise<{ records: number; requests: number; pages: number }> {
  const reader = new ArmReader({ credential: { getToken: async () => ({ token: "bench", expiresOnTimestamp: Date.now() + 3_600_000 }) }, endpoint: endpoint.url, tlsCa: ca });
  let records = 0;
  for await (const item of reader.list(endpoint.subscription, "attackPath")) if (item.record["id"] !== undefined) records++;
  return { records, requests: reader.stats.requests, pages: reader.stats.pages };
}

/** Resource Graph: the reader against plain HTTPS + JSON.parse of the same pages. */
async function resourceGraph(count: number): Promise<Figure[]> {
  const endpoint = await startServer(count, "attackPaths");
  const ca = readFileSync(endpoint.certFile, "utf8");
  let floor = { wall: Infinity, cpu: Infinity };
  let ours = { wall: Infinity, cpu: Infinity, requests: 0, pages: 0 };
  try {
    if ((await plainGraph(endpoint, ca)) !== count) throw new Error("the floor did not read every attack path");
    for (let i = 0; i < 3; i++) {
      const f = await timed(() => plainGraph(endpoint, ca));
      const r = await timed(() => graphReader(endpoint, ca));
      if (r.result.records !== count) throw new Error(`the reader read ${r.result.records} of ${count} attack paths`);
      floor = { wall: Math.min(floor.wall, f.wall), cpu: Math.min(floor.cpu, f.cpu) };
      ours = { wall: Math.min(ours.wall, r.wall), cpu: Math.min(ours.cpu, r.cpu), requests: r.result.requests, pages: r.result.pages };
    }
  } finally {
    stop(endpoint);
  }
  return [
    { name: "read.graph_records_per_second", value: count / ours.wall, unit: "records/s" },
    { name: "read.graph_floor_records_per_second", value: count / floor.wall, unit: "records/s" },
    { name: "read.graph_cpu_ratio_to_floor", value: ours.cpu / floor.cpu, unit: "ratio", target: { op: "<=", value: 1.5 } },
    { name: "read.graph_requests_per_10k_records", value: (ours.requests / count) * 10_000, unit: "requests", target: { op: "<=", value: Math.ceil(10_000 / 1000) } },
    { name: "read.graph_pages_per_10k_records", value: (ours.pages / count) * 10_000, unit: "pages" },
  ];
}

async function viaReader(endpoint: Endpoint, ca: string): Promise<{ records: number; requests: number }> {
  const reader = new ArmReader({ credential: { getToken: async () => ({ token: "bench", expiresOnTimestamp: Date.now() + 3_600_000 }) }, endpoint: endpoint.url, tlsCa: ca });
  let records = 0;
  for await (const item of reader.subAssessments(endpoint.subscription)) if (item.record["id"] !== undefined) records++;
  return { records, requests: reader.stats.requests };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; wall: number; cpu: number }> {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  const result = await fn();
  const used = process.cpuUsage(cpu);
  return { result, wall: (performance.now() - wall) / 1000, cpu: (used.user + used.system) / 1e6 };
}

async function peakMemory(findings: number): Promise<{ records: number; maxRssBytes: number; peakHeapBytes: number }> {
  const endpoint = await startServer(findings);
  try {
    const child = spawn(process.execPath, [...TSX, fileURLToPath(new URL("./read-child.ts", import.meta.url)), endpoint.url, endpoint.certFile, endpoint.subscription], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    await new Promise((resolve) => child.on("close", resolve));
    return JSON.parse(out) as { records: number; maxRssBytes: number; peakHeapBytes: number };
  } finally {
    stop(endpoint);
  }
}

export async function run(): Promise<Figure[]> {
  const count = 100_000;
  const endpoint = await startServer(count);
  const ca = readFileSync(endpoint.certFile, "utf8");
  let floor = { wall: Infinity, cpu: Infinity };
  let ours = { wall: Infinity, cpu: Infinity, requests: 0 };
  try {
    if ((await plainFetch(endpoint, ca)) !== count) throw new Error("the floor did not read every finding"); // renders the pages once
    for (let i = 0; i < 3; i++) {
      const f = await timed(() => plainFetch(endpoint, ca));
      const r = await timed(() => viaReader(endpoint, ca));
      if (r.result.records !== count) throw new Error(`the reader read ${r.result.records} of ${count}`);
      floor = { wall: Math.min(floor.wall, f.wall), cpu: Math.min(floor.cpu, f.cpu) };
      ours = { wall: Math.min(ours.wall, r.wall), cpu: Math.min(ours.cpu, r.cpu), requests: r.result.requests };
    }
  } finally {
    stop(endpoint);
  }
  const graph = await resourceGraph(20_000);
  const small = await peakMemory(10_000);
  const large = await peakMemory(200_000);
  if (small.records !== 10_000 || large.records !== 200_000) throw new Error("the memory runs did not read every finding");
  const mb = (b: number) => b / 2 ** 20;
  return [
    { name: "read.findings_per_second", value: count / ours.wall, unit: "records/s" },
    { name: "read.floor_findings_per_second", value: count / floor.wall, unit: "records/s" },
    { name: "read.cpu_ratio_to_floor", value: ours.cpu / floor.cpu, unit: "ratio", target: { op: "<=", value: 1.5 } },
    { name: "read.wall_ratio_to_floor", value: ours.wall / floor.wall, unit: "ratio" },
    { name: "read.arm_requests_per_10k_records", value: (ours.requests / count) * 10_000, unit: "requests" },
    { name: "read.peak_rss_10k", value: mb(small.maxRssBytes), unit: "MB" },
    { name: "read.peak_rss_200k", value: mb(large.maxRssBytes), unit: "MB" },
    { name: "read.peak_rss_difference_200k_vs_10k", value: mb(large.maxRssBytes - small.maxRssBytes), unit: "MB", target: { op: "<=", value: 64 } },
    { name: "read.peak_heap_difference_200k_vs_10k", value: mb(large.peakHeapBytes - small.peakHeapBytes), unit: "MB" },
    ...graph,
  ];
}
