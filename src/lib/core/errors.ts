/**
 * A problem the user can fix: its message is one line naming what is wrong and how to fix it.
 * Entries print it as-is (no stack trace) and exit non-zero.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  /** The file and line (1-based) the problem is at, when it is in one: the runner annotates it there. */
  readonly location?: { file: string; line: number };

  constructor(message: string, location?: { file: string; line: number }) {
    super(message);
    if (location) this.location = location;
  }
}

/** A problem at a line of a file: "<file>:<line>: <text>", annotated on that line. */
export function errorAt(file: string, line: number, text: string): UserError {
  return new UserError(`${file}:${line}: ${text}`, { file, line });
}

/** One line for the log: a UserError's own message, otherwise the error's message with its kind. */
export function describeError(err: unknown): string {
  if (err instanceof UserError) return err.message;
  if (err instanceof Error) return `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`;
  return String(err);
}
