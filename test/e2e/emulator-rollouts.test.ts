import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Application } from '../../emulator/containers.js';
import { CloudflareEmulator } from '../../emulator/server.js';
import { docker, DOCKER } from '../harness/docker.js';
import { ROOT } from '../harness/runner.js';
import { TEST_ACCOUNT, wrangler } from '../harness/wrangler.js';

/**
 * Container rollouts on the emulator, driven through the API as Cloudflare exposes it: steps over
 * time, per-instance images, actions, a newer rollout replacing an older one, image faults, and
 * API faults on the rollout routes. One test runs a real container (slipway/node:20, host network).
 */
describe('emulator: container application rollouts', () => {
  const emu = new CloudflareEmulator({ docker: DOCKER, rollout: { stepMs: 400, graceMs: 0 } });
  let api = '';
  let admin = '';
  const apps = `/accounts/${TEST_ACCOUNT}/containers/applications`;

  type Envelope<T> = { success: boolean; result: T; errors: Array<{ message: string }>; status: number };
  const call = async <T>(method: string, path: string, body?: unknown): Promise<Envelope<T>> => {
    const res = await fetch(`${api}${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { ...((await res.json()) as Envelope<T>), status: res.status };
  };
  const adminCall = (method: string, path: string, body?: unknown) =>
    fetch(`${admin}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });

  type Rollout = {
    id: string;
    status: string;
    steps: Array<{ id: number; status: string }>;
    progress: { current_step: number; updated_instances: number; total_instances: number };
    current_configuration: { image: string };
    target_configuration: { image: string };
    health: { errors: Array<{ instance_id: string }> };
  };
  type Instance = { id: string; image: string; status: { state: string; exit_code?: number } };
  const instanceImages = async (appId: string) =>
    (await call<Instance[]>('GET', `${apps}/${appId}/instances-v2`)).result.map((instance) => instance.image);
  const getRollout = async (appId: string, id: string) =>
    (await call<Rollout>('GET', `${apps}/${appId}/rollouts/${id}`)).result;
  const until = async <T>(probe: () => Promise<T>, done: (value: T) => boolean, ms = 10_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const value = await probe();
      if (done(value) || Date.now() > end) return value;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const newApp = async (name: string, image: string, maxInstances: number) =>
    (
      await call<Application>('POST', apps, {
        name,
        scheduling_policy: 'default',
        configuration: { image, instance_type: 'lite' },
        instances: 0,
        max_instances: maxInstances,
        rollout_active_grace_period: 0,
      })
    ).result;
  const rollOut = (appId: string, body: Record<string, unknown>) =>
    call<Rollout>('POST', `${apps}/${appId}/rollouts`, {
      description: 'Progressive update',
      strategy: 'rolling',
      kind: 'full_auto',
      ...body,
    });

  beforeAll(async () => {
    api = await emu.start();
    admin = api.replace('/client/v4', '');
  });
  afterAll(async () => {
    await emu.stop();
  });

  it('PATCH changes settings, not configuration; a [10, 100] rollout moves instances in steps, highest index first', async () => {
    const app = await newApp('steps', 'acme/app:v1', 10);
    const patched = await call<Application>('PATCH', `${apps}/${app.id}`, {
      configuration: { image: 'acme/app:v2', instance_type: 'lite' },
      max_instances: 10,
      rollout_active_grace_period: 30,
    });
    expect(patched.result).toMatchObject({
      configuration: { image: 'acme/app:v1' },
      version: 1,
      rollout_active_grace_period: 30,
    });
    expect(new Set(await instanceImages(app.id))).toEqual(new Set(['acme/app:v1']));

    const created = await rollOut(app.id, {
      target_configuration: { image: 'acme/app:v2', instance_type: 'lite' },
      steps: [
        { step_size: { percentage: 10 }, description: 'Step 1 of 2' },
        { step_size: { percentage: 100 }, description: 'Step 2 of 2' },
      ],
    });
    expect(created.status).toBe(201);
    expect(created.result).toMatchObject({
      status: 'progressing',
      current_configuration: { image: 'acme/app:v1' },
      target_configuration: { image: 'acme/app:v2' },
      current_version: 1,
      target_version: 2,
      steps: [
        { id: 1, status: 'progressing' },
        { id: 2, status: 'pending' },
      ],
      progress: { current_step: 1, updated_instances: 1, total_instances: 10 },
    });
    expect(await instanceImages(app.id)).toEqual([...Array(9).fill('acme/app:v1'), 'acme/app:v2']);
    const application = (await call<Application>('GET', `${apps}/${app.id}`)).result;
    expect(application).toMatchObject({
      configuration: { image: 'acme/app:v2' },
      version: 2,
      active_rollout_id: created.result.id,
    });

    const done = await until(
      () => getRollout(app.id, created.result.id),
      (r) => r.status === 'completed',
    );
    expect(done).toMatchObject({
      status: 'completed',
      steps: [{ status: 'completed' }, { status: 'completed' }],
    });
    expect(new Set(await instanceImages(app.id))).toEqual(new Set(['acme/app:v2']));
    expect((await call<Application>('GET', `${apps}/${app.id}`)).result.active_rollout_id).toBeUndefined();
  });

  it('lists rollouts newest first (limit); a newer rollout replaces the one in flight', async () => {
    const app = await newApp('replaced', 'acme/app:v1', 4);
    await adminCall('POST', '/__admin/rollout-options', { stepMs: 60_000 });
    const first = (
      await rollOut(app.id, { target_configuration: { image: 'acme/app:v2' }, step_percentage: 50 })
    ).result;
    const second = (
      await rollOut(app.id, { target_configuration: { image: 'acme/app:v3' }, step_percentage: 100 })
    ).result;
    await adminCall('POST', '/__admin/rollout-options', { stepMs: 400 });
    expect((await getRollout(app.id, first.id)).status).toBe('replaced');
    expect(second.current_configuration.image).toBe('acme/app:v2');
    const listed = (await call<Rollout[]>('GET', `${apps}/${app.id}/rollouts?limit=1`)).result;
    expect(listed.map((rollout) => rollout.id)).toEqual([second.id]);
    const all = (await call<Rollout[]>('GET', `${apps}/${app.id}/rollouts`)).result;
    expect(all.map((rollout) => rollout.id)).toEqual([second.id, first.id]);
    expect(new Set(await instanceImages(app.id))).toEqual(new Set(['acme/app:v3']));
  });

  it('a stuck step holds the rollout (next refused); revert moves every instance back and the application follows', async () => {
    const app = await newApp('revert', 'acme/app:good', 4);
    await adminCall('POST', '/__admin/container-faults', { kind: 'stuck-at-step', regex: ':bad$', step: 1 });
    const created = (
      await rollOut(app.id, { target_configuration: { image: 'acme/app:bad' }, step_percentage: 50 })
    ).result;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(await getRollout(app.id, created.id)).toMatchObject({
      status: 'progressing',
      steps: [{ status: 'progressing' }, { status: 'pending' }],
    });
    expect(await instanceImages(app.id)).toEqual([
      'acme/app:good',
      'acme/app:good',
      'acme/app:bad',
      'acme/app:bad',
    ]);
    const next = await call<{ success: boolean; message: string }>(
      'POST',
      `${apps}/${app.id}/rollouts/${created.id}`,
      {
        action: 'next',
      },
    );
    expect(next.result).toMatchObject({ success: false, message: expect.stringMatching(/not finished/) });
    const reverted = await call<{ success: boolean; rollout: Rollout }>(
      'POST',
      `${apps}/${app.id}/rollouts/${created.id}`,
      { action: 'revert' },
    );
    expect(reverted.result).toMatchObject({ success: true, rollout: { status: 'reverted' } });
    expect(new Set(await instanceImages(app.id))).toEqual(new Set(['acme/app:good']));
    const after = (await call<Application>('GET', `${apps}/${app.id}`)).result;
    expect(after).toMatchObject({ configuration: { image: 'acme/app:good' }, version: 1 });
    expect(after.active_rollout_id).toBeUndefined();
    const refused = await call('POST', `${apps}/${app.id}/rollouts/${created.id}`, { action: 'rollback' });
    expect(refused.status).toBe(400);
    await adminCall('DELETE', '/__admin/container-faults');
  });

  it('full_manual: pending until next; previous moves the last step back', async () => {
    const app = await newApp('manual', 'acme/app:v1', 4);
    const created = (
      await rollOut(app.id, {
        target_configuration: { image: 'acme/app:v2' },
        step_percentage: 50,
        kind: 'full_manual',
      })
    ).result;
    expect(created.status).toBe('pending');
    const act = (action: string) =>
      call<{ success: boolean }>('POST', `${apps}/${app.id}/rollouts/${created.id}`, { action });
    expect((await act('next')).result.success).toBe(true);
    await until(
      () => getRollout(app.id, created.id),
      (r) => r.steps[0]!.status === 'completed',
    );
    await adminCall('POST', '/__admin/rollout-options', { stepMs: 60_000 });
    expect((await act('next')).result.success).toBe(true);
    expect(new Set(await instanceImages(app.id))).toEqual(new Set(['acme/app:v2']));
    expect((await act('previous')).result.success).toBe(true);
    expect(await instanceImages(app.id)).toEqual([
      'acme/app:v1',
      'acme/app:v1',
      'acme/app:v2',
      'acme/app:v2',
    ]);
    expect((await getRollout(app.id, created.id)).progress.current_step).toBe(1);
    await adminCall('POST', '/__admin/rollout-options', { stepMs: 400 });
  });

  it('an API fault on the rollout route fails the POST once; the retry creates the rollout', async () => {
    const app = await newApp('api-fault', 'acme/app:v1', 1);
    await adminCall('POST', '/__admin/faults', {
      method: 'POST',
      path: '/containers/applications/[^/]+/rollouts$',
      status: 503,
      times: 1,
    });
    const body = { target_configuration: { image: 'acme/app:v2' }, step_percentage: 100 };
    const failed = await rollOut(app.id, body);
    expect([failed.status, failed.success]).toEqual([503, false]);
    expect((await call<Rollout[]>('GET', `${apps}/${app.id}/rollouts`)).result).toEqual([]);
    const retried = await rollOut(app.id, body);
    expect(retried.status).toBe(201);
  });

  it('a Worker rollback never touches container applications', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-rollouts-worker-'));
    cpSync(join(ROOT, 'test/fixtures/worker'), dir, { recursive: true });
    try {
      const app = await newApp('untouched', 'acme/app:v1', 2);
      const before = JSON.stringify((await call<Application>('GET', `${apps}/${app.id}`)).result);
      for (const message of ['one', 'two'])
        expect((await wrangler(api, dir, ['deploy', '--message', message])).code).toBe(0);
      const from = emu.requests.length;
      const back = await wrangler(api, dir, ['rollback', '--message', 'back', '-y']);
      expect(back.code, back.output).toBe(0);
      expect(emu.requests.slice(from).filter((request) => request.path.includes('/containers/'))).toEqual([]);
      expect(JSON.stringify((await call<Application>('GET', `${apps}/${app.id}`)).result)).toBe(before);
      expect((await call<Rollout[]>('GET', `${apps}/${app.id}/rollouts`)).result).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('with a real container (slipway/node:20 on the host network)', () => {
    const tags = ['slipway-e2e/rollouts:a', 'slipway-e2e/rollouts:b'];
    let port = 0;
    /** A node server answering JSON with its tag, on the free port (instances share the host network). */
    const server = (tag: string) => [
      'node',
      '-e',
      `require('http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); ` +
        `s.end(JSON.stringify({ status: 'ok', path: q.url, version: { id: '${tag}' } })); }).listen(${port})`,
    ];
    const relay = (container: string, path: string, to = port) =>
      adminCall(
        'GET',
        `/__containers/proxy?port=${to}&container=${container}&path=${encodeURIComponent(path)}`,
      );
    const health = async (container: string) =>
      (await (await relay(container, '/health/extended')).json()) as {
        status: string;
        version: { id: string };
      };

    beforeAll(async () => {
      for (const tag of tags) docker(['tag', 'slipway/node:20', tag]);
      port = await new Promise<number>((resolve) => {
        const probe = createServer().listen(0, '127.0.0.1', () => {
          const { port: free } = probe.address() as { port: number };
          probe.close(() => resolve(free));
        });
      });
    });
    afterAll(async () => {
      await emu.containers.stopAll();
      docker(['image', 'rm', ...tags], { allowFail: true });
    });

    const startOn = async (app: Application, tag: string) => {
      const id = await emu.containers.start(app, {}, server(tag));
      await until(
        () =>
          relay(id, '/health').then(
            (res) => res.status,
            () => 0,
          ),
        (status) => status === 200,
      );
      return id;
    };

    it('instance 0 keeps its image through the grace period, then is replaced; image faults apply to it', async () => {
      const app = await newApp('real', tags[0]!, 2);
      // Grace: min(the application's 4 s, the emulator's cap of 4.5 s), from when instance 0 started.
      await call('PATCH', `${apps}/${app.id}`, { rollout_active_grace_period: 4 });
      await adminCall('POST', '/__admin/rollout-options', { graceMs: 4500 });
      const first = await startOn(emu.containers.find(app.id)!, 'a');
      expect((await health(first)).version.id).toBe('a');
      const instance0 = (await call<Instance[]>('GET', `${apps}/${app.id}/instances-v2`)).result[0]!;
      expect(instance0).toMatchObject({
        image: tags[0],
        status: { state: 'running' },
        started_at: expect.any(String),
      });

      const created = (
        await rollOut(app.id, { target_configuration: { image: tags[1] }, step_percentage: 100 })
      ).result;
      expect(await instanceImages(app.id)).toEqual([tags[0], tags[1]]);
      expect((await health(first)).version.id, 'the old image serves during the grace period').toBe('a');
      await until(
        () => getRollout(app.id, created.id),
        (r) => r.status === 'completed',
      );
      expect(await instanceImages(app.id)).toEqual([tags[1], tags[1]]);
      expect(emu.containers.list(), 'the old container is gone').toEqual([]);
      await adminCall('POST', '/__admin/rollout-options', { graceMs: 0 });

      await adminCall('POST', '/__admin/container-faults', { kind: 'unhealthy', image: tags[1] });
      const second = await startOn(emu.containers.find(app.id)!, 'b');
      expect(await health(second)).toMatchObject({ status: 'unhealthy', version: { id: 'b' } });
      expect(await (await relay(second, '/other')).json()).toMatchObject({ status: 'ok', path: '/other' });
      const refused = await relay(second, '/health', 1);
      expect([refused.status, refused.headers.get('x-slipway-proxy-error')]).toEqual([
        502,
        expect.stringMatching(/ECONNREFUSED/),
      ]);
      await adminCall('DELETE', '/__admin/container-faults');
      expect((await health(second)).status).toBe('ok');
    });

    it('crash-after kills the container of that image; instance 0 reads failed with its exit code', async () => {
      const app = await newApp('crash', tags[0]!, 1);
      await adminCall('POST', '/__admin/container-faults', {
        kind: 'crash-after',
        regex: 'rollouts:a$',
        seconds: 1,
      });
      // A process that only waits: a server here could find the earlier tests' instances still on
      // its port (the host network) and exit 1 by itself before the fault kills it.
      await emu.containers.start(emu.containers.find(app.id)!, {}, ['sleep', '60']);
      const failed = await until(
        async () => (await call<Instance[]>('GET', `${apps}/${app.id}/instances-v2`)).result[0]!,
        (instance) => instance.status.state === 'failed',
      );
      expect(failed).toMatchObject({ image: tags[0], status: { state: 'failed', exit_code: 137 } });
      await adminCall('DELETE', '/__admin/container-faults');
    });
  });
});
