import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudflareEmulator } from '../../emulator/server.js';
import { docker, DOCKER, REGISTRY, removeImageTags, requireEngine } from '../harness/docker.js';
import { ROOT, errorLines, runAction, type ActionRun } from '../harness/runner.js';
import { TEST_ACCOUNT, TEST_TOKEN } from '../harness/wrangler.js';

const WORKER = 'hello-gradual';
const REPO = 'slipway-e2e/hello-gradual';

/**
 * deploy strategy gradual with a new container image, against the emulator with real containers:
 * examples/hello-container with three instances, each image version built locally and shipped
 * through the image input. The emulator moves the serving instance in the first step
 * (order serving-first), so the first step reaches live traffic, as it does on Cloudflare when the
 * instances it replaces are in use.
 */
describe('deploy strategy gradual with Containers, end to end against the emulator', () => {
  const emu = new CloudflareEmulator({ docker: DOCKER, rollout: { stepMs: 300, order: 'serving-first' } });
  let api: string;
  let url: string;
  let dir: string;
  const admin = () => api.replace('/client/v4', '');
  const explain = (r: ActionRun) => `exit ${r.code}: ${errorLines(r).join(' | ')}\n${r.log.slice(-3000)}`;
  const app = () => emu.containers.applications.find((candidate) => candidate.name.startsWith(WORKER))!;
  const build = (version: string) => {
    const args = ['build', '--network', 'host', '--build-arg', 'NODE_IMAGE=slipway/node:20'];
    docker([...args, '--build-arg', `APP_VERSION=${version}`, '-t', `${REPO}:${version}`, dir], {
      env: { DOCKER_BUILDKIT: '1' },
    });
    return `${REPO}:${version}`;
  };

  const deploy = (inputs: Record<string, string>) =>
    runAction(
      'deploy',
      {
        'api-token': TEST_TOKEN,
        'account-id': TEST_ACCOUNT,
        'working-directory': dir,
        environment: 'gradual',
        ...inputs,
      },
      {
        env: {
          CLOUDFLARE_API_BASE_URL: api,
          CLOUDFLARE_CONTAINER_REGISTRY: REGISTRY,
          WRANGLER_CI_OVERRIDE_NETWORK_MODE_HOST: 'true',
          SLIPWAY_DOCKER: DOCKER,
        },
      },
    );
  const gradual = {
    strategy: 'gradual',
    'gradual-steps': '10,50,100',
    'step-wait': '1s',
    'health-path': '/healthz',
    'version-header': 'x-worker-version',
    'rollout-timeout': '60s',
  };

  beforeAll(async () => {
    requireEngine();
    dir = mkdtempSync(join(tmpdir(), 'slipway-gradual-containers-'));
    cpSync(join(ROOT, 'examples/hello-container'), dir, {
      recursive: true,
      filter: (p) => !p.includes('.slipway'),
    });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    // An environment with three instances: steps of 10, 50 and 100% move 1, 2 and 3 of them.
    const config = readFileSync(join(dir, 'wrangler.jsonc'), 'utf8').replace(
      '"env": {',
      `"env": {
    "gradual": {
      "name": "${WORKER}",
      "workers_dev": true,
      "version_metadata": { "binding": "CF_VERSION_METADATA" },
      "containers": [{ "class_name": "Hello", "image": "./Dockerfile", "instance_type": "lite", "max_instances": 3 }],
      "durable_objects": { "bindings": [{ "name": "HELLO", "class_name": "Hello" }] },
    },`,
    );
    writeFileSync(join(dir, 'wrangler.jsonc'), config);
    api = await emu.start();
    url = await emu.workers.open(WORKER);
    const first = await deploy({ image: build('v1'), message: 'v1' });
    expect(first.code, explain(first)).toBe(0);
  });
  afterAll(async () => {
    await emu.stop();
    rmSync(dir, { recursive: true, force: true });
    removeImageTags(new RegExp(`(^|/)${REPO}:`));
  });

  it('healthy: the image moves in manual steps and the Worker follows it, 10 → 50 → 100', async () => {
    const r = await deploy({ ...gradual, image: build('v2'), message: 'v2', 'gate-url': url });
    expect(r.code, explain(r)).toBe(0);
    const rollout = emu.containers.rolloutsOf(app()).at(-1)!;
    expect(rollout).toMatchObject({ kind: 'full_manual', status: 'completed' });
    expect(rollout.steps.map((step) => [step.percentage, step.status])).toEqual([
      [10, 'completed'],
      [50, 'completed'],
      [100, 'completed'],
    ]);
    expect(
      emu.containers
        .instancesOf(app())
        .every((slot) => slot.configuration.image === app().configuration.image),
    ).toBe(true);
    expect(r.summary).toMatch(
      /\| 10% \| 10% new, 90% old; hello-gradual-hello-gradual 1\/3 on the new image \| healthy/,
    );
    const answer = await fetch(`${url}/healthz`);
    expect(answer.headers.get('x-worker-version')).toBe(r.outputs['version-id']);
    expect(answer.headers.get('x-app-version')).toBe('v2');
  });

  it('an image that fails at the first step is rolled back before it reaches the rest', async () => {
    const good = app().configuration.image;
    const goodVersion = r2version();
    const v3 = build('v3');
    await fetch(`${admin()}/__admin/container-faults`, {
      method: 'POST',
      body: JSON.stringify({
        kind: 'unhealthy',
        regex: `^(?!${good.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$)`,
        path: '^/healthz$',
      }),
    });
    const r = await deploy({ ...gradual, image: v3, message: 'v3', 'gate-url': url, 'gate-timeout': '5s' });
    await fetch(`${admin()}/__admin/container-faults`, { method: 'DELETE' });
    expect(r.code, explain(r)).toBe(1);
    expect(errorLines(r)[0]).toMatch(
      /aborted at 10%: health .*503.*production restored to the recorded deployment .* and its images/,
    );
    const rollout = emu.containers
      .rolloutsOf(app())
      .find((candidate) => candidate.kind === 'full_manual' && candidate.status === 'reverted')!;
    expect(rollout.steps.map((step) => step.status)).toEqual(['reverted', 'pending', 'pending']);
    expect(app().configuration.image).toBe(good);
    expect(emu.containers.instancesOf(app()).map((slot) => slot.configuration.image)).toEqual([
      good,
      good,
      good,
    ]);
    expect(emu.workers.list()[WORKER]?.version).toBe(goodVersion);
    expect(r.outputs).toMatchObject({ deployed: 'false', 'production-changed': 'false' });
  });

  it('an image built for arm64 only is refused in one line before anything is pushed', async () => {
    // FROM scratch with a COPY runs nothing, so BuildKit builds it for arm64 without emulation.
    writeFileSync(join(dir, 'Dockerfile.arm64'), 'FROM scratch\nCOPY app/server.mjs /server.mjs\n');
    const args = ['build', '--platform', 'linux/arm64', '-f', join(dir, 'Dockerfile.arm64')];
    docker([...args, '-t', `${REPO}:arm64`, dir], { env: { DOCKER_BUILDKIT: '1' } });
    const before = emu.workers.list()[WORKER]!.version;
    const r = await deploy({ image: `${REPO}:arm64`, message: 'arm64' });
    expect(r.code, explain(r)).toBe(1);
    expect(errorLines(r)).toEqual([
      `Input "image" is ${REPO}:arm64, built for linux/arm64: Cloudflare Containers run linux/amd64 only. Build it for amd64 (docker buildx build --platform linux/amd64, or build-image on an amd64 runner).`,
    ]);
    expect(r.stdout).not.toContain('wrangler containers push');
    expect(emu.workers.list()[WORKER]!.version).toBe(before);
  });

  const r2version = () => emu.workers.list()[WORKER]!.version!;
});
