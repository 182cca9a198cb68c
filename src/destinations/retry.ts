import { setTimeout as sleep } from "node:timers/promises";
import { describeError } from "./errors.js";

export interface RetryPolicy {
  /** Attempts in all, after the SDK's own retries inside each. */
  attempts: number;
  /** The first wait; each next one doubles. */
  delayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, delayMs: 2_000 };

export { sleep };

/** Waits before attempt `n` (1-based; none before the first). */
export function backoff(policy: RetryPolicy, attempt: number): Promise<void> {
  return attempt <= 1 ? Promise.resolve() : sleep(policy.delayMs * 2 ** (attempt - 2));
}

/**
 * How a unit's send ended: through, or not with the last reason. `final`: refused for what it is (too
 * large, invalid), so another try would fail alike; otherwise every attempt was spent on a destination
 * that did not take it.
 */
export type SendOutcome = { ok: true } | { ok: false; reason: string; final: boolean };

/** Tries `send` up to `policy.attempts` times with backoff (after the SDK's own retries inside each). */
export async function withRetries(policy: RetryPolicy, send: () => Promise<unknown>, options: { onAttempt?: () => void; final?: (e: unknown) => boolean } = {}): Promise<SendOutcome> {
  let reason = "not sent";
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    await backoff(policy, attempt);
    options.onAttempt?.();
    try {
      await send();
      return { ok: true };
    } catch (e) {
      reason = describeError(e);
      if (options.final?.(e)) return { ok: false, reason, final: true };
    }
  }
  return { ok: false, reason, final: false };
}

/** The Azure SDKs' own retries (core-rest-pipeline and Event Hubs); `timeoutInMs` is Event Hubs'. */
export interface SdkRetryOptions {
  maxRetries?: number;
  retryDelayInMs?: number;
  maxRetryDelayInMs?: number;
  timeoutInMs?: number;
}
