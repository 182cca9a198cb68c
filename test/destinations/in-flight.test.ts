import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { InFlight } from "../../src/destinations/in-flight.js";

describe("sends in flight", () => {
  it("runs at most its limit at once, and drains", async () => {
    const inFlight = new InFlight(2);
    let running = 0;
    let most = 0;
    const send = async () => {
      most = Math.max(most, ++running);
      await sleep(5);
      running--;
    };
    for (let i = 0; i < 6; i++) await inFlight.start(send);
    await inFlight.drained();
    expect(most).toBe(2);
    expect(running).toBe(0);
  });

  it("a send that throws fails the next start (or drained) once, never as an unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      const inFlight = new InFlight(4);
      await inFlight.start(async () => {
        throw new Error("the dead letter could not be written");
      });
      await sleep(10);
      await expect(inFlight.start(async () => undefined)).rejects.toThrow("the dead letter could not be written");
      await inFlight.start(async () => undefined);
      await inFlight.start(() => Promise.reject(new Error("again")));
      await expect(inFlight.drained()).rejects.toThrow("again");
      await inFlight.drained();
      await sleep(10);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
