import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudflareEmulator, type Fault } from '../../emulator/server.js';
import { ROOT, errorLines, runAction, visibleText, type ActionRun } from '../harness/runner.js';
import { TEST_ACCOUNT, TEST_TOKEN, wrangler } from '../harness/wrangler.js';

const SECRET = 'sk-live-rollback-never-log-0a1b2c3d';

/** The deploy and rollback bundles together, as the pipeline uses them, against the emulator. */
describe('rollback action, end to end with the real wrangler against the emulator', () => {
  const emu = new CloudflareEmulator();
  let api: string;
  let dir: string;
  const runs: ActionRun[] = [];
  const action = async (name: 'deploy' | 'rollback', inputs: Record<string, string>) => {
    const r = await runAction(
      name,
      { 'api-token': TEST_TOKEN, 'account-id': TEST_ACCOUNT, 'working-directory': dir, ...inputs },
      { env: { CLOUDFLARE_API_BASE_URL: api } },
    );
    runs.push(r);
    return r;
  };
  const deploy = (inputs: Record<string, string> = {}) => action('deploy', inputs);
  const rollback = (inputs: Record<string, string>) => action('rollback', inputs);
  const live = () => emu.state.liveVersion(emu.state.script('slipway-fixture')!)?.id;
  const fault = (f: Fault) =>
    fetch(`${api.replace('/client/v4', '')}/__admin/faults`, { method: 'POST', body: JSON.stringify(f) });
  const explain = (r: ActionRun) => `exit ${r.code}: ${errorLines(r).join(' | ')}\n${r.log.slice(-2500)}`;
  const postsToDeployments = (since: number) =>
    emu.requests.slice(since).filter((q) => q.method === 'POST' && /\/deployments$/.test(q.path));

  beforeAll(async () => {
    api = await emu.start();
    dir = mkdtempSync(join(tmpdir(), 'slipway-rollback-'));
    cpSync(join(ROOT, 'test/fixtures/worker'), dir, { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  });
  afterAll(async () => {
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let v1 = '';
  it('first deploy, then a failure: "nothing to roll back to", production untouched', async () => {
    const d = await deploy({ message: 'first' });
    expect(d.code, explain(d)).toBe(0);
    v1 = d.outputs['version-id']!;
    const before = emu.requests.length;
    const r = await rollback({
      'to-version': d.outputs['previous-version-id']!,
      'expected-live': v1,
      reason: 'smoke test failed',
    });
    expect(r.code).toBe(1);
    expect(errorLines(r)).toEqual([
      `Nothing to roll back to: no previous version was recorded (a first deploy has none); production serves ${v1}. Deploy a fixed version, or pass to-version with an id from \`wrangler versions list\`.`,
    ]);
    expect(postsToDeployments(before)).toEqual([]);
    expect(live()).toBe(v1);
    expect(r.summary).toContain('nothing to roll back to');
  });

  let v2 = '';
  it('second deploy, then rollback: the recorded version is live again and verified; a second run is a no-op', async () => {
    const d = await deploy({ message: 'second' });
    expect(d.code, explain(d)).toBe(0);
    v2 = d.outputs['version-id']!;
    expect(d.outputs['previous-version-id']).toBe(v1);
    const r = await rollback({
      'to-version': v1,
      'expected-live': v2,
      reason: 'smoke test failed: status unhealthy',
    });
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs).toEqual({ 'rolled-back': 'true', 'from-version': v2, 'to-version': v1, images: '[]' });
    expect(live()).toBe(v1);
    const s = emu.state.script('slipway-fixture')!;
    expect(s.deployments[0]!.message).toBe('smoke test failed: status unhealthy');
    expect(r.summary).toContain(`✅ ${v1} is live again`);
    expect(r.summary).toContain('smoke test failed: status unhealthy');

    const before = emu.requests.length;
    const again = await rollback({ 'to-version': v1, 'expected-live': v2, reason: 'again' });
    expect(again.code, explain(again)).toBe(0);
    expect(again.outputs['rolled-back']).toBe('false');
    expect(again.stdout).toContain(`${v1} is already live: nothing to roll back.`);
    expect(postsToDeployments(before)).toEqual([]);
  });

  it('POST deployments fails during a deploy: deployed=false, production unchanged, and the rollback is a no-op', async () => {
    await fault({ method: 'POST', path: '/deployments$', status: 500, message: 'deployment service down' });
    const d = await deploy({ message: 'third, half-applied' });
    expect(d.code).toBe(1);
    expect(d.outputs.deployed).toBe('false');
    expect(d.outputs['previous-version-id']).toBe(v1);
    expect(live()).toBe(v1);
    const before = emu.requests.length;
    const r = await rollback({
      'to-version': d.outputs['previous-version-id']!,
      'expected-live': d.outputs['version-id']!,
      reason: 'deploy failed',
    });
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs['rolled-back']).toBe('false');
    expect(postsToDeployments(before), 'a no-op must not deploy anything').toEqual([]);
    expect(live()).toBe(v1);
    // What an argument-less `wrangler rollback` would have done here: the deployment before the
    // current one is v2's, so it would have replaced the good v1 with the version just rolled back.
    const blind = await wrangler(api, dir, ['rollback', '--message', 'blind', '-y']);
    expect(blind.code, blind.output).toBe(0);
    expect(live()).toBe(v2);
    const restore = await rollback({ 'to-version': v1, 'expected-live': v2, reason: 'undo the blind one' });
    expect(restore.code, explain(restore)).toBe(0);
    expect(live()).toBe(v1);
  });

  it("someone else's deploy between ours and the rollback: refused without force, done with it", async () => {
    const ours = await deploy({ message: 'ours' });
    expect(ours.code, explain(ours)).toBe(0);
    const theirs = await wrangler(api, dir, ['deploy', '--message', 'a colleague, by hand']);
    expect(theirs.code, theirs.output).toBe(0);
    const theirId = live()!;
    const before = emu.requests.length;
    const r = await rollback({
      'to-version': ours.outputs['previous-version-id']!,
      'expected-live': ours.outputs['version-id']!,
      reason: 'smoke test failed',
    });
    expect(r.code).toBe(1);
    expect(errorLines(r)).toEqual([
      `Refusing to roll back: production serves ${theirId}, which is neither what this run deployed (${ours.outputs['version-id']}) nor the recorded ${v1}: someone else deployed since. Re-run with force: true to replace it anyway.`,
    ]);
    expect(postsToDeployments(before)).toEqual([]);
    expect(live()).toBe(theirId);

    const forced = await rollback({
      'to-version': v1,
      'expected-live': ours.outputs['version-id']!,
      reason: 'forced',
      force: 'true',
    });
    expect(forced.code, explain(forced)).toBe(0);
    expect(forced.outputs).toMatchObject({ 'rolled-back': 'true', 'from-version': theirId });
    expect(live()).toBe(v1);
  });

  it('10220 on rollback (a secret changed since the good version): the forced path completes and is reported', async () => {
    const d = await deploy({ message: 'with a secret', secrets: `API_KEY=${SECRET}` });
    expect(d.code, explain(d)).toBe(0);
    const before = emu.requests.length;
    const r = await rollback({ 'to-version': v1, 'expected-live': d.outputs['version-id']!, reason: 'bad' });
    expect(r.code, explain(r)).toBe(0);
    expect(postsToDeployments(before).map((q) => q.status)).toEqual([400, 200]);
    expect(live()).toBe(v1);
    expect(r.outputs['rolled-back']).toBe('true');
    expect(r.stdout).toMatch(/Secrets changed since .* \(code 10220\): wrangler forced the rollback/);
    expect(r.summary).toContain('| Forced | secrets changed since that version (10220) |');
  });

  it('bad input: one clear line, nothing sent', async () => {
    const before = emu.requests.length;
    const r = await rollback({ 'to-version': 'latest' });
    expect(r.code).toBe(1);
    expect(errorLines(r)).toEqual([
      'Input "to-version" is "latest": give a Worker version id (a UUID, as deploy\'s version outputs and `wrangler versions list` show).',
    ]);
    expect(emu.requests.length).toBe(before);
  });

  it('the token and the secret appear in no output, summary or log line of any run', () => {
    expect(runs.length).toBeGreaterThanOrEqual(12);
    for (const r of runs) {
      const everything = visibleText(r);
      expect(everything).not.toContain(TEST_TOKEN);
      expect(everything).not.toContain(SECRET);
    }
  });
});
