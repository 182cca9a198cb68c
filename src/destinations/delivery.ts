import { isNotFound } from "../shared/azure-errors.js";
import { onceUntilRejected } from "../shared/once.js";
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import { jsonBytes } from "../mapping/cut.js";
import type { DeadLetterStore } from "./dead-letter.js";
import type { SendOutcome } from "./retry.js";
import { emptyReport, type DeliveryItem, type DeliveryReport } from "./sink.js";

/** Container of the backoffs in the app's own storage account. */
export const BACKOFF_CONTAINER = "action-backoff";

/**
 * A lane of an action that failed (a Log Analytics stream, an event hub, a container, a webhook): when the
 * next pass may try it again, and why it stopped. Lanes of one action fail apart: a stream the service
 * refuses does not hold back the others.
 */
export interface Backoff {
  lane: string;
  /** Units that exhausted their attempts in a row, across passes. */
  failures: number;
  since: string;
  until: string;
  reason: string;
}

/** Backoffs per action key and lane, shared by every pass (and instance) that delivers to that destination. */
export interface BackoffStore {
  get(actionKey: string, lane: string): Promise<Backoff | undefined>;
  set(actionKey: string, backoff: Backoff): Promise<void>;
  clear(actionKey: string, lane: string): Promise<void>;
  /** Every lane of the action that is or was backed off. */
  list(actionKey: string): Promise<Backoff[]>;
}

export class MemoryBackoffStore implements BackoffStore {
  readonly #entries = new Map<string, Backoff>();
  async get(actionKey: string, lane: string): Promise<Backoff | undefined> {
    return this.#entries.get(`${actionKey}/${lane}`);
  }
  async set(actionKey: string, backoff: Backoff): Promise<void> {
    this.#entries.set(`${actionKey}/${backoff.lane}`, backoff);
  }
  async clear(actionKey: string, lane: string): Promise<void> {
    this.#entries.delete(`${actionKey}/${lane}`);
  }
  async list(actionKey: string): Promise<Backoff[]> {
    return [...this.#entries].filter(([k]) => k.startsWith(`${actionKey}/`)).map(([, b]) => b);
  }
}

const backoffSchema = z.object({ lane: z.string(), failures: z.number().int().positive(), since: z.string(), until: z.string(), reason: z.string() });

/** Backoffs as small JSON blobs (container `action-backoff`, `<action key>/<lane>.json`), so that every instance and the status see them. */
export class BlobBackoffStore implements BackoffStore {
  constructor(private readonly container: ContainerClient) {}

  readonly #ensure = onceUntilRejected(() => this.container.createIfNotExists());

  #name(actionKey: string, lane: string): string {
    return `${actionKey}/${encodeURIComponent(lane)}.json`;
  }

  async #read(name: string): Promise<Backoff | undefined> {
    try {
      const parsed = backoffSchema.safeParse(JSON.parse((await this.container.getBlobClient(name).downloadToBuffer()).toString("utf8")));
      return parsed.success ? parsed.data : undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  get(actionKey: string, lane: string): Promise<Backoff | undefined> {
    return this.#read(this.#name(actionKey, lane));
  }

  async set(actionKey: string, backoff: Backoff): Promise<void> {
    await this.#ensure();
    const body = JSON.stringify(backoff);
    await this.container.getBlockBlobClient(this.#name(actionKey, backoff.lane)).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: "application/json" } });
  }

  async clear(actionKey: string, lane: string): Promise<void> {
    await this.container.getBlobClient(this.#name(actionKey, lane)).deleteIfExists();
  }

  async list(actionKey: string): Promise<Backoff[]> {
    if (!(await this.container.exists())) return [];
    const out: Backoff[] = [];
    for await (const blob of this.container.listBlobsFlat({ prefix: `${actionKey}/` })) {
      const backoff = await this.#read(blob.name);
      if (backoff !== undefined) out.push(backoff);
    }
    return out;
  }
}

/** The first backoff after a failure, doubled at each failure after it, up to the longest. */
export const FIRST_BACKOFF_MS = 60_000;
export const LONGEST_BACKOFF_MS = 30 * 60_000;
/** Items an open breaker holds before it writes them as one dead letter. */
export const HELD_LETTER_BYTES = 4 * 1024 * 1024;

export interface LedgerOptions {
  deadLetters: DeadLetterStore;
  /** None: backoffs last as long as the sink (in memory). */
  backoff?: BackoffStore;
  /** The configuration whose pass this is: its dead letters are its own. */
  configuration?: string;
  now?: () => Date;
}

interface Lane {
  known: Promise<Backoff | undefined>;
  /** Whether `known` has settled: `open` then says whether the lane may be tried, without waiting. */
  settled: boolean;
  open: Backoff | undefined;
}

/** Items bound for one dead letter: same reason, same attempts. */
interface Pending {
  reason: string;
  attempts: number;
  items: DeliveryItem[];
}

/** Lines of a report's `failures`, at most: the rest is counted in the last. */
export const MAX_FAILURE_LINES = 20;

/**
 * One sink's bookkeeping for a pass: what the destination acknowledged, cut and dead-lettered (reset at each
 * flush), and a circuit breaker per lane (stream, hub, container, webhook). After one unit (a request, a batch,
 * an event) of a lane exhausts its attempts, the lane is backed off: the rest of the pass's items for it go to
 * dead letters without being tried, and later passes do the same until the backoff ends. The first unit tried
 * after it is the probe: through, and the backoff is cleared; failed, and it doubles. Items dead-lettered for
 * the same reason are written together (a letter per reason and flush, or per 4 MB), so that a refusal per
 * event costs one letter, not one per event, and memory stays bounded.
 */
export class DeliveryLedger {
  #report: DeliveryReport = emptyReport();
  readonly #backoff: BackoffStore;
  readonly #lanes = new Map<string, Lane>();
  readonly #pending = new Map<string, Pending>();
  #pendingBytes = 0;
  /** Dead-lettered items per reason since the last flush, for the report's failures. */
  readonly #lettered = new Map<string, number>();
  readonly #notes: string[] = [];

  constructor(
    private readonly sink: { actionKey: string; description: string },
    private readonly options: LedgerOptions,
  ) {
    this.#backoff = options.backoff ?? new MemoryBackoffStore();
  }

  /** A request (or batch) sent to the destination, retries included. */
  countRequest(): void {
    this.#report.requests++;
  }

  /** A payload cut to fit. */
  countCut(): void {
    this.#report.cut++;
  }

  /** Books a unit's send: acknowledged, refused for what it is, or not taken after every attempt. */
  settle(lane: string, items: DeliveryItem[], outcome: SendOutcome): Promise<void> {
    if (outcome.ok) return this.delivered(lane, items.length);
    if (outcome.final) return this.refused(items, outcome.reason, outcome.attempts);
    return this.exhausted(lane, items, outcome.reason, outcome.attempts);
  }

  #now(): Date {
    return this.options.now?.() ?? new Date();
  }

  #lane(name: string): Lane {
    let lane = this.#lanes.get(name);
    if (lane === undefined) {
      const created: Lane = { known: Promise.resolve(undefined), settled: false, open: undefined };
      created.known = this.#backoff.get(this.sink.actionKey, name).then(
        (b) => {
          if (b !== undefined && Date.parse(b.until) > this.#now().getTime()) created.open = b;
          created.settled = true;
          return b;
        },
        // Unknown: try. A destination that is down shows itself on the first unit.
        () => {
          created.settled = true;
          return undefined;
        },
      );
      lane = created;
      this.#lanes.set(name, lane);
    }
    return lane;
  }

  /** Whether to try sending on a lane: false while it is backed off; the items then go to `hold`. */
  async mayTry(lane: string): Promise<boolean> {
    const l = this.#lane(lane);
    await l.known;
    return l.open === undefined;
  }

  /** mayTry without waiting: undefined until the lane's backoff is known (then ask mayTry). */
  mayTryNow(lane: string): boolean | undefined {
    const l = this.#lane(lane);
    return l.settled ? l.open === undefined : undefined;
  }

  /** Units the destination acknowledged; a probe that went through ends the lane's backoff. */
  async delivered(lane: string, count: number): Promise<void> {
    this.#report.sent += count;
    const l = this.#lane(lane);
    const known = await l.known;
    if (known !== undefined && l.open === undefined) {
      l.known = Promise.resolve(undefined);
      await this.#backoff.clear(this.sink.actionKey, lane).catch(() => undefined);
    }
  }

  /** A unit that failed every attempt (the destination did not take it): dead-lettered, and its lane backed off, longer each time in a row. */
  async exhausted(lane: string, items: DeliveryItem[], reason: string, attempts: number): Promise<void> {
    await this.#write({ reason, attempts, items });
    const l = this.#lane(lane);
    if (l.open !== undefined) return;
    const known = await l.known;
    const failures = (known?.failures ?? 0) + 1;
    const now = this.#now();
    const backoff: Backoff = {
      lane,
      failures,
      since: known?.since ?? now.toISOString(),
      until: new Date(now.getTime() + Math.min(FIRST_BACKOFF_MS * 2 ** (failures - 1), LONGEST_BACKOFF_MS)).toISOString(),
      reason,
    };
    l.open = backoff;
    l.known = Promise.resolve(backoff);
    this.#report.backedOffUntil = backoff.until;
    this.note(`${lane} backed off until ${backoff.until} after: ${reason}`);
    await this.#backoff.set(this.sink.actionKey, backoff).catch(() => undefined);
  }

  /** Items not tried because their lane is backed off. */
  hold(lane: string, items: readonly DeliveryItem[]): Promise<void> {
    const open = this.#lane(lane).open;
    if (open !== undefined) this.#report.backedOffUntil ??= open.until;
    const reason = open === undefined ? "not tried" : `not tried: ${open.lane} is backed off until ${open.until} after: ${open.reason}`;
    return this.refused(items, reason, 0);
  }

  /** Items the destination refused for what they are (too large, invalid): dead-lettered, with the others of that reason. */
  async refused(items: readonly DeliveryItem[], reason: string, attempts: number): Promise<void> {
    const key = `${attempts}\n${reason}`;
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = { reason, attempts, items: [] };
      this.#pending.set(key, pending);
    }
    for (const item of items) {
      pending.items.push(item);
      this.#pendingBytes += item.bytes ?? item.json?.length ?? jsonBytes(item.payload);
    }
    if (this.#pendingBytes >= HELD_LETTER_BYTES) await this.#writePending();
  }

  async #writePending(): Promise<void> {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    this.#pendingBytes = 0;
    for (const pending of all) await this.#write(pending);
  }

  /** Files one letter in the dead-letter store (with the pass's configuration) and counts it. */
  async #write(letter: Pending): Promise<void> {
    if (letter.items.length === 0) return;
    await this.options.deadLetters.put({
      actionKey: this.sink.actionKey,
      destination: this.sink.description,
      reason: letter.reason,
      attempts: letter.attempts,
      items: letter.items,
      ...(this.options.configuration !== undefined ? { configuration: this.options.configuration } : {}),
    });
    this.#report.deadLettered += letter.items.length;
    this.#lettered.set(letter.reason, (this.#lettered.get(letter.reason) ?? 0) + letter.items.length);
  }

  /** A line for the report's failures (secret-free). */
  note(line: string): void {
    this.#notes.push(line);
  }

  /** The report since the last flush, once every pending letter is written; the next one starts empty. */
  async take(): Promise<DeliveryReport> {
    await this.#writePending();
    const lines = [...this.#notes, ...[...this.#lettered].map(([reason, n]) => `${n} dead-lettered: ${reason}`)];
    this.#report.failures = lines.length <= MAX_FAILURE_LINES ? lines : [...lines.slice(0, MAX_FAILURE_LINES - 1), `and ${lines.length - MAX_FAILURE_LINES + 1} more`];
    this.#notes.length = 0;
    this.#lettered.clear();
    const report = this.#report;
    this.#report = emptyReport();
    return report;
  }
}
