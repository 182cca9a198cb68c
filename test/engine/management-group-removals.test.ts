import { describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";
import type { Sink } from "../../src/destinations/sink.js";
import { runPass } from "../../src/engine/pass.js";
import type { OutgoingRecord } from "../../src/records/record.js";
import type { SourceRecord } from "../../src/sources/reader.js";
import { MemoryStateStore } from "../helpers/memory-state.js";

// Removals in a management group scope depend on who is in the group: without that answer, none are made.

const GROUP = "/providers/Microsoft.Management/managementGroups/mg-test";
const SUBS = ["00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"];
const path = (sub: string, i: number) => ({
  id: `/subscriptions/${sub}/providers/Microsoft.Security/attackPaths/p${i}`,
  name: `p${i}`,
  type: "microsoft.security/attackpaths",
  properties: { riskLevel: "High" },
});

function recordingSink(): Sink & { sent: OutgoingRecord[] } {
  const sent: OutgoingRecord[] = [];
  let pending: OutgoingRecord[] = [];
  return {
    sent,
    actionKey: "memory",
    description: "memory",
    write: async (input) => void pending.push(input),
    flush: async () => {
      sent.push(...pending);
      const n = pending.length;
      pending = [];
      return { sent: n, cut: 0, deadLettered: 0, requests: n > 0 ? 1 : 0, failures: [] };
    },
    resend: async () => ({ failed: [] }),
    close: async () => undefined,
  };
}

describe("removals in a management group scope", () => {
  const parsed = parseExportConfiguration({ reader: "resourceGraph", scopes: [GROUP], sources: [{ eventSource: "AttackPaths" }], actions: [{ actionType: "Internal" }] });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const configuration = parsed.configuration;

  async function passWith(records: Record<string, unknown>[], state: MemoryStateStore, members: () => Promise<ReadonlySet<string>>) {
    const sink = recordingSink();
    const read = async function* (): AsyncGenerator<SourceRecord> {
      for (const record of records) yield { dataType: "attackPath", scope: GROUP, record };
    };
    const record = await runPass({ configurationName: "mg", configuration, scope: GROUP, eventSource: "AttackPaths", read, scopeSubscriptions: members, sinks: [sink], state });
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
});
