import { ExportEntries } from "../../src/change/entries.js";
import { decodeState, encodeState } from "../../src/state/codec.js";
import { parseRunning, passRecordName, type RunningPass } from "../../src/state/pass-log.js";
import { passPrefix, progressSchema, scopePrefix, StateConflictError, type ExportState, type PassKey, type PassProgress, type StateStore, type StateToSave } from "../../src/state/store.js";
import type { Lease } from "../../src/state/lease.js";

interface StoredState {
  body: Buffer;
  etag: string;
  snapshotAt?: string;
  readAt?: string;
}

/**
 * The state store in memory, for engine tests that need state but not Blob storage. It keeps what the Blob
 * store keeps, as the Blob store keeps it (the version 4 codec, JSON for the rest, keys by passPrefix),
 * so that test/state/contract.test.ts holds both to one contract. Leases are held until released: no
 * expiry, no loss (the Azurite tests prove those).
 */
export class MemoryStateStore implements StateStore {
  readonly #states = new Map<string, StoredState>();
  readonly #progress = new Map<string, string>();
  readonly #running = new Map<string, string>();
  /** Lock per pass key, as the Blob store leaves a lock blob: held or not. */
  readonly #locks = new Map<string, { held: boolean }>();
  /** Pass records per pass key, by name. */
  readonly #passes = new Map<string, Map<string, string>>();
  #etags = 0;

  constructor(readonly where?: string) {}

  ready(): Promise<unknown> {
    return Promise.resolve();
  }

  async load(key: PassKey): Promise<ExportState> {
    const stored = this.#states.get(passPrefix(key));
    if (stored === undefined) return { entries: new ExportEntries(), etag: undefined, updatedAt: undefined };
    return { ...(await decodeState(stored.body, passPrefix(key))), etag: stored.etag, ...(stored.readAt ? { readAt: stored.readAt } : {}) };
  }

  async save(key: PassKey, state: StateToSave, etag: string | undefined, now = new Date()): Promise<{ etag: string; bytes: number }> {
    const encoded = await encodeState(state, now);
    // Checked after encoding, as the Blob store's condition is checked on upload.
    this.#condition(key, etag);
    const stored = { body: encoded.body, etag: this.#etag(), ...metadata(state) };
    this.#states.set(passPrefix(key), stored);
    encoded.stored();
    return { etag: stored.etag, bytes: encoded.body.length };
  }

  async markRead(key: PassKey, state: Pick<ExportState, "snapshotAt" | "readAt">, etag: string): Promise<string> {
    const stored = this.#condition(key, etag)!;
    this.#states.set(passPrefix(key), { body: stored.body, etag: this.#etag(), ...metadata(state) });
    return this.#states.get(passPrefix(key))!.etag;
  }

  async snapshotAt(key: PassKey): Promise<string | undefined> {
    return this.#states.get(passPrefix(key))?.snapshotAt;
  }

  async loadProgress(key: PassKey): Promise<PassProgress | undefined> {
    const text = this.#progress.get(passPrefix(key));
    if (text === undefined) return undefined;
    const parsed = progressSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  }

  async saveProgress(key: PassKey, progress: PassProgress): Promise<void> {
    this.#progress.set(passPrefix(key), JSON.stringify(progress));
  }

  async clearProgress(key: PassKey): Promise<void> {
    this.#progress.delete(passPrefix(key));
  }

  async saveRunning(key: PassKey, running: RunningPass): Promise<void> {
    this.#running.set(passPrefix(key), JSON.stringify(running));
  }

  async clearRunning(key: PassKey): Promise<void> {
    this.#running.delete(passPrefix(key));
  }

  async running(key: PassKey): Promise<RunningPass | undefined> {
    const text = this.#running.get(passPrefix(key));
    return text !== undefined && this.#locks.get(passPrefix(key))?.held ? parseRunning(text) : undefined;
  }

  async acquire(key: PassKey): Promise<Lease | undefined> {
    const prefix = passPrefix(key);
    const lock = this.#locks.get(prefix) ?? { held: false };
    this.#locks.set(prefix, lock);
    if (lock.held) return undefined;
    lock.held = true;
    let released = false;
    return {
      check: () => undefined,
      release: async () => {
        // Released twice, a lease taken by another runner in between stays that runner's.
        if (!released) lock.held = false;
        released = true;
      },
    };
  }

  async recordPass(key: PassKey, record: { startedAt: string }): Promise<string> {
    const prefix = passPrefix(key);
    const records = this.#passes.get(prefix) ?? new Map<string, string>();
    this.#passes.set(prefix, records);
    const name = passRecordName(record.startedAt);
    records.set(name, JSON.stringify(record));
    return `${prefix}/passes/${name}`;
  }

  async recentPasses(key: PassKey, count: number): Promise<unknown[]> {
    const records = this.#passes.get(passPrefix(key)) ?? new Map<string, string>();
    return [...records.keys()]
      .sort()
      .slice(0, count)
      .map((name) => JSON.parse(records.get(name)!) as unknown);
  }

  async storedUnits(configuration: string, group: string): Promise<string[]> {
    const prefix = scopePrefix(configuration, `${group}/units`);
    const units = new Set<string>();
    for (const key of [...this.#states.keys(), ...this.#progress.keys(), ...this.#passes.keys(), ...this.#locks.keys()]) {
      if (key.startsWith(prefix))
        units.add(
          `/${key
            .slice(`${encodeURIComponent(configuration)}/`.length)
            .split("/")
            .slice(0, -1)
            .join("/")}`,
        );
    }
    return [...units];
  }

  async forget(configuration: string, scopes?: readonly string[]): Promise<number> {
    const prefixes = scopes === undefined ? [`${encodeURIComponent(configuration)}/`] : scopes.map((scope) => scopePrefix(configuration, scope));
    const mine = (prefix: string) => prefixes.some((p) => `${prefix}/`.startsWith(p));
    let deleted = 0;
    for (const map of [this.#states, this.#progress, this.#running]) {
      for (const prefix of [...map.keys()].filter(mine)) deleted += Number(map.delete(prefix));
    }
    for (const [prefix, records] of [...this.#passes].filter(([p]) => mine(p))) {
      deleted += records.size;
      this.#passes.delete(prefix);
    }
    // A lock held by a running pass stays.
    for (const [prefix] of [...this.#locks].filter(([p, l]) => mine(p) && !l.held)) deleted += Number(this.#locks.delete(prefix));
    return deleted;
  }

  /** Throws as the Blob store's conditions do when `etag` is not the stored state's (undefined: no state may be stored yet). */
  #condition(key: PassKey, etag: string | undefined): StoredState | undefined {
    const stored = this.#states.get(passPrefix(key));
    if (stored?.etag !== etag) throw new StateConflictError(`the export state of ${passPrefix(key)} changed since this pass read it`);
    return stored;
  }

  #etag(): string {
    return `"memory-${++this.#etags}"`;
  }
}

function metadata(state: Pick<ExportState, "snapshotAt" | "readAt">): Pick<StoredState, "snapshotAt" | "readAt"> {
  return { ...(state.snapshotAt ? { snapshotAt: state.snapshotAt } : {}), ...(state.readAt ? { readAt: state.readAt } : {}) };
}
