import { setTimeout as sleep } from "node:timers/promises";
import { describeError } from "./errors.js";

export interface RetryPolicy {
  /** Attempts in all, after the SDK's own retries inside each. */
  attempts: number;
  /** The first wait; each next one doubles. */
  delayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, delayMs: 2_000 };

/**
 * How one attempt ended. A failure is tried again (after `retryAfterMs` too, when the destination asked for
 * it) unless it says `retry: false`: then `final` says the unit is refused for what it is (too large,
 * invalid), and otherwise the destination will take nothing now (a trigger that is gone).
 */
export type Attempt = { ok: true } | { ok: false; reason: string; retry: true; retryAfterMs?: number } | { ok: false; reason: string; retry: false; final: boolean };

export const SENT: Attempt = { ok: true };

/**
 * How a unit's send ended, after its attempts: through, or not with the last reason and how many attempts
 * were made. `final`: refused for what it is, so another try would fail alike (dead-lettered, the lane stays
 * open); otherwise the destination did not take it (dead-lettered, the lane backs off).
 */
export type SendOutcome = { ok: true } | { ok: false; reason: string; final: boolean; attempts: number };

export interface RetryOptions {
  /** Called before each attempt (a request counted). */
  onAttempt?: () => void;
  /** A thrown error that refuses the unit itself; any other thrown error is tried again. */
  refuses?: (e: unknown) => boolean;
}

/** Tries `attempt` up to `policy.attempts` times, waiting longer each time (after the SDK's own retries inside each). */
export async function withRetries(policy: RetryPolicy, attempt: () => Promise<Attempt>, options: RetryOptions = {}): Promise<SendOutcome> {
  let reason = "not sent";
  for (let n = 1; n <= policy.attempts; n++) {
    if (n > 1) await sleep(policy.delayMs * 2 ** (n - 2));
    options.onAttempt?.();
    let result: Attempt;
    try {
      result = await attempt();
    } catch (e) {
      result = options.refuses?.(e) ? { ok: false, reason: describeError(e), retry: false, final: true } : { ok: false, reason: describeError(e), retry: true };
    }
    if (result.ok) return result;
    reason = result.reason;
    if (!result.retry) return { ok: false, reason, final: result.final, attempts: n };
    if (result.retryAfterMs !== undefined && n < policy.attempts) await sleep(result.retryAfterMs);
  }
  return { ok: false, reason, final: false, attempts: policy.attempts };
}

/** The Azure SDKs' own retries (core-rest-pipeline, Event Hubs, and Blob storage's as `maxRetries + 1` tries); `timeoutInMs` is Event Hubs'. */
export interface SdkRetryOptions {
  maxRetries?: number;
  retryDelayInMs?: number;
  maxRetryDelayInMs?: number;
  timeoutInMs?: number;
}
