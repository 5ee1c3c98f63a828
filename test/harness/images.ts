import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEBIAN_IMAGE, DOCKER } from './docker.js';
import { ROOT, runAction, type ActionRun } from './runner.js';

/**
 * Builds test/fixtures/<dir> as `tag` with these build args (BuildKit, host network), failing with
 * the build's error.
 */
export function buildFixture(dir: string, tag: string, args: Record<string, string> = {}): void {
  const a = ['build', '-q', '--network', 'host', '-t', tag];
  for (const [k, v] of Object.entries(args)) a.push('--build-arg', `${k}=${v}`);
  const r = spawnSync(DOCKER, [...a, join(ROOT, 'test/fixtures', dir)], {
    encoding: 'utf8',
    env: { ...process.env, DOCKER_BUILDKIT: '1' },
  });
  if (r.status !== 0) throw new Error(`building test/fixtures/${dir} failed: ${r.stderr}`);
}

export const NODE_IMAGE = process.env.SLIPWAY_NODE_IMAGE || 'slipway/node:20';
export const CORE_IMAGE = 'slipway-e2e/loa-core';
export const DEV_IMAGE = 'slipway-e2e/loa-dev';
export const FULL_IMAGE = 'slipway-e2e/loa';

/**
 * Builds an image of deploy/ through the build-image bundle, as the kit builds it for users, with the
 * bootstrapped base images. Fails with the build's tail when it does not build.
 */
export async function buildDeployImage(
  file: 'Dockerfile' | 'Dockerfile.core' | 'Dockerfile.dev',
  image: string,
  buildArgs: Record<string, string>,
  cacheDir?: string,
): Promise<ActionRun> {
  const store = cacheDir ?? mkdtempSync(join(tmpdir(), 'slipway-deploy-store-'));
  try {
    const r = await runAction(
      'build-image',
      {
        context: join(ROOT, 'deploy'),
        file: join(ROOT, 'deploy', file),
        image,
        tags: 'latest',
        'build-args': Object.entries(buildArgs)
          .map(([k, v]) => `${k}=${v}`)
          .join('\n'),
        network: 'host',
        'cache-dir': store,
      },
      { env: { SLIPWAY_DOCKER: DOCKER } },
    );
    if (r.code !== 0) throw new Error(`building deploy/${file} failed:\n${r.log.slice(-3000)}`);
    return r;
  } finally {
    if (!cacheDir) rmSync(store, { recursive: true, force: true });
  }
}

export const buildCore = () => buildDeployImage('Dockerfile.core', CORE_IMAGE, { NODE_IMAGE });
export const buildDev = () =>
  buildDeployImage('Dockerfile.dev', DEV_IMAGE, { BASE_IMAGE: `${CORE_IMAGE}:latest` });
export const buildFull = (cacheDir?: string) =>
  buildDeployImage('Dockerfile', FULL_IMAGE, { NODE_IMAGE, DEBIAN_IMAGE }, cacheDir);
