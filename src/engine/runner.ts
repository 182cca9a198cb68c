import { Cron } from "croner";
import type { ExportConfiguration } from "../config/model.js";
import { configurationPassScopes, managementGroupOf } from "../config/automation.js";
import type { StateStore } from "../state/store.js";
import type { Sink } from "../destinations/sink.js";
import { isSnapshotSource } from "../datatypes/registry.js";
import { runPass, type PassOptions, type PassRecord } from "./pass.js";

export interface RunOptions {
  configurationName: string;
  configuration: ExportConfiguration;
  /** The records of a source at a scope, from a stopped pass's cursor when one goes on (see PassOptions.read). */
  read: PassOptions["read"];
  /** The members of a management group scope (see PassOptions.scopeSubscriptions). */
  scopeSubscriptions?: PassOptions["scopeSubscriptions"];
  /** The subscriptions of a management group scope the read went through (see PassOptions.subscriptionsRead). */
  subscriptionsRead?: PassOptions["subscriptionsRead"];
  /** Why a read is incomplete (see PassOptions.incompleteRead). */
  incompleteRead?: PassOptions["incompleteRead"];
  sinks: readonly Sink[];
  state: StateStore;
  /** On demand: a snapshot of every source now, whatever the schedule. */
  snapshot?: boolean;
  now?: () => Date;
  tenantId?: string;
  onPass?: (record: PassRecord) => void;
  passOptions?: Partial<PassOptions>;
  /** The configuration's generation, and whether it is still current (see PassOptions). */
  generation?: string;
  stillCurrent?: () => Promise<boolean>;
}

/** Whether a snapshot is due: never sent, or not since the schedule's last occurrence. */
export function snapshotDue(schedule: string, lastSnapshotAt: string | undefined, now: Date): boolean {
  if (lastSnapshotAt === undefined) return true;
  // previousRuns excludes the instant itself: a timer that fires right on the occurrence must find it due.
  const previous = new Cron(schedule, { paused: true, timezone: "UTC" }).previousRuns(1, new Date(now.getTime() + 1))[0];
  return previous !== undefined && Date.parse(lastSnapshotAt) < previous.getTime();
}

/**
 * Runs the passes a configuration needs now: every streaming source, and every snapshot source whose
 * snapshot is due (or all, on demand). One (scope, source) after another; each holds its own lease.
 */
export async function runConfiguration(options: RunOptions): Promise<PassRecord[]> {
  const now = options.now ?? (() => new Date());
  const records: PassRecord[] = [];
  if (!options.configuration.isEnabled) return records;
  await forgetOtherUnits(options.state, options.configurationName, options.configuration);
  for (const scope of configurationPassScopes(options.configuration)) {
    for (const source of options.configuration.sources) {
      if (isSnapshotSource(source.eventSource) && !options.snapshot) {
        // From the state blob's metadata, as the snapshot timer reads it: the state itself is not downloaded.
        const snapshotAt = await options.state.snapshotAt({ configuration: options.configurationName, scope, eventSource: source.eventSource });
        if (!snapshotDue(options.configuration.snapshotSchedule, snapshotAt, now())) continue;
      }
      const record = await runPass({
        configurationName: options.configurationName,
        configuration: options.configuration,
        scope,
        eventSource: source.eventSource,
        read: options.read,
        ...(options.scopeSubscriptions ? { scopeSubscriptions: options.scopeSubscriptions } : {}),
        ...(options.subscriptionsRead ? { subscriptionsRead: options.subscriptionsRead } : {}),
        ...(options.incompleteRead ? { incompleteRead: options.incompleteRead } : {}),
        sinks: options.sinks,
        state: options.state,
        baseline: options.configuration.baselineSnapshot,
        ...(options.snapshot ? { snapshot: true } : {}),
        ...(options.tenantId ? { tenantId: options.tenantId } : {}),
        ...(options.now ? { now: options.now } : {}),
        ...(options.generation !== undefined ? { generation: options.generation } : {}),
        ...(options.stillCurrent ? { stillCurrent: options.stillCurrent } : {}),
        ...options.passOptions,
      });
      records.push(record);
      options.onPass?.(record);
    }
  }
  return records;
}

/**
 * A management group's units the configuration does not have (of another number, or of a group it no longer names:
 * `groupsBefore`) hold what they knew then: should it come back to them, they must start from a baseline, not from
 * then. Called when a configuration is stored, and when one runs (the CLI reads its configuration from a file).
 */
export async function forgetOtherUnits(
  state: StateStore,
  name: string,
  configuration: Pick<ExportConfiguration, "scopes" | "managementGroupUnits">,
  groupsBefore: readonly string[] = [],
): Promise<void> {
  const current = new Set(configurationPassScopes(configuration).map((s) => s.toLowerCase()));
  const groups = new Set([...configuration.scopes.map((s) => s.scopePath), ...groupsBefore].filter((p) => managementGroupOf(p) !== undefined));
  for (const group of groups) {
    const stale = (await state.storedUnits(name, group)).filter((s) => !current.has(s));
    if (stale.length > 0) await state.forget(name, stale);
  }
}
