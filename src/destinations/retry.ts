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
