import type { Log } from '../core/io.js';
import { COMMENT_MARKER, renderComment, type SizeReport } from '../size/report.js';

/** The one GitHub call the report needs: Octokit's `request` (tests point it at a local server). */
export type GitHubRequest = (route: string, params: Record<string, unknown>) => Promise<{ data: unknown }>;

export interface ReportOptions {
  repo: { owner: string; repo: string };
  sha: string;
  pullNumber?: number;
  /** success | failure | pending | error: the run's outcome. */
  state: 'success' | 'failure' | 'pending' | 'error';
  statusContext: string;
  description: string;
  targetUrl?: string;
  /** The size-budget report (JSON), rendered as the pull request comment. */
  sizeReport?: SizeReport;
  /** A GitHub deployment to record: environment, URL, and whether the deploy was rolled back. */
  deployment?: { environment: string; url?: string; versionId?: string; rolledBack: boolean };
}

export interface ReportResult {
  commentId?: number;
  deploymentId?: number;
  /** Calls that failed (a fork's read-only token, say): reported as warnings, never fatal. */
  problems: string[];
}

const cut = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/**
 * Reports a run to GitHub: a commit status, the pull request comment (one, found again by its hidden
 * marker and updated in place), and for deploys a GitHub deployment with its environment URL and
 * status. Each call is best effort: a failure is a warning, since the run's own outcome stands.
 */
export async function reportToGitHub(
  o: ReportOptions,
  request: GitHubRequest,
  log: Log,
): Promise<ReportResult> {
  const result: ReportResult = { problems: [] };
  const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      const e = err as Error & { status?: number };
      const hint = e.status === 403 ? ' (the token cannot write here: a fork, or missing permissions)' : '';
      result.problems.push(`${what}: ${e.status ? `HTTP ${e.status} ` : ''}${e.message}${hint}`);
      log.warning(`Could not ${what}: ${e.message}${hint}`);
      return undefined;
    }
  };
  const base = { owner: o.repo.owner, repo: o.repo.repo };

  await attempt('set the commit status', () =>
    request('POST /repos/{owner}/{repo}/statuses/{sha}', {
      ...base,
      sha: o.sha,
      state: o.state,
      context: o.statusContext,
      description: cut(o.description, 140),
      ...(o.targetUrl ? { target_url: o.targetUrl } : {}),
    }),
  );

  if (o.pullNumber && o.sizeReport) {
    const body = `${renderComment(o.sizeReport)}\n${o.state === 'success' ? '✅' : '❌'} ${o.description}\n`;
    await attempt('update the pull request comment', async () => {
      const { data } = await request('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        ...base,
        issue_number: o.pullNumber,
        per_page: 100,
      });
      const existing = (data as Array<{ id: number; body?: string }>).find((c) =>
        c.body?.includes(COMMENT_MARKER),
      );
      if (existing) {
        await request('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
          ...base,
          comment_id: existing.id,
          body,
        });
        result.commentId = existing.id;
        log.info(`Updated the pull request comment ${existing.id}.`);
      } else {
        const created = await request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
          ...base,
          issue_number: o.pullNumber,
          body,
        });
        result.commentId = (created.data as { id: number }).id;
        log.info(`Created the pull request comment ${result.commentId}.`);
      }
    });
  }

  if (o.deployment) {
    const d = o.deployment;
    await attempt('record the GitHub deployment', async () => {
      const created = await request('POST /repos/{owner}/{repo}/deployments', {
        ...base,
        ref: o.sha,
        environment: d.environment,
        auto_merge: false,
        required_contexts: [],
        description: cut(d.versionId ? `Worker version ${d.versionId}` : o.description, 140),
        payload: { versionId: d.versionId ?? '', rolledBack: d.rolledBack },
      });
      result.deploymentId = (created.data as { id: number }).id;
      const state = o.state === 'success' && !d.rolledBack ? 'success' : 'failure';
      await request('POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', {
        ...base,
        deployment_id: result.deploymentId,
        state,
        description: cut(d.rolledBack ? `Rolled back: ${o.description}` : o.description, 140),
        ...(d.url ? { environment_url: d.url } : {}),
        ...(o.targetUrl ? { log_url: o.targetUrl } : {}),
        auto_inactive: state === 'success',
      });
      log.info(`GitHub deployment ${result.deploymentId} (${d.environment}): ${state}.`);
    });
  }
  return result;
}
