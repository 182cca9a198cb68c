import { z } from "zod";
import { managementGroupOf, unitOf } from "../config/automation.js";
import type { EventSource } from "../config/enums.js";
import { isSnapshotSource } from "../datatypes/registry.js";
import type { PassRecord } from "../engine/pass.js";

/** A subscription's state in a management group's export, worst first. */
export const SUBSCRIPTION_STATUSES = ["failing", "waiting", "stalled", "not yet run", "departed", "flowing"] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** Which page of a group's subscriptions status shows. */
export const groupPageSchema = z.object({
  top: z.number().int().min(1).max(1000),
  skip: z.number().int().min(0),
  status: z.enum(SUBSCRIPTION_STATUSES).optional(),
});
export type GroupPage = z.infer<typeof groupPageSchema>;
export const DEFAULT_GROUP_PAGE: GroupPage = { top: 100, skip: 0 };

/** One unit pass key's recent passes (newest first, skipped ones left out). */
export interface UnitPasses {
  scope: string;
  eventSource: EventSource;
  passes: readonly PassRecord[];
}

export interface SubscriptionRow {
  subscriptionId: string;
  unit: string;
  status: SubscriptionStatus;
  /** Why it is not flowing, per source. */
  reasons: string[];
  /** The least recent of its sources' last successful passes: how far behind it can be. */
  lastSuccessfulPassAt: string | null;
  secondsSinceLastSuccessfulPass: number | null;
  /** Per source, the records its last successful pass read of it. */
  recordsRead: Partial<Record<EventSource, number>>;
  departedAt?: string;
  keptUntil?: string;
}

export interface GroupStatus {
  scope: string;
  units: number;
  summary: Record<SubscriptionStatus, number> & { subscriptions: number };
  subscriptions: { value: SubscriptionRow[]; skip: number; top: number; matching: number; nextSkip: number | null };
}

const RANK = new Map(SUBSCRIPTION_STATUSES.map((s, i) => [s, i]));

/**
 * A management group's export per subscription, from its unit passes' records: each subscription takes the
 * worst of its sources (a failing or waiting last pass of its unit, no success within three cadences of its
 * schedule, the streaming one or the snapshots', none yet, or out of the group while its state is kept),
 * worst first, one page of them.
 */
export function groupStatus(
  group: string,
  keys: readonly UnitPasses[],
  options: { cadenceSeconds: number; snapshotCadenceSeconds: number; retentionDays: number; now: Date; page: GroupPage },
): GroupStatus {
  const now = options.now.getTime();
  const since = (at: string) => Math.round((now - Date.parse(at)) / 1000);
  let units = 0;
  // Per unit: its keys, who is in it (any source's latest report says so) and who left.
  const byUnit = new Map<string, { name: string; keys: UnitPasses[]; members: Set<string>; departed: Map<string, string> }>();
  for (const key of keys) {
    const unit = unitOf(key.scope);
    if (unit === undefined || managementGroupOf(key.scope) !== managementGroupOf(group)) continue;
    units = unit.count;
    const scope = key.scope.toLowerCase();
    let entry = byUnit.get(scope);
    if (entry === undefined) byUnit.set(scope, (entry = { name: `${unit.index + 1}-of-${unit.count}`, keys: [], members: new Set(), departed: new Map() }));
    entry.keys.push(key);
    // A failed pass reports the ledger's members: a source whose first pass failed still tells nothing.
    const report = key.passes.find((p) => p.subscriptions !== undefined)?.subscriptions;
    for (const subscription of Object.keys(report?.read ?? {})) entry.members.add(subscription);
    for (const [subscription, at] of Object.entries(report?.departed ?? {})) {
      const earlier = entry.departed.get(subscription);
      if (earlier === undefined || at < earlier) entry.departed.set(subscription, at);
    }
  }
  // subscription → its unit, and what each source of the unit says of it.
  const rows = new Map<string, { unit: string; sources: { eventSource: EventSource; status: SubscriptionStatus; reason?: string; lastSuccess?: string; read?: number; departedAt?: string }[] }>();
  for (const entry of byUnit.values()) {
    for (const subscription of new Set([...entry.members, ...entry.departed.keys()])) {
      const row = { unit: entry.name, sources: [] as NonNullable<ReturnType<typeof rows.get>>["sources"] };
      rows.set(subscription, row);
      const departedAt = entry.members.has(subscription) ? undefined : entry.departed.get(subscription);
      for (const key of entry.keys) {
        const latest = key.passes[0];
        // A pass stopped at its deadline read only part of its unit: not a success until one reads it all.
        const lastSuccess = key.passes.find((p) => p.error === undefined && p.stopped === undefined);
        const read = lastSuccess?.subscriptions?.read[subscription];
        const base = { eventSource: key.eventSource, ...(lastSuccess ? { lastSuccess: lastSuccess.finishedAt } : {}), ...(read !== undefined ? { read } : {}) };
        if (departedAt !== undefined) row.sources.push({ ...base, status: "departed", departedAt });
        else if (latest?.error !== undefined && latest.retry === undefined) row.sources.push({ ...base, status: "failing", reason: `${key.eventSource}: ${latest.error}` });
        else if (latest?.error !== undefined) row.sources.push({ ...base, status: "waiting", reason: `${key.eventSource}: ${latest.error}; tried again at ${latest.retry!.at}` });
        else if (lastSuccess === undefined && latest?.stopped !== undefined)
          row.sources.push({ ...base, status: "stalled", reason: `${key.eventSource}: no pass has read the whole unit yet (the last stopped at its time limit)` });
        else if (lastSuccess === undefined) row.sources.push({ ...base, status: "not yet run" });
        else if (since(lastSuccess.finishedAt) > 3 * (isSnapshotSource(key.eventSource) ? options.snapshotCadenceSeconds : options.cadenceSeconds))
          row.sources.push({ ...base, status: "stalled", reason: `${key.eventSource}: no successful pass since ${lastSuccess.finishedAt}` });
        // Flowing, but what its read could not tell (removals) waits: said beside it.
        else row.sources.push({ ...base, status: "flowing", ...(latest?.incomplete !== undefined ? { reason: `${key.eventSource}: ${latest.incomplete}` } : {}) });
      }
    }
  }
  const all: SubscriptionRow[] = [...rows].map(([subscriptionId, { unit, sources }]) => {
    const status = sources.reduce<SubscriptionStatus>((worst, s) => (RANK.get(s.status)! < RANK.get(worst)! ? s.status : worst), sources.length === 0 ? "not yet run" : "flowing");
    const successes = sources.map((s) => s.lastSuccess);
    const oldest = successes.length === 0 || successes.includes(undefined) ? undefined : (successes as string[]).sort()[0];
    const departedAt = sources.find((s) => s.departedAt !== undefined)?.departedAt;
    return {
      subscriptionId,
      unit,
      status,
      reasons: sources.flatMap((s) => (s.reason === undefined ? [] : [s.reason])),
      lastSuccessfulPassAt: oldest ?? null,
      secondsSinceLastSuccessfulPass: oldest === undefined ? null : since(oldest),
      recordsRead: Object.fromEntries(sources.flatMap((s) => (s.read === undefined ? [] : [[s.eventSource, s.read]]))),
      ...(departedAt !== undefined ? { departedAt, keptUntil: new Date(Date.parse(departedAt) + options.retentionDays * 86_400_000).toISOString() } : {}),
    };
  });
  all.sort((a, b) => RANK.get(a.status)! - RANK.get(b.status)! || (a.subscriptionId < b.subscriptionId ? -1 : a.subscriptionId > b.subscriptionId ? 1 : 0));
  const summary = Object.assign(Object.fromEntries(SUBSCRIPTION_STATUSES.map((s) => [s, 0])) as Record<SubscriptionStatus, number>, { subscriptions: all.length });
  for (const row of all) summary[row.status]++;
  const { top, skip } = options.page;
  const matching = options.page.status === undefined ? all : all.filter((r) => r.status === options.page.status);
  return {
    scope: group,
    units,
    summary,
    subscriptions: { value: matching.slice(skip, skip + top), skip, top, matching: matching.length, nextSkip: skip + top < matching.length ? skip + top : null },
  };
}
