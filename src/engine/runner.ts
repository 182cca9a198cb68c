import { Cron } from "croner";
import type { EventSource } from "../config/enums.js";
import type { ExportConfiguration } from "../config/model.js";
import type { BlobStateStore } from "../change/state.js";
import type { Sink } from "../destinations/types.js";
import { isSnapshotSource } from "../records/kinds.js";
import type { SourceRecord } from "../sources/reader.js";
import { runPass, type PassOptions, type PassRecord } from "./pass.js";

export interface RunOptions {
  configurationName: string;
  configuration: ExportConfiguration;
  read: (scope: string, eventSource: EventSource) => AsyncIterable<SourceRecord>;
  sinks: readonly Sink[];
  state: BlobStateStore;
  /** On demand: a snapshot of every source now, whatever the schedule. */
  snapshot?: boolean;
  now?: () => Date;
  tenantId?: string;
  onPass?: (record: PassRecord) => void;
  passOptions?: Partial<PassOptions>;
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
  for (const scope of options.configuration.scopes) {
    for (const source of options.configuration.sources) {
      if (source.eventSource === "AttackPaths" || source.eventSource === "AttackPathsSnapshot") continue;
      if (isSnapshotSource(source.eventSource) && !options.snapshot) {
        const state = await options.state.load({ configuration: options.configurationName, scope: scope.scopePath, eventSource: source.eventSource });
        if (!snapshotDue(options.configuration.snapshotSchedule, state.snapshotAt, now())) continue;
      }
      const record = await runPass({
        configurationName: options.configurationName,
        configuration: options.configuration,
        scope: scope.scopePath,
        eventSource: source.eventSource,
        read: options.read,
        sinks: options.sinks,
        state: options.state,
        baseline: options.configuration.baselineSnapshot,
        ...(options.snapshot ? { snapshot: true } : {}),
        ...(options.tenantId ? { tenantId: options.tenantId } : {}),
        ...(options.now ? { now: options.now } : {}),
        ...options.passOptions,
      });
      records.push(record);
      options.onPass?.(record);
    }
  }
  return records;
}
