import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyEdits, modify } from 'jsonc-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudflareEmulator } from '../../../emulator/server.js';
import { docker, DOCKER, REGISTRY, removeImageTags, requireEngine } from '../../harness/docker.js';
import { errorLines, visibleText, type ActionRun } from '../../harness/runner.js';
import {
  buildReferenceImage,
  CLOUDFLARE_DIR,
  REFERENCE_WORKER,
  referenceAction,
} from '../../harness/reference.js';
import { TEST_ACCOUNT, TEST_TOKEN, wrangler } from '../../harness/wrangler.js';

const WORKER = REFERENCE_WORKER;
const IMAGE = 'slipway-e2e/production';

/** A copy of the reference config beside it: three instances (wrangler's default steps: 10%, 100%), and more. */
function writeConfig(name: string, edits: Array<[Array<string | number>, unknown]>): string {
  let text = readFileSync(join(CLOUDFLARE_DIR, 'wrangler.jsonc'), 'utf8');
  for (const [path, value] of edits) text = applyEdits(text, modify(text, path, value, {}));
  const file = join(CLOUDFLARE_DIR, name);
  writeFileSync(file, text);
  return file;
}

interface Health {
  status: string;
  version: { id: string; image?: string };
}

/**
 * The whole of production through the deploy, smoke-test and rollback bundles, the real wrangler and
 * the emulator's container rollouts (in steps, per instance, at a test's pace): records, waits,
 * verifies the image, and rolls back the Worker deployment and the images, refusing what it must.
 */
describe('deploy/cloudflare: rolling back all of production (Worker deployment and container images)', () => {
  const emu = new CloudflareEmulator({
    docker: DOCKER,
    containerEnv: { LOA_DEFERRED_TOOLS: 'false' },
    rollout: { stepMs: 300, graceMs: 0 },
  });
  let api: string;
  let admin: string;
  let url: string;
  let config: string;
  const images: Record<string, string> = {};
  const runs: ActionRun[] = [];
  const action = async (name: 'deploy' | 'rollback' | 'smoke-test', inputs: Record<string, string>) => {
    const run = await referenceAction(
      api,
      name,
      name === 'smoke-test' ? { health: 'extended', ...inputs } : { config, ...inputs },
    );
    runs.push(run);
    return run;
  };
  const explain = (r: ActionRun) => `exit ${r.code}: ${errorLines(r).join(' | ')}\n${r.log.slice(-3000)}`;
  const health = async () => (await (await fetch(`${url}/health/extended`)).json()) as Health;
  const app = () => emu.containers.applications.find((a) => a.name.startsWith(WORKER))!;
  const rolloutPosts = (since: number) =>
    emu.requests.slice(since).filter((r) => r.method === 'POST' && /\/rollouts$/.test(r.path));
  const adminPost = (path: string, body: unknown) =>
    fetch(`${admin}${path}`, { method: 'POST', body: JSON.stringify(body) });
  const deploy = (version: string, inputs: Record<string, string> = {}) =>
    action('deploy', { image: images[version]!, message: version, ...inputs });

  beforeAll(async () => {
    requireEngine();
    api = await emu.start();
    admin = api.replace('/client/v4', '');
    url = await emu.workers.open(WORKER);
    config = writeConfig('.slipway-e2e-production.jsonc', [
      [['env', 'rehearsal', 'containers', 0, 'max_instances'], 3],
    ]);
    for (const version of ['p1', 'p2', 'p3', 'p4']) images[version] = buildReferenceImage(IMAGE, version);
  });
  afterAll(async () => {
    await emu.stop();
    rmSync(config, { force: true });
    rmSync(join(CLOUDFLARE_DIR, '.slipway-e2e-migration.jsonc'), { force: true });
    docker(['logout', REGISTRY], { allowFail: true });
    removeImageTags(/(^|\/)slipway-e2e\/production:/);
  });

  let p2State = '';
  it('deploys wait for the rollout they start, in steps, and the smoke test checks the image', async () => {
    const first = await deploy('p1');
    expect(first.code, explain(first)).toBe(0);
    expect(JSON.parse(first.outputs['previous-state']!)).toEqual({ versions: [], applications: [] });
    const second = await deploy('p2');
    expect(second.code, explain(second)).toBe(0);
    p2State = second.outputs['deployed-state']!;
    const recorded = JSON.parse(second.outputs['previous-state']!) as {
      applications: Array<{ image: string }>;
    };
    expect(recorded.applications[0]!.image).toMatch(/:slipway-[0-9a-f]{12}$/);
    // wrangler's default for three instances: two steps (10%, 100%), waited for and reported.
    expect(second.stdout).toMatch(
      /of 3 instances on slipway-[0-9a-f]{12}, 0 failed \(step 2 of 2, completed\)/,
    );
    expect(
      emu.containers
        .instancesOf(app())
        .every((slot) => slot.configuration.image === app().configuration.image),
    ).toBe(true);
    const smoke = await action('smoke-test', { url, 'expect-image': 'p2', timeout: '30s' });
    expect(smoke.code, explain(smoke)).toBe(0);
    expect((await health()).version.image).toBe('p2');
  });

  it('a gradual rollout in progress: the smoke test does not pass on an old instance', async () => {
    // Slow the steps: the instance serving the Worker (instance 0) is replaced in the last step.
    await adminPost('/__admin/rollout-options', { stepMs: 60_000 });
    const before = emu.requests.length;
    const r = await deploy('p3', { 'rollout-timeout': '2s' });
    expect(r.code, 'the rollout cannot complete within 2 s').toBe(1);
    expect(errorLines(r).join(' ')).toMatch(
      /stuck at step 1 of 2 .* 2 of 3 instances still on the old image/,
    );
    expect(r.outputs['production-changed']).toBe('true');
    expect(rolloutPosts(before)).toHaveLength(1);
    const smoke = await action('smoke-test', { url, 'expect-image': 'p3', timeout: '3s' });
    expect(smoke.code, 'an old instance answered, and it was not taken as the new image').toBe(1);
    expect(errorLines(smoke).join(' ')).toMatch(/image p2 answered, not the expected p3/);

    // The rollback reverts that rollout (no new one), and the URL serves p2's Worker and image.
    const back = await action('rollback', {
      'previous-state': r.outputs['previous-state']!,
      'deployed-state': r.outputs['deployed-state']!,
      reason: 'rollout stuck',
    });
    expect(back.code, explain(back)).toBe(0);
    const done = JSON.parse(back.outputs.images!) as Array<{ action: string; ok: boolean }>;
    expect(done).toMatchObject([{ action: 'revert', ok: true }]);
    expect(rolloutPosts(before), 'the rollback started no new rollout').toHaveLength(1);
    await adminPost('/__admin/rollout-options', { stepMs: 300 });
    expect(await health()).toMatchObject({ status: 'healthy', version: { image: 'p2' } });
  });

  it('a broken image behind a good Worker: the rollback rolls the image back once, and again is a no-op', async () => {
    const good = app().configuration.image;
    const goodWorker = emu.state.liveVersion(emu.state.script(WORKER)!)!.id;
    await adminPost('/__admin/container-faults', {
      kind: 'unhealthy',
      regex: `^(?!${good.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$)`,
    });
    const r = await deploy('p4');
    expect(r.code, explain(r)).toBe(0);
    const smoke = await action('smoke-test', { url, 'expect-image': 'p4', timeout: '3s' });
    expect(smoke.code).toBe(1);
    const before = emu.requests.length;
    const inputs = {
      'previous-state': r.outputs['previous-state']!,
      'deployed-state': r.outputs['deployed-state']!,
      reason: 'smoke test failed',
    };
    const back = await action('rollback', inputs);
    expect(back.code, explain(back)).toBe(0);
    expect(rolloutPosts(before), 'exactly one image rollout').toHaveLength(1);
    expect(app().configuration.image).toBe(good);
    expect(await health()).toMatchObject({ status: 'healthy', version: { id: goodWorker, image: 'p2' } });
    expect(back.summary).toMatch(/\| Image loa-gateway-rehearsal\S* \| slipway-\w+ → slipway-\w+ \(rollout /);

    const again = await action('rollback', inputs);
    expect(again.code, explain(again)).toBe(0);
    expect(again.outputs['rolled-back']).toBe('false');
    expect(rolloutPosts(before), 'the second rollback started nothing').toHaveLength(1);
    await fetch(`${admin}/__admin/container-faults`, { method: 'DELETE' });
  });

  it("someone else changed the application's image since the deploy: refused without force, done with it", async () => {
    const r = await deploy('p3');
    expect(r.code, explain(r)).toBe(0);
    // Someone else rolls the application out to p1's image.
    const p1Image = (JSON.parse(p2State) as { applications: Array<{ image: string }> }).applications[0]!
      .image;
    const theirs = p1Image.replace(/slipway-[0-9a-f]{12}$/, 'theirs');
    docker(['tag', p1Image, theirs]);
    docker(['push', theirs]);
    const res = await fetch(`${api}/accounts/${TEST_ACCOUNT}/containers/applications/${app().id}/rollouts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        description: 'theirs',
        strategy: 'rolling',
        step_percentage: 100,
        target_configuration: { image: theirs },
      }),
    });
    expect(res.status).toBe(201);
    const inputs = {
      'previous-state': r.outputs['previous-state']!,
      'deployed-state': r.outputs['deployed-state']!,
      reason: 'smoke test failed',
    };
    const before = emu.requests.length;
    const refused = await action('rollback', inputs);
    expect(refused.code).toBe(1);
    expect(errorLines(refused).join(' ')).toMatch(
      /runs \S+:theirs, which is neither the recorded .* someone else changed it since/,
    );
    expect(
      emu.requests.slice(before).filter((q) => q.method === 'POST'),
      'nothing changed',
    ).toEqual([]);
    const forced = await action('rollback', { ...inputs, force: 'true' });
    expect(forced.code, explain(forced)).toBe(0);
    expect(await health()).toMatchObject({ version: { image: 'p2' } });
  });

  it('a split deployment is recorded and restored with its percentages; a version at 60% is not "already live"', async () => {
    const script = emu.state.script(WORKER)!;
    const [older, newer] = [script.versions.at(-2)!.id, script.versions.at(-1)!.id];
    const split = await wrangler(api, CLOUDFLARE_DIR, [
      'versions',
      'deploy',
      `${older}@60%`,
      `${newer}@40%`,
      '--yes',
      '--config',
      config,
      '--env',
      'rehearsal',
    ]);
    expect(split.code, split.output).toBe(0);
    const r = await deploy('p2', { message: 'over a split' });
    expect(r.code, explain(r)).toBe(0);
    expect(JSON.parse(r.outputs['previous-state']!).versions).toEqual([
      { version_id: older, percentage: 60 },
      { version_id: newer, percentage: 40 },
    ]);
    const back = await action('rollback', {
      'previous-state': r.outputs['previous-state']!,
      'deployed-state': r.outputs['deployed-state']!,
      reason: 'restore the split',
    });
    expect(back.code, explain(back)).toBe(0);
    expect(script.deployments[0]!.versions).toEqual(
      expect.arrayContaining([
        { version_id: older, percentage: 60 },
        { version_id: newer, percentage: 40 },
      ]),
    );
    // The legacy inputs: a rollback to the 60% version makes it serve everything.
    const whole = await action('rollback', { 'to-version': older, reason: 'all of it' });
    expect(whole.code, explain(whole)).toBe(0);
    expect(whole.outputs['rolled-back']).toBe('true');
    expect(script.deployments[0]!.versions).toEqual([{ version_id: older, percentage: 100 }]);
  });

  it('a deploy that adds a Durable Object migration to a live Worker: refused without the opt-in; with it, the Worker cannot be rolled back', async () => {
    const migrating = writeConfig('.slipway-e2e-migration.jsonc', [
      [['env', 'rehearsal', 'containers', 0, 'max_instances'], 3],
      [['migrations', 1], { tag: 'v2' }],
    ]);
    const versionsBefore = emu.state.script(WORKER)!.versions.length;
    const refused = await action('deploy', { image: images.p3!, config: migrating, message: 'migrate' });
    expect(refused.code).toBe(1);
    expect(errorLines(refused).join(' ')).toMatch(
      /Refusing to deploy: it applies Durable Object migration "v2" .* allow-irreversible: true/,
    );
    expect(emu.state.script(WORKER)!.versions.length, 'nothing uploaded').toBe(versionsBefore);

    const allowed = await action('deploy', {
      image: images.p3!,
      config: migrating,
      'allow-irreversible': 'true',
    });
    expect(allowed.code, explain(allowed)).toBe(0);
    expect(allowed.outputs.reversible).toBe('false');
    const back = await action('rollback', {
      config: migrating,
      'previous-state': allowed.outputs['previous-state']!,
      'deployed-state': allowed.outputs['deployed-state']!,
      reason: 'after an irreversible deploy',
    });
    expect(back.code).toBe(1);
    expect(errorLines(back).join(' ')).toMatch(
      /The Worker cannot be rolled back: the deploy was irreversible/,
    );
    expect(JSON.parse(back.outputs.images!)).toMatchObject([{ action: 'rollout', ok: true }]);
    expect(await health()).toMatchObject({ version: { image: 'p2' } });
  });

  it('wrangler and the kit called no route the emulator does not know; the token appears in no output, summary or log', () => {
    expect(emu.unknown, 'routes the emulator does not know').toEqual([]);
    expect(runs.length).toBeGreaterThan(10);
    for (const run of runs) expect(visibleText(run).includes(TEST_TOKEN), 'the API token leaked').toBe(false);
  });
});
