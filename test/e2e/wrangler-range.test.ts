import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudflareEmulator } from '../../emulator/server.js';
import { PINNED_WRANGLER } from '../../src/lib/wrangler/cli.js';
import { ACTION_NODE, ROOT, errorLines, runAction, type ActionRun } from '../harness/runner.js';
import { TEST_ACCOUNT, TEST_TOKEN } from '../harness/wrangler.js';

/**
 * Users bring their own wrangler: deploy and rollback run against the emulator with the pinned
 * version and with the newest 4.x the npm registry serves (SLIPWAY_WRANGLER_NEWEST pins it). The
 * newest needs Node 22+, so its leg runs wrangler on the Node 24 the bundles run on. A call the
 * emulator does not know is answered 501 and recorded (emulator/router.ts): this leg fails listing
 * it, rather than passing on a faked answer.
 */
const newest = () =>
  process.env.SLIPWAY_WRANGLER_NEWEST ||
  (
    JSON.parse(
      spawnSync('npm', ['view', 'wrangler@4', 'version', '--json'], { encoding: 'utf8' }).stdout,
    ) as string[]
  )
    .filter((v) => /^4\.\d+\.\d+$/.test(v))
    .at(-1)!;

describe.each([
  ['pinned', () => PINNED_WRANGLER],
  ['newest 4.x', newest],
])('deploy and rollback with wrangler %s', (_, version) => {
  const emu = new CloudflareEmulator();
  let api: string;
  let dir: string;
  let wranglerVersion: string;
  const runs: ActionRun[] = [];
  const run = async (name: 'deploy' | 'rollback', inputs: Record<string, string>) => {
    const r = await runAction(
      name,
      {
        'api-token': TEST_TOKEN,
        'account-id': TEST_ACCOUNT,
        'working-directory': dir,
        'wrangler-version': wranglerVersion,
        ...inputs,
      },
      {
        env: {
          CLOUDFLARE_API_BASE_URL: api,
          RUNNER_TOOL_CACHE: join(dir, '..', 'tools'),
          // wrangler's bin runs on the first node on PATH: Node 24, as on GitHub's runners.
          PATH: `${dirname(ACTION_NODE)}${delimiter}${process.env.PATH}`,
        },
      },
    );
    runs.push(r);
    return r;
  };
  const explain = (r: ActionRun) =>
    `exit ${r.code}: ${errorLines(r).join(' | ')}; unknown to the emulator: ${emu.unknown.join(', ') || 'none'}\n${r.log.slice(-2000)}`;
  const live = () => emu.state.liveVersion(emu.state.script('slipway-fixture')!)?.id;

  beforeAll(async () => {
    wranglerVersion = version();
    api = await emu.start();
    const base = mkdtempSync(join(tmpdir(), 'slipway-wrangler-range-'));
    dir = join(base, 'project');
    cpSync(join(ROOT, 'test/fixtures/worker'), dir, { recursive: true });
  });
  afterAll(async () => {
    await emu.stop();
    rmSync(join(dir, '..'), { recursive: true, force: true });
  });

  let first = '';
  it('a first deploy, then a second with a secret, each live and read back', async () => {
    const one = await run('deploy', { message: 'one' });
    expect(one.code, explain(one)).toBe(0);
    expect(one.stdout).toContain(`wrangler ${wranglerVersion} (installed ${wranglerVersion}`);
    first = one.outputs['version-id']!;
    expect(first).toBe(live());
    const two = await run('deploy', { message: 'two', secrets: 'API_KEY=range-secret-1' });
    expect(two.code, explain(two)).toBe(0);
    expect(two.outputs['previous-version-id']).toBe(first);
    expect(two.outputs['version-id']).toBe(live());
  }, 300_000);

  it('a rollback to the first version, verified live', async () => {
    const back = await run('rollback', { 'to-version': first, reason: 'wrangler range' });
    expect(back.code, explain(back)).toBe(0);
    expect(back.outputs['rolled-back']).toBe('true');
    expect(live()).toBe(first);
  }, 120_000);

  it('every call wrangler made is one the emulator knows', () => {
    expect(emu.unknown, 'calls the emulator answered 501').toEqual([]);
  });
});
