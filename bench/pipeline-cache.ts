import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deployPipeline } from '../scripts/rehearse.js';
import { ActionsCacheService } from '../tools/actions-cache/server.js';
import { runComposite } from '../tools/local-runner/composite.js';
import { hostedRunner } from '../tools/local-runner/hosted.js';
import { DOCKER, forgetImages, requireEngine } from '../test/harness/docker.js';
import { ROOT } from '../test/harness/runner.js';
import type { Figure } from './build-image.js';

const IMAGE = 'slipway-bench/pipeline-cache';

/**
 * The root pipeline (check mode, on deploy/) on a fresh runner each time, as on GitHub: no images or
 * build cache, an empty RUNNER_TEMP and local store; only the Actions cache service (the local
 * stand-in, through the real @actions/cache) keeps the stage cache between runs. Cold: the service
 * is empty. Warm: the second run, restored from it. Both measured in this run, side by side.
 */
export async function benchPipelineCache(): Promise<Figure[]> {
  requireEngine();
  const cache = new ActionsCacheService();
  await cache.start();
  const dirs: string[] = [];
  const fresh = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  // Emptied before each run, at one path: a hosted runner's RUNNER_TEMP is the same every run, and
  // the cache version hashes the path an entry was saved from.
  const runnerTemp = join(tmpdir(), 'slipway-bench-pipeline-runner-temp');
  const run = async () => {
    forgetImages(IMAGE);
    rmSync(runnerTemp, { recursive: true, force: true });
    mkdirSync(runnerTemp);
    const runner = hostedRunner({ cache });
    const setup = deployPipeline({
      image: IMAGE,
      api: '',
      url: '',
      temp: runnerTemp,
      token: '',
      account: '',
      docker: DOCKER,
    });
    const started = performance.now();
    const r = await runComposite(
      ROOT,
      { ...setup.inputs, mode: 'check' },
      {
        env: { ...setup.env, XDG_CACHE_HOME: fresh('slipway-bench-store-'), GITHUB_WORKSPACE: ROOT },
        ...runner,
        github: { token: runner.token, event_name: 'pull_request' },
      },
    );
    if (r.code !== 0) throw new Error(`the pipeline failed in the benchmark: ${JSON.stringify(r.steps)}`);
    const build = r.steps.find((s) => s.id === 'build')!;
    const stage = (JSON.parse(build.outputs['stage-cache'] ?? '[]') as Array<{ result: string }>)[0]?.result;
    return { total: (performance.now() - started) / 1000, build: build.seconds, stage };
  };
  try {
    const cold = await run();
    const warm = await run();
    if (cold.stage !== 'miss' || warm.stage !== 'hit')
      throw new Error(
        `expected a miss then a hit from the cache service, got ${cold.stage} then ${warm.stage}`,
      );
    return [
      { name: 'pipeline, cold (empty cache service): build-image step', value: cold.build, unit: 's' },
      { name: 'pipeline, warm (restored from the service): build-image step', value: warm.build, unit: 's' },
      {
        name: 'pipeline, warm / cold build-image step',
        value: warm.build / cold.build,
        unit: 'ratio',
        target: { max: 0.8 },
      },
      { name: 'pipeline, cold: the whole check-mode run', value: cold.total, unit: 's' },
      { name: 'pipeline, warm: the whole check-mode run', value: warm.total, unit: 's' },
      {
        name: 'cache service entries saved (stage archive, size memo)',
        value: cache.entries.filter((e) => e.committed).length,
        unit: 'count',
      },
    ];
  } finally {
    forgetImages(IMAGE);
    await cache.stop();
    for (const dir of [runnerTemp, ...dirs]) rmSync(dir, { recursive: true, force: true });
  }
}
