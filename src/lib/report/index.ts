import { existsSync } from 'node:fs';
import type { ActionResult, Deps, Log } from '../core/io.js';
import { runLink, runUrl } from '../core/links.js';
import { cell, table } from '../core/markdown.js';
import { COMMENT_MARKER, readReport, renderComment, type SizeReport } from '../size/index.js';
import { composeComment, previewSection } from './comment.js';
import { deactivateOnly, reportPreview, type PreviewReport } from './preview.js';
import {
  clip,
  MAX_PAGES,
  PER_PAGE,
  readPages,
  type Attempt,
  type Reported,
  type Reporter,
} from './reporter.js';

export type { PreviewReport } from './preview.js';

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
  /** Set the commit status (default true; a preview job has no statuses permission). */
  commitStatus?: boolean;
  /** A pull request's preview: into the comment, and a transient GitHub deployment (preview.ts). */
  preview?: PreviewReport;
  /** Only mark this environment's deployments inactive (a closed pull request's preview): nothing else. */
  deactivateEnvironment?: string;
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
  /** How many deployments were marked inactive (a preview's earlier ones, or a closed preview's). */
  deactivated: number;
}

export type ReportResult = ActionResult<ReportOutputs> & {
  /** Calls that failed (a fork's read-only token, say): reported as warnings, never fatal. */
  problems: string[];
};

/** The size-budget report a run wrote (report-path), when the file exists; it becomes the PR comment. */
export function loadSizeReport(path: string | undefined): SizeReport | undefined {
  return path && existsSync(path) ? readReport(path) : undefined;
}

/**
 * Reports a run to GitHub: a commit status, the pull request comment (one, found again by its hidden
 * marker and updated in place: the size table and the preview, each kept when only the other is
 * reported), for deploys a GitHub deployment with its environment URL and status, for previews a
 * transient one (preview.ts); or, alone, a closed preview's deployments marked inactive. Each call is
 * best effort: a failure is a warning, since the run's own outcome stands; so the result never
 * carries a failure.
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
  const outputs: ReportOutputs = { commentId: '', deploymentId: '', deactivated: 0 };
  const reported: Reported[] = [];
  if (options.deactivateEnvironment) {
    const done = await deactivateOnly(reporter, options.deactivateEnvironment);
    Object.assign(outputs, { deactivated: done.count });
    reported.push(done.row);
  } else await reportRun(reporter, outputs, reported);
  return { outputs, summary: renderSummary(reported, problems, reporter.run), problems };
}

/** A run's report: the status, the comment, the deployment, the preview's deployment. */
async function reportRun(reporter: Reporter, outputs: ReportOutputs, reported: Reported[]): Promise<void> {
  const { pullNumber, sizeReport, deployment, preview, commitStatus = true } = reporter.options;
  if (commitStatus) reported.push(await reportStatus(reporter));
  if (pullNumber && (sizeReport || preview)) {
    const comment = await reportComment(reporter, pullNumber, sizeReport);
    outputs.commentId = comment.id;
    reported.push(comment.row);
  }
  if (deployment) {
    const recorded = await reportDeployment(reporter, deployment);
    outputs.deploymentId = recorded.id;
    reported.push(recorded.row);
  }
  if (preview) {
    const recorded = await reportPreview(reporter, preview);
    outputs.deploymentId ||= recorded.id;
    outputs.deactivated += recorded.deactivated;
    reported.push(...recorded.rows);
  }
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
  sizeReport: SizeReport | undefined,
): Promise<{ id: string; row: Reported }> {
  const comment = await reporter.attempt('update the pull request comment', () =>
    upsertComment(reporter, pullNumber, sizeReport),
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
 * The first comment on the pull request that carries the marker, read page by page (100 a page,
 * "List issue comments", https://docs.github.com/rest/issues/comments#list-issue-comments: `per_page`
 * "max 100", oldest comment first) until it is found or a page comes back short: a busy pull request
 * has more comments than one page holds, and missing the marked one would post a duplicate.
 */
async function findComment(
  { github, options, log }: Omit<Reporter, 'attempt'>,
  pullNumber: number,
): Promise<{ id: number; body?: string } | undefined> {
  const { hit, truncated } = await readPages<{ id: number; body?: string }>(
    github,
    'GET /repos/{owner}/{repo}/issues/{issue_number}/comments',
    { ...options.repo, issue_number: pullNumber },
    (comment) => !!comment.body?.includes(COMMENT_MARKER),
  );
  if (truncated)
    log.warning(
      `Read ${MAX_PAGES} pages of comments on pull request #${pullNumber} (${MAX_PAGES * PER_PAGE}) without finding the size comment; stopped there, so a new one is created.`,
    );
  return hit;
}

/**
 * The comment: the one already carrying the marker is updated in place, else one is created. What
 * this run reports (the size table, the preview) replaces its part; the other part is kept.
 */
async function upsertComment(
  { github, options, log, run }: Reporter,
  pullNumber: number,
  sizeReport: SizeReport | undefined,
): Promise<{ id: number; change: 'created' | 'updated' }> {
  const verdict = options.state === 'success' ? '✅' : '❌';
  const size = sizeReport
    ? `${renderComment(sizeReport)}\n${verdict} ${options.description}${run ? ` (${run})` : ''}\n`
    : undefined;
  const preview = options.preview ? previewSection(options.preview, options, run) : undefined;
  const existing = await findComment({ github, options, log }, pullNumber);
  const body = composeComment(existing?.body, { size, preview });
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
