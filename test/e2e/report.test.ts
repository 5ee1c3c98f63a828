import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMENT_MARKER } from '../../src/lib/size/report.js';
import { SIZE_REPORT } from '../fixtures/size-report.js';
import { fakeGitHub } from '../harness/github.js';
import { ROOT, errorLines, runAction, workflowCommands, type ActionRun } from '../harness/runner.js';

const TOKEN = 'ghs_slipwayTestToken0123456789abcdef';

/** The lines of a run's output that are a stack trace's frames ("    at fn (file:line)"). */
const stackFrames = (r: ActionRun) => r.log.split('\n').filter((line) => /^\s+at /.test(line));
const HEAD = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';

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

/**
 * The preview job's report and the close workflow's, against the GitHub stand-in's deployments
 * (test/harness/github.ts: the REST routes and rules GitHub documents, transient deployments never
 * auto-inactivated).
 */
describe('report action: a pull request preview, its transient deployment, and closing it', () => {
  const gh = fakeGitHub();
  let api: string;
  let dir: string;
  let reportPath: string;
  const SECOND = 'beef0000beef0000beef0000beef0000beef0000';
  const ALIAS_URL = 'https://pr-42-gateway.acme.workers.dev';
  const V1 = '11111111-1111-4111-8111-111111111111';
  const V2 = '22222222-2222-4222-8222-222222222222';
  /** The pull request event, its head at `sha` and with `action`. */
  const event = (sha: string, action = 'synchronize') => {
    const doc = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/events/pull-request.json'), 'utf8')) as {
      action: string;
      pull_request: { head: { sha: string } };
    };
    doc.action = action;
    doc.pull_request.head.sha = sha;
    const path = join(dir, `event-${sha.slice(0, 7)}-${action}.json`);
    writeFileSync(path, JSON.stringify(doc));
    return path;
  };
  const env = (eventPath: string) => ({
    GITHUB_API_URL: api,
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_REPOSITORY: 'acme/gateway',
    GITHUB_SHA: '9999999999999999999999999999999999999999',
    GITHUB_RUN_ID: '99',
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: eventPath,
  });
  const preview = (sha: string, inputs: Record<string, string>) =>
    runAction(
      'report',
      {
        token: TOKEN,
        state: 'success',
        'commit-status': 'false',
        description: 'preview smoke-tested',
        ...inputs,
      },
      { env: env(event(sha)) },
    );

  beforeAll(async () => {
    api = await gh.start();
    dir = mkdtempSync(join(tmpdir(), 'slipway-report-preview-'));
    reportPath = join(dir, 'size.json');
    writeFileSync(reportPath, JSON.stringify(SIZE_REPORT));
  });
  afterAll(async () => {
    await gh.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the checks fail, the preview still deploys: the comment carries the URL beside the size table, and a transient deployment links it', async () => {
    const checks = await runAction(
      'report',
      { token: TOKEN, state: 'failure', description: 'boot test failed', 'size-report': reportPath },
      { env: env(event(HEAD)) },
    );
    expect(checks.code, checks.log).toBe(0);
    gh.requests.length = 0;
    const r = await preview(HEAD, { 'preview-url': ALIAS_URL, 'preview-version': V1 });
    expect(r.code, r.log).toBe(0);
    expect(
      gh.requests.map((q) => `${q.method} ${q.path}`),
      'no commit status',
    ).not.toContain(`POST /repos/acme/gateway/statuses/${HEAD}`);
    const comment = gh.comments(42);
    expect(comment).toHaveLength(1);
    expect(comment[0]!.body).toContain('| cloudflare | 566 MB | +6.00 MB |');
    expect(comment[0]!.body).toContain('❌ boot test failed');
    expect(comment[0]!.body).toContain(`**Preview** ✅ of version \`${V1}\`: [${ALIAS_URL}](${ALIAS_URL})`);
    const [deployment] = gh.deployments;
    expect(deployment).toMatchObject({
      id: 555,
      sha: HEAD,
      environment: 'preview/pr-42',
      transient_environment: true,
      production_environment: false,
      payload: { pullRequest: 42, versionId: V1, previewUrl: ALIAS_URL },
    });
    expect(gh.statuses(555)).toMatchObject([
      {
        state: 'success',
        environment_url: ALIAS_URL,
        log_url: 'https://github.example/acme/gateway/actions/runs/99',
      },
    ]);
    expect(r.outputs).toMatchObject({ 'deployment-id': '555', deactivated: '0', 'comment-id': '7001' });
    expect(r.log.replace(/::add-mask::.*\n/g, '')).not.toContain(TOKEN);
  });

  it('the next push: the earlier deployment is marked inactive (GitHub never auto-inactivates a transient one), a new one succeeds', async () => {
    const r = await preview(SECOND, { 'preview-url': ALIAS_URL, 'preview-version': V2 });
    expect(r.code, r.log).toBe(0);
    expect(gh.deployments.map((d) => [d.id, d.sha, gh.latestState(d.id)])).toEqual([
      [555, HEAD, 'inactive'],
      [556, SECOND, 'success'],
    ]);
    expect(r.outputs).toMatchObject({ 'deployment-id': '556', deactivated: '1' });
    expect(gh.comments(42)).toHaveLength(1);
    expect(gh.comments(42)[0]!.body).toContain(`of version \`${V2}\``);
    expect(gh.comments(42)[0]!.body).not.toContain(V1);
    expect(gh.comments(42)[0]!.body, 'the size table is kept').toContain(
      '| cloudflare | 566 MB | +6.00 MB |',
    );
  });

  it('the checks report again: the size table is replaced, the preview kept', async () => {
    const r = await runAction(
      'report',
      { token: TOKEN, state: 'success', description: 'checks passed', 'size-report': reportPath },
      { env: env(event(SECOND)) },
    );
    expect(r.code, r.log).toBe(0);
    const body = gh.comments(42)[0]!.body;
    expect(body).toContain('✅ checks passed');
    expect(body).not.toContain('boot test failed');
    expect(body).toContain(`[${ALIAS_URL}](${ALIAS_URL})`);
  });

  it('closed: deactivate-environment marks every live deployment of the preview inactive, and does nothing else', async () => {
    gh.requests.length = 0;
    const r = await runAction(
      'report',
      { token: TOKEN, 'deactivate-environment': 'preview/pr-42' },
      { env: env(event(SECOND, 'closed')) },
    );
    expect(r.code, r.log).toBe(0);
    expect(gh.deployments.map((d) => gh.latestState(d.id))).toEqual(['inactive', 'inactive']);
    expect(
      gh.statuses(555).map((s) => s.state),
      'the inactive one is not marked twice',
    ).toEqual(['success', 'inactive']);
    expect(r.outputs).toMatchObject({ deactivated: '1', 'comment-id': '', 'deployment-id': '' });
    expect(gh.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      'GET /repos/acme/gateway/deployments',
      'GET /repos/acme/gateway/deployments/556/statuses',
      'POST /repos/acme/gateway/deployments/556/statuses',
      'GET /repos/acme/gateway/deployments/555/statuses',
    ]);
    expect(new URLSearchParams(gh.requests[0]!.query).get('environment')).toBe('preview/pr-42');
    expect(r.summary).toContain('| preview deployments | preview/pr-42: 1 marked inactive |');
  });

  it('a Worker with a Durable Object: no URL, the sentence in the comment, no deployment', async () => {
    const note =
      'Cloudflare generates no preview URL for a Worker that implements a Durable Object, including Containers.';
    const before = gh.deployments.length;
    const r = await preview(SECOND, { 'preview-version': V2, 'preview-note': note });
    expect(r.code, r.log).toBe(0);
    expect(gh.comments(42)[0]!.body).toContain(`**Preview** of version \`${V2}\`: no URL. ${note}`);
    expect(gh.deployments).toHaveLength(before);
    expect(r.outputs['deployment-id']).toBe('');
  });
});
