// The local Logs Ingestion and Event Hubs endpoints in their own process, for the end-to-end benchmark: prints
// where they are, counts what they accept (and lets it go, so that memory stays flat), and prints the counts
// when stdin closes.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeEventHubs } from "../dev/fakes/eventhubs.js";
import { startFakeLogsIngestion } from "../dev/fakes/logs-ingestion.js";
import { declaredStreams, RULE_ID } from "../test/helpers/destinations.js";

const ingestion = await startFakeLogsIngestion({ ruleId: RULE_ID, streams: declaredStreams() });
const hubs = await startFakeEventHubs({ hubs: ["bench"] });
const rows: Record<string, number> = {};
const requests: { stream: string; status: number; inflatedBytes: number }[] = [];
let events = 0;
let eventBytes = 0;
const tally = () => {
  for (const [stream, accepted] of ingestion.accepted) {
    rows[stream] = (rows[stream] ?? 0) + accepted.length;
    accepted.length = 0;
  }
  for (const r of ingestion.requests.splice(0)) requests.push({ stream: r.stream, status: r.status, inflatedBytes: r.inflatedBytes });
  for (const e of hubs.events.splice(0)) {
    events++;
    eventBytes += e.bytes;
  }
  hubs.deliveries.length = 0;
};
setInterval(tally, 200).unref();
const caFile = join(tmpdir(), `bench-ingestion-ca-${process.pid}.pem`);
writeFileSync(caFile, ingestion.ca);
process.stdout.write(
  `${JSON.stringify({ ingestionUrl: ingestion.url, caFile, eventHubs: hubs.connectionString("bench"), hubHost: `localhost:${hubs.port}`, ingestionHost: new URL(ingestion.url).host })}\n`,
);
process.stdin.resume();
process.stdin.on("end", () => {
  tally();
  // A pipe takes a large line in several writes: exit only once it is all out.
  process.stdout.write(`${JSON.stringify({ rows, requests, events, eventBytes })}\n`, () => void Promise.all([ingestion.close(), hubs.close()]).then(() => process.exit(0)));
});
