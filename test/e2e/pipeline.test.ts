import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployPipeline } from '../harness/deploy-pipeline.js';
import { CloudflareEmulator } from '../../emulator/server.js';
import { ActionsCacheService } from '../../tools/actions-cache/server.js';
import { runComposite, type CompositeRun } from '../../tools/local-runner/composite.js';
import { hostedRunner } from '../../tools/local-runner/hosted.js';
import { docker, DOCKER, REGISTRY, requireEngine } from '../harness/docker.js';
import { ROOT } from '../harness/runner.js';
import { TEST_ACCOUNT, TEST_TOKEN } from '../harness/wrangler.js';

const WORKER = 'loa-gateway-rehearsal';

/**
 * The root action.yml, run as the runner runs a composite action (its steps as declared, with their
 * `if:` conditions, each bundle through node), on deploy/ against the emulator and the real engine.
 */
describe('the pipeline (root action.yml), end to end', () => {
  const emu = new CloudflareEmulator({ docker: DOCKER, containerEnv: { LOA_DEFERRED_TOOLS: 'false' } });
  const cache = new ActionsCacheService();
  let api: string;
  let url: string;
  let temp: string;
  const live = () => emu.state.liveVersion(emu.state.script(WORKER)!)?.id;
  const pipeline = (inputs: Record<string, string> = {}) =>
    runComposite(
      ROOT,
      { ...setup().inputs, 'smoke-timeout': '20s', ...inputs },
      {
        env: setup().env,
        ...hostedRunner({ cache }),
        github: {
          token: hostedRunner().token,
          event_name: 'push',
          sha: '0123456789abcdef0123456789abcdef01234567',
          ref: 'refs/heads/main',
        },
      },
    );
  const setup = () =>
    deployPipeline({
      image: 'slipway-e2e/pipeline',
      api,
      url,
      temp,
      token: TEST_TOKEN,
      account: TEST_ACCOUNT,
      docker: DOCKER,
    });
  const outcomes = (r: CompositeRun) => Object.fromEntries(r.steps.map((s) => [s.id, s.outcome]));
  const health = async () =>
    (await (await fetch(`${url}/health/extended`)).json()) as { status: string; version: { id: string } };

  beforeAll(async () => {
    requireEngine();
    api = await emu.start();
    url = await emu.workers.open(WORKER);
    await cache.start();
    temp = mkdtempSync(join(tmpdir(), 'slipway-pipeline-'));
  });
  afterAll(async () => {
    await emu.stop();
    await cache.stop();
    docker(['logout', REGISTRY], { allowFail: true });
    rmSync(temp, { recursive: true, force: true });
  });

  let good = '';
  it('success: build, budget, boot, deploy, smoke; no rollback', async () => {
    const r = await pipeline({ message: 'v1' });
    expect(r.code, JSON.stringify(r.steps)).toBe(0);
    expect(outcomes(r)).toEqual({
      mode: 'skipped',
      runtime: 'success',
      build: 'success',
      size: 'success',
      boot: 'success',
      'boot-cleanup': 'skipped',
      deploy: 'success',
      smoke: 'success',
      rollback: 'skipped',
      recover: 'skipped',
      report: 'success',
    });
    expect(r.outputs.deployed).toBe('true');
    expect(r.outputs['rolled-back']).toBe('false');
    expect(r.outputs.image).toMatch(/^slipway-e2e\/pipeline:/);
    good = r.outputs['version-id']!;
    expect(live()).toBe(good);
    expect((await health()).version.id).toBe(good);
    expect(r.summary).toContain(`### Slipway (deploy): version ${good} deployed`);
    // The image that was built, budgeted and boot-tested is the one deployed: pushed, not rebuilt.
    const app = emu.containers.applications.find((a) => a.name.startsWith(WORKER))!;
    expect(app.configuration.image).toMatch(
      new RegExp(`^${REGISTRY}/${TEST_ACCOUNT}/slipway-e2e/pipeline:slipway-[0-9a-f]{12}$`),
    );
    const built = r.steps.find((s) => s.id === 'build')!.outputs['image-id'];
    expect(docker(['image', 'inspect', '--format', '{{.Id}}', app.configuration.image])).toBe(built);
    expect(emu.containers.list().map((c) => c.image)).toEqual([app.configuration.image]);
    expect(
      existsSync(join(ROOT, 'deploy/cloudflare/.slipway-wrangler.jsonc')),
      'the derived config is left behind',
    ).toBe(false);
  });

  it('smoke failure after deploy: rollback, the recovery smoke passes, and the URL serves the old version', async () => {
    // The next version answers unhealthy; the good one stays healthy.
    await fetch(`${api.replace('/client/v4', '')}/__admin/worker-faults`, {
      method: 'POST',
      body: JSON.stringify({ script: WORKER, kind: 'unhealthy', notVersion: good }),
    });
    const rolloutsBefore = emu.containers.rollouts.length;
    // The recovery smoke test has the same deadline: long enough for a loaded machine (a CI run
    // saw the rolled-back version not yet answering within 3 s).
    const r = await pipeline({ message: 'v2, broken', 'smoke-timeout': '10s' });
    expect(r.code).toBe(1);
    // The same source builds the same image (the created label is the commit's): a broken Worker
    // on a good image rolls back the Worker only, and no container rollout is started either way.
    expect(emu.containers.rollouts.length, 'no container rollout').toBe(rolloutsBefore);
    const images = JSON.parse(r.steps.find((s) => s.id === 'rollback')!.outputs.images!) as Array<{
      action: string;
    }>;
    expect(images).toMatchObject([{ action: 'none' }]);
    expect(
      outcomes(r),
      r.log.filter((l) => l.startsWith('smoke-test after rollback')).join('\n'),
    ).toMatchObject({
      deploy: 'success',
      smoke: 'failure',
      rollback: 'success',
      recover: 'success',
      report: 'success',
    });
    expect(r.outputs['rolled-back']).toBe('true');
    expect(r.outputs['previous-version-id']).toBe(good);
    expect(live()).toBe(good);
    expect(await health()).toMatchObject({ status: 'healthy', version: { id: good } });
    const d = emu.state.script(WORKER)!.deployments[0]!;
    expect(d.message).toBe('smoke test failed after deploy');
    expect(r.summary).toContain(`(production back on ${good})`);
    await fetch(`${api.replace('/client/v4', '')}/__admin/worker-faults`, { method: 'DELETE' });
  });

  it('failure before deploy (over budget): no deploy, no rollback', async () => {
    const before = emu.state.script(WORKER)!.versions.length;
    const r = await pipeline({ 'max-size': '50MB' });
    expect(r.code).toBe(1);
    expect(outcomes(r)).toEqual({
      mode: 'skipped',
      runtime: 'success',
      build: 'success',
      size: 'failure',
      boot: 'skipped',
      'boot-cleanup': 'skipped',
      deploy: 'skipped',
      smoke: 'skipped',
      rollback: 'skipped',
      recover: 'skipped',
      report: 'success',
    });
    expect(emu.state.script(WORKER)!.versions.length, 'nothing may be uploaded').toBe(before);
    expect(live()).toBe(good);
  });

  it('check mode (pull requests): no secrets, a dry-run deploy, nothing sent to Cloudflare', async () => {
    const before = emu.requests.length;
    const r = await pipeline({ mode: 'check', 'api-token': '', 'account-id': '' });
    expect(r.code, JSON.stringify(r.steps)).toBe(0);
    expect(outcomes(r)).toMatchObject({
      build: 'success',
      size: 'success',
      boot: 'success',
      deploy: 'success',
      smoke: 'skipped',
      rollback: 'skipped',
    });
    expect(emu.requests.length).toBe(before);
  });
});
