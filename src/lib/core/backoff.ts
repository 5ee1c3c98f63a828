/**
 * Exponential backoff with full jitter: the n-th wait (n from 0) is uniform between `initial` and
 * min(max, initial × 2^n), and never past the deadline. All values in milliseconds.
 */
export function backoffDelay(
  n: number,
  o: { initialMs: number; maxMs: number; remainingMs: number },
  random: () => number = Math.random,
): number {
  const cap = Math.min(o.maxMs, o.initialMs * 2 ** Math.min(n, 30));
  const low = Math.min(o.initialMs, cap);
  const delay = low + random() * (cap - low);
  return Math.max(0, Math.min(delay, o.remainingMs));
}
