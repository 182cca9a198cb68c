import { describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";
import { runPass, type PassOptions } from "../../src/engine/pass.js";
import { runConfiguration } from "../../src/engine/runner.js";
import type { SourceRecord } from "../../src/sources/reader.js";
import { MemoryStateStore } from "../helpers/memory-state.js";
import { recordingSink } from "../helpers/memory-sink.js";

// Removals in a management group scope depend on who is in the group: without that answer, none are made.

const GROUP = "/providers/Microsoft.Management/managementGroups/mg-test";
const SUBS = ["00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"];
const path = (sub: string, i: number) => ({
  id: `/subscriptions/${sub}/providers/Microsoft.Security/attackPaths/p${i}`,
  name: `p${i}`,
  type: "microsoft.security/attackpaths",
  properties: { riskLevel: "High" },
});

describe("removals in a management group scope", () => {
  const parsed = parseExportConfiguration({ reader: "resourceGraph", scopes: [GROUP], sources: [{ eventSource: "AttackPaths" }], actions: [{ actionType: "Internal" }] });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const configuration = parsed.configuration;

  async function passWith(records: Record<string, unknown>[], state: MemoryStateStore, members: () => Promise<ReadonlySet<string>>, extra: Partial<PassOptions> = {}) {
    const sink = recordingSink();
    const read = async function* (): AsyncGenerator<SourceRecord> {
      for (const record of records) yield { dataType: "attackPath", scope: GROUP, record };
    };
    const record = await runPass({ configurationName: "mg", configuration, scope: GROUP, eventSource: "AttackPaths", read, scopeSubscriptions: members, sinks: [sink], state, ...extra });
    return { record, sent: sink.sent };
  }

  it("a path of a subscription still in the group is removed; when the group's members cannot be read, nothing is", async () => {
    const state = new MemoryStateStore();
    const all = [path(SUBS[0]!, 1), path(SUBS[0]!, 2), path(SUBS[1]!, 3)];
    expect((await passWith(all, state, async () => new Set(SUBS))).record).toMatchObject({ mode: "baseline", changed: 3 });
    // p2 is resolved; the members cannot be told: nothing is removed, and p2 stays known.
    const unknown = await passWith([all[0]!, all[2]!], state, () => Promise.reject(new Error("Resource Graph unreachable")));
    expect(unknown.record).toMatchObject({ removed: 0 });
    // Next time the members are known: p2 goes out once as removed.
    const known = await passWith([all[0]!, all[2]!], state, async () => new Set(SUBS));
    expect(known.record).toMatchObject({ removed: 1 });
    expect(known.sent.map((s) => [s.id, s.action])).toEqual([[all[1]!.id.toLowerCase(), "Remove"]]);
  });

  it("a read that says it is incomplete (its listing moved) delivers what it read but removes, departs and forgets nothing, and says why; the next complete read does", async () => {
    const state = new MemoryStateStore();
    const all = [path(SUBS[0]!, 1), path(SUBS[0]!, 2), path(SUBS[1]!, 3)];
    await passWith(all, state, async () => new Set(SUBS));
    // p2 is resolved and the second subscription leaves the group; a new path appears; the listing moved.
    const why = "the listing of attackPath moved while it was read (page 2: the listing held 3 rows at page 1, 2 at page 2): removals wait for a complete read";
    const fresh = path(SUBS[0]!, 4);
    const moved = await passWith([all[0]!, fresh], state, async () => new Set([SUBS[0]!]), { incompleteRead: (scope, source) => (scope === GROUP && source === "AttackPaths" ? why : undefined) });
    expect(moved.record).toMatchObject({ mode: "stream", changed: 1, removed: 0, incomplete: why, subscriptions: { membersKnown: false, departed: {}, forgotten: [] } });
    expect(moved.record.error).toBeUndefined();
    expect(moved.sent.map((s) => [s.id, s.action])).toEqual([[fresh.id.toLowerCase(), "Insert"]]);
    // The ledger was kept: the next complete read departs the second subscription (its path kept) and removes p2.
    const complete = await passWith([all[0]!, fresh], state, async () => new Set([SUBS[0]!]));
    expect(complete.record.incomplete).toBeUndefined();
    expect(complete.record).toMatchObject({ removed: 1, subscriptions: { membersKnown: true, departed: { [SUBS[1]!]: expect.any(String) } } });
    expect(complete.sent.map((s) => [s.id, s.action])).toEqual([[all[1]!.id.toLowerCase(), "Remove"]]);
  });

  it("the runner passes what the reader knows to each pass: the subscriptions it read and whether its read was complete", async () => {
    const state = new MemoryStateStore();
    const records = [path(SUBS[0]!, 1), path(SUBS[1]!, 2)];
    const read = async function* (): AsyncGenerator<SourceRecord> {
      for (const record of records) yield { dataType: "attackPath", scope: GROUP, record };
    };
    const asked: string[] = [];
    // A snapshot source exports no removals: its pass needs only the subscriptions its read went through.
    const snapshots = parseExportConfiguration({
      reader: "resourceGraph",
      scopes: [GROUP],
      managementGroupUnits: 1,
      sources: [{ eventSource: "AttackPathsSnapshot" }],
      actions: [{ actionType: "Internal" }],
    });
    if (!snapshots.ok) throw new Error(JSON.stringify(snapshots.errors));
    const run = (incomplete?: string) =>
      runConfiguration({
        configurationName: "mg",
        configuration: snapshots.configuration,
        snapshot: true,
        read,
        // Members asked again would say nobody: the pass must use those the read went through.
        scopeSubscriptions: async () => {
          asked.push("members");
          return new Set();
        },
        subscriptionsRead: () => new Set(SUBS),
        incompleteRead: () => incomplete,
        sinks: [recordingSink()],
        state,
      });
    const [first] = await run();
    expect(first).toMatchObject({ mode: "snapshot", changed: 2, subscriptions: { membersKnown: true, departed: {} } });
    expect(asked).toEqual([]);
    const [second] = await run("the listing of attackPath moved while it was read (…): removals wait for a complete read");
    expect(second).toMatchObject({ incomplete: "the listing of attackPath moved while it was read (…): removals wait for a complete read", subscriptions: { membersKnown: false } });
  });
});
