import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readEventPayload } from '../../../src/actions/shared/event.js';
import { UserError } from '../../../src/lib/core/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-event-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An event file holding `text`; its path. */
function eventFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('readEventPayload: the run’s event, or one line saying why not', () => {
  it.each([
    { name: 'no GITHUB_EVENT_PATH: an empty payload', path: undefined, payload: {} },
    {
      name: 'no such file: an empty payload (as @actions/github)',
      path: join(dir, 'absent.json'),
      payload: {},
    },
    {
      name: 'a push event: its payload',
      path: eventFile('push.json', '{"head_commit": {"message": "Fix it"}}'),
      payload: { head_commit: { message: 'Fix it' } },
    },
  ])('$name', ({ path, payload }) => {
    expect(readEventPayload({ GITHUB_EVENT_PATH: path })).toEqual(payload);
  });

  it.each([
    { name: 'not JSON', text: 'not json{\n\n', problem: 'is not valid JSON: Unexpected token' },
    { name: 'cut short', text: '{"number": 42,\n', problem: 'is not valid JSON: ' },
    { name: 'JSON but an array', text: '[]', problem: 'is not a JSON object' },
    { name: 'JSON but null', text: 'null', problem: 'is not a JSON object' },
  ])('$name: a UserError of one line naming the file', ({ name, text, problem }) => {
    const path = eventFile(`${name}.json`, text);
    const read = () => readEventPayload({ GITHUB_EVENT_PATH: path });
    expect(read).toThrow(UserError);
    expect(read).toThrow(`The event file GITHUB_EVENT_PATH (${path}) ${problem}`);
    expect(() => read()).not.toThrow(/\n/);
  });

  it('a path that cannot be read (a directory): one line saying so', () => {
    expect(() => readEventPayload({ GITHUB_EVENT_PATH: dir })).toThrow(
      `The event file GITHUB_EVENT_PATH (${dir}) could not be read: EISDIR`,
    );
  });

  it('a long reason is cut short', () => {
    const path = eventFile('long.json', `{"a": "${'x'.repeat(5000)}" oops}`);
    let message = '';
    try {
      readEventPayload({ GITHUB_EVENT_PATH: path });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.length).toBeLessThan(path.length + 300);
  });
});
