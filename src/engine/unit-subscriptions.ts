import type { UnseenVerdict } from "../change/entries.js";
import { subscriptionOf } from "../records/record.js";
import type { SubscriptionLedger } from "../state/store.js";

/** What a management group unit's pass did per subscription, kept in its pass record (status reads it). */
export interface UnitSubscriptionsReport {
  /** Records read per subscription: every member at the end of the pass (0 for one with none), and any other read. */
  read: Record<string, number>;
  /** Whether the group's members could be read after the pass (else nothing was removed, and the ledger stayed). */
  membersKnown: boolean;
  /** New to the unit this pass: their records went as their baseline. */
  joined: string[];
  /** Out of the group, since when: their state is kept until the retention has passed. */
  departed: Record<string, string>;
  /** Out of the group for longer than the retention: their state was dropped this pass (nothing sent). */
  forgotten: string[];
}

/**
 * A management group unit's subscriptions over one pass: which are new to it (a streaming pass exports their
 * records as their baseline), how many records each gave, and, once the read is complete, who left and since
 * when, and whose state is old enough to forget. The ledger lives in the unit's state.
 */
export class UnitSubscriptions {
  readonly #previous: SubscriptionLedger | undefined;
  readonly #known: ReadonlySet<string> | undefined;
  readonly #read = new Map<string, number>();
  readonly #joined = new Set<string>();
  #members: ReadonlySet<string> | undefined;
  #departed: Record<string, string> = {};
  #forgotten = new Set<string>();
  // Records come ordered by id, so mostly many of one subscription in a row.
  #lastPrefix = "";
  #lastSubscription = "";

  /** `streaming`: a pass that exports changes only (a baseline or snapshot exports everything anyway). */
  constructor(
    previous: SubscriptionLedger | undefined,
    private readonly streaming: boolean,
  ) {
    this.#previous = previous;
    this.#known = previous === undefined ? undefined : new Set([...previous.members, ...Object.keys(previous.departed)]);
  }

  /** Counts a record read; true when its subscription is new to the unit and the pass streams: the record is part of that subscription's baseline. */
  observe(id: string): boolean {
    const subscription = this.#subscriptionOf(id);
    this.#read.set(subscription, (this.#read.get(subscription) ?? 0) + 1);
    if (!this.streaming || this.#known === undefined || this.#known.has(subscription)) return false;
    this.#joined.add(subscription);
    return true;
  }

  /**
   * After a complete read, with the members of the unit now (undefined: they could not be read, so every unseen
   * record is kept and the ledger stays as it was): how unseen records are settled. A member's are removed, a
   * departed subscription's kept, and forgotten once it left `retentionMs` before `now`.
   */
  close(members: ReadonlySet<string> | undefined, now: string, retentionMs: number): (id: string) => UnseenVerdict {
    this.#members = members;
    if (members === undefined) return () => "keep";
    const expiredBefore = Date.parse(now) - retentionMs;
    const departed: Record<string, string> = {};
    for (const [subscription, since] of Object.entries(this.#previous?.departed ?? {})) if (!members.has(subscription)) departed[subscription] = since;
    for (const subscription of this.#previous?.members ?? []) if (!members.has(subscription)) departed[subscription] ??= now;
    // Read, then gone from the group before the pass asked again: it left too (else its state would never be dated).
    for (const subscription of this.#read.keys()) if (subscription !== "" && !members.has(subscription)) departed[subscription] ??= now;
    for (const [subscription, since] of Object.entries(departed)) {
      if (Date.parse(since) <= expiredBefore) {
        this.#forgotten.add(subscription);
        delete departed[subscription];
      }
    }
    this.#departed = departed;
    return (id) => {
      const subscription = this.#subscriptionOf(id);
      if (members.has(subscription)) return "remove";
      if (this.#forgotten.has(subscription)) return "forget";
      // State written before the ledger was kept: its subscriptions that left are dated from now.
      this.#departed[subscription] ??= now;
      return "keep";
    };
  }

  /** Whether settling unseen records would forget some: worth reading the ids for, even where the type has no removals. */
  get forgets(): boolean {
    return this.#forgotten.size > 0;
  }

  /** The ledger to keep in the state (the previous one when the members were not known). */
  ledger(): SubscriptionLedger | undefined {
    if (this.#members === undefined) return this.#previous;
    return { members: [...this.#members].sort(), departed: sortedRecord(this.#departed) };
  }

  /** Whether the ledger to keep differs from the one loaded: the state must be written even if no record changed. */
  get changed(): boolean {
    return JSON.stringify(this.ledger()) !== JSON.stringify(this.#previous);
  }

  /** What the pass did per subscription; for a pass that failed or whose members were not read, the members are the ledger's. */
  report(): UnitSubscriptionsReport {
    const read: Record<string, number> = {};
    for (const subscription of this.#members ?? this.#previous?.members ?? []) read[subscription] = 0;
    for (const [subscription, n] of this.#read) read[subscription] = n;
    const joined = new Set(this.#joined);
    if (this.#known !== undefined) for (const subscription of this.#members ?? []) if (!this.#known.has(subscription)) joined.add(subscription);
    return {
      read: sortedRecord(read),
      membersKnown: this.#members !== undefined,
      joined: [...joined].sort(),
      departed: this.#members === undefined ? { ...(this.#previous?.departed ?? {}) } : sortedRecord(this.#departed),
      forgotten: [...this.#forgotten].sort(),
    };
  }

  #subscriptionOf(id: string): string {
    if (this.#lastPrefix !== "" && id.startsWith(this.#lastPrefix)) return this.#lastSubscription;
    const subscription = subscriptionOf(id)?.toLowerCase() ?? "";
    const end = "/subscriptions/".length + subscription.length;
    this.#lastSubscription = subscription;
    this.#lastPrefix = subscription !== "" && id[end] === "/" ? id.slice(0, end + 1) : "";
    return subscription;
  }
}

function sortedRecord<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
