// A local ARM endpoint in its own process, for benchmarks: prints {"url", "certFile"} and serves until stdin closes.
import { SyntheticDataset } from "../test/fakes/arm/dataset.js";
import { startFakeArm } from "../test/fakes/arm/server.js";

const [findings = "100000", pageSize = "1000"] = process.argv.slice(2);
const fake = await startFakeArm({ dataset: new SyntheticDataset({ subAssessments: Number(findings) }), pageSize: Number(pageSize), cachePages: true });
// The request log would grow with every page served: benchmarks do not read it.
setInterval(() => (fake.requests.length = 0), 1000).unref();
process.stdout.write(`${JSON.stringify({ url: fake.url, certFile: fake.certFile, subscription: "/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23" })}\n`);
process.stdin.resume();
process.stdin.on("end", () => void fake.close().then(() => process.exit(0)));
