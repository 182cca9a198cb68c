// The floor, in its own process: what any exporter of these records must do. Fetch every page the exporter
// reads (plain Node HTTPS, following nextLink), JSON.parse it, and per record JSON.stringify once per
// destination (two) and gzip one of them in 1 MB chunks (Logs Ingestion takes gzip; Event Hubs does not).
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { gzipSync } from "node:zlib";
import { API_VERSIONS } from "../src/sources/api-versions.js";

const [armUrl, certFile, subscription] = process.argv.slice(2) as [string, string, string];
const agent = new Agent({ keepAlive: true, ca: readFileSync(certFile, "utf8") });

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
const flush = () => {
  if (chunk.length > 0) gzipSync(`[${chunk.join(",")}]`);
  chunk = [];
  chunkBytes = 0;
};
async function all(path: string, apiVersion: string, each?: (r: Record<string, unknown>) => Promise<void>): Promise<void> {
  let url: string | undefined = `${armUrl}${path}?api-version=${apiVersion}`;
  while (url !== undefined) {
    const page = await get(url);
    for (const record of page.value) {
      if (each) {
        await each(record);
        continue;
      }
      records++;
      const forLogs = JSON.stringify(record);
      JSON.stringify(record);
      if (chunkBytes + forLogs.length > 1_000_000) flush();
      chunk.push(forLogs);
      chunkBytes += forLogs.length;
    }
    url = page.nextLink;
  }
}

const cpu = process.cpuUsage();
const wall = performance.now();
const p = `${subscription}/providers/Microsoft.Security`;
await all("/providers/Microsoft.Security/assessmentMetadata", API_VERSIONS.assessments, async () => undefined);
await all(`${p}/alerts`, API_VERSIONS.alerts);
await all(`${p}/assessments`, API_VERSIONS.assessments);
await all(`${p}/subAssessments`, API_VERSIONS.subAssessments);
await all(`${p}/secureScores`, API_VERSIONS.secureScores);
await all(`${p}/secureScoreControls`, API_VERSIONS.secureScores);
await all(`${p}/regulatoryComplianceStandards`, API_VERSIONS.regulatoryCompliance, (standard) =>
  all(`${p}/regulatoryComplianceStandards/${String(standard["name"])}/regulatoryComplianceControls`, API_VERSIONS.regulatoryCompliance, (control) =>
    all(`${p}/regulatoryComplianceStandards/${String(standard["name"])}/regulatoryComplianceControls/${String(control["name"])}/regulatoryComplianceAssessments`, API_VERSIONS.regulatoryCompliance),
  ),
);
flush();
const used = process.cpuUsage(cpu);
agent.destroy();
process.stdout.write(`${JSON.stringify({ records, seconds: (performance.now() - wall) / 1000, cpuSeconds: (used.user + used.system) / 1e6, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
