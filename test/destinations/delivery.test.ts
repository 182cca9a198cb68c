import { describe, expect, it } from "vitest";
import { DeliveryLedger, FIRST_BACKOFF_MS, HELD_LETTER_BYTES, LONGEST_BACKOFF_MS, MemoryBackoffStore } from "../../src/destinations/delivery.js";
import type { DeadLetter, DeadLetterStore } from "../../src/destinations/dead-letter.js";
import { describeError } from "../../src/destinations/errors.js";
import type { DeliveryItem } from "../../src/destinations/sink.js";

/** The dead-letter store's contract, in memory: what the ledger files, in order. */
function letters() {
  const kept: DeadLetter[] = [];
  const store: DeadLetterStore = {
    put: async (letter) => {
      kept.push({ version: 1, failedAt: new Date().toISOString(), ...letter });
      return String(kept.length);
    },
    list: async function* () {},
    names: async function* () {},
    read: async () => undefined,
    remove: async () => undefined,
  };
  return { store, kept };
}

const item = (i: number, bytes = 100): DeliveryItem => ({ id: `r${i}`, route: "lane", payload: { i }, bytes });
const sink = { actionKey: "webhook-0123456789abcdef", description: "webhook example" };

describe("the delivery ledger's circuit breaker", () => {
  it("after one unit spends its attempts, the lane's other items are dead-lettered untried, in few letters, and later passes wait out the backoff", async () => {
    let now = Date.parse("2026-12-01T00:00:00Z");
    const clock = () => new Date(now);
    const backoff = new MemoryBackoffStore();
    const { store, kept } = letters();
    const ledger = new DeliveryLedger(sink, { deadLetters: store, backoff, configuration: "c", now: clock });

    expect(await ledger.mayTry("lane")).toBe(true);
    await ledger.exhausted("lane", [item(0)], "ECONNREFUSED 127.0.0.1:9", 3);
    expect(await ledger.mayTry("lane")).toBe(false);
    // Another lane of the same action is not held back.
    expect(await ledger.mayTry("other")).toBe(true);
    for (let i = 1; i <= 1_000; i++) await ledger.hold("lane", [item(i)]);
    const report = await ledger.take();
    expect(report).toMatchObject({ sent: 0, deadLettered: 1_001, backedOffUntil: new Date(now + FIRST_BACKOFF_MS).toISOString() });
    expect(kept.map((l) => [l.items.length, l.attempts, l.configuration])).toEqual([
      [1, 3, "c"],
      [1_000, 0, "c"],
    ]);
    expect(kept[1]!.reason).toMatch(/^not tried: lane is backed off until 2026-12-01T00:01:00.000Z after: ECONNREFUSED/);

    // The next pass (a new ledger, the same store) does not try until the backoff ends.
    const next = new DeliveryLedger(sink, { deadLetters: store, backoff, now: clock });
    expect(await next.mayTry("lane")).toBe(false);
    now += FIRST_BACKOFF_MS;
    const probe = new DeliveryLedger(sink, { deadLetters: store, backoff, now: clock });
    expect(await probe.mayTry("lane")).toBe(true);
    // The probe fails: twice as long.
    await probe.exhausted("lane", [item(2_000)], "HTTP 503", 3);
    expect((await backoff.get(sink.actionKey, "lane"))?.until).toBe(new Date(now + 2 * FIRST_BACKOFF_MS).toISOString());
    expect((await backoff.get(sink.actionKey, "lane"))?.failures).toBe(2);
    now += 2 * FIRST_BACKOFF_MS;
    const recovered = new DeliveryLedger(sink, { deadLetters: store, backoff, now: clock });
    expect(await recovered.mayTry("lane")).toBe(true);
    await recovered.delivered("lane", 5);
    expect(await backoff.list(sink.actionKey)).toEqual([]);
    expect((await recovered.take()).sent).toBe(5);
  });

  it("writes held items as a letter whenever they reach the cap, so memory stays bounded", async () => {
    const { store, kept } = letters();
    const ledger = new DeliveryLedger(sink, { deadLetters: store, backoff: new MemoryBackoffStore() });
    await ledger.exhausted("lane", [item(0)], "down", 3);
    const size = 64 * 1024;
    const count = Math.ceil((3 * HELD_LETTER_BYTES) / size);
    for (let i = 1; i <= count; i++) await ledger.hold("lane", [item(i, size)]);
    expect(kept.length).toBeGreaterThanOrEqual(3);
    await ledger.take();
    expect(kept.slice(1).reduce((n, l) => n + l.items.length, 0)).toBe(count);
    expect(kept.slice(1, -1).every((l) => l.items.length * size >= HELD_LETTER_BYTES)).toBe(true);
  });

  it("backs off for at most the longest backoff however many failures in a row", async () => {
    const now = 0;
    const backoff = new MemoryBackoffStore();
    await backoff.set(sink.actionKey, { lane: "lane", failures: 40, since: new Date(0).toISOString(), until: new Date(0).toISOString(), reason: "r" });
    const ledger = new DeliveryLedger(sink, { deadLetters: letters().store, backoff, now: () => new Date(now) });
    await ledger.exhausted("lane", [item(0)], "still down", 3);
    expect((await backoff.get(sink.actionKey, "lane"))?.until).toBe(new Date(LONGEST_BACKOFF_MS).toISOString());
  });
});

describe("describeError", () => {
  it("names what is inside an AggregateError, whose own message is empty", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:45998"), { code: "ECONNREFUSED" });
    const refused6 = Object.assign(new Error("connect ECONNREFUSED ::1:45998"), { code: "ECONNREFUSED" });
    expect(new AggregateError([refused, refused6]).message).toBe("");
    expect(describeError(new AggregateError([refused, refused6]))).toBe("ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:45998; ECONNREFUSED: connect ECONNREFUSED ::1:45998");
    expect(describeError(new Error(""))).toBe("unknown error");
    expect(describeError(Object.assign(new Error("boom https://x/?sig=abc"), { statusCode: 503 }))).toBe("HTTP 503 boom https://x/?sig=[redacted]");
  });
});
