// A local ARM endpoint in its own process, for benchmarks: prints {"url", "certFile"} and serves until stdin closes.
import { SyntheticDataset } from "../dev/fakes/arm/dataset.js";
import { startFakeArm } from "../dev/fakes/arm/server.js";

const [findings = "100000", pageSize = "1000", shape = "findings"] = process.argv.slice(2);
// "subscription": every data type, alerts, recommendations and attack paths in proportion, every 50th finding and
// alert over 32 KB (a long description) and every 25th attack path (a large graph), as the end-to-end benchmark needs.
const whole = shape === "subscription";
const n = Number(findings);
// "attackPaths": n attack paths alone, served by the local Resource Graph endpoint.
const paths = shape === "attackPaths";
const dataset = new SyntheticDataset(
  paths
    ? { subAssessments: 0, attackPaths: n }
    : { subAssessments: n, attackPaths: whole ? Math.ceil(n / 50) : 0, ...(whole ? { alerts: Math.ceil(n / 20), assessments: Math.ceil(n / 10), largeAttackPathEvery: 25 } : {}) },
);
if (whole) {
  const long = (r: Record<string, unknown>, i: number) => ((r["properties"] as Record<string, unknown>)["description"] = `${i} ${"é€x".repeat(12_000)}`);
  for (let i = 0; i < n; i += 50) dataset.patches.set(`subAssessment:${i}`, (r) => long(r, i));
  for (let i = 0; i < dataset.sizes.alerts; i += 50) dataset.patches.set(`alert:${i}`, (r) => long(r, i));
}
// A quota the benchmark's pace never reaches: the figures are the reader's work, not its waiting.
const fake = await startFakeArm({ dataset, pageSize: Number(pageSize), cachePages: true, resourceGraph: { quota: { queries: 1_000_000, windowMs: 5000 } } });
// The request log would grow with every page served: benchmarks do not read it.
setInterval(() => (fake.requests.length = 0), 1000).unref();
process.stdout.write(`${JSON.stringify({ url: fake.url, certFile: fake.certFile, subscription: "/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23" })}\n`);
process.stdin.resume();
process.stdin.on("end", () => void fake.close().then(() => process.exit(0)));
