import { describe, expect, it } from 'vitest';
import { OUTPUTS } from '../../../src/actions/report/inputs.js';
import type { GitHubRequest } from '../../../src/lib/core/io.js';
import { reportToGitHub, type ReportOptions } from '../../../src/lib/report/index.js';
import { COMMENT_MARKER } from '../../../src/lib/size/report.js';
import { SIZE_REPORT } from '../../fixtures/size-report.js';
import { fakeDeps } from '../../harness/fakes.js';

const STATUS = 'POST /repos/{owner}/{repo}/statuses/{sha}';
const LIST_COMMENTS = 'GET /repos/{owner}/{repo}/issues/{issue_number}/comments';
const CREATE_COMMENT = 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments';
const UPDATE_COMMENT = 'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}';
const CREATE_DEPLOYMENT = 'POST /repos/{owner}/{repo}/deployments';
const DEPLOYMENT_STATUS = 'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses';

const HEAD = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';
const RUN_URL = 'https://github.example/acme/gateway/actions/runs/99';
const REPO = { owner: 'acme', repo: 'gateway' };
const FORBIDDEN = 'Resource not accessible by integration';
const FORK_HINT = '(the token cannot write here: a fork, or missing permissions)';

interface GitHubCall {
  route: string;
  params: Record<string, unknown>;
}

type Comment = { id: number; body: string };

/**
 * One page of a list as GitHub serves it: `per_page` items (default 30, max 100) of page `page`
 * (default 1); past the end, an empty page (docs.github.com/rest/issues/comments#list-issue-comments).
 */
function githubPage<T>(items: T[], params: Record<string, unknown>): T[] {
  const perPage = Math.min(Number(params.per_page ?? 30), 100);
  const page = Number(params.page ?? 1);
  return items.slice((page - 1) * perPage, page * perPage);
}

/**
 * A scripted GitHub API: records every call, answers the report's routes like GitHub (the comments
 * already on the pull request are given, served a page at a time), and throws GitHub's error for the
 * routes told to fail.
 */
function scriptedGitHub(
  existingComments: Comment[] = [],
  failing: Record<string, Error> = {},
): GitHubRequest & { calls: GitHubCall[] } {
  const calls: GitHubCall[] = [];
  const answers: Record<string, unknown> = {
    [STATUS]: { id: 1 },
    [LIST_COMMENTS]: (params: Record<string, unknown>) => githubPage(existingComments, params),
    [CREATE_COMMENT]: { id: 7001 },
    [UPDATE_COMMENT]: {},
    [CREATE_DEPLOYMENT]: { id: 555 },
    [DEPLOYMENT_STATUS]: { id: 2 },
  };
  const request = (async (route, params) => {
    calls.push({ route, params });
    if (failing[route]) throw failing[route];
    if (!(route in answers)) throw new Error(`scriptedGitHub: no answer for "${route}"`);
    const answer = answers[route];
    return {
      data: typeof answer === 'function' ? (answer as (p: typeof params) => unknown)(params) : answer,
    };
  }) as GitHubRequest & { calls: GitHubCall[] };
  request.calls = calls;
  return request;
}

const httpError = (status: number, message: string) => Object.assign(new Error(message), { status });

const base: ReportOptions = {
  repo: REPO,
  sha: HEAD,
  state: 'success',
  statusContext: 'slipway',
  description: 'checks passed',
  targetUrl: RUN_URL,
};
const pullRequest: Partial<ReportOptions> = { pullNumber: 42, sizeReport: SIZE_REPORT };
const deployed: Partial<ReportOptions> = {
  deployment: { environment: 'production', url: 'https://gw.acme.workers.dev', rolledBack: false },
};
const MARKED = { id: 9, body: `${COMMENT_MARKER}\nold table` };
const UNMARKED = { id: 3, body: 'looks good to me' };

async function report(options: ReportOptions, github: GitHubRequest) {
  const deps = fakeDeps([], { github });
  const result = await reportToGitHub(options, deps);
  return { result, log: deps.log.lines, warnings: deps.log.lines.filter((l) => l.startsWith('warning:')) };
}

describe('reportToGitHub: what it reports', () => {
  it.each([
    {
      name: 'status only (no pull request, no deployment)',
      options: base,
      comments: [],
      routes: [STATUS],
      outputs: { commentId: '', deploymentId: '', deactivated: 0 },
      rows: ['| commit status | success (slipway) |'],
    },
    {
      name: 'a pull request where no comment carries the marker: the comment is created',
      options: { ...base, ...pullRequest },
      comments: [UNMARKED],
      routes: [STATUS, LIST_COMMENTS, CREATE_COMMENT],
      outputs: { commentId: '7001', deploymentId: '', deactivated: 0 },
      rows: ['| pull request comment | created (7001) |'],
    },
    {
      name: 'a pull request whose marked comment exists: it is updated in place',
      options: { ...base, ...pullRequest, state: 'failure', description: 'boot test failed' },
      comments: [UNMARKED, MARKED],
      routes: [STATUS, LIST_COMMENTS, UPDATE_COMMENT],
      outputs: { commentId: '9', deploymentId: '', deactivated: 0 },
      rows: ['| commit status | failure (slipway) |', '| pull request comment | updated (9) |'],
    },
    {
      name: 'a deployment with its URL',
      options: { ...base, ...deployed },
      comments: [],
      routes: [STATUS, CREATE_DEPLOYMENT, DEPLOYMENT_STATUS],
      outputs: { commentId: '', deploymentId: '555', deactivated: 0 },
      rows: ['| deployment | production (555): success |'],
    },
  ] satisfies Array<{
    name: string;
    options: ReportOptions;
    comments: Array<{ id: number; body: string }>;
    routes: string[];
    outputs: { commentId: string; deploymentId: string; deactivated: number };
    rows: string[];
  }>)('$name', async ({ options, comments, routes, outputs, rows }) => {
    const github = scriptedGitHub(comments);
    const { result, warnings } = await report(options, github);
    expect(
      github.calls.map((call) => call.route),
      'the GitHub calls made, in order',
    ).toEqual(routes);
    expect(result.outputs).toEqual(outputs);
    expect(result.failure, 'reporting never fails the step').toBeUndefined();
    expect(result.problems).toEqual([]);
    expect(warnings).toEqual([]);
    for (const row of rows) expect(result.summary, `summary row ${row}`).toContain(row);
  });

  it('the commit status: on the sha given, with the context, description and run link', async () => {
    const github = scriptedGitHub();
    await report(base, github);
    expect(github.calls[0]!.params).toEqual({
      ...REPO,
      sha: HEAD,
      state: 'success',
      context: 'slipway',
      description: 'checks passed',
      target_url: RUN_URL,
    });
  });

  it('a description over 140 characters is cut to 140, ending in an ellipsis', async () => {
    const github = scriptedGitHub();
    await report({ ...base, description: 'x'.repeat(200) }, github);
    const description = github.calls[0]!.params.description as string;
    expect(description).toHaveLength(140);
    expect(description.endsWith('x…')).toBe(true);
  });

  it.each([
    ['created', [UNMARKED], CREATE_COMMENT, { issue_number: 42 }],
    ['updated', [MARKED], UPDATE_COMMENT, { comment_id: 9 }],
  ] as const)('the %s comment holds the size table and the outcome', async (_, comments, route, target) => {
    const github = scriptedGitHub([...comments]);
    await report({ ...base, ...pullRequest }, github);
    const write = github.calls.find((call) => call.route === route);
    expect(write?.params, `the ${route} call`).toMatchObject({ ...REPO, ...target });
    const body = write!.params.body as string;
    expect(body).toContain(COMMENT_MARKER);
    expect(body).toContain('| cloudflare | 566 MB | +6.00 MB |');
    expect(body).toContain('✅ checks passed');
  });

  it.each([
    {
      name: 'success and not rolled back: success, the environment URL, older deployments inactive',
      state: 'success' as const,
      rolledBack: false,
      status: { state: 'success', description: 'deployed', auto_inactive: true },
    },
    {
      name: 'rolled back: failure, described as a rollback',
      state: 'failure' as const,
      rolledBack: true,
      status: { state: 'failure', description: 'Rolled back: deployed', auto_inactive: false },
    },
    {
      name: 'success but rolled back all the same: failure',
      state: 'success' as const,
      rolledBack: true,
      status: { state: 'failure', description: 'Rolled back: deployed', auto_inactive: false },
    },
  ])('the deployment, $name', async ({ state, rolledBack, status }) => {
    const github = scriptedGitHub();
    const versionId = '11111111-1111-4111-8111-111111111111';
    const url = 'https://gw.acme.workers.dev';
    const { result, log } = await report(
      {
        ...base,
        state,
        description: 'deployed',
        deployment: { environment: 'production', url, versionId, rolledBack },
      },
      github,
    );
    expect(github.calls[1]!.params).toEqual({
      ...REPO,
      ref: HEAD,
      environment: 'production',
      auto_merge: false,
      required_contexts: [],
      description: `Worker version ${versionId}`,
      payload: { versionId, rolledBack },
    });
    expect(github.calls[2]!.params).toEqual({
      ...REPO,
      deployment_id: 555,
      ...status,
      environment_url: url,
      log_url: RUN_URL,
    });
    expect(log).toContain(`GitHub deployment 555 (production): ${status.state}.`);
    expect(result.summary).toContain(`| deployment | production (555): ${status.state} |`);
  });
});

/** `count` comments by others, ids 1001 on; the marked one (id 9) in place of the one at `markedAt`. */
function busyPullRequest(count: number, markedAt?: number): Comment[] {
  return Array.from({ length: count }, (_, i) =>
    i === markedAt ? MARKED : { id: 1001 + i, body: `comment ${i + 1}` },
  );
}

describe('reportToGitHub: the marked comment on a busy pull request (every page read)', () => {
  it.each([
    {
      name: '250 comments, the marked one on page 3: updated in place, not duplicated',
      comments: busyPullRequest(250, 230),
      pages: [1, 2, 3],
      write: UPDATE_COMMENT,
      commentId: '9',
    },
    {
      name: 'the marked one on page 1: page 2 is never asked for',
      comments: busyPullRequest(250, 5),
      pages: [1],
      write: UPDATE_COMMENT,
      commentId: '9',
    },
    {
      name: '250 comments, none marked: the short page 3 is the last, then one is created',
      comments: busyPullRequest(250),
      pages: [1, 2, 3],
      write: CREATE_COMMENT,
      commentId: '7001',
    },
    {
      name: 'exactly 200 comments, none marked: the empty page 3 ends the list',
      comments: busyPullRequest(200),
      pages: [1, 2, 3],
      write: CREATE_COMMENT,
      commentId: '7001',
    },
  ])('$name', async ({ comments, pages, write, commentId }) => {
    const github = scriptedGitHub(comments);
    const { result, warnings } = await report({ ...base, ...pullRequest }, github);
    const lists = github.calls.filter((call) => call.route === LIST_COMMENTS);
    expect(
      lists.map((call) => call.params.page),
      'the pages read',
    ).toEqual(pages);
    for (const list of lists) expect(list.params).toMatchObject({ ...REPO, issue_number: 42, per_page: 100 });
    expect(github.calls.at(-1)!.route, 'one write after the pages').toBe(write);
    expect(github.calls.filter((call) => call.route === CREATE_COMMENT)).toHaveLength(
      write === CREATE_COMMENT ? 1 : 0,
    );
    expect(result.outputs.commentId).toBe(commentId);
    expect(warnings).toEqual([]);
  });

  it('a list that never ends (every page full): stops after 50 pages with a warning, then creates', async () => {
    const full = Array.from({ length: 100 }, (_, i) => ({ id: 1001 + i, body: 'me too' }));
    const github = scriptedGitHub();
    const endless = (async (route, params) =>
      route === LIST_COMMENTS
        ? (github.calls.push({ route, params }), { data: full })
        : github(route, params)) as GitHubRequest;
    const { result, warnings } = await report({ ...base, ...pullRequest }, endless);
    expect(github.calls.filter((call) => call.route === LIST_COMMENTS)).toHaveLength(50);
    expect(warnings).toEqual([
      'warning: Read 50 pages of comments on pull request #42 (5000) without finding the size comment; stopped there, so a new one is created.',
    ]);
    expect(result.outputs.commentId).toBe('7001');
  });
});

describe('reportToGitHub: every call is best effort', () => {
  const full: ReportOptions = { ...base, ...pullRequest, ...deployed };
  const statusProblem = `set the commit status: HTTP 403 ${FORBIDDEN} ${FORK_HINT}`;
  const commentProblem = `update the pull request comment: HTTP 403 ${FORBIDDEN} ${FORK_HINT}`;
  const deploymentProblem = `record the GitHub deployment: HTTP 403 ${FORBIDDEN} ${FORK_HINT}`;

  it.each([
    {
      denied: STATUS,
      comments: [],
      routes: [STATUS, LIST_COMMENTS, CREATE_COMMENT, CREATE_DEPLOYMENT, DEPLOYMENT_STATUS],
      outputs: { commentId: '7001', deploymentId: '555', deactivated: 0 },
      problem: statusProblem,
      warning: `Could not set the commit status: ${FORBIDDEN} ${FORK_HINT}`,
      row: '| commit status | not set |',
    },
    {
      denied: LIST_COMMENTS,
      comments: [],
      routes: [STATUS, LIST_COMMENTS, CREATE_DEPLOYMENT, DEPLOYMENT_STATUS],
      outputs: { commentId: '', deploymentId: '555', deactivated: 0 },
      problem: commentProblem,
      warning: `Could not update the pull request comment: ${FORBIDDEN} ${FORK_HINT}`,
      row: '| pull request comment | not written |',
    },
    {
      denied: CREATE_COMMENT,
      comments: [],
      routes: [STATUS, LIST_COMMENTS, CREATE_COMMENT, CREATE_DEPLOYMENT, DEPLOYMENT_STATUS],
      outputs: { commentId: '', deploymentId: '555', deactivated: 0 },
      problem: commentProblem,
      warning: `Could not update the pull request comment: ${FORBIDDEN} ${FORK_HINT}`,
      row: '| pull request comment | not written |',
    },
    {
      denied: UPDATE_COMMENT,
      comments: [MARKED],
      routes: [STATUS, LIST_COMMENTS, UPDATE_COMMENT, CREATE_DEPLOYMENT, DEPLOYMENT_STATUS],
      outputs: { commentId: '', deploymentId: '555', deactivated: 0 },
      problem: commentProblem,
      warning: `Could not update the pull request comment: ${FORBIDDEN} ${FORK_HINT}`,
      row: '| pull request comment | not written |',
    },
    {
      denied: CREATE_DEPLOYMENT,
      comments: [],
      routes: [STATUS, LIST_COMMENTS, CREATE_COMMENT, CREATE_DEPLOYMENT],
      outputs: { commentId: '7001', deploymentId: '', deactivated: 0 },
      problem: deploymentProblem,
      warning: `Could not record the GitHub deployment: ${FORBIDDEN} ${FORK_HINT}`,
      row: '| deployment | production: not recorded |',
    },
    {
      // The deployment exists by then: its id is still an output.
      denied: DEPLOYMENT_STATUS,
      comments: [],
      routes: [STATUS, LIST_COMMENTS, CREATE_COMMENT, CREATE_DEPLOYMENT, DEPLOYMENT_STATUS],
      outputs: { commentId: '7001', deploymentId: '555', deactivated: 0 },
      problem: deploymentProblem,
      warning: `Could not record the GitHub deployment: ${FORBIDDEN} ${FORK_HINT}`,
      row: '| deployment | production (555): status not set |',
    },
  ])('a 403 on $denied: a warning and a problem, the other calls still made', async (expected) => {
    const github = scriptedGitHub(expected.comments, { [expected.denied]: httpError(403, FORBIDDEN) });
    const { result, warnings } = await report(full, github);
    expect(
      github.calls.map((call) => call.route),
      'the GitHub calls made, in order',
    ).toEqual(expected.routes);
    expect(result.outputs).toEqual(expected.outputs);
    expect(result.failure, 'reporting never fails the step').toBeUndefined();
    expect(result.problems).toEqual([expected.problem]);
    expect(warnings).toEqual([`warning: ${expected.warning}`]);
    expect(result.summary).toContain(expected.row);
    expect(result.summary).toContain(`- ⚠️ ${expected.problem}`);
  });

  it("a fork's read-only token (every call 403): three warnings, empty outputs, no throw", async () => {
    const denied = httpError(403, FORBIDDEN);
    const github = scriptedGitHub(
      [],
      Object.fromEntries([STATUS, LIST_COMMENTS, CREATE_DEPLOYMENT].map((route) => [route, denied])),
    );
    const { result, warnings } = await report(full, github);
    expect(result.outputs).toEqual({ commentId: '', deploymentId: '', deactivated: 0 });
    expect(result.problems).toEqual([statusProblem, commentProblem, deploymentProblem]);
    expect(warnings).toHaveLength(3);
    expect(result.failure).toBeUndefined();
  });

  it('another HTTP error is a problem with its status, without the fork hint', async () => {
    const github = scriptedGitHub([], { [STATUS]: httpError(422, 'Validation Failed') });
    const { result, warnings } = await report(base, github);
    expect(result.problems).toEqual(['set the commit status: HTTP 422 Validation Failed']);
    expect(warnings).toEqual(['warning: Could not set the commit status: Validation Failed']);
  });
});

describe('reportToGitHub: its ports and outputs', () => {
  it('every output it returns has a name in the entry, and every name an output', async () => {
    const { result } = await report({ ...base, ...pullRequest, ...deployed }, scriptedGitHub());
    expect(Object.keys(result.outputs).sort()).toEqual(Object.keys(OUTPUTS).sort());
  });

  it('without the github port it refuses before calling anything', async () => {
    await expect(reportToGitHub(base, fakeDeps([]))).rejects.toThrow('needs the github port');
  });
});
