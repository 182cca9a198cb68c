// A local ARM endpoint in its own process, for benchmarks: prints {"url", "certFile"} and serves until stdin closes.
import { SyntheticDataset } from "../dev/fakes/arm/dataset.js";
import { startFakeArm } from "../dev/fakes/arm/server.js";

const [findings = "100000", pageSize = "1000", shape = "findings"] = process.argv.slice(2);
// "subscription": every data type, alerts and recommendations in proportion, and every 50th finding and
// alert over 32 KB (a long description), as the end-to-end benchmark needs.
const whole = shape === "subscription";
const n = Number(findings);
const dataset = new SyntheticDataset({ subAssessments: n, ...(whole ? { alerts: Math.ceil(n / 20), assessments: Math.ceil(n / 10) } : {}) });
if (whole) {
  const long = (r: Record<string, unknown>, i: number) => ((r["properties"] as Record<string, unknown>)["description"] = `${i} ${"é€x".repeat(12_000)}`);
  for (let i = 0; i < n; i += 50) dataset.patches.set(`subAssessment:${i}`, (r) => long(r, i));
  for (let i = 0; i < dataset.sizes.alerts; i += 50) dataset.patches.set(`alert:${i}`, (r) => long(r, i));
}
const fake = await startFakeArm({ dataset, pageSize: Number(pageSize), cachePages: true });
// The request log would grow with every page served: benchmarks do not read it.
setInterval(() => (fake.requests.length = 0), 1000).unref();
process.stdout.write(`${JSON.stringify({ url: fake.url, certFile: fake.certFile, subscription: "/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23" })}\n`);
process.stdin.resume();
process.stdin.on("end", () => void fake.close().then(() => process.exit(0)));
