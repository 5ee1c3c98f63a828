import { describe, expect, it } from 'vitest';
import { parseHeaders, readInputs } from '../../../src/actions/smoke-test/inputs.js';
import { smokeTest, versionOverrideHeader, type SmokeOptions } from '../../../src/lib/smoke/index.js';
import { fakeDeps } from '../../harness/fakes.js';
import { backoffDelay } from '../../../src/lib/core/backoff.js';
import { retryableStatus } from '../../../src/lib/health/judge.js';

describe('backoff with full jitter', () => {
  const o = { initialMs: 200, maxMs: 1000, remainingMs: 60_000 };
  it.each([
    [0, 0, 200],
    [0, 1, 200],
    [1, 1, 400],
    [2, 0.5, 500],
    [3, 1, 1000],
    [10, 1, 1000],
    [10, 0, 200],
  ])('wait %i with random %f is %i ms', (n, r, expected) => {
    expect(backoffDelay(n, o, () => r)).toBe(expected);
  });
  it('never waits past the deadline', () => {
    expect(backoffDelay(5, { ...o, remainingMs: 120 }, () => 1)).toBe(120);
  });
});

describe('what is retried', () => {
  it.each([
    [500, true],
    [502, true],
    [503, true],
    [404, true],
    [408, true],
    [429, true],
    [400, false],
    [401, false],
    [403, false],
    [410, false],
  ])('HTTP %i retried: %s', (code, retried) => expect(retryableStatus(code)).toBe(retried));
});

// Judging a body (smoke-test's cases and boot-test's): test/unit/health/judge.test.ts.

describe('inputs', () => {
  it('headers: "Name: value" lines; a bad line is named without its value', () => {
    expect(parseHeaders('Authorization: Bearer a:b\n\n# c\nX-A:1')).toEqual([
      ['Authorization', 'Bearer a:b'],
      ['X-A', '1'],
    ]);
    expect(() => parseHeaders('no colon here')).toThrow(
      'Input "headers" line 1 is not "Name: value" (values are not shown: they are masked).',
    );
  });
  it('version override: a bare id takes the Worker name from a workers.dev URL', () => {
    expect(versionOverrideHeader(new URL('https://loa.acme.workers.dev'), 'abc')).toBe('loa="abc"');
    expect(versionOverrideHeader(new URL('https://x.example.com'), 'w="abc"')).toBe('w="abc"');
    expect(() => versionOverrideHeader(new URL('https://x.example.com'), 'abc')).toThrow(
      /give <worker>="<version-id>"/,
    );
  });
});

describe('inputs: the health mode, its path and its version proof', () => {
  const read = (inputs: Record<string, string>) =>
    readInputs((name) => ({ url: 'https://app.example.workers.dev', ...inputs })[name] ?? '');
  it.each<[Record<string, string>, Partial<ReturnType<typeof read>>]>([
    [{}, { health: 'basic', path: '/', proof: undefined, acceptStatus: ['healthy', 'degraded'] }],
    [{ health: 'extended' }, { health: 'extended', path: '/health/extended' }],
    [
      { health: 'json', path: '/healthz' },
      { health: 'json', path: '/healthz' },
    ],
    [{ 'version-header': 'X-Version' }, { health: 'basic', proof: { header: 'X-Version' } }],
    [{ health: 'json', 'version-path': '/build/id' }, { proof: { pointer: '/build/id' } }],
    [{ health: 'json', 'accept-status': 'pass,UP' }, { acceptStatus: ['pass', 'UP'] }],
    [
      { health: 'extended', 'require-capabilities': 'semanticSearch', 'require-tools': 'rg' },
      { requireCapabilities: ['semanticSearch'], requireTools: ['rg'] },
    ],
  ])('%j', (inputs, options) => expect(read(inputs)).toMatchObject(options));
  it.each<[Record<string, string>, string]>([
    [{ health: 'full' }, 'Input "health" is "full": use one of basic, json, extended.'],
    [
      { 'version-path': '/version' },
      'Input "version-path" needs health: json (basic does not read the body): give version-header, or health: json.',
    ],
    [
      { health: 'extended', 'version-header': 'x-version' },
      'Input "version-header" is for health basic or json: the extended document names its version in version.id.',
    ],
    [
      { health: 'json', 'version-header': 'x-version', 'version-path': '/version' },
      'Inputs "version-header" and "version-path" are both given: give one place the version is read from.',
    ],
    [
      { 'version-header': 'x version' },
      'Input "version-header" is "x version": give a header name such as x-version.',
    ],
    [
      { health: 'json', 'version-path': 'version' },
      'Input "version-path" is "version": give a JSON pointer into the body, such as /version or /build/id.',
    ],
    [
      { 'require-capabilities': 'semanticSearch' },
      'Input "require-capabilities" needs health: extended (a basic answer names no capabilities or tools).',
    ],
    [
      { health: 'json', 'require-tools': 'rg' },
      'Input "require-tools" needs health: extended (a json answer names no capabilities or tools).',
    ],
    [
      { health: 'extended', 'accept-status': 'healthy,ok' },
      'Input "accept-status" has ok: use healthy, degraded, unhealthy (comma-separated).',
    ],
  ])('%j is refused in one line', (inputs, message) => {
    expect(() => read(inputs)).toThrow(message);
  });
});

describe('a URL or path that would leak credentials or leave the host is refused before any request', () => {
  const canary = 'sk_live_url_canary';
  const options = (url: string, path = '/health/extended'): SmokeOptions => ({
    url,
    health: 'extended',
    path,
    acceptStatus: ['healthy'],
    requireCapabilities: [],
    requireTools: [],
    timeoutMs: 1000,
    attemptTimeoutMs: 1000,
    initialDelayMs: 100,
    maxDelayMs: 100,
    maxBodyBytes: 1024,
    consecutiveSuccesses: 1,
    headers: [],
  });
  const failure = async (url: string, path?: string) => {
    const deps = fakeDeps([]);
    try {
      await smokeTest(options(url, path), deps);
    } catch (err) {
      return (err as Error).message;
    }
    return 'no error';
  };
  it.each([
    `https://user:${canary}@app.example/`,
    `https://${canary}@app.example/`,
    `https://user:${canary}@app.example:99999/`,
    `ftp://user:${canary}@app.example/`,
    `https:user:${canary}@app.example`,
  ])('%s: credentials, unshown', async (url) => {
    const message = await failure(url);
    expect(message).toMatch(/^Input "url" holds credentials/);
    expect(message).not.toContain(canary);
  });
  it.each(['//evil.example/x', '/\\evil.example/x', `//user:${canary}@app.example/x`])(
    'path %s leaves the host',
    async (path) => {
      const message = await failure('https://app.example', path);
      expect(message).toMatch(/^Input "path" leaves https:\/\/app\.example/);
      expect(message).not.toContain(canary);
    },
  );
});
