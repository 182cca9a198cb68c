import type { Lease } from "./lease.js";
import type { RunningPass } from "./pass-log.js";
import type { ExportState, PassKey, PassProgress, StateStore } from "./store.js";

/**
 * One pass's hold on its pass key: the lease, the progress of a stopped pass it goes on from, the state's
 * ETag from one checkpoint to the next, and the running marker status shows. Opened with the lease, released once.
 */
export class PassSession {
  readonly #lease: Lease;
  readonly #now: () => Date;
  #etag: string | undefined;
  #resumed = false;
  #marked = false;

  private constructor(
    readonly store: StateStore,
    readonly key: PassKey,
    lease: Lease,
    now: () => Date,
  ) {
    this.#lease = lease;
    this.#now = now;
  }

  /** Undefined when another runner holds the pass key; throws when the storage cannot be reached. */
  static async open(store: StateStore, key: PassKey, now: () => Date = () => new Date()): Promise<PassSession | undefined> {
    const lease = await store.acquire(key);
    return lease === undefined ? undefined : new PassSession(store, key, lease, now);
  }

  /** Throws once the lease is lost: another runner may hold it by now. */
  check(): void {
    this.#lease.check();
  }

  /** Where a stopped pass left off; undefined: the pass starts from the beginning. */
  async resume(): Promise<PassProgress | undefined> {
    const progress = await this.store.loadProgress(this.key);
    this.#resumed = progress !== undefined;
    return progress;
  }

  /** The state as stored; its ETag is the condition of the first checkpoint. */
  async load(): Promise<ExportState> {
    const state = await this.store.load(this.key);
    this.#etag = state.etag;
    return state;
  }

  /** Shows how far a long pass is; the marker goes when the session is released. */
  async showRunning(running: RunningPass): Promise<void> {
    this.#marked = true;
    await this.store.saveRunning(this.key, running);
  }

  /**
   * Writes the state over the one loaded or last written (a StateConflictError if another runner wrote since),
   * and returns the bytes written. `unchanged`: a state already stored is not rewritten, only when it was read
   * is noted (then undefined).
   */
  async checkpoint(state: ExportState, unchanged = false): Promise<number | undefined> {
    if (unchanged && this.#etag !== undefined) {
      this.#etag = await this.store.markRead(this.key, state, this.#etag);
      return undefined;
    }
    const saved = await this.store.save(this.key, state, this.#etag, this.#now());
    this.#etag = saved.etag;
    return saved.bytes;
  }

  /** Out of time: where the next pass goes on from. */
  async stop(progress: PassProgress): Promise<void> {
    await this.store.saveProgress(this.key, progress);
  }

  /** Read to the end: the progress this pass went on from is done with. */
  async finish(): Promise<void> {
    if (this.#resumed) await this.store.clearProgress(this.key);
  }

  /** Takes the running marker away (a failure to is let be: without the lease, status ignores it) and frees the lease. */
  async release(): Promise<void> {
    if (this.#marked) await this.store.clearRunning(this.key).catch(() => undefined);
    await this.#lease.release();
  }

  /** Keeps the pass's record beside its state; a failure to keep it is not the pass's. */
  async record(record: { startedAt: string }): Promise<void> {
    await this.store.recordPass(this.key, record).catch(() => undefined);
  }
}
