import { describe, expect, it } from 'vitest';
import type { GitHubRequest } from '../../../src/lib/core/io.js';
import { readInputs } from '../../../src/actions/report/inputs.js';
import { composeComment, PREVIEW_END, PREVIEW_START } from '../../../src/lib/report/comment.js';
import { reportToGitHub, type ReportOptions } from '../../../src/lib/report/index.js';
import { COMMENT_MARKER } from '../../../src/lib/size/report.js';
import { SIZE_REPORT } from '../../fixtures/size-report.js';
import { fakeDeps } from '../../harness/fakes.js';

const STATUS = 'POST /repos/{owner}/{repo}/statuses/{sha}';
const LIST_COMMENTS = 'GET /repos/{owner}/{repo}/issues/{issue_number}/comments';
const CREATE_COMMENT = 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments';
const UPDATE_COMMENT = 'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}';
const LIST_DEPLOYMENTS = 'GET /repos/{owner}/{repo}/deployments';
const CREATE_DEPLOYMENT = 'POST /repos/{owner}/{repo}/deployments';
const LIST_STATUSES = 'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses';
const DEPLOYMENT_STATUS = 'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses';

const HEAD = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';
const RUN_URL = 'https://github.example/acme/gateway/actions/runs/99';
const REPO = { owner: 'acme', repo: 'gateway' };
const URL = 'https://pr-7-gw.acme.workers.dev';
const VERSION = '44444444-4444-4444-8444-444444444444';

interface Call {
  route: string;
  params: Record<string, unknown>;
}

/**
 * A scripted GitHub API holding deployments (newest first, as listed) with their statuses, the
 * comments on pull request 7, and what create-deployment answers (201 with an id, or GitHub's 202
 * "Merged branch response").
 */
function scriptedGitHub(
  deployments: Array<{ id: number; payload?: unknown; statuses: string[] }> = [],
  created: unknown = { id: 555 },
): GitHubRequest & { calls: Call[] } {
  const calls: Call[] = [];
  const request = (async (route, params) => {
    calls.push({ route, params });
    if (route === LIST_DEPLOYMENTS) return { data: Number(params.page) > 1 ? [] : deployments };
    if (route === LIST_STATUSES) {
      const found = deployments.find((d) => d.id === params.deployment_id)!;
      return { data: found.statuses.map((state, i) => ({ id: 100 * found.id + i, state })).reverse() };
    }
    const answers: Record<string, unknown> = {
      [STATUS]: { id: 1 },
      [LIST_COMMENTS]: [],
      [CREATE_COMMENT]: { id: 7001 },
      [UPDATE_COMMENT]: {},
      [CREATE_DEPLOYMENT]: created,
      [DEPLOYMENT_STATUS]: { id: 2 },
    };
    if (!(route in answers)) throw new Error(`scriptedGitHub: no answer for "${route}"`);
    return { data: answers[route] };
  }) as GitHubRequest & { calls: Call[] };
  request.calls = calls;
  return request;
}

const base: ReportOptions = {
  repo: REPO,
  sha: HEAD,
  pullNumber: 7,
  state: 'success',
  statusContext: 'slipway/preview',
  description: 'preview uploaded and smoke-tested',
  targetUrl: RUN_URL,
  commitStatus: false,
};

async function report(options: ReportOptions, github: GitHubRequest & { calls: Call[] }) {
  const deps = fakeDeps([], { github });
  const result = await reportToGitHub(options, deps);
  const routes = github.calls.map((call) => call.route);
  return {
    result,
    routes,
    calls: github.calls,
    warnings: deps.log.lines.filter((l) => l.startsWith('warning:')),
  };
}

/** This pull request's earlier deployments: one live, one already inactive, one of pull request 8. */
const EARLIER = [
  { id: 503, payload: { pullRequest: 8 }, statuses: ['success'] },
  { id: 502, payload: { pullRequest: 7 }, statuses: ['success'] },
  { id: 501, payload: JSON.stringify({ pullRequest: 7 }), statuses: ['success', 'inactive'] },
];

describe('report: a pull request preview', () => {
  it('a URL: the comment, the earlier deployments inactive, then a transient deployment and its success status', async () => {
    const github = scriptedGitHub(EARLIER);
    const { result, routes, calls, warnings } = await report(
      { ...base, preview: { url: URL, versionId: VERSION } },
      github,
    );
    expect(
      routes,
      'no commit status (commit-status false); 503 is another pull request, 501 already inactive',
    ).toEqual([
      LIST_COMMENTS,
      CREATE_COMMENT,
      LIST_DEPLOYMENTS,
      LIST_STATUSES,
      DEPLOYMENT_STATUS,
      LIST_STATUSES,
      CREATE_DEPLOYMENT,
      DEPLOYMENT_STATUS,
    ]);
    expect(calls[2]!.params).toEqual({ ...REPO, environment: 'preview/pr-7', per_page: 100, page: 1 });
    expect(calls[4]!.params).toEqual({
      ...REPO,
      deployment_id: 502,
      state: 'inactive',
      description: 'Preview inactive: a newer preview of c0ffee0 replaced it',
    });
    expect(calls[6]!.params).toEqual({
      ...REPO,
      ref: HEAD,
      environment: 'preview/pr-7',
      transient_environment: true,
      production_environment: false,
      auto_merge: false,
      required_contexts: [],
      description: `Preview of Worker version ${VERSION}`,
      payload: { pullRequest: 7, versionId: VERSION, previewUrl: URL },
    });
    expect(calls[7]!.params).toEqual({
      ...REPO,
      deployment_id: 555,
      state: 'success',
      description: 'preview uploaded and smoke-tested',
      environment_url: URL,
      log_url: RUN_URL,
    });
    const comment = calls[1]!.params.body as string;
    expect(comment).toContain(
      `**Preview** ✅ of version \`${VERSION}\`: [${URL}](${URL}) (no production traffic).`,
    );
    expect(result.outputs).toEqual({ commentId: '7001', deploymentId: '555', deactivated: 1 });
    expect(result.summary).toContain(
      '| preview deployment | preview/pr-7: 555 success; 1 earlier marked inactive |',
    );
    expect(warnings).toEqual([]);
  });

  it.each([
    {
      name: 'no URL (a Durable Object Worker): the note in the comment, earlier ones inactive, no deployment',
      preview: {
        versionId: VERSION,
        note: 'Cloudflare generates no preview URL for a Worker that implements a Durable Object.',
      },
      routes: [
        LIST_COMMENTS,
        CREATE_COMMENT,
        LIST_DEPLOYMENTS,
        LIST_STATUSES,
        DEPLOYMENT_STATUS,
        LIST_STATUSES,
      ],
      comment: `**Preview** of version \`${VERSION}\`: no URL. Cloudflare generates no preview URL for a Worker that implements a Durable Object.`,
      row: '| preview deployment | preview/pr-7: none: no preview URL; 1 earlier marked inactive |',
      deactivated: 1,
    },
    {
      name: 'no URL and no note: the generic sentence, with the docs',
      preview: { versionId: VERSION },
      routes: [
        LIST_COMMENTS,
        CREATE_COMMENT,
        LIST_DEPLOYMENTS,
        LIST_STATUSES,
        DEPLOYMENT_STATUS,
        LIST_STATUSES,
      ],
      comment:
        'no URL. Cloudflare generates no preview URL for a Worker that implements a Durable Object, including Containers ([Preview URLs, Limitations](https://developers.cloudflare.com/workers/versions-and-deployments/preview-urls/#limitations))',
      row: '| preview deployment | preview/pr-7: none: no preview URL; 1 earlier marked inactive |',
      deactivated: 1,
    },
    {
      name: 'nothing uploaded (the deploy failed): the comment says so, the earlier deployments stand',
      preview: { environment: 'preview/pr-7' },
      state: 'failure' as const,
      routes: [LIST_COMMENTS, CREATE_COMMENT],
      comment: '**Preview** ❌: nothing was uploaded.',
      row: '| preview deployment | preview/pr-7: none: nothing was uploaded, the earlier ones stand |',
      deactivated: 0,
    },
  ])('$name', async ({ preview, state, routes, comment, row, deactivated }) => {
    const github = scriptedGitHub(EARLIER);
    const result = await report({ ...base, state: state ?? 'success', preview }, github);
    expect(result.routes).toEqual(routes);
    expect(result.calls[1]!.params.body as string).toContain(comment);
    expect(result.result.summary).toContain(row);
    expect(result.result.outputs).toEqual({ commentId: '7001', deploymentId: '', deactivated });
  });

  it('a failed smoke test with a URL: the deployment is recorded as failure', async () => {
    const github = scriptedGitHub();
    const { calls } = await report(
      { ...base, state: 'failure', preview: { url: URL, versionId: VERSION } },
      github,
    );
    expect(calls.at(-1)!.params).toMatchObject({ state: 'failure', environment_url: URL });
  });

  it('an environment given: used instead of preview/pr-<N>', async () => {
    const github = scriptedGitHub();
    const { calls } = await report(
      { ...base, preview: { url: URL, environment: 'staging-previews' } },
      github,
    );
    expect(calls.find((call) => call.route === CREATE_DEPLOYMENT)!.params.environment).toBe(
      'staging-previews',
    );
  });

  it("GitHub's 202 (it merged the default branch instead of deploying): a problem, never a failed step", async () => {
    const github = scriptedGitHub([], { message: 'Auto-merged main into topic on deployment.' });
    const { result, warnings } = await report({ ...base, preview: { url: URL } }, github);
    expect(result.failure).toBeUndefined();
    expect(result.problems).toEqual([
      'record the preview deployment: GitHub made no deployment: Auto-merged main into topic on deployment.',
    ]);
    expect(warnings).toHaveLength(1);
    expect(result.outputs.deploymentId).toBe('');
  });

  it('no pull request and no environment: nothing to name the deployment after', async () => {
    const github = scriptedGitHub();
    const { result, routes } = await report(
      { ...base, pullNumber: undefined, preview: { url: URL } },
      github,
    );
    expect(routes).toEqual([]);
    expect(result.summary).toContain(
      '| preview deployment | –: not recorded: no pull request, and no preview-environment |',
    );
  });
});

describe('report: deactivate-environment (pull request closed)', () => {
  it("marks this pull request's deployments inactive and nothing else: no status, no comment", async () => {
    const github = scriptedGitHub(EARLIER);
    const { result, routes, calls } = await report(
      { ...base, commitStatus: true, deactivateEnvironment: 'preview/pr-7', sizeReport: SIZE_REPORT },
      github,
    );
    expect(routes).toEqual([LIST_DEPLOYMENTS, LIST_STATUSES, DEPLOYMENT_STATUS, LIST_STATUSES]);
    expect(calls[2]!.params).toEqual({
      ...REPO,
      deployment_id: 502,
      state: 'inactive',
      description: 'Preview inactive: the pull request was closed',
    });
    expect(result.outputs).toEqual({ commentId: '', deploymentId: '', deactivated: 1 });
    expect(result.summary).toContain('| preview deployments | preview/pr-7: 1 marked inactive |');
  });
});

describe('the comment: the size table and the preview, each kept when only the other is reported', () => {
  const size = `${COMMENT_MARKER}\n**Image size** table\n✅ checks passed\n`;
  const preview = (text: string) => `${PREVIEW_START}\n${text}\n${PREVIEW_END}`;
  it.each([
    [
      'a first comment with the preview only',
      undefined,
      { preview: preview('new') },
      `${COMMENT_MARKER}\n\n${preview('new')}\n`,
    ],
    ['a first comment with the size only', undefined, { size }, size],
    [
      'the size comment gets the preview',
      size,
      { preview: preview('new') },
      `${size.trim()}\n\n${preview('new')}\n`,
    ],
    [
      'the preview is replaced, the size kept',
      `${size}\n${preview('old')}\n`,
      { preview: preview('new') },
      `${size.trim()}\n\n${preview('new')}\n`,
    ],
    [
      'the size is replaced, the preview kept',
      `${COMMENT_MARKER}\nold table\n\n${preview('old')}\n`,
      { size },
      `${size.trim()}\n\n${preview('old')}\n`,
    ],
  ])('%s', (_name, existing, parts, expected) => {
    expect(composeComment(existing, parts)).toBe(expected);
  });
});

describe('report inputs for previews', () => {
  const read = (inputs: Record<string, string>) =>
    readInputs((name) => ({ token: 't', ...inputs })[name] ?? '');
  it.each([
    [{ state: 'success' }, undefined],
    [{ state: 'success', 'preview-url': URL }, { url: URL }],
    [
      { state: 'success', 'preview-version': VERSION, 'preview-note': 'no URL:\nDurable Object' },
      { versionId: VERSION, note: 'no URL: Durable Object' },
    ],
    [{ state: 'failure', 'preview-environment': 'preview/pr-7' }, { environment: 'preview/pr-7' }],
  ])('%j', (inputs, preview) => {
    const read1 = read(inputs).preview;
    expect(read1 && Object.fromEntries(Object.entries(read1).filter(([, v]) => v !== undefined))).toEqual(
      preview,
    );
  });
  it('deactivate-environment needs no state; commit-status false; a preview URL that is no URL is one line', () => {
    expect(read({ 'deactivate-environment': 'preview/pr-7' }).deactivateEnvironment).toBe('preview/pr-7');
    expect(read({ state: 'success', 'commit-status': 'false' }).commitStatus).toBe(false);
    expect(read({ state: 'success' }).commitStatus).toBe(true);
    expect(() => read({})).toThrow(/^Input "state" is required/);
    expect(() => read({ state: 'success', 'preview-url': 'javascript:alert(1)' })).toThrow(
      `Input "preview-url" is "javascript:alert(1)": give the preview's URL, such as deploy's preview-alias-url.`,
    );
  });
});
