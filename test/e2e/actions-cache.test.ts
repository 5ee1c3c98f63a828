import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionsCacheService } from '../../tools/actions-cache/server.js';
import { DEBIAN_IMAGE, DOCKER, docker, forgetImages, requireEngine } from '../harness/docker.js';
import { FreshRunners } from '../harness/fresh-runner.js';
import { copyFixture, errorLines, runAction, type ActionRun } from '../harness/runner.js';

const IMAGE = 'slipway-e2e/actions-cache';
const MARKER = 'SLIPWAY_FIXTURE_BUILDER_RAN';

/**
 * build-image's stage store and size-budget's memo on the Actions cache: the bundles' own
 * @actions/cache against the local cache service (tools/actions-cache), as on a GitHub runner
 * where each run starts with a fresh daemon and an empty RUNNER_TEMP.
 */
describe('the Actions cache, end to end: the real @actions/cache against the local cache service', () => {
  const cache = new ActionsCacheService();
  let ctx: string;
  const runners = new FreshRunners('e2e-actions-cache');
  const warnings = (r: ActionRun) => r.stdout.split('\n').filter((l) => l.startsWith('::warning'));
  const explain = (r: ActionRun) =>
    `exit ${r.code}; errors: ${errorLines(r).join(' | ')}\n${r.log.slice(-3000)}`;
  const stage = (r: ActionRun) =>
    (JSON.parse(r.outputs['stage-cache'] ?? '[]') as Array<{ result: string; key: string }>)[0]!;
  /**
   * A fresh runner: no images or build cache, an empty local store and an empty RUNNER_TEMP at the
   * same path (as on GitHub's hosted runners: the cache version hashes the path saved); only the
   * cache service remembers.
   */
  const build = (env: Record<string, string> = {}) => {
    forgetImages(IMAGE);
    const store = runners.start();
    return runAction(
      'build-image',
      {
        image: IMAGE,
        'build-args': `BASE_IMAGE=${DEBIAN_IMAGE}\nBUILDER_SECONDS=3`,
        'cache-dir': store,
        network: 'host',
      },
      {
        cwd: ctx,
        env: {
          SLIPWAY_DOCKER: DOCKER,
          GITHUB_WORKSPACE: ctx,
          RUNNER_TEMP: runners.runnerTemp,
          ...cache.runtime(),
          ...env,
        },
      },
    );
  };

  beforeAll(async () => {
    requireEngine();
    ctx = copyFixture('slow-builder');
    await cache.start();
  });
  afterAll(async () => {
    forgetImages(IMAGE);
    await cache.stop();
    runners.cleanup();
    rmSync(ctx, { recursive: true, force: true });
  });

  let key = '';
  it('miss → saved to the service; a fresh runner restores it and the builder stage does not run', async () => {
    const cold = await build();
    expect(cold.code, explain(cold)).toBe(0);
    expect(cold.log).toContain('::group::Stage cache (GitHub Actions cache)');
    expect(stage(cold).result).toBe('miss');
    expect(cold.log).toContain(MARKER);
    key = stage(cold).key;
    const saved = cache.entries.filter((e) => e.committed && e.key.startsWith(`${key}-`));
    expect(saved, 'one entry saved under the stage key').toHaveLength(1);

    const warm = await build();
    expect(warm.code, explain(warm)).toBe(0);
    expect(stage(warm)).toMatchObject({ result: 'hit', key });
    expect(warm.log, 'the builder stage ran although the service had its outputs').not.toContain(MARKER);
    expect(docker(['run', '--rm', '--network', 'host', warm.outputs.image!])).toContain(
      'tool: built by the builder stage',
    );
    expect(warnings(warm)).toEqual([]);
    // The token the runner gave the step reached the service, and no log shows it.
    expect(cache.requests.filter((q) => q.status === 401)).toEqual([]);
    expect(warm.log).not.toContain(cache.token);
  });

  it("size-budget's layer-size memo: saved by the first run, restored by a fresh runner's", async () => {
    const image = (await build()).outputs.image!;
    const size = () => {
      const store = runners.start();
      return runAction(
        'size-budget',
        { image, 'cache-dir': store, 'max-size': '1GB' },
        {
          env: {
            SLIPWAY_DOCKER: DOCKER,
            GITHUB_WORKSPACE: ctx,
            RUNNER_TEMP: runners.runnerTemp,
            ...cache.runtime(),
          },
        },
      );
    };
    const first = await size();
    expect(first.code, explain(first)).toBe(0);
    expect(first.stdout).toMatch(/[1-9]\d* of \d+ layers compressed/);
    const second = await size();
    expect(second.code, explain(second)).toBe(0);
    expect(second.stdout).toMatch(/0 of (\d+) layers compressed .*, \1 known from earlier runs/);
    expect(warnings(second)).toEqual([]);
  });

  it('a service error warns, the stage builds uncached, and the build succeeds', async () => {
    cache.fault({ call: 'GetCacheEntryDownloadURL', status: 501 });
    cache.fault({ call: 'CreateCacheEntry', status: 501 });
    try {
      const r = await build();
      expect(r.code, explain(r)).toBe(0);
      expect(warnings(r).join('\n')).toMatch(/Failed to restore.*501/);
      expect(stage(r).result).toBe('miss');
      expect(r.log).toContain(MARKER);
    } finally {
      cache.clearFaults();
    }
  });

  it('a corrupt entry warns, the stage rebuilds, and its new entry is what the next runner restores', async () => {
    cache.corrupt(cache.entries.filter((e) => e.committed && e.key.startsWith(`${key}-`)).at(-1)!.key);
    const broken = await build();
    expect(broken.code, explain(broken)).toBe(0);
    expect(warnings(broken).join('\n')).toMatch(/Failed to restore.*tar/);
    expect(broken.log).toContain(MARKER);
    const after = await build();
    expect(stage(after).result, explain(after)).toBe('hit');
    expect(after.log).not.toContain(MARKER);
  });

  it('an upload slower than SLIPWAY_CACHE_TIMEOUT is given up on with a warning; the build succeeds', async () => {
    cache.clear();
    cache.fault({ call: 'blob-put', delayMs: 60_000 });
    try {
      const started = Date.now();
      const r = await build({ SLIPWAY_CACHE_TIMEOUT: '2' });
      expect(r.code, explain(r)).toBe(0);
      expect(warnings(r).join('\n')).toMatch(/did not save within 2s/);
      expect(Date.now() - started, 'the step waited for the stalled upload').toBeLessThan(40_000);
    } finally {
      cache.clearFaults();
    }
  });
});
