import { Cron } from "croner";
import { actionKey } from "../config/action-key.js";
import { managementGroupOf, unitOf } from "../config/automation.js";
import { DEFAULT_DEPARTED_SUBSCRIPTION_RETENTION_DAYS, type ExportConfiguration } from "../config/model.js";
import type { PassKey } from "../state/store.js";
import type { Backoff } from "../destinations/delivery.js";
import { passRecordSchema, type PassRecord } from "../engine/pass.js";
import { checkName } from "./admission.js";
import { DEFAULT_GROUP_PAGE, groupStatus, type GroupPage } from "./group-status.js";
import type { ExportContext } from "./context.js";
import { notFound } from "./problem.js";

export async function configurationStatus(
  context: ExportContext,
  keys: (name: string, configuration: ExportConfiguration) => PassKey[],
  name: string,
  page: GroupPage = DEFAULT_GROUP_PAGE,
): Promise<Record<string, unknown>> {
  checkName(name);
  const listed = await context.configurations.find(name);
  if (listed === undefined) throw notFound(`there is no export configuration named ${name}`);
  if (!listed.valid) {
    return {
      name,
      enabled: null,
      valid: false,
      errors: listed.invalid.errors,
      updatedAt: listed.invalid.updatedAt ?? null,
      flow: { status: "invalid", failing: [`the stored configuration no longer validates; no pass runs until it is corrected (PUT) or deleted`] },
    };
  }
  const stored = listed.stored;
  const now = context.now();
  const cadence = cadenceSeconds(context.settings.streamSchedule, now);
  const sources = await Promise.all(
    keys(name, stored.configuration).map(async (key) => {
      const [stored, running, snapshotAt] = await Promise.all([context.state.recentPasses(key, 5), context.state.running(key), context.state.snapshotAt(key)]);
      const passes = stored.flatMap((p) => {
        const parsed = passRecordSchema.safeParse(p);
        return parsed.success ? [parsed.data as PassRecord] : [];
      });
      return { scope: key.scope, eventSource: key.eventSource, snapshotAt: snapshotAt ?? null, running: running ?? null, passes };
    }),
  );
  const all = sources.flatMap((s) => s.passes).filter((p) => p.skipped === undefined);
  const latest = (pick: (p: PassRecord) => boolean) => all.filter(pick).reduce<string | undefined>((m, p) => (m === undefined || p.finishedAt > m ? p.finishedAt : m), undefined);
  const lastPassAt = latest(() => true);
  const lastSuccessAt = latest((p) => p.error === undefined);
  const lastDeliveryAt = latest((p) => p.error === undefined && Object.values(p.actions).some((a) => a.sent > 0));
  const [deadLetters, poison, actions] = await Promise.all([deadLetterCount(context, name, stored.configuration), context.queue.poisoned(), actionHealth(context, stored.configuration)]);
  // A pass that failed, and a destination backed off (its records go to dead letters untried): both are failing.
  // A pass refused access while roles apply, and tried again soon, is waiting.
  const lastFailed = sources.filter((s) => s.passes[0] !== undefined && s.passes[0].skipped === undefined && s.passes[0].error !== undefined);
  const failing = [
    ...lastFailed.filter((s) => s.passes[0]!.retry === undefined).map((s) => `${s.eventSource} ${s.scope}: ${s.passes[0]!.error}`),
    ...actions.flatMap((a) => a.backedOff.map((b) => `${a.actionKey} ${b.lane}: backed off until ${b.until} after: ${b.reason}`)),
  ];
  const waiting = lastFailed
    .filter((s) => s.passes[0]!.retry !== undefined)
    .map((s) => `${s.eventSource} ${s.scope}: ${s.passes[0]!.error}; ${s.passes[0]!.retry!.reason}; tried again at ${s.passes[0]!.retry!.at}`);
  const since = (at: string | undefined) => (at === undefined ? null : Math.round((now.getTime() - Date.parse(at)) / 1000));
  const flowing =
    lastPassAt === undefined
      ? "not yet run"
      : failing.length > 0
        ? "failing"
        : waiting.length > 0
          ? "waiting"
          : lastSuccessAt !== undefined && since(lastSuccessAt)! <= 3 * cadence
            ? "flowing"
            : "stalled";
  // A management group's units are summarised per subscription; their passes are listed without the per-subscription detail.
  const groups = stored.configuration.scopes
    .filter((s) => managementGroupOf(s.scopePath) !== undefined)
    .map((s) =>
      groupStatus(
        s.scopePath,
        sources.map((k) => ({ scope: k.scope, eventSource: k.eventSource, passes: k.passes.filter((p) => p.skipped === undefined) })),
        {
          cadenceSeconds: cadence,
          snapshotCadenceSeconds: cadenceSeconds(stored.configuration.snapshotSchedule, now),
          retentionDays: stored.configuration.departedSubscriptionRetentionDays ?? DEFAULT_DEPARTED_SUBSCRIPTION_RETENTION_DAYS,
          now,
          page,
        },
      ),
    );
  return {
    name,
    enabled: stored.configuration.isEnabled,
    valid: true,
    updatedAt: stored.updatedAt,
    flow: {
      status: flowing,
      expectedCadenceSeconds: cadence,
      lastPassAt: lastPassAt ?? null,
      lastSuccessfulPassAt: lastSuccessAt ?? null,
      lastDeliveryAt: lastDeliveryAt ?? null,
      secondsSinceLastSuccessfulPass: since(lastSuccessAt),
      secondsSinceLastDelivery: since(lastDeliveryAt),
      failing,
      waiting,
    },
    actions,
    deadLetters,
    poisonMessages: poison.filter((p) => p.message === undefined || p.message.configuration === name),
    ...(groups.length > 0 ? { managementGroups: groups } : {}),
    // A unit's latest pass only: a group of 64 units has 64 keys a source.
    sources: sources.map((k) => ({ ...k, passes: (unitOf(k.scope) === undefined ? k.passes : k.passes.slice(0, 1)).map(({ subscriptions: _, ...p }) => p) })),
  };
}

/** Each action's destination, and its backoff when deliveries to it failed (shared by every configuration sending there). */
async function actionHealth(context: ExportContext, configuration: ExportConfiguration): Promise<{ actionKey: string; actionType: string; backedOff: Backoff[] }[]> {
  const now = context.now().getTime();
  return Promise.all(
    configuration.actions.map(async (action) => {
      const key = actionKey(action);
      const backoffs = await context.backoff.list(key).catch(() => []);
      return { actionKey: key, actionType: action.actionType, backedOff: backoffs.filter((b) => Date.parse(b.until) > now) };
    }),
  );
}

async function deadLetterCount(context: ExportContext, name: string, configuration: ExportConfiguration): Promise<{ count: number; byAction: Record<string, number> }> {
  const byAction: Record<string, number> = {};
  let count = 0;
  for (const action of configuration.actions) {
    const key = actionKey(action);
    byAction[key] = await context.deadLetters.countRecords({ configuration: name, actionKey: key });
    count += byAction[key];
  }
  return { count, byAction };
}

/** Seconds between the schedule's next two occurrences: how often passes are expected. */
export function cadenceSeconds(schedule: string, now: Date): number {
  const [a, b] = new Cron(schedule, { paused: true, timezone: "UTC" }).nextRuns(2, now);
  return a && b ? Math.round((b.getTime() - a.getTime()) / 1000) : 300;
}
