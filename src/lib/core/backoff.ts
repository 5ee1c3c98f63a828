/** How long to wait between tries; all values in milliseconds. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Time left before the deadline: no wait goes past it. */
  remainingMs: number;
}

/**
 * Exponential backoff with full jitter: the n-th wait (n from 0) is uniform between `initial` and
 * min(max, initial × 2^n), and never past the deadline. `random: () => 1` gives the plain doubling
 * without jitter (initial, 2 × initial, … up to max).
 */
export function backoffDelay(
  retry: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const cap = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(retry, 30));
  const low = Math.min(options.initialMs, cap);
  const delay = low + random() * (cap - low);
  return Math.max(0, Math.min(delay, options.remainingMs));
}

/** No jitter: every wait is the upper bound. */
export const noJitter = (): number => 1;
