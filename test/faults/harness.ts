import { BlobServiceClient } from "@azure/storage-blob";
import { parseExportConfiguration } from "../../src/config/parse.js";
import type { ExportConfiguration, Source } from "../../src/config/model.js";
import type { ReaderKind } from "../../src/config/enums.js";

/** A source as a configuration is written: without rule sets, it exports every record. */
export type SourceSpec = Omit<Source, "ruleSets"> & Partial<Pick<Source, "ruleSets">>;
import { BlobStateStore } from "../../src/state/blob-store.js";
import { BlobDeadLetterStore, type DeadLetter } from "../../src/destinations/dead-letter.js";
import { createSink } from "../../src/destinations/factory.js";
import { readerOptions, type PassRecord } from "../../src/engine/pass.js";
import { runConfiguration } from "../../src/engine/runner.js";
import { ArmReader } from "../../src/sources/reader.js";
import { SyntheticDataset, type Collection, type DatasetOptions } from "../../dev/fakes/arm/dataset.js";
import type { ResourceGraphOptions } from "../../dev/fakes/arm/resource-graph.js";
import { startFakeArm, type FakeArmServer } from "../../dev/fakes/arm/server.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { startFakeEventHubs, type FakeEventHubs } from "../../dev/fakes/eventhubs.js";
import { startFakeLogsIngestion, type FakeLogsIngestion } from "../../dev/fakes/logs-ingestion.js";
import { FAST_RETRIES, staticCredential } from "../helpers/arm.js";
import { declaredStreams, FAST, RULE_ID, SDK_FAST } from "../helpers/destinations.js";

export const HUB = "faults";

/** Everything a fault test needs: the fakes, Azurite, one configuration to Log Analytics and Event Hubs. */
export interface World {
  dataset: SyntheticDataset;
  /** Every subscription the fake Resource Graph serves (the first is `dataset`). */
  subscriptions: SyntheticDataset[];
  /** The management groups the fake Resource Graph knows, live: moving a subscription out takes effect at once. */
  managementGroups: Record<string, string[]>;
  arm: FakeArmServer;
  ingestion: FakeLogsIngestion;
  hubs: FakeEventHubs;
  azurite: Azurite;
  /** Where state and dead letters live for this test (a fresh prefix each). */
  prefix: string;
  configuration: ExportConfiguration;
  /** One round of passes, as a new process would run it (new reader, new sinks). */
  pass(options?: { storage?: string; checkpointEvery?: number; hooks?: PassHooks }): Promise<PassRecord[]>;
  /** Ids delivered (lower-cased ARM ids), with repeats, per destination. */
  delivered(): { logAnalytics: string[]; eventHubs: string[] };
  deadLetters(): Promise<DeadLetter[]>;
  /** What a pass in another process needs to reach this world. */
  args(storage?: string, checkpointEvery?: number): PassArgs;
  /** The stable ids of every record the configuration exports from the fake now. */
  expected(): string[];
  close(): Promise<void>;
}

let counter = 0;

type PassHooks = Parameters<typeof runConfiguration>[0]["passOptions"];

/** Everything a pass needs, as JSON: a test's process or a child process that may be killed. */
export interface PassArgs {
  armUrl: string;
  armCa: string;
  ingestionUrl: string;
  ingestionCa: string;
  eventHubs: string;
  trustedHosts: string[];
  storage: string;
  prefix: string;
  subscriptionPath: string;
  checkpointEvery: number;
  /** The configuration's sources: alerts and recommendations by default. */
  sources: SourceSpec[];
  /** Rows a Resource Graph page asks for (1,000 by default). */
  graphPageRows?: number;
  /** The configuration's reader (the Microsoft.Security lists by default). */
  reader?: ReaderKind;
  /** The configuration's scopes: the subscription by default. */
  scopes?: string[];
}

function configurationOf(args: PassArgs): ExportConfiguration {
  const parsed = parseExportConfiguration(
    {
      scopes: (args.scopes ?? [args.subscriptionPath]).map((scopePath) => ({ scopePath })),
      sources: args.sources,
      ...(args.reader ? { reader: args.reader } : {}),
      actions: [
        { actionType: "Workspace", dataCollectionEndpoint: args.ingestionUrl, dataCollectionRuleId: RULE_ID },
        { actionType: "EventHub", connectionStringSetting: "DEFENDER_EXPORT_DEST_FAULTS_EVENT_HUBS", eventHubName: HUB },
      ],
    },
    { allowedDestinations: { trustedHosts: args.trustedHosts } },
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.configuration;
}

/** One round of passes, as a new process would run it (new reader, new sinks, state in `args.storage`). */
/** The configuration's sinks, with dead letters and overflow in `args.storage`, as a host would make them. */
export function sinksOf(args: PassArgs) {
  const service = BlobServiceClient.fromConnectionString(args.storage, { retryOptions: { maxTries: 2, retryDelayInMs: 20, maxRetryDelayInMs: 50, tryTimeoutInMs: 3000 } });
  const deadLetters = new BlobDeadLetterStore(service.getContainerClient(`${args.prefix}-dead-letters`));
  const sinks = configurationOf(args).actions.map((action) =>
    createSink(action, {
      credential: staticCredential(),
      deadLetters,
      overflow: service.getContainerClient(`${args.prefix}-overflow`),
      allowedDestinations: { trustedHosts: args.trustedHosts },
      destinationAppSettings: { DEFENDER_EXPORT_DEST_FAULTS_EVENT_HUBS: args.eventHubs },
      retry: FAST,
      sdkRetryOptions: SDK_FAST,
      tlsCa: args.ingestionCa,
    }),
  );
  return { service, deadLetters, sinks };
}

export async function passWith(args: PassArgs, hooks?: PassHooks): Promise<PassRecord[]> {
  const configuration = configurationOf(args);
  const { service, sinks } = sinksOf(args);
  try {
    return await runConfiguration({
      configurationName: args.prefix,
      configuration,
      ...readerOptions(
        new ArmReader({ credential: staticCredential(), endpoint: args.armUrl, tlsCa: args.armCa, retryOptions: FAST_RETRIES, ...(args.graphPageRows ? { pageRows: args.graphPageRows } : {}) }),
      ),
      sinks,
      state: new BlobStateStore(service.getContainerClient(`${args.prefix}-state`)),
      passOptions: { checkpointEvery: args.checkpointEvery, ...hooks },
    });
  } finally {
    await Promise.all(sinks.map((s) => s.close().catch(() => undefined)));
  }
}

export interface WorldOptions extends Pick<DatasetOptions, "alerts" | "assessments" | "subAssessments" | "attackPaths" | "largeAttackPathEvery" | "hugeAttackPaths"> {
  pageSize?: number;
  sources?: SourceSpec[];
  graphPageRows?: number;
  reader?: ReaderKind;
  /** More subscriptions, served by Resource Graph only, all in the management group mg-test with the first. */
  otherSubscriptions?: DatasetOptions[];
  /** The configuration's scopes, from the subscriptions (the first's by default). */
  scopes?: (all: SyntheticDataset[]) => string[];
  resourceGraph?: ResourceGraphOptions;
}

export async function world(options: WorldOptions = {}): Promise<World> {
  const { pageSize, sources, resourceGraph, graphPageRows, reader, otherSubscriptions, scopes, ...sizes } = options;
  const dataset = new SyntheticDataset({ alerts: 15, assessments: 15, attackPaths: 0, subAssessments: 0, ...sizes });
  const all = [dataset, ...(otherSubscriptions ?? []).map((o) => new SyntheticDataset(o))];
  const managementGroups = { "mg-test": all.map((d) => d.subscriptionId) };
  const graph: ResourceGraphOptions = { ...resourceGraph, ...(otherSubscriptions ? { datasets: all, managementGroups } : {}) };
  const [arm, ingestion, hubs, azurite] = await Promise.all([
    startFakeArm({ dataset, pageSize: pageSize ?? 5, resourceGraph: graph }),
    startFakeLogsIngestion({ ruleId: RULE_ID, streams: declaredStreams() }),
    startFakeEventHubs({ hubs: [HUB], partitionCount: 2 }),
    startAzurite(),
  ]);
  const prefix = `faults${++counter}-${process.pid}`;
  const args = (storage = azurite.connectionString, checkpointEvery = 5): PassArgs => ({
    armUrl: arm.url,
    armCa: arm.ca,
    ingestionUrl: ingestion.url,
    ingestionCa: ingestion.ca,
    eventHubs: hubs.connectionString(HUB),
    trustedHosts: [new URL(ingestion.url).host, `localhost:${hubs.port}`],
    storage,
    prefix,
    subscriptionPath: dataset.subscriptionPath,
    checkpointEvery,
    sources: sources ?? [{ eventSource: "Alerts" }, { eventSource: "Assessments" }],
    ...(graphPageRows ? { graphPageRows } : {}),
    ...(reader ? { reader } : {}),
    ...(scopes ? { scopes: scopes(all) } : {}),
  });
  const configuration = configurationOf(args());
  const exported = new Set(args().sources.map((s) => s.eventSource));
  const ids = (collection: Collection, yes: boolean) => (yes ? Array.from({ length: collection.count }, (_, i) => String(collection.at(i)["id"]).toLowerCase()) : []);
  const expected = () =>
    [
      ...ids(dataset.alerts(), exported.has("Alerts")),
      ...ids(dataset.assessments(), exported.has("Assessments") || exported.has("AssessmentsSnapshot")),
      ...ids(dataset.attackPaths(), exported.has("AttackPaths") || exported.has("AttackPathsSnapshot")),
    ].sort();
  return {
    dataset,
    subscriptions: all,
    managementGroups,
    arm,
    ingestion,
    hubs,
    azurite,
    prefix,
    configuration,
    args,
    pass: (o = {}) => passWith(args(o.storage, o.checkpointEvery), o.hooks),
    delivered() {
      // Alerts go to Event Hubs in the legacy shape, named by SystemAlertId: the last segment of their ARM id.
      const byName = new Map(expected().map((id) => [id.split("/").pop()!, id]));
      const idOf = (body: { id?: unknown; SystemAlertId?: unknown }): string =>
        typeof body.id === "string" ? body.id.toLowerCase() : (byName.get(String(body.SystemAlertId).toLowerCase()) ?? `unknown ${String(body.SystemAlertId)}`);
      return {
        logAnalytics: [...ingestion.accepted.values()].flat().map((r) => String(r["RecordId"])),
        eventHubs: hubs.events.filter((e) => e.hub === HUB).map((e) => idOf(e.body as { id?: unknown; SystemAlertId?: unknown })),
      };
    },
    deadLetters: async () => {
      const out: DeadLetter[] = [];
      for await (const { letter } of new BlobDeadLetterStore(BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(`${prefix}-dead-letters`)).list()) out.push(letter);
      return out;
    },
    expected,
    close: async () => {
      await Promise.all([arm.close(), ingestion.close(), hubs.close(), azurite.stop()]);
    },
  };
}

/**
 * Nothing lost: every expected record reached each destination or its dead letters. Returns how many
 * times each id arrived, for the duplicate checks.
 */
export async function nothingLost(w: World): Promise<{ logAnalytics: Map<string, number>; eventHubs: Map<string, number> }> {
  const letters = await w.deadLetters();
  const lettered = (kind: string) => new Set(letters.filter((l) => l.actionKey.startsWith(kind)).flatMap((l) => l.items.map((i) => i.id)));
  const count = (ids: string[]) => ids.reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<string, number>());
  const delivered = w.delivered();
  const result = { logAnalytics: count(delivered.logAnalytics), eventHubs: count(delivered.eventHubs) };
  const missing = (got: Map<string, number>, kind: string) => w.expected().filter((id) => !got.has(id) && !lettered(kind).has(id));
  const lost = { logAnalytics: missing(result.logAnalytics, "workspace-"), eventHubs: missing(result.eventHubs, "eventhub-") };
  if (lost.logAnalytics.length + lost.eventHubs.length > 0) throw new Error(`lost: ${JSON.stringify(lost)}`);
  return result;
}

export const duplicates = (counts: Map<string, number>) => [...counts.values()].reduce((n, c) => n + c - 1, 0);
