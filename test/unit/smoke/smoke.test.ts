import { describe, expect, it } from 'vitest';
import { parseHeaders } from '../../../src/actions/smoke-test/inputs.js';
import { versionOverrideHeader } from '../../../src/lib/smoke/index.js';
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
