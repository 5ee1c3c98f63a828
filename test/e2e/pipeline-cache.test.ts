import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionsCacheService } from '../../tools/actions-cache/server.js';
import type { CompositeRun } from '../../tools/local-runner/composite.js';
import { forgetImages, requireEngine } from '../harness/docker.js';
import { freshCheckRun, FreshRunners } from '../harness/fresh-runner.js';
import { ROOT } from '../harness/runner.js';

const IMAGE = 'slipway-e2e/pipeline-cache';

/**
 * The root action.yml under GitHub's rules for a composite action's steps (its `run:` steps get no
 * runtime token; a JavaScript action step does), each run on a fresh runner: no images or build
 * cache, an empty RUNNER_TEMP and local store. Only the local Actions cache service remembers.
 */
describe('the pipeline keeps its stage cache in the Actions cache across fresh runners', () => {
  const cache = new ActionsCacheService();
  const runners = new FreshRunners('e2e-pipeline-cache');
  const copies: string[] = [];
  /** One check-mode run of an action.yml (the kit's, or a copy) on a fresh runner. */
  const pipeline = (actionDir = ROOT) => freshCheckRun({ cache, image: IMAGE, runners, actionDir });
  const stage = (r: CompositeRun) =>
    (
      JSON.parse(r.steps.find((s) => s.id === 'build')!.outputs['stage-cache'] ?? '[]') as Array<{
        stage: string;
        result: string;
      }>
    )[0];
  /** Whether BuildKit ran the stage's own steps (on a hit it is one FROM of the restored outputs). */
  const builtGatewayStage = (lines: string[]) =>
    lines.some((l) => /^build-image: #\d+ \[gateway-build \d+\/\d+\] RUN npm ci/.test(l));
  const explain = (r: CompositeRun) => JSON.stringify(r.steps.map((s) => [s.id, s.outcome]));

  beforeAll(async () => {
    requireEngine();
    await cache.start();
  });
  afterAll(async () => {
    forgetImages(IMAGE);
    await cache.stop();
    runners.cleanup();
    for (const dir of copies) rmSync(dir, { recursive: true, force: true });
  });

  it('first run: a miss, saved to the cache service; second run: restored, the gateway-build stage never runs', async () => {
    const first = await pipeline();
    expect(first.code, explain(first)).toBe(0);
    expect(stage(first)).toMatchObject({ stage: 'gateway-build', result: 'miss' });
    expect(builtGatewayStage(first.lines)).toBe(true);
    expect(
      cache.entries.filter((e) => e.committed && e.key.startsWith('slipway-stage-gateway-build-')),
    ).toHaveLength(1);
    expect(first.lines.join('\n'), 'the runtime token is masked wherever it appears').not.toContain(
      cache.token,
    );

    const second = await pipeline();
    expect(second.code, explain(second)).toBe(0);
    expect(stage(second)).toMatchObject({ stage: 'gateway-build', result: 'hit' });
    expect(builtGatewayStage(second.lines), 'the stage was built although the service had it').toBe(false);
    expect(second.lines).toContain('build-image: ::group::Stage cache (GitHub Actions cache)');
  });

  it('with the runtime values withheld from the bundle steps (as GitHub does by default), every run is cold', async () => {
    // The kit's action.yml without the hand-over: its run: steps get what GitHub gives them, nothing.
    const copy = mkdtempSync(join(tmpdir(), 'slipway-action-without-handover-'));
    copies.push(copy);
    const text = readFileSync(join(ROOT, 'action.yml'), 'utf8').replace(
      /^ {8}ACTIONS_[A-Z0-9_]+: .*\n/gm,
      '',
    );
    expect(text).not.toContain('ACTIONS_RUNTIME_TOKEN:');
    writeFileSync(join(copy, 'action.yml'), text);
    symlinkSync(join(ROOT, 'dist'), join(copy, 'dist'));
    const withheld = await pipeline(copy);
    expect(withheld.code, explain(withheld)).toBe(0);
    expect(stage(withheld)).toMatchObject({ stage: 'gateway-build', result: 'miss' });
    expect(builtGatewayStage(withheld.lines)).toBe(true);
    expect(withheld.lines).not.toContain('build-image: ::group::Stage cache (GitHub Actions cache)');
  });
});
