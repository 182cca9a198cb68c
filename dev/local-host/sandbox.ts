// The local sandbox: the local endpoints of dev/fakes (the tests' too), serving realistic data that changes over
// time. Development only (it needs devDependencies), so it is not part of the built package.
import { SyntheticDataset } from "../fakes/arm/dataset.js";
import { startFakeArm, type FakeArmServer } from "../fakes/arm/server.js";
import { startFakeEventHubs, type FakeEventHubs } from "../fakes/eventhubs.js";
import { startFakeLogsIngestion, type FakeLogsIngestion } from "../fakes/logs-ingestion.js";
import { defaultStreamName } from "../../src/records/columns.js";
import { TABLES } from "../../src/datatypes/registry.js";

export const SANDBOX_RULE_ID = "dcr-00000000000000000000000000000001";
export const SANDBOX_HUB = "defender-export";
export const SANDBOX_EVENTHUB_SETTING = "DEFENDER_EXPORT_DEST_SANDBOX_EVENTHUB";

export interface Sandbox {
  arm: FakeArmServer;
  ingestion: FakeLogsIngestion;
  hubs: FakeEventHubs;
  dataset: SyntheticDataset;
  /** With a management group: its subscriptions, live (moving one out takes effect at once). */
  managementGroups: Record<string, string[]>;
  /** The CA that signed the local HTTPS endpoints' certificates (one per endpoint; both are trusted). */
  tlsCa: string;
  trustedHosts: string[];
  appSettings: Record<string, string>;
  configuration: Record<string, unknown>;
  /** What the local destinations received: rows per stream, events per hub. */
  received(): { logAnalytics: Record<string, number>; eventHubs: Record<string, number> };
  close(): Promise<void>;
}

export async function startSandbox(options: { driftSeconds?: number; managementGroup?: { id: string; subscriptions: number } } = {}): Promise<Sandbox> {
  const dataset = new SyntheticDataset({ alerts: 8, assessments: 12, subAssessments: 10, controlsPerStandard: 2, assessmentsPerControl: 2, attackPaths: 5, largeAttackPathEvery: 5 });
  // A management group of the sandbox's subscription and small others (Resource Graph serves them all).
  const others = Array.from(
    { length: Math.max(0, (options.managementGroup?.subscriptions ?? 1) - 1) },
    (_, i) =>
      new SyntheticDataset({
        subscriptionId: `5a4d0b1e-0000-4000-8000-${String(i + 1).padStart(12, "0")}`,
        alerts: 2 + (i % 3),
        assessments: 3,
        subAssessments: 2,
        controlsPerStandard: 1,
        assessmentsPerControl: 1,
        attackPaths: 1 + (i % 2),
      }),
  );
  const managementGroups: Record<string, string[]> = options.managementGroup ? { [options.managementGroup.id]: [dataset, ...others].map((d) => d.subscriptionId) } : {};
  const arm = await startFakeArm({ dataset, pageSize: 50, ...(options.managementGroup ? { resourceGraph: { datasets: [dataset, ...others], managementGroups } } : {}) });
  const ingestion = await startFakeLogsIngestion({ ruleId: SANDBOX_RULE_ID, streams: Object.fromEntries(TABLES.map((t) => [defaultStreamName(t.table), t.columns.map((c) => c.name)])) });
  const hubs = await startFakeEventHubs({ hubs: [SANDBOX_HUB] });
  let step = 0;
  // Security data moves: a new alert, a recommendation whose status flips, a secure score that moves, a new
  // attack path while the oldest one is resolved, and a path whose risk level flips.
  const drift = setInterval(
    () => {
      step++;
      dataset.sizes.alerts++;
      const flipped = step % dataset.sizes.assessments;
      const code = step % 2 === 0 ? "Healthy" : "Unhealthy";
      dataset.patches.set(`assessment:${flipped}`, (r) => (((r["properties"] as Record<string, unknown>)["status"] as Record<string, unknown>)["code"] = code));
      const moved = Math.round(((step * 0.37) % 10) * 100) / 100;
      dataset.patches.set("secureScore:0", (r) => {
        const score = (r["properties"] as Record<string, Record<string, unknown>>)["score"]!;
        score["current"] = moved;
        score["percentage"] = Math.round((moved / Number(score["max"] ?? 10)) * 10_000) / 10_000;
      });
      dataset.sizes.attackPaths++;
      dataset.resolvedAttackPaths.add(step - 1);
      const risk = step % 2 === 0 ? "Critical" : "Low";
      dataset.patches.set(`attackPath:${dataset.sizes.attackPaths - 2}`, (r) => ((r["properties"] as Record<string, unknown>)["riskLevel"] = risk));
    },
    (options.driftSeconds ?? 15) * 1000,
  );
  drift.unref();
  const trustedHosts = [new URL(ingestion.url).host, `localhost:${hubs.port}`];
  return {
    arm,
    ingestion,
    hubs,
    dataset,
    managementGroups,
    tlsCa: `${arm.ca}\n${ingestion.ca}`,
    trustedHosts,
    appSettings: { [SANDBOX_EVENTHUB_SETTING]: hubs.connectionString(SANDBOX_HUB) },
    configuration: {
      description: "The local sandbox: every data type from the local ARM and Resource Graph endpoint to the local Log Analytics and Event Hubs endpoints",
      scopes: [{ scopePath: dataset.subscriptionPath }],
      sources: [
        { eventSource: "Alerts" },
        { eventSource: "Assessments" },
        { eventSource: "SubAssessments" },
        { eventSource: "SecureScores" },
        { eventSource: "SecureScoreControls" },
        { eventSource: "RegulatoryComplianceAssessment" },
        { eventSource: "AttackPaths" },
      ],
      actions: [
        { actionType: "Workspace", dataCollectionEndpoint: ingestion.url, dataCollectionRuleId: SANDBOX_RULE_ID },
        { actionType: "EventHub", connectionStringSetting: SANDBOX_EVENTHUB_SETTING, eventHubName: SANDBOX_HUB },
      ],
    },
    received: () => ({
      logAnalytics: Object.fromEntries([...ingestion.accepted].map(([stream, rows]) => [stream, rows.length])),
      eventHubs: hubs.events.reduce<Record<string, number>>((acc, e) => ((acc[e.hub] = (acc[e.hub] ?? 0) + 1), acc), {}),
    }),
    close: async () => {
      clearInterval(drift);
      await Promise.all([arm.close(), ingestion.close(), hubs.close()]);
    },
  };
}
