import { actionKey } from "../config/action-key.js";
import { toPublicConfiguration } from "../config/public.js";
import type { Problem } from "../config/model.js";
import { forgetOtherUnits } from "../engine/runner.js";
import type { BlobStateStore } from "../state/blob-store.js";
import { replayDeadLetters, type ReplayReport } from "../destinations/replay.js";
import type { BlobBackoffStore } from "../destinations/delivery.js";
import type { BlobDeadLetterStore } from "../destinations/dead-letter.js";
import type { PassRecord } from "../engine/pass.js";
import { admit, checkName, requireRunnable, storeProblem } from "./admission.js";
import { InvalidStoredConfigurationError, type ConfigurationStore, type InvalidConfiguration, type StoredConfiguration } from "./configurations.js";
import { ExportContext, type ContextDependencies } from "./context.js";
import { healthOf, type Health } from "./health.js";
import { fromArray, liveRecords, previewRecords } from "./preview.js";
import { badRequest, notFound, ProblemError } from "./problem.js";
import type { PassMessage, PassQueue } from "./queue.js";
import { PassScheduler, type Enqueued } from "./scheduling.js";
import type { AppSettings } from "./settings.js";
import type { GroupPage } from "./group-status.js";
import { configurationStatus } from "./status.js";
import { parseJson } from "../shared/json.js";
import { onceUntilRejected } from "../shared/once.js";

export type ServiceDependencies = ContextDependencies;

/**
 * What the hosts do, without the hosts: configurations, passes now or queued, previews, status and dead
 * letters. The Functions handlers and the local host call this and nothing below it.
 */
export class ExportService {
  readonly context: ExportContext;
  readonly #scheduler: PassScheduler;

  constructor(deps: ServiceDependencies | ExportContext) {
    this.context = deps instanceof ExportContext ? deps : new ExportContext(deps);
    this.#scheduler = new PassScheduler(this.context);
  }

  get settings(): AppSettings {
    return this.context.settings;
  }
  get configurations(): ConfigurationStore {
    return this.context.configurations;
  }
  get state(): BlobStateStore {
    return this.context.state;
  }
  get deadLetters(): BlobDeadLetterStore {
    return this.context.deadLetters;
  }
  get backoff(): BlobBackoffStore {
    return this.context.backoff;
  }
  get queue(): PassQueue {
    return this.context.queue;
  }

  // Configurations

  /** Every configuration; those that no longer validate are listed apart, with why. */
  async list(): Promise<{ value: Record<string, unknown>[]; invalid: InvalidConfiguration[] }> {
    const value: Record<string, unknown>[] = [];
    const invalid: InvalidConfiguration[] = [];
    for await (const listed of this.configurations.list()) {
      if (listed.valid) value.push(describe(listed.stored));
      else invalid.push(listed.invalid);
    }
    return { value, invalid };
  }

  async get(name: string): Promise<StoredConfiguration> {
    checkName(name);
    let stored: StoredConfiguration | undefined;
    try {
      stored = await this.configurations.get(name);
    } catch (e) {
      if (e instanceof InvalidStoredConfigurationError) {
        throw new ProblemError(409, "Conflict", `the stored export configuration ${name} no longer validates: PUT a corrected one, or DELETE it`, e.invalid.errors);
      }
      throw e;
    }
    if (stored === undefined) throw notFound(`there is no export configuration named ${name}`);
    return stored;
  }

  /** Validates any configuration form and stores it; nothing is stored when anything is wrong. */
  async put(name: string, body: unknown, conditions: { ifMatch?: string; create?: boolean }): Promise<{ stored: StoredConfiguration; created: boolean; warnings: Problem[] }> {
    checkName(name);
    const { configuration, warnings } = admit(body, this.context);
    const before = await this.configurations.find(name).catch(() => undefined);
    let result: { stored: StoredConfiguration; created: boolean; warnings: Problem[] };
    try {
      const { created, ...stored } = await this.configurations.put(name, configuration, conditions);
      result = { stored, created, warnings };
    } catch (e) {
      throw storeProblem(e, warnings);
    }
    // Units it no longer has (their number changed, or the group went) start afresh should it come back to them.
    const groupsBefore = before?.valid ? before.stored.configuration.scopes.map((s) => s.scopePath) : [];
    await forgetOtherUnits(this.state, name, configuration, groupsBefore).catch(() => undefined);
    return result;
  }

  async delete(name: string, ifMatch?: string): Promise<boolean> {
    checkName(name);
    try {
      const deleted = await this.configurations.delete(name, ifMatch);
      if (deleted) await this.state.forget(name);
      return deleted;
    } catch (e) {
      throw storeProblem(e);
    }
  }

  /**
   * Stores DEFENDER_EXPORT_INITIAL_CONFIGURATION under its name unless a configuration of that name exists
   * (once per process; a failure is retried on the next call and named, setting included).
   */
  ensureInitialConfiguration(): Promise<void> {
    return this.settings.initialConfiguration === undefined ? Promise.resolve() : this.#seed();
  }

  readonly #seed = onceUntilRejected(async () => {
    const initial = this.settings.initialConfiguration!;
    // One stored under that name, valid or not, is the operator's: never overwritten.
    if ((await this.configurations.find(initial.name)) !== undefined) return;
    const parsed = parseJson(initial.json);
    if (!parsed.ok)
      throw badRequest(`DEFENDER_EXPORT_INITIAL_CONFIGURATION is not JSON`, [
        { path: "DEFENDER_EXPORT_INITIAL_CONFIGURATION", message: `line ${parsed.error.line}, column ${parsed.error.column}: ${parsed.error.reason}` },
      ]);
    try {
      await this.put(initial.name, parsed.value, { create: true });
    } catch (e) {
      if (e instanceof ProblemError && e.status === 412) return; // another instance stored it first
      if (e instanceof ProblemError)
        throw new ProblemError(e.status, e.title, `DEFENDER_EXPORT_INITIAL_CONFIGURATION: ${e.detail}: ${e.errors.map((p) => `${p.path}: ${p.message}`).join("; ")}`, e.errors);
      throw e;
    }
  });

  // Passes

  /** Streaming passes now (snapshot sources only when due), within `seconds` (the host's time limit at most). */
  async runNow(name: string, options: { seconds?: number; onPass?: (record: PassRecord) => void } = {}): Promise<PassRecord[]> {
    const stored = await this.get(name);
    requireRunnable(name, stored.configuration);
    return this.#scheduler.runNow(stored, options);
  }

  /** A snapshot of every source, queued: one message per (scope, source). */
  async requestSnapshot(name: string): Promise<{ queued: PassMessage[] }> {
    const { configuration } = await this.get(name);
    requireRunnable(name, configuration);
    return { queued: await this.#scheduler.requestSnapshot(name, configuration) };
  }

  /** The streaming timer; a bad initial configuration is named, and does not hold back the others. */
  async enqueueStreaming(): Promise<Enqueued> {
    const initial = await this.ensureInitialConfiguration().then(
      () => undefined,
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
    const enqueued = await this.#scheduler.enqueueStreaming();
    return initial === undefined ? enqueued : { ...enqueued, initialConfiguration: initial };
  }

  enqueueDueSnapshots(): Promise<Enqueued> {
    return this.#scheduler.enqueueDueSnapshots();
  }

  runMessage(m: PassMessage): Promise<PassRecord | undefined> {
    return this.#scheduler.runMessage(m);
  }

  // Preview, status, dead letters, health

  /**
   * A dry run: what the configuration would export from the records given (or read live, up to `limit`
   * per source), mapped per destination. Nothing is sent and no state moves.
   */
  async preview(name: string, input: { records?: unknown[]; limit: number; eventHubMaxMessageBytes?: number }): Promise<Record<string, unknown>> {
    const { configuration } = await this.get(name);
    const notices: string[] = [];
    const out: Record<string, unknown>[] = [];
    const records = input.records !== undefined ? fromArray(input.records) : liveRecords(this.context.reader(), configuration, input.limit);
    let total = 0;
    const previews = previewRecords(configuration, records, {
      actions: configuration.actions,
      exportedAt: this.context.now().toISOString(),
      ...(input.eventHubMaxMessageBytes !== undefined ? { eventHubMaxMessageBytes: input.eventHubMaxMessageBytes } : {}),
      notify: (notice, origin) => notices.push(`record ${origin}: ${notice.kind}`),
    });
    for await (const { selected, destinations } of previews) {
      total++;
      if (out.length < input.limit) out.push({ eventSource: selected.eventSource, id: selected.id, destinations });
    }
    return { records: out, selected: total, shown: out.length, notices: notices.slice(0, 100) };
  }

  /** `page`: which of a management group's subscriptions to show (worst first). */
  status(name: string, page?: GroupPage): Promise<Record<string, unknown>> {
    return configurationStatus(this.context, (n, c) => this.#scheduler.keys(n, c), name, page);
  }

  async listDeadLetters(name: string, limit: number): Promise<Record<string, unknown>[]> {
    const { configuration } = await this.get(name);
    const out: Record<string, unknown>[] = [];
    for (const action of configuration.actions) {
      for await (const { name: letterName, letter } of this.deadLetters.list({ configuration: name, actionKey: actionKey(action) })) {
        if (out.length >= limit) return out;
        out.push({
          name: letterName,
          actionKey: letter.actionKey,
          destination: letter.destination,
          reason: letter.reason,
          failedAt: letter.failedAt,
          attempts: letter.attempts,
          records: letter.items.length,
        });
      }
    }
    return out;
  }

  async replay(name: string): Promise<ReplayReport> {
    const { configuration } = await this.get(name);
    const sinks = this.context.sinks(name, configuration);
    try {
      return await replayDeadLetters(this.deadLetters, sinks, { configuration: name });
    } finally {
      await Promise.all(sinks.map((s) => s.close()));
    }
  }

  health(): Promise<Health> {
    return healthOf(this.context, () => this.ensureInitialConfiguration());
  }
}

function describe(stored: StoredConfiguration): Record<string, unknown> {
  return { name: stored.name, etag: stored.etag, updatedAt: stored.updatedAt, configuration: toPublicConfiguration(stored.configuration) };
}
