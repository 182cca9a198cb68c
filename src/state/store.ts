import { z } from "zod";
import type { EventSource } from "../config/enums.js";
import type { ExportEntries } from "../change/entries.js";
import type { Lease } from "./lease.js";
import type { RunningPass } from "./pass-log.js";

/** What one pass is about: a configuration, one of its scopes, one of its event sources. */
export interface PassKey {
  configuration: string;
  scope: string;
  eventSource: EventSource;
}

export interface ExportState {
  /** Id hash → fingerprint last exported, and the stable ids behind the hashes. */
  entries: ExportEntries;
  /** The state's ETag when loaded; undefined for a new pass key (no state yet). */
  etag: string | undefined;
  updatedAt: string | undefined;
  /** When this pass key last sent a full snapshot. */
  snapshotAt?: string;
  /** The generation of the configuration that wrote it (none: written before generations were kept). */
  generation?: string;
  /** When the last complete pass began to read (kept beside the state: an unchanged pass does not write it). */
  readAt?: string;
  /** A management group unit's subscriptions as its last complete pass found them. */
  subscriptions?: SubscriptionLedger;
}

/** What a save writes. */
export type StateToSave = Pick<ExportState, "entries" | "snapshotAt" | "generation" | "readAt" | "subscriptions">;

export const subscriptionLedgerSchema = z.object({
  /** In the group (lower-cased ids). */
  members: z.array(z.string()),
  /** Left the group: since when (their records' state is kept for the configuration's retention). */
  departed: z.record(z.string(), z.string()),
});
export type SubscriptionLedger = z.infer<typeof subscriptionLedgerSchema>;

/** What a pass does: only the changes, every record marked IsSnapshot, the first full export, or no export at all. */
export const PASS_MODES = ["stream", "snapshot", "baseline", "seed"] as const;
export type PassMode = (typeof PASS_MODES)[number];

/** Where a Microsoft.Security list goes on from: the page's URL and the index in it. */
export const listCursorSchema = z.object({ url: z.string(), index: z.number().int().nonnegative() });

/**
 * Where a Resource Graph listing goes on from: which of its queries (`request`: a management group unit reads its
 * subscriptions in batches of up to 1,000), and which of its `of` hash partitions, read again from its first page
 * (its records seen before the stop are in the progress's `seen`); a listing read whole is one partition of one.
 * `members`: a digest of the unit's subscriptions the stopped read went over (src/sources/reader.ts).
 */
export const graphCursorSchema = z.object({
  graph: z
    .object({
      request: z.number().int().nonnegative(),
      partition: z.number().int().nonnegative(),
      of: z.number().int().positive(),
      members: z.string().optional(),
    })
    .refine((g) => g.partition < g.of, { message: "partition must be less than of" }),
});

/** Where a listing goes on from: a list's page and place on it, or a Resource Graph query and partition. */
export const cursorSchema = z.union([listCursorSchema, graphCursorSchema]);

export const progressSchema = z.object({
  /** Where to go on from; null: from the start (compliance records have no cursor). */
  cursor: cursorSchema.nullable(),
  /** The id hashes the stopped pass had seen. */
  seen: z.array(z.number()),
  stoppedAt: z.string(),
  /** The stopped pass's mode: a baseline or snapshot goes on as one. */
  mode: z.enum(PASS_MODES),
  /** Why what the stopped pass read is incomplete (a Resource Graph listing moved under it): the pass that finishes exports no removals. */
  incomplete: z.string().optional(),
});
export type PassProgress = z.infer<typeof progressSchema>;

/** Another runner wrote the state since this pass loaded it: the pass must not overwrite it. */
export class StateConflictError extends Error {}

/** A pass key's place in storage: scopes compare without case or leading slashes, names are encoded. */
export function passPrefix(key: PassKey): string {
  return `${scopePrefix(key.configuration, key.scope)}${key.eventSource}`;
}

/** Where everything of a configuration's scope is kept (every source's): ends with a slash. */
export function scopePrefix(configuration: string, scope: string): string {
  return `${encodeURIComponent(configuration)}/${scope.replace(/^\/+/, "").toLowerCase()}/`;
}

/**
 * The fingerprints of every record last exported, per pass key, and what goes with a pass: the lease that
 * lets one runner at a time in, a stopped pass's progress, a long pass's running marker, pass records.
 * The engine uses it through a PassSession; status and the snapshot timer read it directly.
 */
export interface StateStore {
  /** The app setting the storage comes from, for messages; never its value. */
  readonly where?: string;
  /** The storage is there (made on first use; a failure is tried again at the next call). */
  ready(): Promise<unknown>;

  /** The state of a pass key; an empty one, without an ETag, when there is none. */
  load(key: PassKey): Promise<ExportState>;
  /** Writes the state if nobody else did since `etag` (none: only if there is no state yet), else a StateConflictError; returns the new ETag. */
  save(key: PassKey, state: StateToSave, etag: string | undefined, now?: Date): Promise<{ etag: string; bytes: number }>;
  /** Notes, beside the state at `etag`, when a complete pass that changed nothing began to read; returns the new ETag. */
  markRead(key: PassKey, state: Pick<ExportState, "snapshotAt" | "readAt">, etag: string): Promise<string>;
  /** When the pass key last sent a full snapshot, without reading the state. */
  snapshotAt(key: PassKey): Promise<string | undefined>;

  /** Where a stopped pass left off, and the ids it had seen (so that the rest of it still tells removals). */
  loadProgress(key: PassKey): Promise<PassProgress | undefined>;
  saveProgress(key: PassKey, progress: PassProgress): Promise<void>;
  clearProgress(key: PassKey): Promise<void>;

  /** A long pass's progress while it runs (snapshots, baselines), for the status endpoint. */
  saveRunning(key: PassKey, running: RunningPass): Promise<void>;
  clearRunning(key: PassKey): Promise<void>;
  /** The running pass's progress; none when no runner holds the lease (a runner that died leaves its marker). */
  running(key: PassKey): Promise<RunningPass | undefined>;

  /** One runner at a time: undefined when another runner holds the pass key. */
  acquire(key: PassKey, seconds?: number): Promise<Lease | undefined>;

  /** Keeps a pass's record beside its state; returns its name. */
  recordPass(key: PassKey, record: { startedAt: string }): Promise<string>;
  /** The last `count` pass records, newest first, as stored (the engine's PassRecord). */
  recentPasses(key: PassKey, count: number): Promise<unknown[]>;

  /**
   * Forgets everything of a configuration (or of those of its scopes named) but a lease held: a new one of the
   * same name, or a scope given up, starts afresh. Returns how many items went.
   */
  forget(configuration: string, scopes?: readonly string[]): Promise<number>;
  /** The unit scopes of a management group (`<group>/units/<n>-of-<count>`, lower-cased) a configuration has anything kept for. */
  storedUnits(configuration: string, group: string): Promise<string[]>;
}
