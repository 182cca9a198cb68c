// A synthetic management group served by the local ARM and Resource Graph endpoint in its own process, for the
// management group benchmark: prints where it is and how many rows each Resource Graph type holds, and, when stdin
// closes, when each Resource Graph query arrived and how many other requests it served.
import { request } from "node:https";
import { guid, SyntheticDataset } from "../dev/fakes/arm/dataset.js";
import { GRAPH_TABLES } from "../dev/fakes/arm/graph-tables.js";
import { startFakeArm } from "../dev/fakes/arm/server.js";
import { DATA_TYPES } from "../src/datatypes/registry.js";
import { rowsQuery } from "../src/sources/resource-graph.js";

const GROUP = "mg-bench";
const [subscriptions = "1000", scaleText = "10"] = process.argv.slice(2);
const scale = Number(scaleText);

/**
 * Subscription i: every 100th large, the others small. At scale 1 (2,000,000 records over 1,000 subscriptions) a
 * small one has 20 alerts, 200 recommendations, 600 findings and 10 attack paths, a large one 2,000, 20,000, 90,000
 * and 500; the per-subscription records (a secure score, 12 controls, 36 compliance assessments) are not scaled.
 */
function subscriptionShape(i: number, divideBy: number) {
  const large = i % 100 === 0;
  const n = (small: number, big: number) => Math.max(1, Math.round((large ? big : small) / divideBy));
  return { subscriptionId: guid(9, i), alerts: n(20, 2000), assessments: n(200, 20_000), subAssessments: n(600, 90_000), attackPaths: n(10, 500), largeAttackPathEvery: 25 };
}

const long = (r: Record<string, unknown>, i: number) => ((r["properties"] as Record<string, unknown>)["description"] = `${i} ${"é€x".repeat(12_000)}`);
const datasets = Array.from({ length: Number(subscriptions) }, (_, i) => {
  const d = new SyntheticDataset(subscriptionShape(i, scale));
  // As in the end-to-end benchmark: every 50th finding and alert over 32 KB.
  for (let k = 0; k < d.sizes.subAssessments; k += 50) d.patches.set(`subAssessment:${k}`, (r) => long(r, k));
  for (let k = 0; k < d.sizes.alerts; k += 50) d.patches.set(`alert:${k}`, (r) => long(r, k));
  return d;
});
// The documented quota (15 queries per 5 s per caller): the benchmark measures that the exporter keeps to it.
const fake = await startFakeArm({ dataset: datasets[0]!, pageSize: 1000, cachePages: true, resourceGraph: { datasets, managementGroups: { [GROUP]: datasets.map((d) => d.subscriptionId) } } });

const rows: Record<string, number> = {};
for (const source of GRAPH_TABLES["securityresources"]!) rows[source.type] = datasets.reduce((n, d) => n + source.rows(d).count, 0);

// Each query's result is worked out once (the real service keeps its own indexes): asked for here, under a caller
// of its own, so that the exporter's figures do not include the fake's first evaluation.
const post = (query: string) =>
  new Promise<void>((resolve, reject) => {
    const body = JSON.stringify({ query, managementGroups: [GROUP], options: { $top: 1 } });
    request(
      `${fake.url}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01`,
      { method: "POST", ca: fake.ca, headers: { authorization: "Bearer warm-up", "content-type": "application/json" } },
      (res) => res.resume().on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`warm-up: HTTP ${res.statusCode}`)))),
    )
      .on("error", reject)
      .end(body);
  });
const warmUp = performance.now();
for (const d of DATA_TYPES) await post(rowsQuery(d.graph));
const warmUpSeconds = (performance.now() - warmUp) / 1000;

const graphAt: number[] = [];
let throttled = 0;
const statuses: Record<string, number> = {};
let otherRequests = 0;
const tally = () => {
  for (const r of fake.requests.splice(0)) {
    if (r.authorization === "Bearer warm-up") continue;
    if (/ResourceGraph/i.test(r.path)) {
      graphAt.push(r.at);
      if (r.status === 429) throttled++;
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    } else otherRequests++;
  }
};
setInterval(tally, 500).unref();
process.stdout.write(`${JSON.stringify({ url: fake.url, certFile: fake.certFile, group: GROUP, subscriptions: datasets.map((d) => d.subscriptionPath), rows, warmUpSeconds })}\n`);
process.stdin.resume();
process.stdin.on("end", () => {
  tally();
  process.stdout.write(`${JSON.stringify({ graphAt, throttled, statuses, otherRequests })}\n`);
  void fake.close().then(() => process.exit(0));
});
