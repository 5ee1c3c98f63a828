import { existsSync, readFileSync } from 'node:fs';
import { UserError } from '../../lib/core/errors.js';

/** The webhook payload of the event that started the run, as GitHub writes it to GITHUB_EVENT_PATH. */
export type EventPayload = Record<string, unknown>;

/** The longest reason quoted from JSON.parse: its message can quote the file's text. */
const MAX_REASON = 200;

/**
 * The run's event payload, read from the file GITHUB_EVENT_PATH names. This is what
 * @actions/github's `context.payload` holds, but that one parses the file with a bare JSON.parse in
 * `Context`'s constructor (node_modules/@actions/github/lib/context.js), and `github.js` and
 * `utils.js` construct it at module top level (`export const context = new Context.Context()`): so a
 * corrupt file throws while the bundle is still loading, outside any try, and Node prints a stack
 * trace. Here it is one UserError line instead. No variable or no file is an empty payload, as there.
 */
export function readEventPayload(env: Record<string, string | undefined> = process.env): EventPayload {
  const path = env.GITHUB_EVENT_PATH;
  if (!path || !existsSync(path)) return {};
  const problem = (what: string) => new UserError(`The event file GITHUB_EVENT_PATH (${path}) ${what}`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw problem(`could not be read: ${oneLine(err)}`);
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (err) {
    throw problem(`is not valid JSON: ${oneLine(err)}`);
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    throw problem('is not a JSON object');
  return payload as EventPayload;
}

/** An error's message on one line, cut short: JSON.parse quotes the text around the fault. */
function oneLine(err: unknown): string {
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
  return message.length <= MAX_REASON ? message : `${message.slice(0, MAX_REASON - 1)}…`;
}
