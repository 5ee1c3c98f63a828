import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER, docker, requireEngine } from '../../harness/docker.js';
import { getJson, removeContainers, startContainer, waitFor } from '../../harness/containers.js';
import { buildFull, FULL_IMAGE } from '../../harness/images.js';

/**
 * The full image of deploy/ (Rust and Python builder stages) through the build-image bundle. It
 * empties the engine's whole build cache between its builds (a fresh runner), so it runs while no
 * other file builds images (see vitest.config.ts).
 */
describe('deploy/Dockerfile: the full image through build-image with the stage cache', () => {
  const tmp: string[] = [];
  let port = 18820;
  const next = () => ++port;
  let currentPort = 0;

  beforeAll(() => requireEngine());
  afterAll(() => {
    removeContainers('slipway-e2e-full');
    for (const d of tmp) rmSync(d, { recursive: true, force: true });
  });

  it('builds the heavy stages once, then skips them; the probe and the memory stack work', async () => {
    const store = mkdtempSync(join(tmpdir(), 'slipway-full-store-'));
    tmp.push(store);
    const cold = await buildFull(store);
    const stages = (r: typeof cold) =>
      JSON.parse(r.outputs['stage-cache']!) as Array<{ stage: string; result: string; bytes: number }>;
    expect(stages(cold).map((s) => [s.stage, s.result])).toEqual([
      ['rust-builder', 'miss'],
      ['python-builder', 'miss'],
    ]);
    docker(['builder', 'prune', '-af'], { allowFail: true });
    const warm = await buildFull(store);
    expect(stages(warm).map((s) => [s.stage, s.result])).toEqual([
      ['rust-builder', 'hit'],
      ['python-builder', 'hit'],
    ]);
    expect(warm.log).not.toMatch(/cargo build --release/);
    currentPort = next();
    startContainer({
      name: 'slipway-e2e-full',
      image: `${FULL_IMAGE}:latest`,
      port: currentPort,
      env: { LOA_DEFERRED_TOOLS: 'false' },
    });
    await waitFor(
      '/health',
      () => getJson(currentPort, '/health'),
      (r) => r.code === 200,
      { timeoutMs: 10_000 },
    );
    const probe = spawnSync(DOCKER, ['exec', 'slipway-e2e-full', 'loa-health-probe', '/health'], {
      encoding: 'utf8',
    });
    expect(probe.status, probe.stderr).toBe(0);
    expect(docker(['exec', 'slipway-e2e-full', '/opt/memory/bin/python', '-m', 'loa_memory'])).toContain(
      'the gateway answers health checks',
    );
    const cfg = docker([
      'image',
      'inspect',
      '--format',
      '{{json .Config.Healthcheck.Test}}',
      `${FULL_IMAGE}:latest`,
    ]);
    expect(cfg).toContain('loa-health-probe');
    removeContainers('slipway-e2e-full');
  });
});
