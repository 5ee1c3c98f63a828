import { describe, expect, it } from 'vitest';
import { judgeHealth, type HealthExpectations } from '../../../src/lib/health/judge.js';
import { healthDoc } from '../../harness/health-server.js';

type Outcome = 'ok' | 'retry' | 'fail';
const text = (body: unknown) => (typeof body === 'string' ? body : JSON.stringify(body));

// boot-test: the expectations it passes (extended when the path is /health/extended or /sandbox-health).
const bootExtended: HealthExpectations = { acceptStatus: ['healthy', 'degraded'], extended: true };
const bootPlain: HealthExpectations = { acceptStatus: ['healthy', 'degraded'], extended: false };

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
    ['a plain /health {"status":"ok"}', bootPlain, 200, { status: 'ok' }, 'ok', 'ok'],
    ['a plain /health answering text', bootPlain, 200, 'OK', 'ok', ''],
    [
      'a plain /health naming a status not accepted',
      bootPlain,
      200,
      { status: 'starting' },
      'retry',
      'starting',
    ],
    ['a plain /health with an HTTP error', bootPlain, 500, 'oops', 'retry', ''],
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
  it('the plain path keeps the text as the document when it is not JSON', () => {
    expect(judgeHealth({ code: 200, text: 'OK' }, bootPlain).doc).toBe('OK');
  });
});

// smoke-test: always the extended document, and a 4xx that retrying cannot fix fails at once.
const smoke: HealthExpectations = {
  acceptStatus: ['healthy', 'degraded'],
  requireCapabilities: [],
  requireTools: [],
  extended: true,
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
  const extended: HealthExpectations = { acceptStatus: ['healthy', 'degraded'], extended: true };
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
