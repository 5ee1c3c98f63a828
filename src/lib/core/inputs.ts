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

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * KEY=VALUE lines (build-args, labels, secrets, vars, boot-env). The value may contain "=" and be
 * empty. A value of several lines (a PEM key) uses the runner's own form for GITHUB_ENV:
 * `KEY<<DELIM`, its lines, then `DELIM` alone on a line. An error names the input, the line number
 * and what is wrong, and never shows the line: it may hold a secret, and the runner cannot mask a
 * fragment of one.
 */
export function parseKeyValues(name: string, value: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const lines = value.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const heredoc = /^([^=<\s]+)<<(\S+)$/.exec(line);
    if (heredoc) {
      const end = lines.findIndex((l, j) => j > i && l.trim() === heredoc[2]);
      if (end < 0)
        throw keyValueError(name, i, `opens a multi-line value (<<) whose closing line never comes`);
      out.push([checkedKey(name, i, heredoc[1]!), lines.slice(i + 1, end).join('\n')]);
      i = end;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw keyValueError(name, i, 'has no "="');
    out.push([checkedKey(name, i, line.slice(0, eq).trim()), line.slice(eq + 1)]);
  }
  return out;
}

function checkedKey(name: string, index: number, key: string): string {
  if (KEY.test(key)) return key;
  throw keyValueError(name, index, 'does not start with a name (letters, digits, _ . -; not a digit first)');
}

function keyValueError(name: string, index: number, problem: string): UserError {
  return new UserError(
    `Input "${name}" line ${index + 1} ${problem}: write one KEY=VALUE per line, and a multi-line value as KEY<<EOF, its lines, then EOF (the line is not shown: it may hold a secret).`,
  );
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

/**
 * A URL path input (e.g. a health endpoint): empty gives the fallback; it must start with /, and not
 * with // (or /\\), which a URL reads as another host.
 */
export function parsePath(name: string, value: string, fallback: string): string {
  const path = value.trim() || fallback;
  if (!path.startsWith('/'))
    throw new UserError(`Input "${name}" is "${path}": give a path starting with /, e.g. /health/extended.`);
  if (/^[/\\]{2}/.test(path))
    throw new UserError(
      `Input "${name}" starts with //, which names another host: give a path such as /health/extended.`,
    );
  return path;
}

/** A line break or another control character (tab aside): what a one-line input must not hold. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/**
 * The getter an action reads its inputs through: every input is one line but the `multiLine` ones
 * (lists, KEY=VALUE lines, JSON, free text that is folded). A line break inside a one-line input
 * would start a new log line wherever the value is echoed (one the runner may read as a workflow
 * command), so it is refused, naming the input; the value is not shown (it may be a secret).
 * Blanks around the value (a YAML block's final newline) are fine: the parsers trim them.
 */
export function oneLineInputs(
  get: (name: string) => string,
  multiLine: readonly string[],
): (name: string) => string {
  return (name) => {
    const value = get(name);
    if (!multiLine.includes(name) && CONTROL.test(value.trim()))
      throw new UserError(
        `Input "${name}" has a line break or a control character: give it on one line (the value is not shown).`,
      );
    return value;
  };
}

/** Free text for one line (a message, a reason): every run of blanks, line breaks or controls is one space. */
export function foldLines(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
}

/**
 * A value a program gets as the word after one of its options (wrangler's `--env <name>`): one that
 * starts with "-" would be read as an option itself, so it is refused. Trimmed; '' when empty.
 */
export function parseOptionValue(name: string, value: string): string {
  const text = value.trim();
  if (text.startsWith('-'))
    throw new UserError(
      `Input "${name}" is "${text}", which starts with "-": a program would read it as an option (a file: write ./${text}).`,
    );
  return text;
}

/**
 * An image reference (name[:tag][@digest], a registry host first if any), or '' when empty. It
 * reaches docker and wrangler as an argument: one that starts with "-" would be read as an option,
 * so it is refused, as is any space or control character. The value is not shown.
 */
export function parseImageReference(name: string, value: string): string {
  const image = value.trim();
  if (image && !/^[A-Za-z0-9][A-Za-z0-9._\-/:@+]*$/.test(image))
    throw new UserError(
      `Input "${name}" is not an image reference: give name[:tag] or name@sha256:<digest>, starting with a letter or digit (e.g. ghcr.io/acme/gateway:1.2).`,
    );
  return image;
}
