import { describe, expect, it } from 'vitest';
import { extendedHealth, type HealthInputs } from '../../../deploy/loa-identity/src/health.js';
import type { LoaderState, ToolStatus } from '../../../deploy/loa-identity/tool-loader/state.js';
import { extendedHealthProblems } from '../../../src/lib/health/schema.js';

const manifest = {
  tools: [
    { name: 'rust', check: 'x', install: 'y' },
    {
      name: 'ck-search',
      check: 'x',
      install: 'y',
      dependsOn: ['rust'],
      capability: 'semanticSearch' as const,
    },
    { name: 'st', check: 'x', install: 'y', capability: 'memoryStack' as const },
  ],
};
const state = (
  tools: Record<string, ToolStatus>,
  complete = false,
  errors: Record<string, string> = {},
): LoaderState => ({
  format: 'loa-tool-loader/1',
  complete,
  updatedAt: '',
  tools: Object.fromEntries(
    Object.entries(tools).map(([k, status]) => [
      k,
      { status, attempts: 1, updatedAt: '', ...(errors[k] ? { error: errors[k] } : {}) },
    ]),
  ),
});
const base: HealthInputs = {
  manifest,
  deferredTools: true,
  version: { id: 'v-1', commit: 'abc' },
  startedAt: 0,
  now: 12_500,
};

describe('extended health document', () => {
  it('is degraded and loading while tools are pending (no state yet)', () => {
    const d = extendedHealth(base);
    expect(d).toMatchObject({
      status: 'degraded',
      uptimeSeconds: 12,
      tools: {
        loading: true,
        complete: false,
        status: { rust: 'pending', 'ck-search': 'pending', st: 'pending' },
      },
    });
    expect(extendedHealthProblems(d)).toEqual([]);
  });

  it('is healthy with every capability of installed tools once all are installed', () => {
    const d = extendedHealth({
      ...base,
      state: state({ rust: 'installed', 'ck-search': 'installed', st: 'installed' }, true),
    });
    expect(d.status).toBe('healthy');
    expect(d.tools).toEqual({
      loading: false,
      complete: true,
      status: { rust: 'installed', 'ck-search': 'installed', st: 'installed' },
    });
    expect(d.capabilities).toEqual({ semanticSearch: true, taskGraph: false, memoryStack: true });
    expect(d.reasons).toBeUndefined();
    expect(extendedHealthProblems(d)).toEqual([]);
  });

  it('stays degraded, complete, with reasons when a tool failed and its dependent is blocked', () => {
    const d = extendedHealth({
      ...base,
      state: state({ rust: 'failed', 'ck-search': 'blocked', st: 'installed' }, true, {
        rust: 'install exited 7: offline',
        'ck-search': 'needs rust',
      }),
    });
    expect(d.status).toBe('degraded');
    expect(d.tools.complete).toBe(true);
    expect(d.tools.loading).toBe(false);
    expect(d.tools.errors).toEqual({ rust: 'install exited 7: offline', 'ck-search': 'needs rust' });
    expect(d.capabilities.semanticSearch).toBe(false);
    expect(d.reasons).toEqual([
      'tool rust failed: install exited 7: offline',
      'tool ck-search blocked: needs rust',
    ]);
    expect(extendedHealthProblems(d)).toEqual([]);
  });

  it('is degraded with the reason when the manifest is unusable (the core still serves)', () => {
    const d = extendedHealth({
      ...base,
      manifest: undefined,
      manifestError: 'dependency cycle between tools: a -> b -> a',
    });
    expect(d.status).toBe('degraded');
    expect(d.tools).toMatchObject({ loading: false, complete: true, status: {} });
    expect(d.reasons).toEqual(['tool manifest: dependency cycle between tools: a -> b -> a']);
  });

  it('is unhealthy only when the core cannot serve', () => {
    expect(extendedHealth({ ...base, coreError: 'configuration is not valid JSON' }).status).toBe(
      'unhealthy',
    );
  });

  it('is healthy with no tools managed when deferred tools are off', () => {
    const d = extendedHealth({ ...base, deferredTools: false, manifest: undefined });
    expect(d).toMatchObject({ status: 'healthy', tools: { loading: false, complete: true, status: {} } });
  });
});

describe('extended health schema', () => {
  it.each([
    [{}, /\(document\) must have required property 'status'/],
    [
      { ...extendedHealth(base), status: 'fine' },
      /\/status must be equal to one of the allowed values \(healthy, degraded, unhealthy\)/,
    ],
    [
      { ...extendedHealth(base), tools: { loading: true, complete: false, status: { rust: 'downloading' } } },
      /\/tools\/status\/rust must be equal to one of the allowed values/,
    ],
    [
      {
        ...extendedHealth(base),
        capabilities: { semanticSearch: 'yes', taskGraph: false, memoryStack: false },
      },
      /\/capabilities\/semanticSearch must be boolean/,
    ],
    [
      { ...extendedHealth(base), version: { id: '', commit: '' } },
      /\/version\/id must NOT have fewer than 1 characters/,
    ],
  ])('names the field that is wrong: %#', (doc, message) => {
    expect(extendedHealthProblems(doc).join('; ')).toMatch(message);
  });
});
