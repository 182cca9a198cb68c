// Reads every finding from a local ARM endpoint with the real reader; prints what it read and its peak memory.
import { readFileSync } from "node:fs";
import { ArmReader } from "../src/sources/reader.js";

const [url, certFile, subscription] = process.argv.slice(2) as [string, string, string];
const reader = new ArmReader({ credential: { getToken: async () => ({ token: "bench", expiresOnTimestamp: Date.now() + 3_600_000 }) }, endpoint: url, tlsCa: readFileSync(certFile, "utf8") });
let records = 0;
let peakHeap = 0;
for await (const item of reader.subAssessments(subscription)) {
  if (item.record["id"] !== undefined) records++;
  if (records % 1000 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}
process.stdout.write(`${JSON.stringify({ records, requests: reader.stats.requests, maxRssBytes: process.resourceUsage().maxRSS * 1024, peakHeapBytes: peakHeap })}\n`);
