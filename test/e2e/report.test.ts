import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMENT_MARKER } from '../../src/lib/size/report.js';
import { SIZE_REPORT } from '../fixtures/size-report.js';
import { ROOT, errorLines, runAction, workflowCommands, type ActionRun } from '../harness/runner.js';

const TOKEN = 'ghs_slipwayTestToken0123456789abcdef';

/** The lines of a run's output that are a stack trace's frames ("    at fn (file:line)"). */
const stackFrames = (r: ActionRun) => r.log.split('\n').filter((line) => /^\s+at /.test(line));
const HEAD = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';

type Comment = { id: number; body: string };

/**
 * One page of a list, as GitHub pages it ("Using pagination in the REST API",
 * docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api): `per_page` items (default
 * 30, at most 100) of page `page` (default 1), and a Link header naming the first, previous, next and
 * last pages where there are such.
 */
function githubPage<T>(items: T[], url: URL): { items: T[]; link?: string } {
  const perPage = Math.min(Math.max(Number(url.searchParams.get('per_page') ?? 30), 1), 100);
  const page = Math.max(Number(url.searchParams.get('page') ?? 1), 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const at = (n: number) => {
    const link = new URL(url);
    link.searchParams.set('per_page', String(perPage));
    link.searchParams.set('page', String(n));
    return link.href;
  };
  const rels: Array<[string, number]> = [];
  if (page < last) rels.push(['next', page + 1], ['last', last]);
  if (page > 1) rels.push(['first', 1], ['prev', Math.min(page - 1, last)]);
  const link = rels.map(([rel, n]) => `<${at(n)}>; rel="${rel}"`).join(', ');
  return { items: items.slice((page - 1) * perPage, page * perPage), ...(link ? { link } : {}) };
}

/** A local GitHub API: records every request and answers like GitHub for the calls the report makes. */
function fakeGitHub() {
  const requests: Array<{
    method: string;
    path: string;
    query: string;
    body: Record<string, unknown>;
    auth?: string;
  }> = [];
  /** The comments on each pull request, by its number; created ones get ids from 7001. */
  const issues = new Map<number, Comment[]>();
  let nextId = 7001;
  let deny = false;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
      const path = url.pathname;
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      requests.push({
        method: req.method ?? '',
        path,
        query: url.search,
        body,
        auth: req.headers.authorization,
      });
      const send = (status: number, data: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(data));
      };
      if (deny) return send(403, { message: 'Resource not accessible by integration' });
      if (req.method === 'POST' && /\/statuses\/[0-9a-f]{40}$/.test(path))
        return send(201, { id: 1, ...body });
      const issue = /\/issues\/(\d+)\/comments$/.exec(path);
      const comments = issue ? (issues.get(Number(issue[1])) ?? []) : [];
      if (issue) issues.set(Number(issue[1]), comments);
      if (req.method === 'GET' && issue) {
        const { items, link } = githubPage(comments, url);
        return send(200, items, link ? { link } : {});
      }
      if (req.method === 'POST' && issue) {
        comments.push({ id: nextId++, body: String(body.body) });
        return send(201, comments.at(-1));
      }
      const edit = /\/issues\/comments\/(\d+)$/.exec(path);
      const edited = edit && [...issues.values()].flat().find((c) => c.id === Number(edit[1]));
      if (req.method === 'PATCH' && edited) {
        edited.body = String(body.body);
        return send(200, edited);
      }
      if (req.method === 'POST' && path.endsWith('/deployments')) return send(201, { id: 555, ...body });
      if (req.method === 'POST' && path.endsWith('/deployments/555/statuses'))
        return send(201, { id: 1, ...body });
      return send(404, { message: `fake GitHub has no ${req.method} ${path}` });
    });
  });
  return {
    requests,
    /** The comments on a pull request (42 unless told), as the API holds them. */
    comments: (pull = 42) => issues.get(pull) ?? [],
    /** Puts comments on a pull request, as if others had written them. */
    seed: (pull: number, comments: Comment[]) => issues.set(pull, comments),
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
    expect(gh.comments()).toHaveLength(1);
    expect(gh.comments()[0]!.body).toContain(COMMENT_MARKER);
    expect(gh.comments()[0]!.body).toContain('| cloudflare | 566 MB | +6.00 MB |');
    expect(gh.comments()[0]!.body).toContain('❌ boot test failed');
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

  it('a busy pull request (250 comments, the marked one on page 3): every page read, updated, not duplicated', async () => {
    const event = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/events/pull-request.json'), 'utf8')) as {
      number: number;
      pull_request: { number: number };
    };
    event.number = event.pull_request.number = 43;
    const eventPath = join(dir, 'pull-request-43.json');
    writeFileSync(eventPath, JSON.stringify(event));
    const others = Array.from({ length: 250 }, (_, i) => ({ id: 9001 + i, body: `comment ${i + 1}` }));
    others[230] = { id: 9231, body: `${COMMENT_MARKER}\nold table` };
    gh.seed(43, others);
    // The stand-in pages like GitHub: at most 100 a page, and a Link header to the next.
    const page1 = await fetch(`${api}/repos/acme/gateway/issues/43/comments?per_page=500`);
    expect(((await page1.json()) as unknown[]).length).toBe(100);
    expect(page1.headers.get('link')).toContain('page=2>; rel="next"');
    gh.requests.length = 0;

    const r = await runAction(
      'report',
      { token: TOKEN, state: 'success', description: 'checks passed', 'size-report': reportPath },
      { env: { ...env('pull-request'), GITHUB_EVENT_PATH: eventPath } },
    );
    expect(r.code, r.log).toBe(0);
    expect(r.outputs['comment-id']).toBe('9231');
    const comments = gh.requests.filter((q) => q.path.endsWith('/issues/43/comments'));
    expect(
      comments.map((q) => `${q.method} page=${new URLSearchParams(q.query).get('page')}`),
      'three pages read, no comment created',
    ).toEqual(['GET page=1', 'GET page=2', 'GET page=3']);
    for (const q of comments) expect(new URLSearchParams(q.query).get('per_page')).toBe('100');
    expect(gh.requests.at(-1)).toMatchObject({
      method: 'PATCH',
      path: '/repos/acme/gateway/issues/comments/9231',
    });
    expect(gh.comments(43)).toHaveLength(250);
    expect(gh.comments(43)[230]!.body).toContain('✅ checks passed');
  });

  it('a corrupt event file: the step fails with one line naming it, no stack trace, nothing sent', async () => {
    // The event names the pull request and its head commit: without it the status would go on the
    // wrong commit and the comment be skipped unseen, so the report fails rather than guess.
    const corrupt = join(dir, 'corrupt-event.json');
    writeFileSync(corrupt, '{"number": 42, "pull_request": \n');
    gh.requests.length = 0;
    const r = await runAction(
      'report',
      { token: TOKEN, state: 'success', 'size-report': reportPath },
      { env: { ...env('pull-request'), GITHUB_EVENT_PATH: corrupt } },
    );
    expect(r.code, r.log).toBe(1);
    const errors = errorLines(r);
    expect(errors, r.log).toHaveLength(1);
    expect(errors[0], 'names the file and the problem').toContain(
      `The event file GITHUB_EVENT_PATH (${corrupt}) is not valid JSON: `,
    );
    expect(workflowCommands(r.stdout).filter((c) => c.command === 'warning')).toEqual([]);
    expect(stackFrames(r), 'no stack frame line').toEqual([]);
    expect(gh.requests, 'no GitHub call').toEqual([]);
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
