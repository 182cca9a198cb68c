export interface RetryPolicy {
  /** Attempts in all, after the SDK's own retries inside each. */
  attempts: number;
  /** The first wait; each next one doubles. */
  delayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, delayMs: 2_000 };

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits before attempt `n` (1-based; none before the first). */
export function backoff(policy: RetryPolicy, attempt: number): Promise<void> {
  return attempt <= 1 ? Promise.resolve() : sleep(policy.delayMs * 2 ** (attempt - 2));
}

/**
 * Tries `send` up to `policy.attempts` times with backoff (after the SDK's own retries inside each).
 * Returns undefined when it went through, else the last reason; `final` errors are not tried again.
 */
export async function withRetries(
  policy: RetryPolicy,
  send: () => Promise<void>,
  options: { onAttempt?: () => void; describe: (e: unknown) => string; final?: (e: unknown) => boolean },
): Promise<string | undefined> {
  let reason: string | undefined;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    await backoff(policy, attempt);
    options.onAttempt?.();
    try {
      await send();
      return undefined;
    } catch (e) {
      reason = options.describe(e);
      if (options.final?.(e)) break;
    }
  }
  return reason ?? "not sent";
}

/** The Azure SDKs' own retries (core-rest-pipeline and Event Hubs); `timeoutInMs` is Event Hubs'. */
export interface SdkRetryOptions {
  maxRetries?: number;
  retryDelayInMs?: number;
  maxRetryDelayInMs?: number;
  timeoutInMs?: number;
}
