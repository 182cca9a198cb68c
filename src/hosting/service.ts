import type { TokenCredential } from "@azure/core-auth";
import { Cron } from "croner";
import { actionKey, parseExportConfiguration, toPublicConfiguration, type Action, type ExportConfiguration, type Problem } from "../config/index.js";
import { BlobStateStore, STATE_CONTAINER, type PassKey } from "../change/state.js";
import {
  BACKOFF_CONTAINER,
  BlobBackoffStore,
  BlobDeadLetterStore,
  createSink,
  DEAD_LETTER_CONTAINER,
  OVERFLOW_CONTAINER,
  previewFor,
  replayDeadLetters,
  type Backoff,
  type ReplayReport,
  type RetryPolicy,
  type SdkRetryOptions,
  type Sink,
} from "../destinations/index.js";
import { passRecordSchema, readerSource, runPass, type PassRecord } from "../engine/pass.js";
import { runConfiguration, snapshotDue } from "../engine/runner.js";
import { selectRecords, type SelectedRecord } from "../engine/select.js";
import type { MappingInput } from "../mapping/index.js";
import { EVENT_SOURCE_DATA_TYPE, isReadable, isSnapshotSource } from "../datatypes/index.js";
import { compileConfiguration } from "../rules/index.js";
import { ArmReader } from "../sources/index.js";
import { recordInvalidConfigurations, recordPassMetrics } from "../telemetry/metrics.js";
import {
  CONFIGURATION_NAME,
  CONFIGURATION_TABLE,
  ConfigurationConditionError,
  ConfigurationConflictError,
  ConfigurationLimitError,
  ConfigurationNotStorableError,
  ConfigurationStore,
  ConfigurationTooLargeError,
  InvalidStoredConfigurationError,
  type InvalidConfiguration,
  type StoredConfiguration,
} from "./configurations.js";
import { parseJson } from "../shared/json.js";
import { badRequest, notFound, ProblemError } from "./problem.js";
import { PassQueue, type PassMessage } from "./queue.js";
import type { HostSettings } from "./settings.js";
import type { StorageClients } from "./storage.js";

export interface ServiceDependencies {
  storage: StorageClients;
  settings: HostSettings;
  /** For ARM and for destinations reached with the app's identity. */
  credential: TokenCredential;
  /** App settings, where connectionStringSetting and uriSetting are looked up. */
  appSettings: Readonly<Record<string, string | undefined>>;
  /** The local sandbox: trust its endpoints' certificate. */
  tlsCa?: string;
  /** Retries of deliveries, ours and the SDKs' (the defaults: 3 attempts 2 s apart, over each SDK's own). */
  delivery?: { retry?: RetryPolicy; sdkRetryOptions?: SdkRetryOptions };
  now?: () => Date;
}

/**
 * What the hosts do, without the hosts: configurations, passes now or queued, previews, status and dead
 * letters. The Functions handlers and the local host call this and nothing below it.
 */
export class ExportService {
  readonly configurations: ConfigurationStore;
  readonly state: BlobStateStore;
  readonly deadLetters: BlobDeadLetterStore;
  readonly backoff: BlobBackoffStore;
  readonly queue: PassQueue;
  readonly #deps: ServiceDependencies;
  readonly #now: () => Date;
  readonly #startedAt: number;

  constructor(deps: ServiceDependencies) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
    this.#startedAt = this.#now().getTime();
    this.configurations = new ConfigurationStore(deps.storage.table(CONFIGURATION_TABLE), deps.settings.destinationPolicy, deps.settings.maxConfigurations);
    this.state = new BlobStateStore(deps.storage.blob.getContainerClient(STATE_CONTAINER), deps.storage.setting);
    this.deadLetters = new BlobDeadLetterStore(deps.storage.blob.getContainerClient(DEAD_LETTER_CONTAINER));
    this.backoff = new BlobBackoffStore(deps.storage.blob.getContainerClient(BACKOFF_CONTAINER));
    this.queue = new PassQueue(deps.storage.queue, deps.settings.queue);
  }

  get settings(): HostSettings {
    return this.#deps.settings;
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
    const parsed = parseExportConfiguration(body, { destinationPolicy: this.#deps.settings.destinationPolicy });
    if (!parsed.ok) throw badRequest("the export configuration is not valid", parsed.errors, parsed.warnings);
    const secrets = inlineSecrets(parsed.configuration.actions);
    if (secrets.length > 0) throw badRequest("secrets are not stored in configurations", secrets, parsed.warnings);
    const unusable = this.#unusableActions(parsed.configuration);
    if (unusable.length > 0) throw badRequest("an action cannot deliver", unusable, parsed.warnings);
    try {
      const { created, ...stored } = await this.configurations.put(name, parsed.configuration, conditions);
      return { stored, created, warnings: parsed.warnings };
    } catch (e) {
      throw storeProblem(e, parsed.warnings);
    }
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

  // Passes

  /**
   * Streaming passes now (snapshot sources only when due), within `seconds` (the host's time limit at
   * most): a pass that reaches it saves where it is, and the next one goes on.
   */
  async runNow(name: string, options: { seconds?: number; onPass?: (record: PassRecord) => void } = {}): Promise<PassRecord[]> {
    const onPass = options.onPass;
    const stored = await this.get(name);
    const configuration = stored.configuration;
    if (!configuration.isEnabled) throw new ProblemError(409, "Conflict", `export configuration ${name} is disabled`);
    requireDestinations(name, configuration);
    const sinks = this.#sinks(name, configuration);
    try {
      return await runConfiguration({
        configurationName: name,
        configuration,
        ...this.#generation(stored),
        read: readerSource(this.#reader()),
        sinks,
        state: this.state,
        ...(this.#deps.settings.tenantId ? { tenantId: this.#deps.settings.tenantId } : {}),
        onPass: (record) => {
          recordPassMetrics(record);
          onPass?.(record);
        },
        passOptions: { deadline: this.#deadline(options.seconds) },
      });
    } finally {
      await Promise.all(sinks.map((s) => s.close()));
    }
  }

  /** A snapshot of every source, queued: one message per (scope, source). */
  async requestSnapshot(name: string): Promise<{ queued: PassMessage[] }> {
    const { configuration } = await this.get(name);
    if (!configuration.isEnabled) throw new ProblemError(409, "Conflict", `export configuration ${name} is disabled`);
    requireDestinations(name, configuration);
    const queued = this.#keys(name, configuration).map((key) => message(key, "request", this.#now(), true));
    for (const m of queued) await this.queue.send(m);
    return { queued };
  }

  #seeded: Promise<void> | undefined;

  /**
   * Stores DEFENDER_EXPORT_INITIAL_CONFIGURATION under its name unless a configuration of that name exists
   * (once per process; a failure is retried on the next call and named, setting included).
   */
  ensureInitialConfiguration(): Promise<void> {
    const initial = this.#deps.settings.initialConfiguration;
    if (initial === undefined) return Promise.resolve();
    this.#seeded ??= (async () => {
      // One stored under that name, valid or not, is the operator's: never overwritten.
      if ((await this.configurations.find(initial.name)) !== undefined) return;
      const parsed = parseJson(initial.json);
      if (!parsed.ok) throw badRequest(`DEFENDER_EXPORT_INITIAL_CONFIGURATION is not JSON`, [{ path: "DEFENDER_EXPORT_INITIAL_CONFIGURATION", message: `line ${parsed.error.line}, column ${parsed.error.column}: ${parsed.error.reason}` }]);
      try {
        await this.put(initial.name, parsed.value, { create: true });
      } catch (e) {
        if (e instanceof ProblemError && e.status === 412) return; // another instance stored it first
        if (e instanceof ProblemError) throw new ProblemError(e.status, e.title, `DEFENDER_EXPORT_INITIAL_CONFIGURATION: ${e.detail}: ${e.errors.map((p) => `${p.path}: ${p.message}`).join("; ")}`, e.errors);
        throw e;
      }
    })().catch((e: unknown) => {
      this.#seeded = undefined;
      throw e;
    });
    return this.#seeded;
  }

  /**
   * The streaming timer: one message per (configuration, scope, streaming source) of every enabled
   * configuration. A configuration that no longer validates is skipped and reported; the others go on.
   */
  async enqueueStreaming(): Promise<Enqueued> {
    // A bad initial configuration is named (here and by health); it does not hold back the others.
    const initial = await this.ensureInitialConfiguration().then(
      () => undefined,
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
    const enqueued = await this.#enqueue("timer", async (key) => !isSnapshotSource(key.eventSource));
    return initial === undefined ? enqueued : { ...enqueued, initialConfiguration: initial };
  }

  /** The snapshot timer: one message per snapshot source whose configuration's schedule says it is due. */
  async enqueueDueSnapshots(): Promise<Enqueued> {
    return this.#enqueue("snapshot-timer", async (key, configuration) => isSnapshotSource(key.eventSource) && snapshotDue(configuration.snapshotSchedule, await this.state.snapshotAt(key), this.#now()));
  }

  async #enqueue(reason: PassMessage["reason"], wanted: (key: PassKey, configuration: ExportConfiguration) => Promise<boolean>): Promise<Enqueued> {
    const out: Enqueued = { queued: 0, invalid: [] };
    for await (const listed of this.configurations.list()) {
      if (!listed.valid) {
        out.invalid.push(listed.invalid);
        continue;
      }
      const { name, configuration } = listed.stored;
      if (!configuration.isEnabled) continue;
      for (const key of this.#keys(name, configuration)) {
        if (!(await wanted(key, configuration))) continue;
        await this.queue.send(message(key, reason, this.#now()));
        out.queued++;
      }
    }
    recordInvalidConfigurations(out.invalid.length);
    return out;
  }

  /** The queue worker: one pass. A configuration deleted or disabled since the message was sent is skipped. */
  async runMessage(m: PassMessage): Promise<PassRecord | undefined> {
    const listed = await this.configurations.find(m.configuration);
    // Deleted, disabled or no longer valid since the message was sent: nothing to run (the timers report an invalid one).
    if (listed === undefined || !listed.valid || !listed.stored.configuration.isEnabled) return undefined;
    const stored = listed.stored;
    const configuration = stored.configuration;
    if (configuration.actions.length === 0 || !configuration.sources.some((s) => s.eventSource === m.eventSource) || !configuration.scopes.some((s) => s.scopePath === m.scope)) return undefined;
    const sinks = this.#sinks(m.configuration, configuration);
    try {
      const record = await runPass({
        configurationName: m.configuration,
        configuration,
        ...this.#generation(stored),
        scope: m.scope,
        eventSource: m.eventSource,
        read: readerSource(this.#reader()),
        sinks,
        state: this.state,
        baseline: configuration.baselineSnapshot,
        deadline: this.#deadline(),
        ...(m.snapshot ? { snapshot: true } : {}),
        ...(this.#deps.settings.tenantId ? { tenantId: this.#deps.settings.tenantId } : {}),
        ...(this.#deps.now ? { now: this.#deps.now } : {}),
        beforeRecord: (record) => this.#retryWhileRolesApply(m, stored, record),
      });
      recordPassMetrics(record);
      return record;
    } finally {
      await Promise.all(sinks.map((s) => s.close()));
    }
  }

  // Preview

  /**
   * A dry run: what the configuration would export from the records given (or read live, up to `limit`
   * per source), mapped per destination. Nothing is sent and no state moves.
   */
  async preview(name: string, input: { records?: unknown[]; limit: number; eventHubMaxMessageBytes?: number }): Promise<Record<string, unknown>> {
    const { configuration } = await this.get(name);
    const rules = compileConfiguration(configuration);
    const notices: string[] = [];
    const exportedAt = this.#now().toISOString();
    const out: Record<string, unknown>[] = [];
    const source = input.records !== undefined ? fromArray(input.records) : this.#liveRecords(configuration, input.limit);
    let total = 0;
    for await (const selected of selectRecords(rules, source, (notice, origin) => notices.push(`record ${origin}: ${notice.kind}`))) {
      total++;
      if (out.length < input.limit) out.push(previewOne(selected, configuration.actions, exportedAt, input.eventHubMaxMessageBytes));
    }
    return { records: out, selected: total, shown: out.length, notices: notices.slice(0, 100) };
  }

  async *#liveRecords(configuration: ExportConfiguration, limit: number): AsyncGenerator<{ record: unknown; origin: number }> {
    const reader = this.#reader();
    let n = 0;
    const seen = new Set<string>();
    for (const scope of configuration.scopes) {
      for (const s of configuration.sources) {
        if (!isReadable(s.eventSource)) continue;
        const dataType = EVENT_SOURCE_DATA_TYPE[s.eventSource];
        if (seen.has(`${scope.scopePath}|${dataType}`)) continue;
        seen.add(`${scope.scopePath}|${dataType}`);
        let taken = 0;
        for await (const item of reader.list(scope.scopePath, dataType)) {
          yield { record: item.record, origin: n++ };
          if (++taken >= limit) break;
        }
      }
    }
  }

  // Status

  async status(name: string): Promise<Record<string, unknown>> {
    checkName(name);
    const listed = await this.configurations.find(name);
    if (listed === undefined) throw notFound(`there is no export configuration named ${name}`);
    if (!listed.valid) {
      return { name, enabled: null, valid: false, errors: listed.invalid.errors, updatedAt: listed.invalid.updatedAt ?? null, flow: { status: "invalid", failing: [`the stored configuration no longer validates; no pass runs until it is corrected (PUT) or deleted`] } };
    }
    const stored = listed.stored;
    const now = this.#now();
    const cadence = cadenceSeconds(this.#deps.settings.streamSchedule, now);
    const sources = await Promise.all(
      this.#keys(name, stored.configuration).map(async (key) => {
        const [stored, running, snapshotAt] = await Promise.all([this.state.recentPasses(key, 5), this.state.running(key), this.state.snapshotAt(key)]);
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
    const [deadLetters, poison, actions] = await Promise.all([this.#deadLetterCount(name, stored.configuration), this.queue.poisoned(), this.#actionHealth(stored.configuration)]);
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
      sources,
    };
  }

  /** Each action's destination, and its backoff when deliveries to it failed (shared by every configuration sending there). */
  async #actionHealth(configuration: ExportConfiguration): Promise<{ actionKey: string; actionType: string; backedOff: Backoff[] }[]> {
    const now = this.#now().getTime();
    return Promise.all(
      configuration.actions.map(async (action) => {
        const key = actionKey(action);
        const backoffs = await this.backoff.list(key).catch(() => []);
        return { actionKey: key, actionType: action.actionType, backedOff: backoffs.filter((b) => Date.parse(b.until) > now) };
      }),
    );
  }

  async #deadLetterCount(name: string, configuration: ExportConfiguration): Promise<{ count: number; byAction: Record<string, number> }> {
    const byAction: Record<string, number> = {};
    let count = 0;
    for (const action of configuration.actions) {
      const key = actionKey(action);
      byAction[key] = await this.deadLetters.countRecords({ configuration: name, actionKey: key });
      count += byAction[key];
    }
    return { count, byAction };
  }

  // Dead letters

  async listDeadLetters(name: string, limit: number): Promise<Record<string, unknown>[]> {
    const { configuration } = await this.get(name);
    const out: Record<string, unknown>[] = [];
    for (const action of configuration.actions) {
      for await (const { name: letterName, letter } of this.deadLetters.list({ configuration: name, actionKey: actionKey(action) })) {
        if (out.length >= limit) return out;
        out.push({ name: letterName, actionKey: letter.actionKey, destination: letter.destination, reason: letter.reason, failedAt: letter.failedAt, attempts: letter.attempts, records: letter.items.length });
      }
    }
    return out;
  }

  async replay(name: string): Promise<ReplayReport> {
    const { configuration } = await this.get(name);
    const sinks = this.#sinks(name, configuration);
    try {
      return await replayDeadLetters(this.deadLetters, sinks, { configuration: name });
    } finally {
      await Promise.all(sinks.map((s) => s.close()));
    }
  }

  // Health

  async health(): Promise<{ ok: boolean; degraded: boolean; checks: Record<string, string> }> {
    const checks: Record<string, string> = {};
    try {
      await this.#deps.storage.blob.getProperties();
      // What the passes need in it: a container or table that could not be made is made again here, or named.
      await Promise.all([this.state.ready(), this.deadLetters.ready(), this.configurations.ready(), this.queue.ready()]);
      checks["storage"] = "ok";
    } catch (e) {
      checks["storage"] = `unreachable (${this.#deps.storage.setting}): ${(e as Error).message.split("\n")[0]}`;
    }
    if (this.#deps.settings.initialConfiguration !== undefined && checks["storage"] === "ok") {
      checks["initialConfiguration"] = await this.ensureInitialConfiguration().then(
        () => "ok",
        (e: unknown) => (e as Error).message,
      );
    }
    let degraded = false;
    if (checks["storage"] === "ok") {
      // The app works, but a configuration that no longer validates runs no pass: degraded, not down.
      const invalid: string[] = [];
      try {
        for await (const listed of this.configurations.list()) if (!listed.valid) invalid.push(listed.invalid.name);
        checks["configurations"] = invalid.length === 0 ? "ok" : `${invalid.length} stored configuration${invalid.length === 1 ? "" : "s"} no longer validate${invalid.length === 1 ? "s" : ""}: ${invalid.slice(0, 20).join(", ")}`;
        degraded = invalid.length > 0;
      } catch (e) {
        checks["configurations"] = `unreadable: ${(e as Error).message.split("\n")[0]}`;
      }
    }
    const failing = Object.entries(checks).filter(([k, c]) => c !== "ok" && !(k === "configurations" && degraded));
    return { ok: failing.length === 0, degraded, checks };
  }

  /** The passes a configuration runs; none without an action (a pass would move the state with nothing sent). */
  #keys(name: string, configuration: ExportConfiguration): PassKey[] {
    if (configuration.actions.length === 0) return [];
    return configuration.scopes.flatMap((scope) =>
      configuration.sources.filter((s) => isReadable(s.eventSource)).map((s) => ({ configuration: name, scope: scope.scopePath, eventSource: s.eventSource })),
    );
  }

  #deadline(seconds = Infinity): Date {
    return new Date(this.#now().getTime() + Math.min(seconds, this.#deps.settings.passTimeLimitSeconds) * 1000);
  }

  #reader(): ArmReader {
    return new ArmReader({ credential: this.#deps.credential, endpoint: this.#deps.settings.armEndpoint, ...(this.#deps.tlsCa ? { tlsCa: this.#deps.tlsCa } : {}) });
  }

  #sinkDeps(configuration?: string) {
    return {
      credential: this.#deps.credential,
      deadLetters: this.deadLetters,
      backoff: this.backoff,
      overflow: this.#deps.storage.blob.getContainerClient(OVERFLOW_CONTAINER),
      destinationPolicy: this.#deps.settings.destinationPolicy,
      settings: this.#deps.appSettings,
      ...(configuration !== undefined ? { configuration } : {}),
      ...(this.#deps.tlsCa ? { tlsCa: this.#deps.tlsCa } : {}),
      ...this.#deps.delivery,
    };
  }

  #sinks(name: string, configuration: ExportConfiguration): Sink[] {
    const deps = this.#sinkDeps(name);
    return configuration.actions.map((action) => createSink(action, deps));
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
    const now = this.#now().getTime();
    const since = Math.max(this.#startedAt, stored.createdAt === undefined ? 0 : Date.parse(stored.createdAt));
    if (now - since > ROLES_APPLY_MS) return;
    const key = { configuration: m.configuration, scope: m.scope, eventSource: m.eventSource };
    let refusedSince = Date.parse(record.startedAt);
    for (const earlier of await this.state.recentPasses(key, 20).catch(() => [])) {
      const parsed = passRecordSchema.safeParse(earlier);
      if (!parsed.success || (parsed.data.skipped === undefined && !refused(parsed.data))) break;
      if (parsed.data.skipped === undefined) refusedSince = Math.min(refusedSince, Date.parse(parsed.data.startedAt));
    }
    if (now - refusedSince > ROLES_APPLY_MS) return;
    const attempt = (m.retry ?? 0) + 1;
    const delaySeconds = Math.min(30 * 2 ** (attempt - 1), 300);
    await this.queue.send({ ...m, retry: attempt, enqueuedAt: new Date(now).toISOString() }, delaySeconds);
    record.retry = {
      at: new Date(now + delaySeconds * 1000).toISOString(),
      attempt,
      reason: `access refused (HTTP ${record.errorStatus}) within ${ROLES_APPLY_MS / 60_000} minutes of the app's start or the configuration's creation: role assignments can take that long to apply`,
    };
  }

  /** A pass runs for this generation of the configuration, and stops when it is gone. */
  #generation(stored: StoredConfiguration): { generation?: string; stillCurrent: () => Promise<boolean> } {
    return {
      ...(stored.generation !== undefined ? { generation: stored.generation } : {}),
      stillCurrent: async () => {
        const now = await this.configurations.generation(stored.name);
        return now.exists && now.generation === stored.generation;
      },
    };
  }

  /** Actions whose app settings are missing or that cannot deliver for another reason, found before storing. */
  #unusableActions(configuration: ExportConfiguration): Problem[] {
    const deps = this.#sinkDeps();
    const problems: Problem[] = [];
    configuration.actions.forEach((action, i) => {
      try {
        void createSink(action, deps).close();
      } catch (e) {
        problems.push({ path: `$.actions[${i}]`, message: (e as Error).message });
      }
    });
    return problems;
  }
}

/** How long after start-up (or a configuration's creation) a refused access is taken for roles still spreading. */
const ROLES_APPLY_MS = 30 * 60_000;

const refused = (record: Pick<PassRecord, "errorStatus">) => record.errorStatus === 401 || record.errorStatus === 403;

/** What a timer queued, and the configurations it skipped because they no longer validate. */
export interface Enqueued {
  queued: number;
  invalid: InvalidConfiguration[];
  /** Why DEFENDER_EXPORT_INITIAL_CONFIGURATION could not be stored, when it could not. */
  initialConfiguration?: string;
}

/** The store's refusals as the problems the API answers with. */
function storeProblem(e: unknown, warnings: readonly Problem[] = []): unknown {
  if (e instanceof ConfigurationConflictError) return new ProblemError(412, "Precondition Failed", e.message);
  if (e instanceof ConfigurationConditionError) return badRequest(e.message, [{ path: "If-Match", message: "expected * or the quoted ETag a GET answered" }]);
  if (e instanceof ConfigurationTooLargeError) return new ProblemError(413, "Content Too Large", e.message);
  if (e instanceof ConfigurationLimitError) return new ProblemError(409, "Conflict", e.message);
  if (e instanceof ConfigurationNotStorableError) return badRequest(e.message, e.errors, warnings);
  return e;
}

function requireDestinations(name: string, configuration: ExportConfiguration): void {
  const missing = [configuration.actions.length === 0 ? "no actions" : undefined, configuration.scopes.length === 0 ? "no scopes" : undefined].filter(Boolean);
  if (missing.length > 0) throw new ProblemError(409, "Conflict", `export configuration ${name} has ${missing.join(" and ")}: nothing would be exported (add them with PUT)`);
}

function checkName(name: string): void {
  if (!CONFIGURATION_NAME.test(name)) {
    throw badRequest(`invalid configuration name`, [{ path: "name", message: "expected 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit" }]);
  }
}

function describe(stored: StoredConfiguration): Record<string, unknown> {
  return { name: stored.name, etag: stored.etag, updatedAt: stored.updatedAt, configuration: toPublicConfiguration(stored.configuration) };
}

function inlineSecrets(actions: readonly Action[]): Problem[] {
  const problems: Problem[] = [];
  actions.forEach((action, i) => {
    if (action.actionType === "EventHub" && action.connectionString !== undefined) {
      problems.push({ path: `$.actions[${i}].connectionString`, message: "a connection string is not stored: put it in an app setting (a Key Vault reference works) and give that setting's name as connectionStringSetting, or use fullyQualifiedNamespace and eventHubName with the app's managed identity" });
    }
    if (action.actionType === "LogicApp" && action.uri !== undefined) {
      problems.push({ path: `$.actions[${i}].uri`, message: "a trigger URI (it carries a signature) is not stored: put it in an app setting (a Key Vault reference works) and give that setting's name as uriSetting" });
    }
  });
  return problems;
}

function message(key: PassKey, reason: PassMessage["reason"], now: Date, snapshot = false): PassMessage {
  return { configuration: key.configuration, scope: key.scope, eventSource: key.eventSource, ...(snapshot ? { snapshot: true } : {}), reason, enqueuedAt: now.toISOString() };
}

/** Seconds between the schedule's next two occurrences: how often passes are expected. */
export function cadenceSeconds(schedule: string, now: Date): number {
  const [a, b] = new Cron(schedule, { paused: true, timezone: "UTC" }).nextRuns(2, now);
  return a && b ? Math.round((b.getTime() - a.getTime()) / 1000) : 300;
}

async function* fromArray(records: readonly unknown[]): AsyncGenerator<{ record: unknown; origin: number }> {
  for (let i = 0; i < records.length; i++) yield { record: records[i], origin: i };
}

function previewOne(selected: SelectedRecord, actions: readonly Action[], exportedAt: string, maxMessageSize?: number): Record<string, unknown> {
  const input: MappingInput = { record: selected.body as Record<string, unknown>, eventSource: selected.eventSource, id: selected.id, isSnapshot: isSnapshotSource(selected.eventSource), action: "Insert", exportedAt };
  return { eventSource: selected.eventSource, id: selected.id, destinations: actions.map((action) => previewFor(input, action, { overflowContainer: OVERFLOW_CONTAINER, ...(maxMessageSize !== undefined ? { maxMessageSize } : {}) })) };
}
