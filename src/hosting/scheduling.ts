import type { ExportConfiguration } from "../config/model.js";
import { configurationPassScopes } from "../config/automation.js";
import type { PassKey } from "../state/store.js";
import { passRecordSchema, readerOptions, runPass, type PassRecord } from "../engine/pass.js";
import { runConfiguration, snapshotDue } from "../engine/runner.js";
import { isSnapshotSource } from "../datatypes/registry.js";
import { recordInvalidConfigurations, recordPassMetrics } from "../telemetry/metrics.js";
import type { InvalidConfiguration, StoredConfiguration } from "./configurations.js";
import type { ExportContext } from "./context.js";
import type { PassMessage } from "./queue.js";

/** What a timer queued, and the configurations it skipped because they no longer validate. */
export interface Enqueued {
  queued: number;
  invalid: InvalidConfiguration[];
  /** Why DEFENDER_EXPORT_INITIAL_CONFIGURATION could not be stored, when it could not. */
  initialConfiguration?: string;
}

/** How long after start-up (or a configuration's creation) a refused access is taken for roles still spreading. */
const ROLES_APPLY_MS = 30 * 60_000;

/** Passes: which ones a configuration runs, queued by the timers and on request, and run now or from the queue. */
export class PassScheduler {
  readonly #context: ExportContext;
  readonly #startedAt: number;

  constructor(context: ExportContext) {
    this.#context = context;
    this.#startedAt = context.now().getTime();
  }

  /** The passes a configuration runs; none without an action (a pass would move the state with nothing sent). */
  keys(name: string, configuration: ExportConfiguration): PassKey[] {
    if (configuration.actions.length === 0) return [];
    return configurationPassScopes(configuration).flatMap((scope) => configuration.sources.map((s) => ({ configuration: name, scope, eventSource: s.eventSource })));
  }

  /**
   * Streaming passes now (snapshot sources only when due), within `seconds` (the host's time limit at
   * most): a pass that reaches it saves where it is, and the next one goes on.
   */
  async runNow(stored: StoredConfiguration, options: { seconds?: number; onPass?: (record: PassRecord) => void } = {}): Promise<PassRecord[]> {
    const context = this.#context;
    const { name, configuration } = stored;
    const sinks = context.sinks(name, configuration);
    try {
      return await runConfiguration({
        configurationName: name,
        configuration,
        ...this.#generation(stored),
        ...readerOptions(context.reader()),
        sinks,
        state: context.state,
        ...(context.settings.tenantId ? { tenantId: context.settings.tenantId } : {}),
        onPass: (record) => {
          recordPassMetrics(record);
          options.onPass?.(record);
        },
        passOptions: { deadline: this.#deadline(options.seconds) },
      });
    } finally {
      await Promise.all(sinks.map((s) => s.close()));
    }
  }

  /** A snapshot of every source, queued: one message per (scope, source). */
  async requestSnapshot(name: string, configuration: ExportConfiguration): Promise<PassMessage[]> {
    const queued = this.keys(name, configuration).map((key) => message(key, "request", this.#context.now(), true));
    for (const m of queued) await this.#context.queue.send(m);
    return queued;
  }

  /** The streaming timer: one message per (configuration, scope, streaming source) of every enabled configuration. */
  enqueueStreaming(): Promise<Enqueued> {
    return this.#enqueue("timer", async (key) => !isSnapshotSource(key.eventSource));
  }

  /** The snapshot timer: one message per snapshot source whose configuration's schedule says it is due. */
  enqueueDueSnapshots(): Promise<Enqueued> {
    const context = this.#context;
    return this.#enqueue(
      "snapshot-timer",
      async (key, configuration) => isSnapshotSource(key.eventSource) && snapshotDue(configuration.snapshotSchedule, await context.state.snapshotAt(key), context.now()),
    );
  }

  /** A configuration that no longer validates is skipped and reported; the others go on. */
  async #enqueue(reason: PassMessage["reason"], wanted: (key: PassKey, configuration: ExportConfiguration) => Promise<boolean>): Promise<Enqueued> {
    const out: Enqueued = { queued: 0, invalid: [] };
    for await (const listed of this.#context.configurations.list()) {
      if (!listed.valid) {
        out.invalid.push(listed.invalid);
        continue;
      }
      const { name, configuration } = listed.stored;
      if (!configuration.isEnabled) continue;
      for (const key of this.keys(name, configuration)) {
        if (!(await wanted(key, configuration))) continue;
        await this.#context.queue.send(message(key, reason, this.#context.now()));
        out.queued++;
      }
    }
    recordInvalidConfigurations(out.invalid.length);
    return out;
  }

  /** The queue worker: one pass. A configuration deleted, disabled or no longer valid since the message was sent is skipped. */
  async runMessage(m: PassMessage): Promise<PassRecord | undefined> {
    const context = this.#context;
    const listed = await context.configurations.find(m.configuration);
    // The timers report an invalid one.
    if (listed === undefined || !listed.valid || !listed.stored.configuration.isEnabled) return undefined;
    const stored = listed.stored;
    const configuration = stored.configuration;
    if (configuration.actions.length === 0 || !configuration.sources.some((s) => s.eventSource === m.eventSource) || !configurationPassScopes(configuration).includes(m.scope)) return undefined;
    const sinks = context.sinks(m.configuration, configuration);
    try {
      const record = await runPass({
        configurationName: m.configuration,
        configuration,
        ...this.#generation(stored),
        scope: m.scope,
        eventSource: m.eventSource,
        ...readerOptions(context.reader()),
        sinks,
        state: context.state,
        baseline: configuration.baselineSnapshot,
        deadline: this.#deadline(),
        ...(m.snapshot ? { snapshot: true } : {}),
        ...(context.settings.tenantId ? { tenantId: context.settings.tenantId } : {}),
        now: context.now,
        beforeRecord: (record) => this.#retryWhileRolesApply(m, stored, record),
      });
      recordPassMetrics(record);
      return record;
    } finally {
      await Promise.all(sinks.map((s) => s.close()));
    }
  }

  #deadline(seconds = Infinity): Date {
    return new Date(this.#context.now().getTime() + Math.min(seconds, this.#context.settings.passTimeLimitSeconds) * 1000);
  }

  /** A pass runs for this generation of the configuration, and stops when it is gone. */
  #generation(stored: StoredConfiguration): { generation?: string; stillCurrent: () => Promise<boolean> } {
    return {
      ...(stored.generation !== undefined ? { generation: stored.generation } : {}),
      stillCurrent: async () => {
        const now = await this.#context.configurations.generation(stored.name);
        return now.exists && now.generation === stored.generation;
      },
    };
  }

  /**
   * Access refused (401, 403) soon after the app started or the configuration was created is taken for role
   * assignments still spreading (Azure documents up to 30 minutes): the pass is queued again with a growing
   * delay instead of failing until the next timer, and status says it waits. The message itself completes,
   * so that it never goes toward the poison queue for this. A refusal that has lasted longer than that (the
   * source's pass records say since when) is a failure, however recently an instance started.
   */
  async #retryWhileRolesApply(m: PassMessage, stored: StoredConfiguration, record: PassRecord): Promise<void> {
    if (!refused(record)) return;
    const context = this.#context;
    const now = context.now().getTime();
    const since = Math.max(this.#startedAt, stored.createdAt === undefined ? 0 : Date.parse(stored.createdAt));
    if (now - since > ROLES_APPLY_MS) return;
    const key = { configuration: m.configuration, scope: m.scope, eventSource: m.eventSource };
    let refusedSince = Date.parse(record.startedAt);
    for (const earlier of await context.state.recentPasses(key, 20).catch(() => [])) {
      const parsed = passRecordSchema.safeParse(earlier);
      if (!parsed.success || (parsed.data.skipped === undefined && !refused(parsed.data))) break;
      if (parsed.data.skipped === undefined) refusedSince = Math.min(refusedSince, Date.parse(parsed.data.startedAt));
    }
    if (now - refusedSince > ROLES_APPLY_MS) return;
    const attempt = (m.retry ?? 0) + 1;
    const delaySeconds = Math.min(30 * 2 ** (attempt - 1), 300);
    await context.queue.send({ ...m, retry: attempt, enqueuedAt: new Date(now).toISOString() }, delaySeconds);
    record.retry = {
      at: new Date(now + delaySeconds * 1000).toISOString(),
      attempt,
      reason: `access refused (HTTP ${record.errorStatus}) within ${ROLES_APPLY_MS / 60_000} minutes of the app's start or the configuration's creation: role assignments can take that long to apply`,
    };
  }
}

const refused = (record: Pick<PassRecord, "errorStatus">) => record.errorStatus === 401 || record.errorStatus === 403;

function message(key: PassKey, reason: PassMessage["reason"], now: Date, snapshot = false): PassMessage {
  return { configuration: key.configuration, scope: key.scope, eventSource: key.eventSource, ...(snapshot ? { snapshot: true } : {}), reason, enqueuedAt: now.toISOString() };
}
