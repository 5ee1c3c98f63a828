import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudflareEmulator } from '../../emulator/server.js';
import { ROOT, errorLines, runAction, type ActionRun } from '../harness/runner.js';
import { TEST_ACCOUNT, TEST_TOKEN } from '../harness/wrangler.js';

const WORKER = 'slipway-fixture';

/**
 * deploy with strategy gradual, the bundle as the runner runs it, the real wrangler against the
 * emulator: the deployment history read back from the emulator, traffic sent while the steps bake
 * (so Workers analytics has something to count), faults that only load reveals.
 */
describe('deploy strategy gradual, end to end against the emulator', () => {
  const emu = new CloudflareEmulator();
  let api: string;
  let url: string;
  let dir: string;
  const admin = () => api.replace('/client/v4', '');
  const history = () =>
    emu.state.script(WORKER)!.deployments.map((d) => d.versions.map((v) => [v.version_id, v.percentage]));
  const explain = (r: ActionRun) => `exit ${r.code}: ${errorLines(r).join(' | ')}\n${r.log.slice(-3000)}`;
  const deploy = (inputs: Record<string, string>) =>
    runAction(
      'deploy',
      { 'api-token': TEST_TOKEN, 'account-id': TEST_ACCOUNT, 'working-directory': dir, ...inputs },
      { env: { CLOUDFLARE_API_BASE_URL: api } },
    );
  /** Requests to the Worker's URL, every few milliseconds, until stopped: production's traffic. */
  const traffic = () => {
    let on = true;
    const done = (async () => {
      while (on)
        await fetch(url).then(
          (r) => r.arrayBuffer(),
          () => undefined,
        );
    })();
    return async () => {
      on = false;
      await done;
    };
  };
  const gradual = {
    strategy: 'gradual',
    'gradual-steps': '10,50,100',
    'step-wait': '3s',
    'max-error-rate': '5%',
    'min-requests': '3',
    health: 'json',
    'version-path': '/version',
  };

  beforeAll(async () => {
    api = await emu.start();
    url = await emu.workers.open(WORKER);
    dir = mkdtempSync(join(tmpdir(), 'slipway-gradual-'));
    cpSync(join(ROOT, 'test/fixtures/worker'), dir, { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const first = await deploy({ message: 'v1' });
    expect(first.code, explain(first)).toBe(0);
  });
  afterAll(async () => {
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('healthy: probed at 0%, then 10 → 50 → 100, each step gated, the timeline in the summary', async () => {
    const old = emu.state.liveVersion(emu.state.script(WORKER)!)!.id;
    const stop = traffic();
    const r = await deploy({ ...gradual, 'gate-url': url, vars: 'MESSAGE=v2' }).finally(stop);
    expect(r.code, explain(r)).toBe(0);
    const next = r.outputs['version-id']!;
    expect(r.outputs).toMatchObject({
      deployed: 'true',
      'live-version-id': next,
      'production-changed': 'true',
    });
    // Newest first: 100, 50, 10, the probe at 0%, and v1 before them.
    expect(history().slice(0, 5)).toEqual([
      [[next, 100]],
      [
        [next, 50],
        [old, 50],
      ],
      [
        [next, 10],
        [old, 90],
      ],
      [
        [old, 100],
        [next, 0],
      ],
      [[old, 100]],
    ]);
    expect(r.summary).toContain('#### Gradual rollout');
    expect(r.summary).toMatch(
      /\| 10% \| 10% new, 90% old \| healthy \(\d+ attempts?\) \| \d+ errors in \d+ requests \([\d.]+%\), within 5% \| advanced \|/,
    );
    expect(r.summary).toMatch(/\| 100% \| 100% new, 0% old \| – \| – \| promoted \|/);
  });

  it('fails only under load: aborted at 10% on its error rate, the recorded deployment restored exactly', async () => {
    const recorded = emu.state.script(WORKER)!.deployments[0]!.versions.map((v) => ({ ...v }));
    const good = recorded[0]!.version_id;
    // Every version but the live one throws on a third of its requests: a retry gets through, load does not.
    await fetch(`${admin()}/__admin/worker-faults`, {
      method: 'POST',
      body: JSON.stringify({ script: WORKER, kind: 'exception', notVersion: good, percent: 34 }),
    });
    const stop = traffic();
    const r = await deploy({ ...gradual, 'gate-url': url, vars: 'MESSAGE=v3' }).finally(stop);
    await fetch(`${admin()}/__admin/worker-faults`, { method: 'DELETE' });
    expect(r.code, explain(r)).toBe(1);
    const bad = r.outputs['version-id']!;
    expect(bad).not.toBe(good);
    expect(errorLines(r)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^Gradual deploy of ${bad} aborted at 10%: error rate \\d+ errors in \\d+ requests \\([\\d.]+%\\), over max-error-rate 5%; production restored to the recorded deployment \\(${good} at 100%\\)\\.$`,
        ),
      ),
    ]);
    expect(emu.state.script(WORKER)!.deployments[0]!.versions).toEqual(recorded);
    expect(history()[1]).toEqual([
      [bad, 10],
      [good, 90],
    ]);
    expect(r.outputs).toMatchObject({
      deployed: 'false',
      'production-changed': 'false',
      'live-version-id': good,
    });
    expect(r.summary).toMatch(/\| 10% \| 10% new, 90% old \| healthy .*over max-error-rate 5% \| aborted \|/);
    expect(r.summary).toMatch(/\| restore \| 0% new, 100% old \| – \| – \| restored \|/);
  });

  it('a version that fails its probe at 0% never takes traffic', async () => {
    const good = emu.state.liveVersion(emu.state.script(WORKER)!)!.id;
    const before = history().length;
    await fetch(`${admin()}/__admin/worker-faults`, {
      method: 'POST',
      body: JSON.stringify({ script: WORKER, kind: 'status', status: 503, notVersion: good }),
    });
    const r = await deploy({ ...gradual, 'gate-url': url, 'gate-timeout': '3s', vars: 'MESSAGE=v4' });
    await fetch(`${admin()}/__admin/worker-faults`, { method: 'DELETE' });
    expect(r.code, explain(r)).toBe(1);
    expect(errorLines(r)[0]).toMatch(
      /failed its probe at 0% .*HTTP 503.*production restored to the recorded deployment/,
    );
    // The probe deployment (0%) and the restore, nothing with traffic on the new version.
    const made = history().slice(0, history().length - before);
    expect(made.every((split) => split.every(([id, share]) => id === good || share === 0))).toBe(true);
  });

  it('bad gradual inputs: one line each', async () => {
    for (const [inputs, message] of [
      [{ 'gradual-steps': '50,10' }, /Input "gradual-steps" is "50,10": give rising whole percentages/],
      [{ 'max-error-rate': 'lots' }, /Input "max-error-rate" is "lots": give a share of requests such as 5%/],
      [{ health: 'extended', 'version-header': 'x-v' }, /Input "version-header" is for health basic or json/],
    ] as const) {
      const r = await deploy({ ...gradual, ...inputs });
      expect(r.code).toBe(1);
      expect(errorLines(r)).toEqual([expect.stringMatching(message)]);
    }
  });
});
