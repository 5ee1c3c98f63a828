import { ActionsCacheService } from '../tools/actions-cache/server.js';
import { forgetImages, requireEngine } from '../test/harness/docker.js';
import { freshCheckRun, FreshRunners } from '../test/harness/fresh-runner.js';
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
  const runners = new FreshRunners('bench-pipeline');
  const run = async () => {
    const r = await freshCheckRun({ cache, image: IMAGE, runners });
    if (r.code !== 0) throw new Error(`the pipeline failed in the benchmark: ${JSON.stringify(r.steps)}`);
    const build = r.steps.find((s) => s.id === 'build')!;
    const stage = (JSON.parse(build.outputs['stage-cache'] ?? '[]') as Array<{ result: string }>)[0]?.result;
    return { total: r.seconds, build: build.seconds, stage };
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
    runners.cleanup();
  }
}
