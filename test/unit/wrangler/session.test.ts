import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openWrangler } from '../../../src/lib/wrangler/session.js';
import { fakeDeps } from '../../harness/fakes.js';

/** A project with its own wrangler, so nothing is installed: the session runs it. */
const project = mkdtempSync(join(tmpdir(), 'slipway-session-'));
mkdirSync(join(project, 'node_modules/.bin'), { recursive: true });
writeFileSync(join(project, 'node_modules/.bin/wrangler'), '#!/bin/sh\n', { mode: 0o755 });
afterAll(() => rmSync(project, { recursive: true, force: true }));

const connection = {
  apiToken: 't0ken',
  accountId: 'acc',
  workingDirectory: project,
  wranglerVersion: '',
};

describe('debug logging (RUNNER_DEBUG=1): wrangler says more, and every run is shown', () => {
  it.each([
    ['off', {}, {}, true],
    ['on', { RUNNER_DEBUG: '1' }, { WRANGLER_LOG: 'debug', WRANGLER_LOG_SANITIZE: 'true' }, false],
  ] as const)('%s', async (_, env, expected, silent) => {
    const deps = fakeDeps([{ match: /wrangler deployments status/, result: { stdout: '[]' } }], {
      env: { RUNNER_TEMP: project, ...env },
    });
    const session = await openWrangler(connection, deps);
    await session.deployment();
    const call = deps.run.calls.find((c) => c.args[0] === 'deployments')!;
    expect(call.options.silent).toBe(silent);
    expect(call.options.env).toMatchObject({ CLOUDFLARE_API_TOKEN: 't0ken', ...expected });
    if (silent) expect(call.options.env).not.toHaveProperty('WRANGLER_LOG');
  });
});
