// The floor, in its own process: what any exporter of these records must do. Fetch every page the exporter
// reads (plain Node HTTPS, following nextLink, and Resource Graph's $skipToken), JSON.parse it, and per record JSON.stringify once per
// destination (two) and gzip one of them in 1 MB chunks (Logs Ingestion takes gzip; Event Hubs does not).
// With a fourth argument (the delivery floor), it also sends what it made: each gzipped chunk in one HTTPS
// POST to the Logs Ingestion endpoint, each record's JSON as one event through @azure/event-hubs.
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { gzipSync } from "node:zlib";
import { EventHubProducerClient, type EventDataBatch } from "@azure/event-hubs";
import { definitionOf, type DataType } from "../src/datatypes/registry.js";
import { rowsQuery } from "../src/sources/resource-graph.js";
import { RULE_ID } from "../test/helpers/destinations.js";
import { watchGc } from "./gc-watch.js";

const [armUrl, certFile, subscription, deliverTo] = process.argv.slice(2) as [string, string, string, string | undefined];
const agent = new Agent({ keepAlive: true, ca: readFileSync(certFile, "utf8") });
const deliver = deliverTo === undefined ? undefined : (JSON.parse(deliverTo) as { ingestionUrl: string; caFile: string; eventHubs: string });
const ingestionAgent = deliver && new Agent({ keepAlive: true, ca: readFileSync(deliver.caFile, "utf8") });
const hub = deliver && new EventHubProducerClient(deliver.eventHubs.replace(/;EntityPath=[^;]*/i, ""), "bench");
let batch: EventDataBatch | undefined;
const sends: Promise<unknown>[] = [];
/** Keeps a few requests in flight, as an exporter would (memory stays bounded). */
async function inFlight(sending: Promise<unknown>): Promise<void> {
  sends.push(sending);
  if (sends.length > 4) await sends.shift();
}

// The endpoint refuses the stream (it is not declared) without reading the rows: the floor's own work, sending
// the bytes, is the same either way, and the endpoint's counts stay the exporter's.
function post(body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${deliver!.ingestionUrl}/dataCollectionRules/${RULE_ID}/streams/Custom-Floor?api-version=2023-01-01`,
      { method: "POST", agent: ingestionAgent, headers: { authorization: "Bearer bench", "content-type": "application/json", "content-encoding": "gzip" } },
      (res) => {
        res.resume();
        res.on("end", resolve);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function send(json: string): Promise<void> {
  const event = { body: Buffer.from(json, "utf8") };
  batch ??= await hub!.createBatch();
  if (batch.tryAdd(event)) return;
  await inFlight(hub!.sendBatch(batch));
  batch = await hub!.createBatch();
  if (!batch.tryAdd(event)) throw new Error("an event does not fit an empty batch");
}

function get(url: string): Promise<{ value: Record<string, unknown>[]; nextLink?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { authorization: "Bearer bench" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as { value: Record<string, unknown>[]; nextLink?: string }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

let records = 0;
let chunk: string[] = [];
let chunkBytes = 0;
const flush = async () => {
  if (chunk.length > 0) {
    const body = gzipSync(`[${chunk.join(",")}]`);
    if (deliver) await inFlight(post(body));
  }
  chunk = [];
  chunkBytes = 0;
};
async function take(record: Record<string, unknown>): Promise<void> {
  records++;
  const forLogs = JSON.stringify(record);
  const forHubs = JSON.stringify(record);
  if (deliver) await send(forHubs);
  if (chunkBytes + forLogs.length > 1_000_000) await flush();
  chunk.push(forLogs);
  chunkBytes += forLogs.length;
}

async function all(path: string, apiVersion: string, each?: (r: Record<string, unknown>) => Promise<void>): Promise<void> {
  let url: string | undefined = `${armUrl}${path}?api-version=${apiVersion}`;
  while (url !== undefined) {
    const page = await get(url);
    for (const record of page.value) await (each ?? take)(record);
    url = page.nextLink;
  }
}

/** A Resource Graph query's rows, page by page by $skipToken (the same query the exporter sends). */
async function graph(query: string): Promise<void> {
  let skipToken: string | undefined;
  do {
    const body = JSON.stringify({ query, subscriptions: [subscription.split("/").pop()], options: { $top: 1000, resultFormat: "objectArray", ...(skipToken ? { $skipToken: skipToken } : {}) } });
    const page = await new Promise<{ data: Record<string, unknown>[]; $skipToken?: string }>((resolve, reject) => {
      const req = request(
        `${armUrl}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01`,
        { method: "POST", agent, headers: { authorization: "Bearer bench", "content-type": "application/json" } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as { data: Record<string, unknown>[]; $skipToken?: string }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    for (const record of page.data) await take(record);
    skipToken = page.$skipToken;
  } while (skipToken !== undefined);
}

const gc = watchGc(deliver ? "delivery floor" : "floor");
const cpu = process.cpuUsage();
const wall = performance.now();
const p = `${subscription}/providers/Microsoft.Security`;
const version = (dataType: DataType) => definitionOf(dataType).apiVersion;
await all("/providers/Microsoft.Security/assessmentMetadata", version("assessment"), async () => undefined);
await all(`${p}/alerts`, version("alert"));
await all(`${p}/assessments`, version("assessment"));
await all(`${p}/subAssessments`, version("subAssessment"));
await all(`${p}/secureScores`, version("secureScore"));
await all(`${p}/secureScoreControls`, version("secureScore"));
await all(`${p}/regulatoryComplianceStandards`, version("regulatoryComplianceAssessment"), (standard) =>
  all(`${p}/regulatoryComplianceStandards/${String(standard["name"])}/regulatoryComplianceControls`, version("regulatoryComplianceAssessment"), (control) =>
    all(
      `${p}/regulatoryComplianceStandards/${String(standard["name"])}/regulatoryComplianceControls/${String(control["name"])}/regulatoryComplianceAssessments`,
      version("regulatoryComplianceAssessment"),
    ),
  ),
);
await graph(rowsQuery(definitionOf("attackPath").graph));
await flush();
if (batch !== undefined && batch.count > 0) sends.push(hub!.sendBatch(batch));
await Promise.all(sends);
const used = process.cpuUsage(cpu);
gc();
agent.destroy();
ingestionAgent?.destroy();
await hub?.close();
process.stdout.write(`${JSON.stringify({ records, seconds: (performance.now() - wall) / 1000, cpuSeconds: (used.user + used.system) / 1e6, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
