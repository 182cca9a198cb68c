// An instance of its own: reads attack paths through the shared quota when told "go" on stdin, prints what it read.
import { createInterface } from "node:readline";
import { BlobServiceClient } from "@azure/storage-blob";
import { ArmReader } from "../../src/sources/reader.js";
import { GraphQuota } from "../../src/sources/resource-graph.js";
import { BlobGraphQuota } from "../../src/state/graph-quota-bucket.js";
import { collect, FAST_RETRIES, staticCredential } from "../helpers/arm.js";

interface ChildArgs {
  url: string;
  ca: string;
  storage: string;
  container: string;
  blob: string;
  scope: string;
  queries: number;
  windowMs: number;
  pageRows: number;
}

const args = JSON.parse(process.argv[2]!) as ChildArgs;
const shared = new BlobGraphQuota(BlobServiceClient.fromConnectionString(args.storage).getContainerClient(args.container), args.blob, { queries: args.queries, windowMs: args.windowMs });
await shared.ready();
const reader = new ArmReader({
  credential: staticCredential(),
  endpoint: args.url,
  tlsCa: args.ca,
  retryOptions: FAST_RETRIES,
  pageRows: args.pageRows,
  graphQuota: new GraphQuota({ shared, jitterMs: 20 }),
});
process.stdout.write("ready\n");
for await (const line of createInterface({ input: process.stdin })) if (line === "go") break;
const read = await collect(reader.list(args.scope, "attackPath"));
process.stdout.write(`${JSON.stringify({ records: read.length })}\n`);
process.exit(0);
