import { afterEach, describe, expect, it } from 'vitest';
import { smokeTest, unprovenVersion, type SmokeOptions } from '../../../src/lib/smoke/index.js';
import { timeline } from '../../../src/lib/smoke/summary.js';
import type { Attempt } from '../../../src/lib/smoke/probe.js';
import { fakeDeps } from '../../harness/fakes.js';
import { healthDoc, healthServer, type Reply } from '../../harness/health-server.js';

const base: Omit<SmokeOptions, 'url'> = {
  health: 'extended',
  path: '/health/extended',
  acceptStatus: ['healthy', 'degraded'],
  requireCapabilities: [],
  requireTools: [],
  timeoutMs: 2000,
  attemptTimeoutMs: 1000,
  initialDelayMs: 200,
  maxDelayMs: 1000,
  maxBodyBytes: 1024 * 1024,
  consecutiveSuccesses: 1,
  headers: [['Authorization', 'Bearer secret-1234']],
};

interface Case {
  name: string;
  script: (n: number) => Reply;
  extra?: Partial<SmokeOptions>;
  outputs: { healthy: boolean; attempts: number; elapsedSeconds: number; status: string };
  failure?: string;
  rows: string[];
}

// The clock moves only when the smoke test sleeps: attempt times and counts are exact.
const cases: Case[] = [
  {
    name: 'healthy at once',
    script: () => ({ body: healthDoc() }),
    outputs: { healthy: true, attempts: 1, elapsedSeconds: 0, status: 'healthy' },
    rows: ['| 1 | +0.0s | 200 | `v-test` | ok |'],
  },
  {
    name: 'healthy after a 503',
    script: (n) => (n === 1 ? { status: 503, body: 'down' } : { body: healthDoc({ status: 'degraded' }) }),
    outputs: { healthy: true, attempts: 2, elapsedSeconds: 0.2, status: 'degraded' },
    rows: [
      '| 1 | +0.0s | 503 | – | retry: HTTP 503 Service Unavailable: down |',
      '| 2 | +0.2s | 200 | `v-test` | ok |',
    ],
  },
  {
    name: '503 until the deadline (backoff 200, 400, 800, then what is left)',
    script: () => ({ status: 503, body: 'down' }),
    outputs: { healthy: false, attempts: 4, elapsedSeconds: 2, status: '' },
    failure:
      'smoke-test: not healthy within 2s (4 attempts); last: HTTP 503 Service Unavailable: down (GET URL/health/extended).',
    rows: [
      '| 3 | +0.6s | 503 | – | retry: HTTP 503 Service Unavailable: down |',
      '| 4 | +1.4s | 503 | – | retry: HTTP 503 Service Unavailable: down |',
    ],
  },
  {
    name: 'a failed required tool fails at once',
    script: () => ({
      body: healthDoc({
        tools: { loading: false, complete: true, status: { rg: 'failed' }, errors: { rg: 'exit 1' } },
      }),
    }),
    extra: { requireTools: ['rg'] },
    outputs: { healthy: false, attempts: 1, elapsedSeconds: 0, status: 'healthy' },
    failure: 'smoke-test failed on attempt 1: tool rg failed: exit 1 (GET URL/health/extended).',
    rows: ['| 1 | +0.0s | 200 | `v-test` | fail: tool rg failed: exit 1 |'],
  },
  {
    name: 'basic: any 2xx (status ok, no document)',
    script: () => ({ body: 'ok' }),
    extra: { health: 'basic', path: '/' },
    outputs: { healthy: true, attempts: 1, elapsedSeconds: 0, status: 'ok' },
    rows: ['| 1 | +0.0s | 200 | – | ok |'],
  },
  {
    name: 'basic: another version in the header, until the deadline: fails naming both',
    script: () => ({ body: 'ok', headers: { 'x-version': 'v1' } }),
    extra: { health: 'basic', path: '/', proof: { header: 'x-version' }, expectVersion: 'v2' },
    outputs: { healthy: false, attempts: 4, elapsedSeconds: 2, status: '' },
    failure:
      'smoke-test: not healthy within 2s (4 attempts); last: version v1 answered (header x-version), not the expected v2 (GET URL/).',
    rows: ['| 1 | +0.0s | 200 | `v1` | retry: version v1 answered (header x-version), not the expected v2 |'],
  },
  {
    name: 'json: the version at a pointer, after an old one',
    script: (n) => ({ body: { status: 'pass', build: { version: n < 2 ? 'v1' : 'v2' } } }),
    extra: {
      health: 'json',
      path: '/',
      acceptStatus: ['pass'],
      proof: { pointer: '/build/version' },
      expectVersion: 'v2',
    },
    outputs: { healthy: true, attempts: 2, elapsedSeconds: 0.2, status: 'pass' },
    rows: ['| 2 | +0.2s | 200 | `v2` | ok |'],
  },
];

describe('smokeTest against a loopback health server, on a clock that moves when it sleeps', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it.each(cases)('$name', async (c) => {
    const server = await healthServer(c.script);
    close = server.close;
    let clock = Date.parse('2026-12-01T12:00:00Z');
    const deps = fakeDeps([], { now: () => new Date(clock) });
    const sleep = async (ms: number) => void (clock += ms);
    const result = await smokeTest({ ...base, url: server.url, ...c.extra }, deps, {
      sleep,
      random: () => 1,
    });

    expect(result.outputs).toMatchObject(c.outputs);
    expect(result.failure).toBe(c.failure?.replace('URL', server.url));
    expect(result.attempts).toHaveLength(c.outputs.attempts);
    for (const row of c.rows) expect(result.summary).toContain(row);
    expect(result.summary).toContain(c.failure ? '❌ not healthy' : '✅ healthy after');
    if (c.outputs.status && c.extra?.health !== 'basic')
      expect(JSON.parse(result.outputs.health)).toMatchObject({ status: c.outputs.status });
    else expect(result.outputs.health).toBe('');
    expect(deps.log.secrets).toEqual(['Bearer secret-1234']);
    expect(server.requests[0]?.headers.authorization).toBe('Bearer secret-1234');
  });

  it('a long timeline shows the first 10 and the last 20 attempts', () => {
    const attempts: Attempt[] = Array.from({ length: 35 }, (_, i) => ({
      n: i + 1,
      at: i,
      code: 0,
      outcome: 'retry',
      reason: 'connection failed: ECONNREFUSED',
    }));
    const lines = timeline(attempts).split('\n');
    expect(lines.slice(0, 2)).toEqual([
      '| # | time | HTTP | version | outcome |',
      '| --- | --- | --- | --- | --- |',
    ]);
    expect(lines).toHaveLength(2 + 10 + 1 + 20);
    expect(lines[11]).toBe('| 10 | +9.0s | – | – | retry: connection failed: ECONNREFUSED |');
    expect(lines[12]).toContain('5 attempts not shown');
    expect(lines[13]).toMatch(/^\| 16 \| \+15\.0s /);
  });
});

describe('an expected version the service cannot prove (basic or json, no version proof)', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });
  const run = async (extra: Partial<SmokeOptions>) => {
    const server = await healthServer(() => ({ body: 'ok' }));
    close = server.close;
    const deps = fakeDeps([], { now: () => new Date() });
    return { result: await smokeTest({ ...base, url: server.url, ...extra }, deps), deps };
  };
  it('passes on a 2xx; the summary says the version was not proven and which Worker version was deployed', async () => {
    const { result, deps } = await run({ health: 'basic', path: '/', expectVersion: 'v9' });
    expect(result.failure).toBeUndefined();
    const note =
      'Version not proven by the service: with health basic and no version-header, its answers do not say which version serves them, so they were not compared with the expected version v9 (expect-version). The Worker version deployed is v9; that it is the one answering is not shown.';
    expect(result.summary).toContain(`⚠️ ${note}`);
    expect(deps.log.lines).toContain(note);
  });
  it('an expected image that cannot be proven is a warning', async () => {
    const { result, deps } = await run({ health: 'json', path: '/', expectImage: 'app:v9' });
    expect(result.failure).toMatch(/the answer is not JSON/);
    expect(deps.log.lines.join()).toContain(
      'warning: Version not proven by the service: with health json and no version-header or version-path, its answers do not say which version serves them, so they were not compared with the expected image app:v9 (expect-image).',
    );
  });
  it.each<Partial<SmokeOptions>>([
    { health: 'extended', expectVersion: 'v9' },
    { health: 'basic', proof: { header: 'x-version' }, expectVersion: 'v9' },
    { health: 'basic' },
  ])('nothing to say for %j', (extra) => {
    expect(unprovenVersion({ ...base, url: 'http://x', ...extra })).toBeUndefined();
  });
});
