import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runComposite } from '../../../tools/local-runner/composite.js';
import { ROOT } from '../../harness/runner.js';

const FIXTURE = join(ROOT, 'test/fixtures/composite');

describe('the local composite runner', () => {
  it('passes outputs and GITHUB_ENV along, runs success() steps, skips failure() steps', async () => {
    const lines: string[] = [];
    const r = await runComposite(FIXTURE, { greeting: 'hi' }, { onLine: (s, l) => lines.push(`${s}: ${l}`) });
    expect(r.code).toBe(0);
    expect(r.steps.map((s) => [s.id, s.outcome])).toEqual([
      ['one', 'success'],
      ['two', 'success'],
      ['three', 'success'],
      ['recover', 'skipped'],
    ]);
    expect(r.outputs).toEqual({ first: 'hi world', recovered: 'false' });
    expect(lines).toContain('three: three ran with from-one');
  });

  it('after a failure: later success() steps are skipped, failure() steps run, the run fails', async () => {
    const lines: string[] = [];
    const r = await runComposite(FIXTURE, { fail: 'true' }, { onLine: (s, l) => lines.push(`${s}: ${l}`) });
    expect(r.code).toBe(1);
    expect(r.steps.map((s) => s.outcome)).toEqual(['success', 'failure', 'skipped', 'success']);
    expect(r.outputs.recovered).toBe('true');
    expect(lines).toContain('recover: recovering, from-one, after failure');
  });

  it('unknown inputs are refused, as the runner warns', async () => {
    await expect(runComposite(FIXTURE, { greting: 'typo' })).rejects.toThrow(
      'Unexpected input "greting": composite fixture has no such input',
    );
  });
});
