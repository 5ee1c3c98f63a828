import { UserError } from './errors.js';

/** Small parsers for action inputs, each failing with one line that names the input and the fix. */

/** Lines of a multiline input, trimmed, without blanks and `#` comments. Commas also split when asked. */
export function parseList(value: string, opts: { commas?: boolean } = {}): string[] {
  const parts = value.split(/\r?\n/).flatMap((line) => (opts.commas ? line.split(',') : [line]));
  return parts.map((part) => part.trim()).filter((part) => part !== '' && !part.startsWith('#'));
}

export function parseBoolean(name: string, value: string, fallback: boolean): boolean {
  const word = value.trim().toLowerCase();
  if (word === '') return fallback;
  if (['true', 'yes', '1', 'on'].includes(word)) return true;
  if (['false', 'no', '0', 'off'].includes(word)) return false;
  throw new UserError(`Input "${name}" is "${value}": use true or false.`);
}

export function parseChoice<T extends string, F extends T | undefined>(
  name: string,
  value: string,
  choices: readonly T[],
  fallback: F,
): T | F {
  const choice = value.trim().toLowerCase();
  if (choice === '') return fallback;
  if ((choices as readonly string[]).includes(choice)) return choice as T;
  throw new UserError(`Input "${name}" is "${value}": use one of ${choices.join(', ')}.`);
}

/**
 * KEY=VALUE lines (build-args, labels). The value may contain "=" and be empty; a line without "="
 * or with an invalid key is an error naming the line.
 */
export function parseKeyValues(name: string, value: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  value.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? '' : line.slice(0, eq).trim();
    if (eq < 0 || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) {
      throw new UserError(
        `Input "${name}" line ${i + 1} ("${line.length > 40 ? `${line.slice(0, 40)}…` : line}") is not KEY=VALUE: write one KEY=VALUE per line.`,
      );
    }
    out.push([key, line.slice(eq + 1)]);
  });
  return out;
}

/** A duration: "30s", "2m", "1m30s", "500ms", or a bare number of seconds. Returns seconds. */
export function parseDuration(name: string, value: string, fallback: number): number {
  const text = value.trim().toLowerCase();
  if (text === '') return fallback;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const seconds = { ms: 0.001, s: 1, m: 60, h: 3600 };
  let total = 0;
  let consumed = '';
  for (const [part, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(amount) * seconds[unit as keyof typeof seconds];
    consumed += part;
  }
  if (!consumed || consumed !== text.replace(/\s+/g, '') || total <= 0) {
    throw new UserError(`Input "${name}" is "${value}": give a duration such as 30s, 2m or 1m30s.`);
  }
  return total;
}

/** A number input within [min, max]; `integer` asks for a whole number. Empty gives the fallback. */
export function parseNumber(
  name: string,
  value: string,
  fallback: number,
  min: number,
  max: number,
  integer = false,
): number {
  if (!value.trim()) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || (integer && !Number.isInteger(number)) || number < min || number > max) {
    throw new UserError(
      `Input "${name}" is "${value}": give a ${integer ? 'whole number' : 'number'} from ${min} to ${max}.`,
    );
  }
  return number;
}

/** A URL path input (e.g. a health endpoint): empty gives the fallback; it must start with /. */
export function parsePath(name: string, value: string, fallback: string): string {
  const path = value.trim() || fallback;
  if (!path.startsWith('/'))
    throw new UserError(`Input "${name}" is "${path}": give a path starting with /, e.g. /health/extended.`);
  return path;
}
