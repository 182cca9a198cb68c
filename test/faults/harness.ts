import { BlobServiceClient } from "@azure/storage-blob";
import { parseExportConfiguration } from "../../src/config/parse.js";
import type { ExportConfiguration, Source } from "../../src/config/model.js";
import type { ReaderKind } from "../../src/config/enums.js";

/** A source as a configuration is written: without rule sets, it exports every record. */
export type SourceSpec = Omit<Source, "ruleSets"> & Partial<Pick<Source, "ruleSets">>;
import { BlobStateStore } from "../../src/state/blob-store.js";
import { BlobDeadLetterStore, type DeadLetter } from "../../src/destinations/dead-letter.js";
import { createSink } from "../../src/destinations/factory.js";
import { readerOptions, runPass, type PassOptions, type PassRecord } from "../../src/engine/pass.js";
import { runConfiguration } from "../../src/engine/runner.js";
import { configurationPassScopes, managementGroupOf } from "../../src/config/automation.js";
import type { EventSource } from "../../src/config/enums.js";
import { ArmReader } from "../../src/sources/reader.js";
import { GraphQuota, type GraphQuotaOptions } from "../../src/sources/resource-graph.js";
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
  /**
   * Every pass of the configuration at once, as one instance's queue worker runs their messages (each unit of a
   * management group and each source its own pass, reader and sinks; the readers share the process's quota).
   */
  concurrentPasses(options?: { checkpointEvery?: number; hooks?: (key: UnitKey) => PassHooks }): Promise<PassRecord[]>;
  /** Ids delivered (lower-cased ARM ids), with repeats, per destination. */
  delivered(): { logAnalytics: string[]; eventHubs: string[] };
  deadLetters(): Promise<DeadLetter[]>;
  /** What a pass in another process needs to reach this world. */
  args(storage?: string, checkpointEvery?: number): PassArgs;
  /** The stable ids of every record the configuration exports from the fake now (of every subscription its scopes hold now). */
  expected(): string[];
  close(): Promise<void>;
}

let counter = 0;

type PassHooks = Parameters<typeof runConfiguration>[0]["passOptions"];

/** One pass of a configuration: a scope (a management group's unit) and a source. */
export interface UnitKey {
  scope: string;
  eventSource: EventSource;
}

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
  /** Rows above which a Resource Graph listing is read as hash partitions (20,000 by default). */
  graphPartitionRows?: number;
  /** The configuration's reader (the Microsoft.Security lists by default). */
  reader?: ReaderKind;
  /** The configuration's scopes: the subscription by default. */
  scopes?: string[];
  /** Seconds a pass key's lease lasts unless renewed (60 by default; 15, the least, lets a test see a dead holder's lease expire). */
  leaseSeconds?: number;
  /** Resource Graph 429s without Retry-After waited out for one page before the read fails (10 by default). */
  maxThrottledRetries?: number;
  /** The quota the process's Resource Graph readers share (its defaults otherwise: a 5 s window, waits up to 60 s). */
  graphQuota?: Pick<GraphQuotaOptions, "windowMs" | "maxWaitMs" | "jitterMs">;
}

/** A pass child's arguments (pass-child.ts): every pass at once, and a line when each has written `reportWritten` records. */
export interface ChildArgs extends PassArgs {
  concurrent?: boolean;
  reportWritten?: number;
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

/** A reader as a host makes one, with the process's Resource Graph quota when given. */
function readerOf(args: PassArgs, graphQuota?: GraphQuota): ArmReader {
  return new ArmReader({
    credential: staticCredential(),
    endpoint: args.armUrl,
    tlsCa: args.armCa,
    retryOptions: FAST_RETRIES,
    ...(args.graphPageRows ? { pageRows: args.graphPageRows } : {}),
    ...(args.graphPartitionRows ? { partitionRows: args.graphPartitionRows } : {}),
    ...(args.maxThrottledRetries !== undefined ? { maxThrottledRetries: args.maxThrottledRetries } : {}),
    graphQuota: graphQuota ?? new GraphQuota(args.graphQuota),
  });
}

/** The configuration's state store (its pass keys' leases as long as `args.leaseSeconds` says). */
export function stateOf(args: PassArgs, service = BlobServiceClient.fromConnectionString(args.storage)): BlobStateStore {
  const container = service.getContainerClient(`${args.prefix}-state`);
  const seconds = args.leaseSeconds;
  if (seconds === undefined) return new BlobStateStore(container);
  return new (class extends BlobStateStore {
    override acquire(key: Parameters<BlobStateStore["acquire"]>[0]) {
      return super.acquire(key, seconds);
    }
  })(container);
}

export async function passWith(args: PassArgs, hooks?: PassHooks): Promise<PassRecord[]> {
  const configuration = configurationOf(args);
  const { service, sinks } = sinksOf(args);
  try {
    return await runConfiguration({
      configurationName: args.prefix,
      configuration,
      ...readerOptions(readerOf(args)),
      sinks,
      state: stateOf(args, service),
      passOptions: { checkpointEvery: args.checkpointEvery, ...hooks },
    });
  } finally {
    await Promise.all(sinks.map((s) => s.close().catch(() => undefined)));
  }
}

/**
 * Every pass of the configuration at once, as one instance's queue worker runs the messages the timer queued:
 * one per scope (a management group's unit) and source, each with its own reader and sinks, as
 * PassScheduler.runMessage makes them, the readers sharing one Resource Graph quota, as a process's do.
 */
export async function concurrentPassesWith(args: PassArgs, options: { hooks?: (key: UnitKey) => PassHooks; onPass?: (record: PassRecord) => void } = {}): Promise<PassRecord[]> {
  const configuration = configurationOf(args);
  const state = stateOf(args);
  const quota = new GraphQuota(args.graphQuota);
  const keys = configurationPassScopes(configuration).flatMap((scope) => configuration.sources.map((s): UnitKey => ({ scope, eventSource: s.eventSource })));
  return Promise.all(
    keys.map(async (key) => {
      const { sinks } = sinksOf(args);
      try {
        const record = await runPass({
          configurationName: args.prefix,
          configuration,
          ...key,
          ...readerOptions(readerOf(args, quota)),
          sinks,
          state,
          baseline: configuration.baselineSnapshot,
          checkpointEvery: args.checkpointEvery,
          ...options.hooks?.(key),
        });
        options.onPass?.(record);
        return record;
      } finally {
        await Promise.all(sinks.map((s) => s.close().catch(() => undefined)));
      }
    }),
  );
}

export interface WorldOptions extends Pick<DatasetOptions, "alerts" | "assessments" | "subAssessments" | "attackPaths" | "largeAttackPathEvery" | "hugeAttackPaths"> {
  pageSize?: number;
  /** What a pass's arguments hold beyond the world's own (leases, Resource Graph's quota and retries). */
  passArgs?: Pick<PassArgs, "leaseSeconds" | "maxThrottledRetries" | "graphQuota">;
  sources?: SourceSpec[];
  graphPageRows?: number;
  graphPartitionRows?: number;
  reader?: ReaderKind;
  /** More subscriptions, served by Resource Graph only, all in the management group mg-test with the first. */
  otherSubscriptions?: DatasetOptions[];
  /** The configuration's scopes, from the subscriptions (the first's by default). */
  scopes?: (all: SyntheticDataset[]) => string[];
  resourceGraph?: ResourceGraphOptions;
}

export async function world(options: WorldOptions = {}): Promise<World> {
  const { pageSize, sources, resourceGraph, graphPageRows, graphPartitionRows, reader, otherSubscriptions, scopes, passArgs, ...sizes } = options;
  const dataset = new SyntheticDataset({ alerts: 15, assessments: 15, attackPaths: 0, subAssessments: 0, ...sizes });
  const all = [dataset, ...(otherSubscriptions ?? []).map((o) => new SyntheticDataset(o))];
  const managementGroups: Record<string, string[]> = { "mg-test": all.map((d) => d.subscriptionId) };
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
    ...(graphPartitionRows ? { graphPartitionRows } : {}),
    ...(reader ? { reader } : {}),
    ...(scopes ? { scopes: scopes(all) } : {}),
    ...passArgs,
  });
  const configuration = configurationOf(args());
  const exported = new Set(args().sources.map((s) => s.eventSource));
  const ids = (collection: Collection, yes: boolean) => (yes ? Array.from({ length: collection.count }, (_, i) => String(collection.at(i)["id"]).toLowerCase()) : []);
  // The subscriptions the scopes hold now: those named, and the members of a management group named.
  const inScope = (d: SyntheticDataset) =>
    configuration.scopes.some((s) => {
      const group = managementGroupOf(s.scopePath);
      if (group === undefined) return s.scopePath.toLowerCase() === d.subscriptionPath.toLowerCase();
      return (managementGroups[group] ?? []).some((id) => id.toLowerCase() === d.subscriptionId.toLowerCase());
    });
  const idsOf = (d: SyntheticDataset) => [
    ...ids(d.alerts(), exported.has("Alerts")),
    ...ids(d.assessments(), exported.has("Assessments") || exported.has("AssessmentsSnapshot")),
    ...ids(d.attackPaths(), exported.has("AttackPaths") || exported.has("AttackPathsSnapshot")),
  ];
  const expected = () => all.filter(inScope).flatMap(idsOf).sort();
  // Every subscription there was, for naming what was delivered (a test may take one out of the tenant).
  const everyone = [...all];
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
    concurrentPasses: (o = {}) => concurrentPassesWith(args(undefined, o.checkpointEvery), o.hooks ? { hooks: o.hooks } : {}),
    delivered() {
      // Alerts go to Event Hubs in the legacy shape, named by SystemAlertId (the last segment of their ARM id),
      // which repeats across subscriptions: with AzureResourceSubscriptionId, the subscription of their resource.
      const key = (subscription: unknown, name: unknown) => `${String(subscription).toLowerCase()}/${String(name).toLowerCase()}`;
      const byName = new Map(everyone.flatMap((d) => ids(d.alerts(), true).map((id) => [key(d.subscriptionId, id.split("/").pop()), id] as const)));
      type Body = { id?: unknown; SystemAlertId?: unknown; AzureResourceSubscriptionId?: unknown };
      const idOf = (body: Body): string =>
        typeof body.id === "string" ? body.id.toLowerCase() : (byName.get(key(body.AzureResourceSubscriptionId, body.SystemAlertId)) ?? `unknown ${String(body.SystemAlertId)}`);
      return {
        logAnalytics: [...ingestion.accepted.values()].flat().map((r) => String(r["RecordId"])),
        eventHubs: hubs.events.filter((e) => e.hub === HUB).map((e) => idOf(e.body as Body)),
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

/** Pass options that stop a pass at its deadline once it has read `records` records (the clock jumps past it then). */
export function stopAfter(records: number): Partial<PassOptions> {
  let read = 0;
  const start = Date.parse("2026-12-01T08:00:00.000Z");
  return { deadline: new Date(start + 60_000), now: () => new Date(read >= records ? start + 120_000 : start), hooks: { afterRead: (n) => void (read = n) } };
}

/** Passes until a round has no error (a new invocation after each failed one, as the timer would run it). */
export async function untilClean(run: () => Promise<{ error?: string }[]>, rounds = 6): Promise<number> {
  for (let i = 1; i <= rounds; i++) if ((await run()).every((p) => p.error === undefined)) return i;
  throw new Error(`still failing after ${rounds} rounds`);
}
