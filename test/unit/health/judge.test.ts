import { describe, expect, it } from 'vitest';
import { judgeHealth, type HealthExpectations } from '../../../src/lib/health/judge.js';
import { healthDoc } from '../../harness/health-server.js';

type Outcome = 'ok' | 'retry' | 'fail';
const text = (body: unknown) => (typeof body === 'string' ? body : JSON.stringify(body));

// boot-test: the expectations it passes (its health input's mode, no version).
const bootExtended: HealthExpectations = { acceptStatus: ['healthy', 'degraded'], mode: 'extended' };
const bootJson: HealthExpectations = { acceptStatus: ['healthy', 'degraded'], mode: 'json' };
const bootBasic: HealthExpectations = { acceptStatus: ['healthy', 'degraded'], mode: 'basic' };

describe('the one health judge: boot-test cases', () => {
  it.each<[string, HealthExpectations, number, unknown, Outcome, string]>([
    ['healthy', bootExtended, 200, healthDoc(), 'ok', 'healthy'],
    ['degraded', bootExtended, 200, healthDoc({ status: 'degraded' }), 'ok', 'degraded'],
    ['unhealthy is waited on', bootExtended, 200, healthDoc({ status: 'unhealthy' }), 'retry', 'unhealthy'],
    ['a 503 is waited on', bootExtended, 503, healthDoc({ status: 'unhealthy' }), 'retry', ''],
    ['a 404 is waited on', bootExtended, 404, 'not found', 'retry', ''],
    ['even a 403 is waited on while booting', bootExtended, 403, 'forbidden', 'retry', ''],
    [
      'only healthy when asked',
      { ...bootExtended, acceptStatus: ['healthy'] },
      200,
      healthDoc({ status: 'degraded' }),
      'retry',
      'degraded',
    ],
    ['a json /health {"status":"ok"}', bootJson, 200, { status: 'ok' }, 'ok', 'ok'],
    ['a basic /health answering text', bootBasic, 200, 'OK', 'ok', ''],
    [
      'a json /health naming a status not accepted',
      bootJson,
      200,
      { status: 'starting' },
      'retry',
      'starting',
    ],
    ['a basic /health with an HTTP error', bootBasic, 500, 'oops', 'retry', ''],
  ])('%s', (_name, expectations, code, body, outcome, status) => {
    const verdict = judgeHealth({ code, text: text(body) }, expectations);
    expect(verdict.outcome, `${verdict.outcome}: ${verdict.reason}`).toBe(outcome);
    expect(verdict.status).toBe(status);
    expect(verdict.problems).toBeUndefined();
  });
  it('a document that breaks the schema is a final failure naming the field', () => {
    const verdict = judgeHealth(
      { code: 200, text: text({ ...healthDoc(), tools: { loading: 'no' } }) },
      { ...bootExtended, acceptStatus: ['healthy'] },
    );
    expect(verdict.outcome).toBe('fail');
    expect(verdict.problems).toContain("/tools must have required property 'complete'");
  });
  it('basic does not read the body: no document', () => {
    expect(judgeHealth({ code: 200, text: '{"status":"unhealthy"}' }, bootBasic)).toEqual({
      outcome: 'ok',
      status: '',
    });
  });
});

// smoke-test with health: extended: the extended document, and a 4xx that retrying cannot fix fails at once.
const smoke: HealthExpectations = {
  acceptStatus: ['healthy', 'degraded'],
  requireCapabilities: [],
  requireTools: [],
  mode: 'extended',
  failOnClientError: true,
};

describe('the one health judge: smoke-test cases', () => {
  it.each<[string, unknown, Partial<HealthExpectations>, Outcome, string | undefined]>([
    ['healthy', healthDoc(), {}, 'ok', undefined],
    ['degraded accepted', healthDoc({ status: 'degraded' }), {}, 'ok', undefined],
    [
      'unhealthy retried',
      healthDoc({ status: 'unhealthy', reasons: ['config invalid'] }),
      {},
      'retry',
      'status unhealthy (accepting healthy, degraded); config invalid',
    ],
    [
      'another version',
      healthDoc(),
      { expectVersion: 'v2' },
      'retry',
      'version v-test answered, not the expected v2',
    ],
    [
      'capability false',
      healthDoc(),
      { requireCapabilities: ['taskGraph'] },
      'retry',
      'capability taskGraph is false',
    ],
    [
      'capability missing',
      healthDoc(),
      { requireCapabilities: ['gpu'] },
      'retry',
      'capability gpu is missing',
    ],
    [
      'tool installing',
      healthDoc({ tools: { loading: true, complete: false, status: { rg: 'installing' } } }),
      { requireTools: ['rg'] },
      'retry',
      'tool rg is installing',
    ],
    [
      'tool failed',
      healthDoc({
        tools: { loading: false, complete: true, status: { rg: 'failed' }, errors: { rg: 'exit 1' } },
      }),
      { requireTools: ['rg'] },
      'fail',
      'tool rg failed: exit 1',
    ],
    [
      'not the schema',
      { status: 'ok' },
      {},
      'fail',
      'not an extended-health document: (document) must have required property',
    ],
  ])('%s', (_name, doc, extra, outcome, reason) => {
    const verdict = judgeHealth({ code: 200, text: text(doc) }, { ...smoke, ...extra });
    expect(verdict.outcome, `${verdict.outcome}: ${verdict.reason}`).toBe(outcome);
    if (reason) expect(verdict.reason).toContain(reason);
    else expect(verdict.reason).toBeUndefined();
  });
  it('not JSON', () => {
    expect(judgeHealth({ code: 200, text: 'oops' }, smoke)).toEqual({
      outcome: 'fail',
      reason: 'the answer is not JSON (it starts "oops")',
      status: '',
    });
  });
  it.each([
    [503, 'Service Unavailable', 'provisioning', 'retry', 'HTTP 503 Service Unavailable: provisioning'],
    [429, '', '', 'retry', 'HTTP 429'],
    [
      403,
      'Forbidden',
      'Forbidden by Access policy\nmore',
      'fail',
      'HTTP 403 Forbidden: Forbidden by Access policy (not retried: only 5xx, 404, 408 and 429 are)',
    ],
  ] as const)('HTTP %i %s → %s', (code, statusText, body, outcome: Outcome, reason) => {
    expect(judgeHealth({ code, statusText, text: body }, smoke)).toMatchObject({ outcome, reason });
  });
  it('what was seen is kept for the outputs: version, status, document', () => {
    const doc = healthDoc({ status: 'degraded' });
    expect(judgeHealth({ code: 200, text: text(doc) }, { ...smoke, expectVersion: 'v2' })).toMatchObject({
      version: 'v-test',
      status: 'degraded',
      doc,
    });
  });
});

describe('the image the answering instance runs (smoke-test expect-image)', () => {
  const extended: HealthExpectations = { acceptStatus: ['healthy', 'degraded'], mode: 'extended' };
  const withImage = (version: Record<string, unknown>) => ({
    ...healthDoc(),
    version: { id: 'v', commit: 'abc1234', ...version },
  });
  it.each<[string, string, unknown, Outcome]>([
    ['the same text', 'rehearsal-v2', withImage({ image: 'rehearsal-v2' }), 'ok'],
    [
      'another image: an instance not replaced yet',
      'rehearsal-v3',
      withImage({ image: 'rehearsal-v2' }),
      'retry',
    ],
    ['no image reported', 'rehearsal-v3', withImage({}), 'retry'],
    [
      'a reference matches its tag',
      'registry.example/acct/app:slipway-3f2a9c1d0e4b',
      withImage({ image: 'slipway-3f2a9c1d0e4b' }),
      'ok',
    ],
    [
      'a reference matches its digest',
      'app@sha256:' + 'a'.repeat(64),
      withImage({ image: 'sha256:' + 'a'.repeat(64) }),
      'ok',
    ],
    [
      'an image id prefix of 12',
      'sha256:' + 'b'.repeat(64),
      { ...healthDoc(), image: { id: 'b'.repeat(12) } },
      'ok',
    ],
    [
      'a prefix shorter than 12 is not enough',
      'sha256:' + 'b'.repeat(64),
      { ...healthDoc(), image: { id: 'bbbb' } },
      'retry',
    ],
    [
      'image.digest',
      'app@sha256:' + 'c'.repeat(64),
      { ...healthDoc(), image: { digest: 'sha256:' + 'c'.repeat(64) } },
      'ok',
    ],
    ['another tag of the same repository', 'app:v2', withImage({ image: 'app:v3' }), 'retry'],
  ])('%s', (_name, expectImage, doc, outcome) => {
    const verdict = judgeHealth({ code: 200, text: text(doc) }, { ...extended, expectImage });
    expect(verdict.outcome, verdict.reason).toBe(outcome);
    if (outcome === 'retry') expect(verdict.reason).toMatch(/^image .* answered, not the expected /);
  });
});

const V1 = '11111111-1111-4111-8111-111111111111';
const V2 = '22222222-2222-4222-8222-222222222222';

interface ModeCase {
  name: string;
  code?: number;
  body: unknown;
  headers?: Record<string, string>;
  expect?: Partial<HealthExpectations>;
  outcome: Outcome;
  /** The reason, in full (undefined: none). */
  reason?: string;
  status?: string;
  version?: string;
}

const judged = (mode: HealthExpectations['mode'], c: ModeCase) =>
  judgeHealth(
    { code: c.code ?? 200, text: text(c.body), headers: new Headers(c.headers) },
    { acceptStatus: ['healthy', 'degraded'], mode, failOnClientError: true, ...c.expect },
  );
const byHeader = { proof: { header: 'x-version' }, expectVersion: V1 };
const byPointer = { proof: { pointer: '/version' }, expectVersion: V1 };

describe('health: basic (any 2xx; the body is not read; a version header when given)', () => {
  it.each<ModeCase>([
    { name: '200 "ok" in text', body: 'ok', outcome: 'ok' },
    { name: '204 with no body', code: 204, body: '', outcome: 'ok' },
    { name: 'an HTML page', body: '<html>Welcome</html>', outcome: 'ok' },
    { name: 'a body naming unhealthy is not read', body: { status: 'unhealthy' }, outcome: 'ok' },
    {
      name: 'a 404 is retried',
      code: 404,
      body: 'not found',
      outcome: 'retry',
      reason: 'HTTP 404: not found',
    },
    { name: 'a 503 is retried', code: 503, body: '', outcome: 'retry', reason: 'HTTP 503' },
    {
      name: 'a 403 fails at once (smoke)',
      code: 403,
      body: 'no',
      outcome: 'fail',
      reason: 'HTTP 403: no (not retried: only 5xx, 404, 408 and 429 are)',
    },
    {
      name: 'a 403 is waited on while booting',
      code: 403,
      body: '',
      expect: { failOnClientError: false },
      outcome: 'retry',
      reason: 'HTTP 403',
    },
    {
      name: 'the version header matches',
      body: 'ok',
      headers: { 'x-version': V1 },
      expect: byHeader,
      outcome: 'ok',
      version: V1,
    },
    {
      name: 'the header name is case-insensitive',
      body: 'ok',
      headers: { 'X-Version': V1 },
      expect: { ...byHeader, proof: { header: 'X-VERSION' } },
      outcome: 'ok',
      version: V1,
    },
    {
      name: 'another version in the header is retried, naming both',
      body: 'ok',
      headers: { 'x-version': V2 },
      expect: byHeader,
      outcome: 'retry',
      reason: `version ${V2} answered (header x-version), not the expected ${V1}`,
      version: V2,
    },
    {
      name: 'no version header is retried (an old instance may not send it)',
      body: 'ok',
      expect: byHeader,
      outcome: 'retry',
      reason: `version (none) answered (header x-version), not the expected ${V1}`,
    },
    {
      name: 'no proof: an expected version is not checked (nothing invented)',
      body: 'ok',
      headers: { 'x-version': V2 },
      expect: { expectVersion: V1 },
      outcome: 'ok',
    },
    {
      name: 'the header proves the image: a reference matches its tag',
      body: 'ok',
      headers: { 'x-version': 'slipway-3f2a9c1d0e4b' },
      expect: { proof: { header: 'x-version' }, expectImage: 'registry.example/app:slipway-3f2a9c1d0e4b' },
      outcome: 'ok',
      version: 'slipway-3f2a9c1d0e4b',
    },
    {
      name: 'the header names another image',
      body: 'ok',
      headers: { 'x-version': 'slipway-000000000000' },
      expect: { proof: { header: 'x-version' }, expectImage: 'app:slipway-3f2a9c1d0e4b' },
      outcome: 'retry',
      reason:
        'image slipway-000000000000 answered (header x-version), not the expected app:slipway-3f2a9c1d0e4b (an instance the rollout has not replaced yet?)',
      version: 'slipway-000000000000',
    },
  ])('$name', (c) => {
    const verdict = judged('basic', c);
    expect(verdict).toEqual({
      outcome: c.outcome,
      status: '',
      ...(c.reason ? { reason: c.reason } : {}),
      ...(c.code === undefined || c.code < 300 ? { version: c.version } : {}),
    });
  });
});

describe('health: json (a JSON object; its status, when present, accepted or "ok"; a version header or pointer)', () => {
  it.each<ModeCase>([
    { name: 'any object', body: { up: true }, outcome: 'ok', status: '' },
    { name: 'an accepted status', body: { status: 'healthy' }, outcome: 'ok', status: 'healthy' },
    { name: '"ok" always passes', body: { status: 'ok' }, outcome: 'ok', status: 'ok' },
    {
      name: 'a status of its own, when accepted',
      body: { status: 'UP' },
      expect: { acceptStatus: ['UP'] },
      outcome: 'ok',
      status: 'UP',
    },
    {
      name: 'a status not accepted is retried',
      body: { status: 'starting' },
      outcome: 'retry',
      reason: 'status starting (accepting healthy, degraded)',
      status: 'starting',
    },
    {
      name: 'not JSON fails at once',
      body: 'ok',
      outcome: 'fail',
      reason: 'the answer is not JSON (it starts "ok")',
      status: '',
    },
    {
      name: 'an array',
      body: [1],
      outcome: 'fail',
      reason: 'the answer is JSON but not an object (it is an array)',
      status: '',
    },
    {
      name: 'a string',
      body: '"ok"',
      outcome: 'fail',
      reason: 'the answer is JSON but not an object (it is a string)',
      status: '',
    },
    {
      name: 'null',
      body: 'null',
      outcome: 'fail',
      reason: 'the answer is JSON but not an object (it is null)',
      status: '',
    },
    {
      name: 'a 500 is retried',
      code: 500,
      body: { status: 'ok' },
      outcome: 'retry',
      reason: 'HTTP 500: {"status":"ok"}',
      status: '',
    },
    {
      name: 'the pointer matches',
      body: { version: V1 },
      expect: byPointer,
      outcome: 'ok',
      status: '',
      version: V1,
    },
    {
      name: 'another version at the pointer is retried, naming both',
      body: { status: 'ok', version: V2 },
      expect: byPointer,
      outcome: 'retry',
      reason: `version ${V2} answered (body /version), not the expected ${V1}`,
      status: 'ok',
      version: V2,
    },
    {
      name: 'nothing at the pointer is retried',
      body: { status: 'ok' },
      expect: byPointer,
      outcome: 'retry',
      reason: `version (none) answered (body /version), not the expected ${V1}`,
      status: 'ok',
    },
    {
      name: 'a nested pointer to a number',
      body: { build: { id: 42 } },
      expect: { proof: { pointer: '/build/id' }, expectVersion: '42' },
      outcome: 'ok',
      status: '',
      version: '42',
    },
    {
      name: 'a pointer with an escaped "/" (~1)',
      body: { 'app/version': V1 },
      expect: { proof: { pointer: '/app~1version' }, expectVersion: V1 },
      outcome: 'ok',
      status: '',
      version: V1,
    },
    {
      name: 'an object at the pointer is no version',
      body: { version: { id: V1 } },
      expect: byPointer,
      outcome: 'retry',
      reason: `version (none) answered (body /version), not the expected ${V1}`,
      status: '',
    },
    {
      name: 'the header proof',
      body: {},
      headers: { 'x-version': V1 },
      expect: byHeader,
      outcome: 'ok',
      status: '',
      version: V1,
    },
    {
      name: 'the version is judged before the status',
      body: { status: 'starting', version: V2 },
      expect: byPointer,
      outcome: 'retry',
      reason: `version ${V2} answered (body /version), not the expected ${V1}`,
      status: 'starting',
      version: V2,
    },
  ])('$name', (c) => {
    const verdict = judged('json', c);
    expect(verdict.outcome, verdict.reason).toBe(c.outcome);
    expect(verdict.reason).toBe(c.reason);
    expect(verdict.status).toBe(c.status);
    expect(verdict.version).toBe(c.version);
    if (c.outcome !== 'fail' && (c.code ?? 200) < 300) expect(verdict.doc).toEqual(c.body);
  });
});

describe('health: extended is unchanged by a version proof', () => {
  it('the version is read from version.id, never from a header', () => {
    const verdict = judged('extended', {
      name: '',
      body: healthDoc({ version: { id: V2, commit: 'c' } }),
      headers: { 'x-version': V1 },
      expect: byHeader,
      outcome: 'retry',
    });
    expect(verdict).toMatchObject({
      outcome: 'retry',
      reason: `version ${V2} answered, not the expected ${V1}`,
    });
  });
  it('a plain {"status":"ok"} is not the extended document', () => {
    expect(judged('extended', { name: '', body: { status: 'ok' }, outcome: 'fail' }).outcome).toBe('fail');
  });
});
