import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudflareEmulator } from '../../emulator/server.js';
import { ROOT, errorLines, runAction, workflowCommands, type ActionRun } from '../harness/runner.js';
import { TEST_ACCOUNT, TEST_TOKEN } from '../harness/wrangler.js';

/**
 * A corrupt GITHUB_EVENT_PATH (a file that is not JSON). @actions/github parses it as its module
 * loads (node_modules/@actions/github/lib/context.js, constructed at the top of github.js), which
 * printed a stack trace before any entry ran, in every bundle. Now each bundle reads the file itself
 * (src/actions/shared/event.ts): one line naming the file and the problem, never a stack trace. The
 * report's case is in report.test.ts.
 */
describe('a corrupt event file: one line, never a stack trace', () => {
  const emu = new CloudflareEmulator();
  let api: string;
  let dir: string;
  let corrupt: string;
  const reason = () => `The event file GITHUB_EVENT_PATH (${corrupt}) is not valid JSON: `;
  const lines = (r: ActionRun, command: string) =>
    workflowCommands(r.stdout)
      .filter((c) => c.command === command)
      .map((c) => c.data);
  const stackFrames = (r: ActionRun) => r.log.split('\n').filter((line) => /^\s+at /.test(line));

  beforeAll(async () => {
    api = await emu.start();
    dir = mkdtempSync(join(tmpdir(), 'slipway-event-file-'));
    corrupt = join(dir, 'event.json');
    writeFileSync(corrupt, '{"head_commit": {"message": "Defer the memory stack"\n');
    cpSync(join(ROOT, 'test/fixtures/worker'), join(dir, 'worker'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'worker', 'node_modules')); // the project's wrangler
  });
  afterAll(async () => {
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deploy: the commit subject is only for the default message, so one warning and the deploy goes on', async () => {
    const r = await runAction(
      'deploy',
      { 'api-token': TEST_TOKEN, 'account-id': TEST_ACCOUNT, 'working-directory': join(dir, 'worker') },
      { env: { CLOUDFLARE_API_BASE_URL: api, GITHUB_EVENT_PATH: corrupt, GITHUB_SHA: 'c0ffee00'.repeat(5) } },
    );
    expect(r.code, r.log).toBe(0);
    expect(r.outputs.deployed).toBe('true');
    const warnings = lines(r, 'warning').filter((w) => w.includes('GITHUB_EVENT_PATH'));
    expect(warnings, r.log).toHaveLength(1);
    expect(warnings[0]).toContain(reason());
    expect(warnings[0]).toMatch(/; the default deploy message goes without the commit subject\.$/);
    expect(errorLines(r)).toEqual([]);
    expect(stackFrames(r), 'no stack frame line').toEqual([]);
  });

  // build-image tags by the event (the pull request's tag, the default branch's): it fails before any
  // build. size-budget never reads the event: it no longer dies loading @actions/github, and gets as
  // far as its own input check.
  it.each([
    ['build-image', {}, (): string => reason()],
    ['size-budget', {}, (): string => 'Input "image" is required'],
  ] as const)('%s: fails with one error line, no stack trace', async (name, inputs, expected) => {
    const r = await runAction(name, inputs, { env: { GITHUB_EVENT_PATH: corrupt } });
    expect(r.code, r.log).toBe(1);
    const errors = errorLines(r);
    expect(errors, r.log).toHaveLength(1);
    expect(errors[0]).toContain(expected());
    expect(stackFrames(r), 'no stack frame line').toEqual([]);
  });
});
