/**
 * Retrying an operation that can fail for a moment (a network hiccup) with growing pauses. What
 * counts as a passing failure is the caller's to say: an unknown failure is final, so a real
 * error is never hidden behind minutes of retries.
 */

export interface RetryPolicy {
  /** Pauses before the 2nd, 3rd, … attempt; its length is the number of retries. */
  delaysMs: readonly number[];
  /** Why a failure may pass (a short phrase for the log), or undefined when it is final. */
  transient(e: unknown): string | undefined;
  /** Told before each pause: which attempt failed, why, and how long the pause is. */
  onRetry?(attempt: number, reason: string, delayMs: number, e: unknown): void;
  sleep?(ms: number): Promise<void>;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function withRetry<T>(operation: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  const sleep = policy.sleep ?? pause;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (e) {
      const delay = policy.delaysMs[attempt - 1];
      const reason = delay === undefined ? undefined : policy.transient(e);
      if (reason === undefined || delay === undefined) throw e;
      policy.onRetry?.(attempt, reason, delay, e);
      await sleep(delay);
    }
  }
}
