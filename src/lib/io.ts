/**
 * The small port through which src/lib talks to whatever runs it: the Actions runner in the entries
 * (backed by @actions/core), a plain console or a recorder in tests. Nothing in src/lib imports
 * @actions/core.
 */
export interface Log {
  info(message: string): void;
  warning(message: string): void;
  debug(message: string): void;
  /** Output inside a collapsible group. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Never print this value: the runner masks it from logs. */
  secret(value: string): void;
}

/** A Log that records what it was told; handy for tests and for composing summaries. */
export function recordingLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => void lines.push(m),
    warning: (m) => void lines.push(`warning: ${m}`),
    debug: () => undefined,
    group: async (name, fn) => {
      lines.push(`group: ${name}`);
      return fn();
    },
    secret: () => undefined,
  };
}
