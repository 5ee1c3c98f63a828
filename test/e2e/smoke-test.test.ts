import { afterEach, describe, expect, it } from 'vitest';
import { healthDoc, healthServer, type Reply } from '../harness/health-server.js';
import { errorLines, runAction, type ActionRun } from '../harness/runner.js';

const FAST = { timeout: '2s', 'initial-delay': '0.05s', 'max-delay': '0.2s', 'attempt-timeout': '1s' };
const V1 = '11111111-1111-4111-8111-111111111111';
const V2 = '22222222-2222-4222-8222-222222222222';

/** The smoke-test bundle, run as the runner runs it, against scripted loopback servers. */
describe('smoke-test action against local servers', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });
  const serve = async (script: (n: number, t: number, path: string) => Reply) => {
    const s = await healthServer(script);
    close = s.close;
    return s;
  };
  // The extended-health document (what the reference gateway serves), on its default path.
  const smoke = (url: string, inputs: Record<string, string> = {}) =>
    runAction('smoke-test', { url, health: 'extended', ...FAST, ...inputs }, { timeoutMs: 60_000 });
  // Any service: every input not given is at its default (health basic, path /).
  const plain = (url: string, inputs: Record<string, string> = {}) =>
    runAction('smoke-test', { url, ...inputs }, { timeoutMs: 60_000 });
  const explain = (r: ActionRun) => `exit ${r.code}: ${errorLines(r).join(' | ')}\n${r.log.slice(-1500)}`;

  it('healthy at once: one attempt, outputs filled, a timeline in the summary', async () => {
    const s = await serve(() => ({ body: healthDoc({ version: { id: V1, commit: 'c' } }) }));
    const r = await smoke(s.url, { 'expect-version': V1 });
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs).toMatchObject({ healthy: 'true', attempts: '1', status: 'healthy' });
    expect(JSON.parse(r.outputs.health!)).toMatchObject({ version: { id: V1 } });
    expect(s.requests[0]!.path).toBe('/health/extended');
    expect(r.summary).toContain('✅ healthy after 1 attempt');
    expect(r.summary).toContain('| # | time | HTTP | version | outcome |');
  });

  it('a job summary that cannot be written (no GITHUB_STEP_SUMMARY) warns; the step passes with its outputs', async () => {
    const s = await serve(() => ({ body: healthDoc({ version: { id: V1, commit: 'c' } }) }));
    const r = await runAction(
      'smoke-test',
      { url: s.url, health: 'extended', ...FAST, 'expect-version': V1 },
      { timeoutMs: 60_000, env: { GITHUB_STEP_SUMMARY: undefined } },
    );
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/^::warning::The job summary was not written: /m);
    expect(r.outputs).toMatchObject({ healthy: 'true', attempts: '1' });
  });

  it('healthy after N failures (connection-level 503s while containers provision)', async () => {
    const s = await serve((n) => (n <= 3 ? { status: 503, body: 'provisioning' } : {}));
    const r = await smoke(s.url);
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs.attempts).toBe('4');
    expect(r.stdout).toMatch(/#1 \+\d+\.\ds 503 → retry: HTTP 503/);
  });

  it('flapping: two consecutive successes demanded, never given, fails at the deadline', async () => {
    const s = await serve((n) => (n % 2 ? {} : { status: 502, body: 'bad gateway' }));
    const r = await smoke(s.url, { 'consecutive-successes': '2' });
    expect(r.code).toBe(1);
    expect(r.outputs.healthy).toBe('false');
    expect(errorLines(r)[0]).toMatch(/^smoke-test: not healthy within 2s \(\d+ attempts\); last: /);
    expect(Number(r.outputs.attempts)).toBeGreaterThan(3);
  });

  it('slow beyond attempt-timeout: those attempts time out and are retried', async () => {
    const s = await serve((n) => (n <= 2 ? { delayMs: 1500 } : {}));
    const r = await smoke(s.url, { 'attempt-timeout': '0.3s', timeout: '5s' });
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs.attempts).toBe('3');
    expect(r.stdout).toContain('no answer within attempt-timeout (0.3s)');
  });

  it('wrong version until the deadline: fails naming both ids', async () => {
    const s = await serve(() => ({ body: healthDoc({ version: { id: V2, commit: 'c' } }) }));
    const r = await smoke(s.url, { 'expect-version': V1 });
    expect(r.code).toBe(1);
    expect(errorLines(r)[0]).toContain(`last: version ${V2} answered, not the expected ${V1}`);
    expect(Number(r.outputs.attempts)).toBeGreaterThan(2);
  });

  it('the expected version after a few answers from the old one: passes', async () => {
    const s = await serve((n) => ({ body: healthDoc({ version: { id: n < 3 ? V2 : V1, commit: 'c' } }) }));
    const r = await smoke(s.url, { 'expect-version': V1 });
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs.attempts).toBe('3');
  });

  it('403 fails at once', async () => {
    const s = await serve(() => ({ status: 403, body: 'Forbidden by Access policy' }));
    const r = await smoke(s.url);
    expect(r.code).toBe(1);
    expect(r.outputs.attempts).toBe('1');
    expect(errorLines(r)).toEqual([
      `smoke-test failed on attempt 1: HTTP 403 Forbidden: Forbidden by Access policy (not retried: only 5xx, 404, 408 and 429 are) (GET ${s.url}/health/extended).`,
    ]);
  });

  it('a body that is not JSON fails, saying so', async () => {
    const s = await serve(() => ({ body: '<html><body>Welcome to nginx</body></html>' }));
    const r = await smoke(s.url);
    expect(r.code).toBe(1);
    expect(errorLines(r)[0]).toContain('the answer is not JSON (it starts "<html><body>Welcome to nginx');
  });

  it('an oversized body fails without reading it all', async () => {
    const big = healthDoc({ reasons: ['x'.repeat(2 * 1024 * 1024)] });
    const s = await serve(() => ({ body: big }));
    const r = await smoke(s.url, { 'max-body-bytes': '64KiB' });
    expect(r.code).toBe(1);
    expect(errorLines(r)[0]).toContain('the answer is larger than max-body-bytes (65536 bytes');
  });

  it('a missing capability is waited for, then named; a failed required tool fails at once', async () => {
    const s = await serve(() => ({
      body: healthDoc({
        status: 'degraded',
        tools: {
          loading: false,
          complete: true,
          status: { 'ck-search': 'failed' },
          errors: { 'ck-search': 'cargo not found' },
        },
      }),
    }));
    const caps = await smoke(s.url, { 'require-capabilities': 'semanticSearch' });
    expect(caps.code).toBe(1);
    expect(errorLines(caps)[0]).toContain('last: capability semanticSearch is false');
    const tools = await smoke(s.url, { 'require-tools': 'ck-search' });
    expect(tools.code).toBe(1);
    expect(tools.outputs.attempts).toBe('1');
    expect(errorLines(tools)[0]).toContain('tool ck-search failed: cargo not found');
  });

  it('a document that is not extended health names the field', async () => {
    const s = await serve(() => ({ body: healthDoc({ status: 'fine' }) }));
    const r = await smoke(s.url);
    expect(r.code).toBe(1);
    expect(errorLines(r)[0]).toContain(
      'not an extended-health document: /status must be equal to one of the allowed values',
    );
  });

  it('headers are sent and masked; the version override header is sent; foreign redirects are not followed', async () => {
    const s = await serve((n) =>
      n === 1 ? { status: 302, body: '', headers: { location: '/health/extended?hop=1' } } : {},
    );
    const r = await smoke(s.url, {
      headers: 'Authorization: Bearer very-secret-value-123\nX-Probe: yes',
      'version-override': `loa-gateway="${V1}"`,
    });
    expect(r.code, explain(r)).toBe(0);
    expect(s.requests[1]!.path).toBe('/health/extended?hop=1');
    expect(s.requests[1]!.headers.authorization).toBe('Bearer very-secret-value-123');
    expect(s.requests[1]!.headers['cloudflare-workers-version-overrides']).toBe(`loa-gateway="${V1}"`);
    expect(r.log.replace(/::add-mask::.*\n/g, '')).not.toContain('very-secret-value-123');
    await close?.();

    const away = await serve(() => ({
      status: 301,
      body: '',
      headers: { location: 'https://example.com/login' },
    }));
    const off = await smoke(away.url);
    expect(off.code).toBe(1);
    expect(errorLines(off)[0]).toContain('redirected to another origin (https://example.com)');
  });

  /** A service with one health path answering 200 "ok" in text, 404 anywhere else; x-version when given. */
  const onePath = (path: string, version?: (n: number) => string) =>
    serve((n, _t, asked) =>
      asked === path
        ? {
            body: 'ok',
            headers: { 'content-type': 'text/plain', ...(version ? { 'x-version': version(n) } : {}) },
          }
        : { status: 404, body: 'not found' },
    );

  it('a service with only GET /healthz → 200 ok passes with path /healthz, every other input at its default', async () => {
    const s = await onePath('/healthz');
    const r = await plain(s.url, { path: '/healthz' });
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs).toMatchObject({ healthy: 'true', attempts: '1', status: 'ok', health: '' });
    expect(s.requests.map((q) => q.path)).toEqual(['/healthz']);
    expect(r.summary).toContain('✅ healthy after 1 attempt');
    expect(r.summary).toContain('(health: basic)');
  });

  it('a service answering / and nothing else passes with no input but the url', async () => {
    const s = await onePath('/');
    const r = await plain(s.url);
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs).toMatchObject({ healthy: 'true', attempts: '1', status: 'ok' });
    expect(s.requests.map((q) => q.path)).toEqual(['/']);
  });

  it('by default the /healthz-only service is asked on /: its 404 is retried until the deadline', async () => {
    const s = await onePath('/healthz');
    const r = await plain(s.url, FAST);
    expect(r.code).toBe(1);
    expect(errorLines(r)).toEqual([
      expect.stringMatching(
        /^smoke-test: not healthy within 2s \(\d+ attempts\); last: HTTP 404 Not Found: not found \(GET http:\/\/127\.0\.0\.1:\d+\/\)\.$/,
      ),
    ]);
  });

  it('a version header is checked when given: the expected version after answers from the old one passes', async () => {
    const s = await onePath('/healthz', (n) => (n < 3 ? V2 : V1));
    const r = await plain(s.url, { path: '/healthz', 'version-header': 'x-version', 'expect-version': V1 });
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs.attempts).toBe('3');
    expect(r.stdout).toContain(
      `#1 +0.0s 200 version ${V2} → retry: version ${V2} answered (header x-version), not the expected ${V1}`,
    );
    expect(r.summary).toContain(`| 3 | `);
    expect(r.summary).toContain(`| \`${V1}\` | ok |`);
    expect(r.summary).not.toContain('Version not proven');
  });

  it('a wrong version in the header is retried, then fails at the deadline naming both', async () => {
    const s = await onePath('/healthz', () => V2);
    const r = await plain(s.url, {
      ...FAST,
      path: '/healthz',
      'version-header': 'x-version',
      'expect-version': V1,
    });
    expect(r.code).toBe(1);
    expect(Number(r.outputs.attempts)).toBeGreaterThan(2);
    expect(errorLines(r)).toEqual([
      `smoke-test: not healthy within 2s (${r.outputs.attempts} attempts); last: version ${V2} answered (header x-version), not the expected ${V1} (GET ${s.url}/healthz).`,
    ]);
  });

  it('json: a status of its own and the version at a JSON pointer', async () => {
    const s = await serve(() => ({ body: { status: 'UP', build: { version: V1 } } }));
    const r = await plain(s.url, {
      health: 'json',
      path: '/actuator/health',
      'accept-status': 'UP',
      'version-path': '/build/version',
      'expect-version': V1,
    });
    expect(r.code, explain(r)).toBe(0);
    expect(r.outputs).toMatchObject({ healthy: 'true', status: 'UP' });
    expect(JSON.parse(r.outputs.health!)).toEqual({ status: 'UP', build: { version: V1 } });
    expect(s.requests[0]!.path).toBe('/actuator/health');
  });

  it('an expected version and no version proof: passes, and the summary says the version was not proven', async () => {
    const s = await onePath('/');
    const r = await plain(s.url, { 'expect-version': V1 });
    expect(r.code, explain(r)).toBe(0);
    expect(r.summary).toContain(
      `⚠️ Version not proven by the service: with health basic and no version-header, its answers do not say which version serves them, so they were not compared with the expected version ${V1} (expect-version). The Worker version deployed is ${V1}; that it is the one answering is not shown.`,
    );
  });

  it('bad input: one clear line', async () => {
    const r = await runAction('smoke-test', { url: 'localhost:8080' });
    expect(errorLines(r)).toEqual([
      'Input "url" is "localhost:8080": only http and https URLs can be smoke-tested.',
    ]);
    const r2 = await runAction('smoke-test', {
      url: 'http://x',
      health: 'extended',
      'accept-status': 'healthy,ok',
    });
    expect(errorLines(r2)).toEqual([
      'Input "accept-status" has ok: use healthy, degraded, unhealthy (comma-separated).',
    ]);
    const creds = await runAction('smoke-test', {
      url: 'https://deployer:pa55-canary@app.example.workers.dev',
    });
    expect(errorLines(creds)).toEqual([
      'Input "url" holds credentials (user:password@): they are not sent; pass a token in "headers" (masked) instead.',
    ]);
    expect(creds.log).not.toContain('pa55-canary');
    const away = await runAction('smoke-test', {
      url: 'https://app.example.workers.dev',
      path: '//evil.example/x',
    });
    expect(errorLines(away)).toEqual([
      'Input "path" starts with //, which names another host: give a path such as /health/extended.',
    ]);
    const pointer = await runAction('smoke-test', { url: 'http://x', 'version-path': '/version' });
    expect(errorLines(pointer)).toEqual([
      'Input "version-path" needs health: json (basic does not read the body): give version-header, or health: json.',
    ]);
  });
});
