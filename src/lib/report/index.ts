import { existsSync } from 'node:fs';
import type { ActionResult, Deps, GitHubRequest, Log } from '../core/io.js';
import { runLink, runUrl } from '../core/links.js';
import { cell, table } from '../core/markdown.js';
import { COMMENT_MARKER, readReport, renderComment, type SizeReport } from '../size/index.js';

export type RunState = 'success' | 'failure' | 'pending' | 'error';

export interface ReportOptions {
  repo: { owner: string; repo: string };
  sha: string;
  pullNumber?: number;
  /** The run's outcome. */
  state: RunState;
  statusContext: string;
  description: string;
  /** The run's page: the status's and the deployment's link; by default from the runner's env (runUrl). */
  targetUrl?: string;
  /** The size-budget report (JSON), rendered as the pull request comment. */
  sizeReport?: SizeReport;
  /** A GitHub deployment to record: environment, URL, and whether the deploy was rolled back. */
  deployment?: DeploymentReport;
}

export interface DeploymentReport {
  environment: string;
  url?: string;
  versionId?: string;
  rolledBack: boolean;
}

/** The ids GitHub gave the comment and the deployment, as strings; '' when none was made. */
export interface ReportOutputs {
  commentId: string;
  deploymentId: string;
}

export type ReportResult = ActionResult<ReportOutputs> & {
  /** Calls that failed (a fork's read-only token, say): reported as warnings, never fatal. */
  problems: string[];
};

/** One line of the summary: what was reported, and how it went. */
type Reported = [what: string, outcome: string];

/** Runs one GitHub call; a failure becomes a warning and a problem entry, and the call's result undefined. */
type Attempt = <T>(what: string, call: () => Promise<T>) => Promise<T | undefined>;

/** What each reporting step works with. */
interface Reporter {
  github: GitHubRequest;
  options: ReportOptions;
  attempt: Attempt;
  log: Log;
  /** The run as a Markdown link, for the comment and the summary; undefined without its page. */
  run?: string;
}

/** GitHub refuses descriptions over 140 characters. */
const MAX_DESCRIPTION = 140;

function clip(text: string, limit = MAX_DESCRIPTION): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

/** The size-budget report a run wrote (report-path), when the file exists; it becomes the PR comment. */
export function loadSizeReport(path: string | undefined): SizeReport | undefined {
  return path && existsSync(path) ? readReport(path) : undefined;
}

/**
 * Reports a run to GitHub: a commit status, the pull request comment (one, found again by its hidden
 * marker and updated in place), and for deploys a GitHub deployment with its environment URL and
 * status. Each call is best effort: a failure is a warning, since the run's own outcome stands; so the
 * result never carries a failure.
 */
export async function reportToGitHub(options: ReportOptions, deps: Deps): Promise<ReportResult> {
  if (!deps.github) throw new Error('reportToGitHub needs the github port (Deps.github)');
  const problems: string[] = [];
  const targetUrl = options.targetUrl ?? runUrl(deps.env);
  const reporter: Reporter = {
    github: deps.github,
    options: { ...options, targetUrl },
    attempt: bestEffort(deps.log, problems),
    log: deps.log,
    run: runLink(deps.env, targetUrl),
  };
  const outputs: ReportOutputs = { commentId: '', deploymentId: '' };
  const reported: Reported[] = [await reportStatus(reporter)];
  const { pullNumber, sizeReport, deployment } = options;
  if (pullNumber && sizeReport) {
    const comment = await reportComment(reporter, pullNumber, sizeReport);
    outputs.commentId = comment.id;
    reported.push(comment.row);
  }
  if (deployment) {
    const recorded = await reportDeployment(reporter, deployment);
    outputs.deploymentId = recorded.id;
    reported.push(recorded.row);
  }
  return { outputs, summary: renderSummary(reported, problems, reporter.run), problems };
}

async function reportStatus({ github, options, attempt }: Reporter): Promise<Reported> {
  const set = await attempt('set the commit status', async () => {
    await github('POST /repos/{owner}/{repo}/statuses/{sha}', {
      ...options.repo,
      sha: options.sha,
      state: options.state,
      context: options.statusContext,
      description: clip(options.description),
      ...(options.targetUrl ? { target_url: options.targetUrl } : {}),
    });
    return true;
  });
  return ['commit status', set ? `${options.state} (${cell(options.statusContext)})` : 'not set'];
}

async function reportComment(
  reporter: Reporter,
  pullNumber: number,
  sizeReport: SizeReport,
): Promise<{ id: string; row: Reported }> {
  const comment = await reporter.attempt('update the pull request comment', () =>
    upsertSizeComment(reporter, pullNumber, sizeReport),
  );
  const id = comment ? String(comment.id) : '';
  return { id, row: ['pull request comment', comment ? `${comment.change} (${id})` : 'not written'] };
}

/**
 * The deployment's id is an output as soon as it exists, even when its status then cannot be set;
 * both calls' failures read as one: the deployment could not be recorded.
 */
async function reportDeployment(
  reporter: Reporter,
  deployment: DeploymentReport,
): Promise<{ id: string; row: Reported }> {
  const what = 'record the GitHub deployment';
  const where = cell(deployment.environment);
  const id = await reporter.attempt(what, () => createDeployment(reporter, deployment));
  if (id === undefined) return { id: '', row: ['deployment', `${where}: not recorded`] };
  const state = await reporter.attempt(what, () => setDeploymentStatus(reporter, deployment, id));
  return { id: String(id), row: ['deployment', `${where} (${id}): ${state ?? 'status not set'}`] };
}

/** The calls' safety net: a failed call is told as a warning (with a hint for a 403) and collected. */
function bestEffort(log: Log, problems: string[]): Attempt {
  return async (what, call) => {
    try {
      return await call();
    } catch (err) {
      const error = err as Error & { status?: number };
      const hint =
        error.status === 403 ? ' (the token cannot write here: a fork, or missing permissions)' : '';
      problems.push(`${what}: ${error.status ? `HTTP ${error.status} ` : ''}${error.message}${hint}`);
      log.warning(`Could not ${what}: ${error.message}${hint}`);
      return undefined;
    }
  };
}

/**
 * Comments asked for per page: GitHub's most. "List issue comments"
 * (https://docs.github.com/rest/issues/comments#list-issue-comments) takes `per_page` ("The number
 * of results per page (max 100)", default 30) and `page` (default 1), oldest comment first.
 */
const COMMENTS_PER_PAGE = 100;

/** Pages read at most (5,000 comments): a server that never ends its list cannot keep the step forever. */
const MAX_COMMENT_PAGES = 50;

/**
 * The first comment on the pull request that carries the marker, read page by page until it is found
 * or a page comes back short: a busy pull request has more comments than one page holds, and missing
 * the marked one would post a duplicate. GitHub pages its lists ("Using pagination in the REST API",
 * https://docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api): its Link header's
 * rel="next" is the page=N+1 asked for here, and a page with fewer than per_page items is the last. The
 * github port hands back only the body, so the pages are counted rather than their links followed.
 */
async function findSizeComment(
  { github, options, log }: Omit<Reporter, 'attempt'>,
  pullNumber: number,
): Promise<{ id: number } | undefined> {
  for (let page = 1; page <= MAX_COMMENT_PAGES; page++) {
    const { data } = await github('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', {
      ...options.repo,
      issue_number: pullNumber,
      per_page: COMMENTS_PER_PAGE,
      page,
    });
    const comments = Array.isArray(data) ? (data as Array<{ id: number; body?: string }>) : [];
    const marked = comments.find((comment) => comment.body?.includes(COMMENT_MARKER));
    if (marked) return marked;
    if (comments.length < COMMENTS_PER_PAGE) return undefined;
  }
  log.warning(
    `Read ${MAX_COMMENT_PAGES} pages of comments on pull request #${pullNumber} (${MAX_COMMENT_PAGES * COMMENTS_PER_PAGE}) without finding the size comment; stopped there, so a new one is created.`,
  );
  return undefined;
}

/** The size comment: the one already carrying the marker is updated in place, else one is created. */
async function upsertSizeComment(
  { github, options, log, run }: Reporter,
  pullNumber: number,
  sizeReport: SizeReport,
): Promise<{ id: number; change: 'created' | 'updated' }> {
  const verdict = options.state === 'success' ? '✅' : '❌';
  const body = `${renderComment(sizeReport)}\n${verdict} ${options.description}${run ? ` (${run})` : ''}\n`;
  const existing = await findSizeComment({ github, options, log }, pullNumber);
  if (existing) {
    await github('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
      ...options.repo,
      comment_id: existing.id,
      body,
    });
    log.info(`Updated the pull request comment ${existing.id}.`);
    return { id: existing.id, change: 'updated' };
  }
  const { data: created } = await github('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
    ...options.repo,
    issue_number: pullNumber,
    body,
  });
  const id = (created as { id: number }).id;
  log.info(`Created the pull request comment ${id}.`);
  return { id, change: 'created' };
}

/** A GitHub deployment of the commit; its id. */
async function createDeployment(
  { github, options }: Reporter,
  { environment, versionId, rolledBack }: DeploymentReport,
): Promise<number> {
  const { data: created } = await github('POST /repos/{owner}/{repo}/deployments', {
    ...options.repo,
    ref: options.sha,
    environment,
    auto_merge: false,
    required_contexts: [],
    description: clip(versionId ? `Worker version ${versionId}` : options.description),
    payload: { versionId: versionId ?? '', rolledBack },
  });
  return (created as { id: number }).id;
}

/** The deployment's status: success only when the run succeeded and was not rolled back. */
async function setDeploymentStatus(
  { github, options, log }: Reporter,
  { environment, url, rolledBack }: DeploymentReport,
  deploymentId: number,
): Promise<'success' | 'failure'> {
  const state = options.state === 'success' && !rolledBack ? 'success' : 'failure';
  await github('POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', {
    ...options.repo,
    deployment_id: deploymentId,
    state,
    description: clip(rolledBack ? `Rolled back: ${options.description}` : options.description),
    ...(url ? { environment_url: url } : {}),
    ...(options.targetUrl ? { log_url: options.targetUrl } : {}),
    auto_inactive: state === 'success',
  });
  log.info(`GitHub deployment ${deploymentId} (${environment}): ${state}.`);
  return state;
}

function renderSummary(reported: Reported[], problems: string[], run?: string): string {
  const lines = ['### Slipway report', '', ...(run ? [`For ${run}.`, ''] : [])];
  lines.push(table(['reported', 'outcome'], reported));
  if (problems.length) lines.push('', ...problems.map((problem) => `- ⚠️ ${cell(problem)}`));
  return `${lines.join('\n')}\n`;
}
