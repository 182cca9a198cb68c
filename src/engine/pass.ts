import { randomUUID } from "node:crypto";
import { z } from "zod";
import { EVENT_SOURCES, type EventSource, type ReaderKind } from "../config/enums.js";
import { DEFAULT_DEPARTED_SUBSCRIPTION_RETENTION_DAYS, type ExportConfiguration } from "../config/model.js";
import { ChangeDetector } from "../change/detector.js";
import { CHANGE_RULES } from "../change/fingerprints.js";
import { idHash } from "../change/ids.js";
import { ExportEntries, type UnseenVerdict } from "../change/entries.js";
import { cursorSchema, PASS_MODES, StateConflictError, type ExportState, type PassKey, type PassMode, type PassProgress, type StateStore } from "../state/store.js";
import { PassSession } from "../state/session.js";
import { describeError } from "../destinations/errors.js";
import type { DeliveryReport, Sink } from "../destinations/sink.js";
import type { ChangeKind, OutgoingRecord } from "../records/record.js";
import { managementGroupOf } from "../config/automation.js";
import { EVENT_SOURCE_DATA_TYPE, isSnapshotSource, removedRecord, type DataType } from "../datatypes/registry.js";
import { compileSource } from "../rules/compile.js";
import { isGraphCursor, type Cursor, type SourceRecord } from "../sources/reader.js";
import { UnitSubscriptions } from "./unit-subscriptions.js";

type Json = Record<string, unknown>;

export interface PassOptions {
  configurationName: string;
  configuration: ExportConfiguration;
  scope: string;
  eventSource: EventSource;
  /** The records of the source's data type at the scope (an ArmReader's `read`), from a cursor when resuming, through the configuration's reader. */
  read: (scope: string, eventSource: EventSource, from?: Cursor, via?: ReaderKind) => AsyncIterable<SourceRecord>;
  sinks: readonly Sink[];
  state: StateStore;
  /** Export every matching record, marked as snapshot (snapshot sources always are). */
  snapshot?: boolean;
  /** A streaming source's first pass: a baseline snapshot (default), or only remember what exists. */
  baseline?: boolean;
  tenantId?: string;
  /**
   * Changes between checkpoints (at least; see `due` in the pass): what a crash may send twice. A
   * checkpoint rewrites the whole state, so they also wait for a quarter of the state's size: the
   * state is written O(log n) times in a pass, not n / checkpointEvery times.
   */
  checkpointEvery?: number;
  /** When the pass must stop (a Consumption plan's timeout): it saves where it is, and the next pass goes on from there. */
  deadline?: Date;
  /**
   * The generation of the configuration this pass runs for, kept in the state: a state of another
   * generation (the configuration was deleted and made again) is not this configuration's, which starts anew.
   */
  generation?: string;
  /** Whether the configuration is still the one the pass started for; asked every `generationCheckMs` and before each checkpoint. */
  stillCurrent?: () => Promise<boolean>;
  generationCheckMs?: number;
  /** Called with the finished record before it is stored: the host may say when the pass is tried again. */
  beforeRecord?: (record: PassRecord) => Promise<void>;
  now?: () => Date;
  /**
   * The subscriptions in a management group scope now (lower-cased), or undefined when they cannot be told: records
   * of a subscription that left the group are kept, not removed; without the list a group's pass removes nothing.
   */
  scopeSubscriptions?: (scope: string) => Promise<ReadonlySet<string> | undefined>;
  /** The subscriptions of a management group scope the read went through (no new question to Resource Graph). */
  subscriptionsRead?: (scope: string) => ReadonlySet<string> | undefined;
  /**
   * Why the read of the source at the scope is incomplete (a Resource Graph listing moved while it was read), or
   * undefined: asked once the read is over (or stopped). An incomplete read removes, departs and forgets nothing.
   */
  incompleteRead?: (scope: string, eventSource: EventSource) => string | undefined;
  /** Tests: called at the stages where a process can die. */
  hooks?: { afterRead?: (read: number) => void; afterWrite?: (written: number) => void; beforeCheckpoint?: (checkpoint: number) => void };
}

const actionReportSchema = z.object({
  destination: z.string(),
  sent: z.number(),
  cut: z.number(),
  deadLettered: z.number(),
  requests: z.number(),
  failures: z.array(z.string()),
  backedOffUntil: z.string().optional(),
});

const passRecordShape = z.object({
  id: z.string(),
  configuration: z.string(),
  scope: z.string(),
  eventSource: z.enum(EVENT_SOURCES),
  mode: z.enum(PASS_MODES),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  /** Records read, matched by the rules, exported as new or changed, exported as removed. */
  read: z.number(),
  matched: z.number(),
  changed: z.number(),
  removed: z.number(),
  checkpoints: z.number(),
  /** The pass went on from where an earlier one stopped. */
  resumed: z.boolean().optional(),
  /** The pass stopped at its deadline; the next one continues from here (null: from the start, for records without a cursor). */
  stopped: z.object({ at: z.string(), cursor: cursorSchema.nullable() }).optional(),
  /**
   * Why the pass's read is incomplete (a Resource Graph listing moved while it was read, so a record may have been
   * missed): it delivered what it read, and exported no removals, departed and forgot no subscription.
   */
  incomplete: z.string().optional(),
  /** Per action key: what the destination acknowledged, what was cut and dead-lettered. */
  actions: z.record(z.string(), actionReportSchema),
  stateBytes: z.number().optional(),
  /**
   * Streaming passes: from each exported record's change at the source (where its type dates it) to the
   * destinations' acknowledgement of it, in seconds.
   */
  lag: z.object({ records: z.number(), meanSeconds: z.number(), maxSeconds: z.number() }).optional(),
  skipped: z.string().optional(),
  error: z.string().optional(),
  /** The HTTP status of the failure, when a service answered one (a 403 from ARM or storage). */
  errorStatus: z.number().int().optional(),
  /** The failure is taken for a passing one (a role not applied yet): the pass is tried again then. */
  retry: z.object({ at: z.string(), attempt: z.number().int(), reason: z.string() }).optional(),
  /** The configuration was deleted (or made again) during the pass: it stopped, and nothing of it was kept. */
  abandoned: z.boolean().optional(),
  /** A management group unit's complete pass: per subscription. */
  subscriptions: z
    .object({
      read: z.record(z.string(), z.number()),
      membersKnown: z.boolean(),
      joined: z.array(z.string()),
      departed: z.record(z.string(), z.string()),
      forgotten: z.array(z.string()),
    })
    .optional(),
});
export type PassRecord = z.infer<typeof passRecordShape>;

/** A stored pass record, read back (status): validated, with unknown fields kept, and a cursor of any shape (an older one's). */
export const passRecordSchema = passRecordShape.extend({ stopped: z.object({ at: z.string(), cursor: z.unknown() }).optional() }).loose();

/**
 * One pass for one (configuration, scope, event source): read, apply the rules, detect changes, deliver to
 * every action, checkpoint. The checkpoint (the state of what was exported) moves only after every action
 * acknowledged or dead-lettered what came before it, so that a pass that dies re-sends on the next one:
 * at least once, never lost; duplicates come only from the changes since the last checkpoint.
 */
export async function runPass(options: PassOptions): Promise<PassRecord> {
  const now = options.now ?? (() => new Date());
  const started = now();
  const key: PassKey = { configuration: options.configurationName, scope: options.scope, eventSource: options.eventSource };
  const record: PassRecord = {
    id: randomUUID(),
    configuration: options.configurationName,
    scope: options.scope,
    eventSource: options.eventSource,
    mode: "stream",
    startedAt: started.toISOString(),
    finishedAt: "",
    durationMs: 0,
    read: 0,
    matched: 0,
    changed: 0,
    removed: 0,
    checkpoints: 0,
    actions: {},
  };
  let session: PassSession | undefined;
  try {
    session = await PassSession.open(options.state, key, now);
  } catch (e) {
    // Storage unreachable: nothing read, nothing sent; the next pass starts where the state says.
    record.error = `the state's storage${options.state.where ? ` (${options.state.where})` : ""} is unreachable: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`;
    return finish(record, now);
  }
  if (session === undefined) {
    record.skipped = "another runner holds the lease of this configuration, scope and source";
    return finish(record, now);
  }
  const totals = new Map<string, DeliveryReport>();
  const guard = new GenerationGuard(options.stillCurrent, options.generationCheckMs ?? 5_000);
  try {
    await pass(options, session, record, totals, guard);
  } catch (e) {
    if (e instanceof ConfigurationGoneError) {
      record.abandoned = true;
      record.error = e.message;
    } else {
      record.error = e instanceof StateConflictError ? `${e.message}; nothing is lost: the next pass sends again` : describeError(e);
      const status = (e as { status?: unknown; statusCode?: unknown }).status ?? (e as { statusCode?: unknown }).statusCode;
      if (typeof status === "number") record.errorStatus = status;
    }
  } finally {
    guard.stop();
    await session.release();
  }
  for (const sink of options.sinks) {
    const t = totals.get(sink.actionKey);
    record.actions[sink.actionKey] = {
      destination: sink.description,
      sent: t?.sent ?? 0,
      cut: t?.cut ?? 0,
      deadLettered: t?.deadLettered ?? 0,
      requests: t?.requests ?? 0,
      failures: t?.failures ?? [],
      ...(t?.backedOffUntil !== undefined ? { backedOffUntil: t.backedOffUntil } : {}),
    };
  }
  finish(record, now);
  await options.beforeRecord?.(record).catch(() => undefined);
  // The record of a pass whose configuration is gone would land beside a new configuration of that name.
  if (!record.abandoned) await guard.ask();
  if (!record.abandoned && !guard.gone) await session.record(record);
  return record;
}

/** The pass's configuration was deleted, or deleted and made again, while it ran. */
export class ConfigurationGoneError extends Error {
  constructor() {
    super("the configuration was deleted (or deleted and made again) during the pass: the pass stopped, sent nothing more and kept no checkpoint");
  }
}

/** Asks, in the background and before each checkpoint, whether the pass's configuration is still the same one. */
class GenerationGuard {
  #gone = false;
  #timer: NodeJS.Timeout | undefined;
  #asking: Promise<void> | undefined;

  constructor(
    private readonly stillCurrent: (() => Promise<boolean>) | undefined,
    intervalMs: number,
  ) {
    if (stillCurrent === undefined) return;
    this.#timer = setInterval(() => void this.ask(), intervalMs);
    this.#timer.unref();
  }

  /** Asks now; a failure to ask (storage unreachable) is not an answer. */
  ask(): Promise<void> {
    if (this.stillCurrent === undefined) return Promise.resolve();
    this.#asking ??= this.stillCurrent()
      .then(
        (current) => {
          if (!current) this.#gone = true;
        },
        () => undefined,
      )
      .finally(() => (this.#asking = undefined));
    return this.#asking;
  }

  get gone(): boolean {
    return this.#gone;
  }

  check(): void {
    if (this.#gone) throw new ConfigurationGoneError();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

function finish(record: PassRecord, now: () => Date): PassRecord {
  const finished = now();
  record.finishedAt = finished.toISOString();
  record.durationMs = finished.getTime() - Date.parse(record.startedAt);
  return record;
}

async function pass(options: PassOptions, session: PassSession, record: PassRecord, totals: Map<string, DeliveryReport>, guard: GenerationGuard): Promise<void> {
  const dataType = EVENT_SOURCE_DATA_TYPE[options.eventSource];
  const source = options.configuration.sources.find((s) => s.eventSource === options.eventSource);
  if (source === undefined) throw new Error(`the configuration has no ${options.eventSource} source`);
  const matches = compileSource(source).matches;
  const progress = await session.resume();
  // The first page is fetched while the state loads: both take a round trip and some parsing.
  // A stopped pass goes on from its cursor; one whose records have none (compliance) reads again from the start.
  const records = startReading(options.read(options.scope, options.eventSource, progress?.cursor ?? undefined, options.configuration.reader));
  let state: ExportState;
  try {
    state = await session.load();
  } catch (e) {
    await records.abandon();
    throw e;
  }
  // A state another generation of this configuration wrote is not this one's: it starts anew (and overwrites it).
  // One without a generation was written by a configuration stored before generations were kept, never by one with.
  if (options.generation !== undefined && state.generation !== options.generation) {
    state = { entries: new ExportEntries(), etag: state.etag, updatedAt: undefined };
  }
  state.generation = options.generation ?? state.generation;
  const isNew = state.updatedAt === undefined;
  const snapshotSource = isSnapshotSource(options.eventSource);
  // Streaming: changes only. Snapshot: everything. A new streaming pass key: a baseline snapshot, or a silent seed.
  const mode: PassRecord["mode"] = progress?.mode ?? (snapshotSource || options.snapshot ? "snapshot" : isNew ? (options.baseline === false ? "seed" : "baseline") : "stream");
  record.mode = mode;
  const unit = managementGroupOf(options.scope) === undefined ? undefined : new UnitSubscriptions(state.subscriptions, mode === "stream");
  try {
    await passRecords(options, session, record, totals, guard, { dataType, matches, progress, records: records.iterable, state, mode, unit });
  } finally {
    // A failed pass's too: status tells which subscriptions its failure holds back.
    if (unit !== undefined) record.subscriptions = unit.report();
  }
}

/** What a pass goes through its records with, once its state is loaded. */
interface PassReading {
  dataType: DataType;
  matches: (record: Json) => boolean;
  progress: PassProgress | undefined;
  records: AsyncIterable<SourceRecord>;
  state: ExportState;
  mode: PassMode;
  /** A management group unit's subscriptions. */
  unit: UnitSubscriptions | undefined;
}

async function passRecords(
  options: PassOptions,
  session: PassSession,
  record: PassRecord,
  totals: Map<string, DeliveryReport>,
  guard: GenerationGuard,
  { dataType, matches, progress, records, state, mode, unit }: PassReading,
): Promise<void> {
  const snapshotSource = isSnapshotSource(options.eventSource);
  const everything = mode !== "stream";
  const send = mode !== "seed";
  const clock = options.now ?? (() => new Date());
  const exportedAt = () => clock().toISOString();
  const detector = new ChangeDetector(dataType, state.entries, progress?.seen ?? []);
  // Snapshots and baselines can run for minutes: status shows how far they are.
  const showProgress =
    everything && send ? () => session.showRunning({ id: record.id, mode, startedAt: record.startedAt, updatedAt: clock().toISOString(), read: record.read, changed: record.changed }) : undefined;
  await showProgress?.();
  if (progress !== undefined) record.resumed = true;
  let sinceCheckpoint = 0;
  let ledgerChanged = false;

  // Most records are taken by every sink at once: no promise is made for them (one a record per sink added up).
  const sinks = options.sinks;
  const delivered = () => options.hooks?.afterWrite?.(record.changed + record.removed);
  const deliverFrom = async (input: OutgoingRecord, first: number, writing: Promise<void>): Promise<void> => {
    await writing;
    for (let i = first; i < sinks.length; i++) await sinks[i]!.write(input);
    delivered();
  };
  const deliver = (input: OutgoingRecord): Promise<void> | undefined => {
    for (let i = 0; i < sinks.length; i++) {
      const writing = sinks[i]!.write(input);
      if (writing !== undefined) return deliverFrom(input, i + 1, writing);
    }
    delivered();
    return undefined;
  };
  // Export lag, streaming only: from when each change could first be read (its own change time where the record
  // gives one, never before the last complete pass began to read) to its acknowledgement, settled at each flush.
  const changedAt = mode === "stream" ? (CHANGE_RULES[dataType].changedAt ?? (() => undefined)) : undefined;
  // When the last complete pass began to read (a state from before that was kept: when it was written).
  const visibleSince = Date.parse(state.readAt ?? state.updatedAt ?? record.startedAt);
  const pendingLag = { count: 0, sum: 0, oldest: Infinity };
  const lag = { records: 0, sumSeconds: 0, maxSeconds: 0 };
  const settleLag = () => {
    if (pendingLag.count === 0) return;
    const acknowledged = clock().getTime();
    lag.records += pendingLag.count;
    lag.sumSeconds += (pendingLag.count * acknowledged - pendingLag.sum) / 1000;
    lag.maxSeconds = Math.max(lag.maxSeconds, (acknowledged - pendingLag.oldest) / 1000);
    record.lag = { records: lag.records, meanSeconds: lag.sumSeconds / lag.records, maxSeconds: lag.maxSeconds };
    Object.assign(pendingLag, { count: 0, sum: 0, oldest: Infinity });
  };
  const checkpoint = async (final = false) => {
    // Nothing more is sent for a configuration that is gone, and its state is not written back: asked before
    // the flush, and again after it (a flush can take long) right before the state is written.
    await guard.ask();
    session.check();
    guard.check();
    for (const sink of options.sinks) add(totals, sink.actionKey, await sink.flush());
    await guard.ask();
    guard.check();
    settleLag();
    options.hooks?.beforeCheckpoint?.(record.checkpoints + 1);
    // A complete read: changes it did not see appeared after it began (the start of the next pass's export lag).
    if (final) state.readAt = record.startedAt;
    // A pass that changed nothing leaves the state as it was (its pass record says it ran), but when it read.
    const bytes = await session.checkpoint(state, final && !detector.dirty && !ledgerChanged && !(everything && send));
    if (bytes === undefined) return;
    record.stateBytes = bytes;
    record.checkpoints++;
    sinceCheckpoint = 0;
    if (!final) await showProgress?.();
  };

  const every = options.checkpointEvery ?? 5_000;
  const due = (changes: number) => changes >= every && changes >= detector.entries.size / 4;

  // Read again from the start, or from a Resource Graph partition's first page, after a stop: what the stopped pass
  // sent, unchanged since, is not sent twice.
  const reread = progress !== undefined && (progress.cursor === null || isGraphCursor(progress.cursor)) && everything;
  // Why what was read is incomplete: this pass's read, or the stopped pass's this one goes on from.
  const incomplete = () => progress?.incomplete ?? options.incompleteRead?.(options.scope, options.eventSource);
  for await (const item of records) {
    if (options.deadline !== undefined && clock() >= options.deadline) {
      // Out of time: keep what was delivered, and where to go on from (records without a cursor: the start).
      await checkpoint();
      const cursor = item.cursor ?? null;
      record.stopped = { at: clock().toISOString(), cursor };
      const why = incomplete();
      if (why !== undefined) record.incomplete = why;
      await session.stop({ cursor, seen: state.entries.seenHashes(), stoppedAt: record.stopped.at, mode, ...(why === undefined ? {} : { incomplete: why }) });
      return;
    }
    record.read++;
    options.hooks?.afterRead?.(record.read);
    guard.check();
    const rawId = item.record["id"];
    if (typeof rawId !== "string" || rawId === "") continue;
    const hash = idHash(rawId);
    const sentBeforeStop = reread && detector.entries.seen(hash);
    // A subscription new to a management group unit: its records are its baseline (or its seed).
    const joining = unit?.observe(rawId) === true;
    const observed = detector.observe(hash, rawId, item.record, matches(item.record), everything || joining);
    if (observed === "unselected") continue;
    record.matched++;
    if ((observed === "unchanged" && (!everything || sentBeforeStop)) || !send || (joining && options.baseline === false)) continue;
    const action: ChangeKind = observed === "changed" ? "Update" : "Insert";
    const delivering = deliver(input(item.record, rawId.toLowerCase(), options, action, everything || joining, exportedAt(), item.context));
    if (delivering !== undefined) await delivering;
    record.changed++;
    if (changedAt !== undefined && !joining) {
      // Not before the last state written: a change older than that was not there to read (else it went then).
      const at = Math.max(changedAt(item.record, observed === "new") ?? visibleSince, visibleSince);
      pendingLag.count++;
      pendingLag.sum += at;
      pendingLag.oldest = Math.min(pendingLag.oldest, at);
    }
    if (due(++sinceCheckpoint)) await checkpoint();
  }

  // What is gone since the last pass, once: only after a complete read, and only where the type has removals. A read
  // whose listing moved may have missed a record: as when a group's members cannot be told, nothing is removed.
  const why = incomplete();
  if (why !== undefined) record.incomplete = why;
  const exportRemovals = send && !snapshotSource && CHANGE_RULES[dataType].removable && why === undefined;
  let verdict: ((id: string) => UnseenVerdict) | undefined;
  if (unit !== undefined) {
    const members = why === undefined ? await unitMembers(options, exportRemovals) : undefined;
    // Said, not silent: nothing is removed, departed or forgotten until a pass can tell who is in the group.
    if (why === undefined && members === undefined) record.incomplete = "the management group's members could not be read after the read: removals wait for a pass that can tell them";
    const retentionDays = options.configuration.departedSubscriptionRetentionDays ?? DEFAULT_DEPARTED_SUBSCRIPTION_RETENTION_DAYS;
    const settle = unit.close(members, record.startedAt, retentionDays * 86_400_000);
    // Without removals to export, the ids (compressed in the state) are read only when some are to be forgotten.
    verdict = exportRemovals ? settle : unit.forgets ? (id) => (settle(id) === "forget" ? "forget" : "keep") : undefined;
  }
  if ((exportRemovals && unit === undefined) || verdict !== undefined) {
    for (const id of await detector.removals(verdict)) {
      const delivering = deliver(input(removedRecord(id, dataType), id, options, "Remove", everything, exportedAt()));
      if (delivering !== undefined) await delivering;
      record.removed++;
      if (due(++sinceCheckpoint)) await checkpoint();
    }
  }
  if (unit !== undefined) {
    ledgerChanged = unit.changed;
    const ledger = unit.ledger();
    if (ledger !== undefined) state.subscriptions = ledger;
  }
  if (everything && send) state.snapshotAt = record.startedAt;
  await checkpoint(true);
  await session.finish();
}

/**
 * A management group scope's subscriptions after the read, or undefined when they cannot be told. Removals need
 * them asked again (only those both read and still in the group); otherwise those the read went through do.
 */
async function unitMembers(options: PassOptions, forRemovals: boolean): Promise<ReadonlySet<string> | undefined> {
  if (forRemovals) return options.scopeSubscriptions?.(options.scope).catch(() => undefined);
  return options.subscriptionsRead?.(options.scope) ?? (await options.scopeSubscriptions?.(options.scope).catch(() => undefined));
}

/** Starts an async iterable's first step now; `abandon` closes it if it is never iterated. */
function startReading<T>(source: AsyncIterable<T>): { iterable: AsyncIterable<T>; abandon: () => Promise<void> } {
  const iterator = source[Symbol.asyncIterator]();
  let first: Promise<IteratorResult<T>> | undefined = iterator.next();
  first.catch(() => undefined); // observed when iterated; a failure before that must not be an unhandled rejection
  const close = async (): Promise<IteratorResult<T>> => (await iterator.return?.()) ?? { done: true, value: undefined };
  // No generator around the reader's: one more await per record would cost more than the overlap saves.
  const stepper: AsyncIterator<T> = {
    next: () => {
      const step = first ?? iterator.next();
      first = undefined;
      return step;
    },
    return: close,
  };
  return {
    iterable: { [Symbol.asyncIterator]: () => stepper },
    abandon: async () => {
      await first?.catch(() => undefined);
      await close();
    },
  };
}

function input(recordBody: Json, id: string, options: PassOptions, action: ChangeKind, isSnapshot: boolean, exportedAt: string, context?: SourceRecord["context"]): OutgoingRecord {
  return {
    record: recordBody,
    eventSource: options.eventSource,
    id,
    isSnapshot,
    action,
    exportedAt,
    ...(options.tenantId ? { tenantId: options.tenantId } : {}),
    ...(context ? { context } : {}),
  };
}

function add(totals: Map<string, DeliveryReport>, key: string, report: DeliveryReport): void {
  const t = totals.get(key);
  if (t === undefined) totals.set(key, { ...report, failures: [...report.failures] });
  else {
    t.sent += report.sent;
    t.cut += report.cut;
    t.deadLettered += report.deadLettered;
    t.requests += report.requests;
    t.failures.push(...report.failures);
    if (report.backedOffUntil !== undefined) t.backedOffUntil = report.backedOffUntil;
  }
}

/** Reads a source's records through an ArmReader, with the metadata join the reader does for assessments. */
export function readerSource(reader: { list(scope: string, dataType: DataType, from?: Cursor, via?: ReaderKind): AsyncIterable<SourceRecord> }) {
  return (scope: string, eventSource: EventSource, from?: Cursor, via?: ReaderKind) => reader.list(scope, EVENT_SOURCE_DATA_TYPE[eventSource], from, via);
}

/** What a pass reads, the members of a management group scope, and whether a read was complete, from one reader. */
export function readerOptions(
  reader: Parameters<typeof readerSource>[0] & {
    subscriptionsOf(scope: string): Promise<ReadonlySet<string>>;
    subscriptionsRead(scope: string): ReadonlySet<string> | undefined;
    incompleteRead(scope: string, dataType: DataType): string | undefined;
  },
): Pick<PassOptions, "read" | "scopeSubscriptions" | "subscriptionsRead" | "incompleteRead"> {
  return {
    read: readerSource(reader),
    scopeSubscriptions: (scope) => reader.subscriptionsOf(scope),
    subscriptionsRead: (scope) => reader.subscriptionsRead(scope),
    incompleteRead: (scope, eventSource) => reader.incompleteRead(scope, EVENT_SOURCE_DATA_TYPE[eventSource]),
  };
}
