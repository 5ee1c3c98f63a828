/** Small text helpers for messages built from tool output. */

/** The last non-blank line of a tool's output, trimmed: what a one-line error quotes. */
export function lastLine(text: string): string {
  return (
    text
      .trim()
      .split(/\r?\n/)
      .filter((line) => line.trim())
      .pop()
      ?.trim() ?? ''
  );
}

/** "1 attempt", "3 attempts". */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
