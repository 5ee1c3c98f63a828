import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyFixture, runAction } from '../test/harness/runner.js';
import { DEBIAN_IMAGE, DOCKER, docker, forgetImages, requireEngine } from '../test/harness/docker.js';

export interface Figure {
  name: string;
  value: number;
  unit: 'bytes' | 's' | 'ratio' | 'MB' | 'count';
  target?: { max: number };
}

const IMAGE = 'slipway-bench/build-image';
const BUILDER_SECONDS = Number(process.env.SLIPWAY_BENCH_BUILDER_SECONDS ?? 40);

/**
 * Stage cache, cold against warm, through the bundle as the runner runs it. Warm is measured as on a
 * fresh runner: the daemon's images and build cache are removed and only the store is kept; a
 * source-only change is built. Side by side in the same run: the peer approach of saving the builder
 * image (docker save | gzip, docker load), what satackey/ScribeMD-style caches do without buildx.
 */
export async function benchBuildImage(): Promise<Figure[]> {
  requireEngine();
  const ctx = copyFixture('slow-builder');
  const store = mkdtempSync(join(tmpdir(), 'slipway-bench-store-'));
  const work = mkdtempSync(join(tmpdir(), 'slipway-bench-work-'));
  const inputs = {
    image: IMAGE,
    'build-args': `BASE_IMAGE=${DEBIAN_IMAGE}\nBUILDER_SECONDS=${BUILDER_SECONDS}`,
    'cache-dir': store,
    network: 'host',
  };
  const env = { SLIPWAY_DOCKER: DOCKER };
  const timed = async () => {
    const t0 = performance.now();
    const r = await runAction('build-image', inputs, { cwd: ctx, env });
    if (r.code !== 0) throw new Error(`build-image failed in the benchmark: ${r.log.slice(-2000)}`);
    return { seconds: (performance.now() - t0) / 1000, run: r };
  };
  try {
    forgetImages(IMAGE);
    forgetImages('slipway-bench/builder');
    const cold = await timed();
    const coldStage = JSON.parse(cold.run.outputs['stage-cache']!) as Array<{
      result: string;
      bytes: number;
    }>;
    if (coldStage[0]?.result !== 'miss') throw new Error('the cold build did not miss the stage cache');

    // The peer approach, caching the builder image itself: build it (from the warm daemon cache) and save it.
    const b = spawnSync(
      DOCKER,
      [
        'build',
        '-q',
        '--network',
        'host',
        '--target',
        'builder',
        '-t',
        'slipway-bench/builder',
        '--build-arg',
        `BASE_IMAGE=${DEBIAN_IMAGE}`,
        '--build-arg',
        `BUILDER_SECONDS=${BUILDER_SECONDS}`,
        ctx,
      ],
      { env: { ...process.env, DOCKER_BUILDKIT: '1' }, encoding: 'utf8' },
    );
    if (b.status !== 0) throw new Error(`builder image build failed: ${b.stderr}`);
    const builderBytes = Number(
      docker(['image', 'inspect', '--format', '{{.Size}}', 'slipway-bench/builder']),
    );
    const tar = join(work, 'builder.tar.gz');
    const t1 = performance.now();
    const save = spawnSync('sh', ['-c', `"${DOCKER}" save slipway-bench/builder | gzip -1 > "${tar}"`]);
    const saveSeconds = (performance.now() - t1) / 1000;
    if (save.status !== 0) throw new Error('docker save failed');
    forgetImages(IMAGE);
    forgetImages('slipway-bench/builder');
    writeFileSync(join(ctx, 'app', 'message.txt'), `message: ${Date.now()}\n`);
    const warm = await timed();
    const warmStage = JSON.parse(warm.run.outputs['stage-cache']!) as Array<{ result: string }>;
    if (warmStage[0]?.result !== 'hit' || warm.run.log.includes('SLIPWAY_FIXTURE_BUILDER_RAN')) {
      throw new Error('the warm build ran the builder stage');
    }
    const entryBytes = readdirSync(store).reduce((n, f) => n + statSync(join(store, f)).size, 0);

    // ...and load it back on the fresh daemon.
    const t2 = performance.now();
    docker(['load', '-i', tar]);
    const loadSeconds = (performance.now() - t2) / 1000;
    const savedBytes = statSync(tar).size;

    return [
      { name: 'cold build (builder stage runs, outputs stored)', value: cold.seconds, unit: 's' },
      { name: 'warm build on a fresh daemon, source-only change', value: warm.seconds, unit: 's' },
      { name: 'warm / cold', value: warm.seconds / cold.seconds, unit: 'ratio', target: { max: 0.15 } },
      { name: 'store entry', value: entryBytes, unit: 'bytes' },
      { name: 'builder image (uncompressed)', value: builderBytes, unit: 'bytes' },
      {
        name: 'store entry / builder image',
        value: entryBytes / builderBytes,
        unit: 'ratio',
        target: { max: 0.05 },
      },
      { name: 'peer: docker save | gzip of the builder image', value: savedBytes, unit: 'bytes' },
      {
        name: 'peer: docker save + docker load of the builder image',
        value: saveSeconds + loadSeconds,
        unit: 's',
      },
      { name: 'peer entry / slipway entry', value: savedBytes / entryBytes, unit: 'ratio' },
    ];
  } finally {
    forgetImages(IMAGE);
    forgetImages('slipway-bench/builder');
    for (const d of [ctx, store, work]) rmSync(d, { recursive: true, force: true });
  }
}
