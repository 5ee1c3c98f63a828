import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMENT_MARKER } from '../../src/lib/size/report.js';
import { SIZE_REPORT } from '../fixtures/size-report.js';
import { ROOT, errorLines, runAction } from '../harness/runner.js';

const TOKEN = 'ghs_slipwayTestToken0123456789abcdef';
const HEAD = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';

/** A local GitHub API: records every request and answers like GitHub for the calls the report makes. */
function fakeGitHub() {
  const requests: Array<{ method: string; path: string; body: Record<string, unknown>; auth?: string }> = [];
  const comments: Array<{ id: number; body: string }> = [];
  let deny = false;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      requests.push({ method: req.method ?? '', path, body, auth: req.headers.authorization });
      const send = (status: number, data: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(data));
      };
      if (deny) return send(403, { message: 'Resource not accessible by integration' });
      if (req.method === 'POST' && /\/statuses\/[0-9a-f]{40}$/.test(path))
        return send(201, { id: 1, ...body });
      if (req.method === 'GET' && path.endsWith('/issues/42/comments')) return send(200, comments);
      if (req.method === 'POST' && path.endsWith('/issues/42/comments')) {
        comments.push({ id: 7001, body: String(body.body) });
        return send(201, comments.at(-1));
      }
      if (req.method === 'PATCH' && path.endsWith('/issues/comments/7001')) {
        comments[0]!.body = String(body.body);
        return send(200, comments[0]);
      }
      if (req.method === 'POST' && path.endsWith('/deployments')) return send(201, { id: 555, ...body });
      if (req.method === 'POST' && path.endsWith('/deployments/555/statuses'))
        return send(201, { id: 1, ...body });
      return send(404, { message: `fake GitHub has no ${req.method} ${path}` });
    });
  });
  return {
    requests,
    comments,
    denyAll: () => (deny = true),
    start: () =>
      new Promise<string>((r) =>
        server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
      ),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('report action: GitHub statuses, the PR comment and deployments against a local API', () => {
  const gh = fakeGitHub();
  let api: string;
  let dir: string;
  let reportPath: string;
  const env = (event: string) => ({
    GITHUB_API_URL: api,
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_REPOSITORY: 'acme/gateway',
    GITHUB_SHA: HEAD,
    GITHUB_RUN_ID: '99',
    GITHUB_EVENT_NAME: event === 'pull-request' ? 'pull_request' : 'push',
    GITHUB_EVENT_PATH: join(ROOT, 'test/fixtures/events', `${event}.json`),
  });

  beforeAll(async () => {
    api = await gh.start();
    dir = mkdtempSync(join(tmpdir(), 'slipway-report-'));
    reportPath = join(dir, 'size.json');
    writeFileSync(reportPath, JSON.stringify(SIZE_REPORT));
  });
  afterAll(async () => {
    await gh.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a pull request: a commit status on the head sha and one comment, created once then updated in place', async () => {
    const inputs = {
      token: TOKEN,
      state: 'success',
      description: 'checks passed',
      'size-report': reportPath,
    };
    const first = await runAction('report', inputs, { env: env('pull-request') });
    expect(first.code, first.log).toBe(0);
    expect(first.outputs['comment-id']).toBe('7001');
    const second = await runAction(
      'report',
      { ...inputs, state: 'failure', description: 'boot test failed' },
      { env: env('pull-request') },
    );
    expect(second.code, second.log).toBe(0);
    expect(gh.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /repos/acme/gateway/statuses/${HEAD}`,
      'GET /repos/acme/gateway/issues/42/comments',
      'POST /repos/acme/gateway/issues/42/comments',
      `POST /repos/acme/gateway/statuses/${HEAD}`,
      'GET /repos/acme/gateway/issues/42/comments',
      'PATCH /repos/acme/gateway/issues/comments/7001',
    ]);
    expect(gh.requests[0]!.body).toEqual({
      state: 'success',
      context: 'slipway',
      description: 'checks passed',
      target_url: 'https://github.example/acme/gateway/actions/runs/99',
    });
    expect(gh.requests[0]!.auth).toBe(`token ${TOKEN}`);
    expect(gh.comments).toHaveLength(1);
    expect(gh.comments[0]!.body).toContain(COMMENT_MARKER);
    expect(gh.comments[0]!.body).toContain('| cloudflare | 566 MB | +6.00 MB |');
    expect(gh.comments[0]!.body).toContain('❌ boot test failed');
    for (const r of [first, second]) expect(r.log.replace(/::add-mask::.*\n/g, '')).not.toContain(TOKEN);
  });

  it('a deploy: a GitHub deployment with its environment URL, then its status; a rollback marks it failed', async () => {
    gh.requests.length = 0;
    const r = await runAction(
      'report',
      {
        token: TOKEN,
        state: 'failure',
        description: 'smoke test failed after deploy',
        environment: 'production',
        'environment-url': 'https://loa-gateway.acme.workers.dev',
        'version-id': '11111111-1111-4111-8111-111111111111',
        'rolled-back': 'true',
      },
      { env: env('push-main') },
    );
    expect(r.code, r.log).toBe(0);
    expect(r.outputs['deployment-id']).toBe('555');
    expect(gh.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      `POST /repos/acme/gateway/statuses/${HEAD}`,
      'POST /repos/acme/gateway/deployments',
      'POST /repos/acme/gateway/deployments/555/statuses',
    ]);
    expect(gh.requests[1]!.body).toMatchObject({
      ref: HEAD,
      environment: 'production',
      auto_merge: false,
      required_contexts: [],
      description: 'Worker version 11111111-1111-4111-8111-111111111111',
    });
    expect(gh.requests[2]!.body).toEqual({
      state: 'failure',
      description: 'Rolled back: smoke test failed after deploy',
      environment_url: 'https://loa-gateway.acme.workers.dev',
      log_url: 'https://github.example/acme/gateway/actions/runs/99',
      auto_inactive: false,
    });
  });

  it("a fork's read-only token: warnings, never a failed step", async () => {
    gh.denyAll();
    const r = await runAction(
      'report',
      { token: TOKEN, state: 'success', 'size-report': reportPath },
      { env: env('pull-request') },
    );
    expect(r.code).toBe(0);
    expect(errorLines(r)).toEqual([]);
    expect(r.stdout).toContain('::warning::Could not set the commit status');
    expect(r.stdout).toContain('the token cannot write here: a fork, or missing permissions');
  });
});
