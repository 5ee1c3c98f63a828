/**
 * A problem the user can fix: its message is one line naming what is wrong and how to fix it.
 * Entries print it as-is (no stack trace) and exit non-zero.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
}

/** One line for the log: a UserError's own message, otherwise the error's message with its kind. */
export function describeError(err: unknown): string {
  if (err instanceof UserError) return err.message;
  if (err instanceof Error) return `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`;
  return String(err);
}
