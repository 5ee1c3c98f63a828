import { describe, expect, it } from 'vitest';
import { ghaScope, planCache } from '../../../src/lib/build/plan.js';
import type { RunContext } from '../../../src/lib/build/tags.js';

const onRunner = { ACTIONS_RUNTIME_TOKEN: 't', ACTIONS_RESULTS_URL: 'https://results.example/' };
const feature: RunContext = {
  eventName: 'push',
  ref: 'refs/heads/feature/x',
  sha: 'a'.repeat(40),
  defaultBranch: 'main',
};
const pr: RunContext = {
  eventName: 'pull_request',
  ref: 'refs/pull/42/merge',
  sha: 'a'.repeat(40),
  defaultBranch: 'main',
  prNumber: 42,
};

describe('what a cache mode means on an engine', () => {
  it('auto without buildx: the stage cache only, no warning', () => {
    expect(planCache('auto', { buildx: false }, onRunner, 'ghcr.io/a/app', feature)).toEqual({
      useStage: true,
      spec: {},
      warnings: [],
    });
  });
  it('auto with buildx on a runner: stage cache plus gha, scoped per image and branch, reading main too', () => {
    expect(planCache('auto', { buildx: true }, onRunner, 'ghcr.io/a/app', feature)).toEqual({
      useStage: true,
      // buildx gets the runtime values it reads explicitly: children no longer inherit them.
      spec: {
        gha: { scope: 'ghcr.io-a-app-feature-x', readScopes: ['ghcr.io-a-app-main'], runtime: onRunner },
      },
      warnings: [],
    });
  });
  it('scopes a pull request by its number', () => {
    expect(planCache('gha', { buildx: true }, onRunner, 'app', pr).spec.gha?.scope).toBe('app-pr-42');
  });
  it('warns, and does not pass a cache buildx would drop, when the runner variables are missing', () => {
    const p = planCache('gha', { buildx: true }, { ACTIONS_RUNTIME_TOKEN: 't' }, 'app', feature);
    expect(p.spec).toEqual({});
    expect(p.useStage).toBe(false);
    expect(p.warnings[0]).toMatch(/buildx would drop the cache silently/);
  });
  it('registry: <image>:buildcache', () => {
    expect(planCache('registry', { buildx: true }, {}, 'ghcr.io/a/app', feature).spec).toEqual({
      registry: { ref: 'ghcr.io/a/app:buildcache' },
    });
  });
  it.each(['gha', 'registry'] as const)('%s without buildx fails with the fix', (mode) => {
    expect(() => planCache(mode, { buildx: false }, onRunner, 'app', feature)).toThrow(
      `cache: ${mode} needs docker buildx`,
    );
  });
  it('none: nothing', () => {
    expect(planCache('none', { buildx: true }, onRunner, 'app', feature)).toEqual({
      useStage: false,
      spec: {},
      warnings: [],
    });
  });
  it('makes gha scopes safe', () => {
    expect(ghaScope('ghcr.io/acme/app', 'feature/x,y')).toBe('ghcr.io-acme-app-feature-x-y');
  });
});
