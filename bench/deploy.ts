import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cleanupLabelled,
  getJson,
  LABEL,
  removeContainers,
  startContainer,
  waitFor,
} from '../test/harness/containers.js';
import { docker, removeTestImages, requireEngine } from '../test/harness/docker.js';
import { buildCore, buildDev, CORE_IMAGE, DEV_IMAGE } from '../test/harness/images.js';
import { ROOT } from '../test/harness/runner.js';
import type { Figure } from './build-image.js';

const RUNS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * deploy/: core image boot to /health 200 (docker run to first 200, median of 5), hot-reload latency
 * (file saved to new behaviour served, median of 5), and image sizes.
 */
export async function benchDeploy(): Promise<Figure[]> {
  requireEngine();
  cleanupLabelled();
  await buildCore();
  await buildDev();
  const core = `${CORE_IMAGE}:latest`;
  const figures: Figure[] = [];
  const port = 18950;
  try {
    const boots: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      startContainer({
        name: `slipway-bench-boot-${i}`,
        image: core,
        port,
        env: { LOA_DEFERRED_TOOLS: 'false' },
      });
      await waitFor(
        '/health',
        () => getJson(port, '/health'),
        (r) => r.code === 200,
        { timeoutMs: 30_000, intervalMs: 10 },
      );
      boots.push((performance.now() - t0) / 1000);
      removeContainers(`slipway-bench-boot-${i}`);
    }
    figures.push({
      name: `core image: docker run to /health 200 (median of ${RUNS})`,
      value: median(boots),
      unit: 's',
      target: { max: 3 },
    });

    const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-dev-'));
    cpSync(join(ROOT, 'deploy'), dir, { recursive: true, filter: (s) => !/node_modules|\/dist$/.test(s) });
    writeFileSync(join(dir, 'env.local'), 'LOA_DEFERRED_TOOLS=false\n');
    const env = {
      ...process.env,
      LOA_ENV_FILE: join(dir, 'env.local'),
      LOA_PORT: String(port),
      LOA_DEV_IMAGE: `${DEV_IMAGE}:latest`,
    };
    const compose = (...args: string[]) =>
      spawnSync(
        'docker-compose',
        ['-p', 'slipwaybenchdev', '-f', 'docker-compose.dev.yml', '-f', 'docker-compose.host.yml', ...args],
        { cwd: dir, env, encoding: 'utf8' },
      );
    try {
      const up = compose('run', '-d', '--name', 'slipway-bench-dev', '--label', LABEL, 'loa');
      if (up.status !== 0) throw new Error(`the dev container did not start: ${up.stderr}`);
      await waitFor(
        'dev gateway',
        () => getJson(port, '/'),
        (r) => r.code === 200,
        { timeoutMs: 30_000 },
      );
      const routes = join(dir, 'loa-identity', 'src', 'routes.ts');
      const original = readFileSync(routes, 'utf8');
      const reloads: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const message = `bench reload ${i} ${Date.now()}`;
        await new Promise((r) => setTimeout(r, 300));
        const t0 = performance.now();
        writeFileSync(
          routes,
          original.replace(/export const GREETING = '[^']*';/, `export const GREETING = '${message}';`),
        );
        await waitFor(
          'reload',
          () => getJson(port, '/'),
          (r) => (r.body as { message?: string }).message === message,
          { timeoutMs: 20_000, intervalMs: 10 },
        );
        reloads.push((performance.now() - t0) / 1000);
      }
      figures.push({
        name: `hot reload: file saved to new behaviour served (median of ${RUNS})`,
        value: median(reloads),
        unit: 's',
        target: { max: 2 },
      });
    } finally {
      removeContainers('slipway-bench-dev');
      compose('down', '--volumes');
      rmSync(dir, { recursive: true, force: true });
    }

    const size = (i: string) => Number(docker(['image', 'inspect', '--format', '{{.Size}}', i]));
    const coreBytes = size(core);
    const devBytes = size(`${DEV_IMAGE}:latest`);
    figures.push(
      { name: 'core image size', value: coreBytes, unit: 'bytes' },
      { name: 'dev image size', value: devBytes, unit: 'bytes' },
      {
        name: 'dev image increment over core (MB, decimal)',
        value: (devBytes - coreBytes) / 1e6,
        unit: 'MB',
        target: { max: 100 },
      },
    );
    return figures;
  } finally {
    cleanupLabelled();
    removeTestImages();
  }
}
