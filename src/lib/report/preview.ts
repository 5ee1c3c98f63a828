import { cell } from '../core/markdown.js';
import { clip, readPages, type Reported, type Reporter } from './reporter.js';

/**
 * A pull request's preview as GitHub shows it: a deployment to a transient environment (one per pull
 * request by default, `preview/pr-<N>`) whose status links the preview URL, and its earlier
 * deployments marked inactive. Sources: GitHub's OpenAPI description
 * (node_modules/@octokit/openapi-types/types.d.ts, "repos/create-deployment",
 * "repos/create-deployment-status", "repos/list-deployments", "repos/list-deployment-statuses") and
 * github/docs content/rest/deployments/deployments.md ("Inactive deployments"):
 * - `auto_merge` defaults to true and may merge the default branch instead of deploying (a 202);
 *   `required_contexts` omitted makes GitHub verify every status context first (a 409 when one
 *   failed): "To bypass checking entirely, pass an empty array".
 * - `transient_environment`: "the given environment is specific to the deployment and will no longer
 *   exist at some point in the future"; `production_environment` false.
 * - `auto_inactive` touches only "prior non-transient, non-production environment deployments", so a
 *   transient one stays active until marked: "You can communicate that a transient environment no
 *   longer exists by setting its state to inactive", shown as "destroyed".
 */
export interface PreviewReport {
  /** The preview URL (the alias's, which follows the pull request's pushes); none for a Durable Object Worker. */
  url?: string;
  /** The version uploaded. */
  versionId?: string;
  /** Why there is no URL (deploy's preview-note). */
  note?: string;
  /** The deployment's environment; default `preview/pr-<N>`. */
  environment?: string;
}

/** One deployment in GitHub's list ("deployment" schema), what is read of it. */
interface ListedDeployment {
  id: number;
  payload?: Record<string, unknown> | string;
}

/** The environment a pull request's preview is deployed to: the one given, else `preview/pr-<N>`. */
export function previewEnvironment(preview: PreviewReport, pullNumber?: number): string | undefined {
  return preview.environment || (pullNumber ? `preview/pr-${pullNumber}` : undefined);
}

/**
 * The preview's deployment: the earlier ones marked inactive (the alias now serves the new version),
 * then, when there is a URL, a transient deployment and its status linking it. Nothing uploaded:
 * nothing on Cloudflare changed, so the earlier deployments stand.
 */
export async function reportPreview(
  reporter: Reporter,
  preview: PreviewReport,
): Promise<{ id: string; deactivated: number; rows: Reported[] }> {
  const { attempt, options } = reporter;
  const environment = previewEnvironment(preview, options.pullNumber);
  const row = (text: string): Reported => ['preview deployment', `${cell(environment ?? '–')}: ${text}`];
  if (!environment)
    return {
      id: '',
      deactivated: 0,
      rows: [row('not recorded: no pull request, and no preview-environment')],
    };
  if (!preview.versionId && !preview.url)
    return { id: '', deactivated: 0, rows: [row('none: nothing was uploaded, the earlier ones stand')] };
  const what = 'mark the earlier preview deployments inactive';
  const replaced = `a newer preview of ${options.sha.slice(0, 7)} replaced it`;
  const deactivated = (await attempt(what, () => deactivate(reporter, environment, replaced))) ?? 0;
  const earlier = `${deactivated} earlier marked inactive`;
  if (!preview.url) return { id: '', deactivated, rows: [row(`none: no preview URL; ${earlier}`)] };
  const id = await attempt('record the preview deployment', () =>
    createPreview(reporter, preview, environment),
  );
  if (id === undefined) return { id: '', deactivated, rows: [row(`not recorded; ${earlier}`)] };
  const state = await attempt('record the preview deployment', () =>
    setPreviewStatus(reporter, preview, environment, id),
  );
  return { id: String(id), deactivated, rows: [row(`${id} ${state ?? 'status not set'}; ${earlier}`)] };
}

/** A closed pull request: every deployment of its preview environment marked inactive, nothing else. */
export async function deactivateOnly(
  reporter: Reporter,
  environment: string,
): Promise<{ count: number; row: Reported }> {
  const count = await reporter.attempt('mark the preview deployments inactive', () =>
    deactivate(reporter, environment, 'the pull request was closed'),
  );
  const outcome = count === undefined ? 'not marked inactive' : `${count} marked inactive`;
  return { count: count ?? 0, row: ['preview deployments', `${cell(environment)}: ${outcome}`] };
}

/**
 * Marks inactive each deployment of the environment that is not inactive already (its newest status),
 * leaving those whose payload names another pull request (an environment several share). Returns how
 * many it marked.
 */
async function deactivate(reporter: Reporter, environment: string, why: string): Promise<number> {
  const { github, options, log } = reporter;
  const pullNumber = options.pullNumber;
  const { items } = await readPages<ListedDeployment>(github, 'GET /repos/{owner}/{repo}/deployments', {
    ...options.repo,
    environment,
  });
  let marked = 0;
  for (const deployment of items) {
    const pull = payloadPull(deployment.payload);
    if (pullNumber && pull !== undefined && pull !== pullNumber) continue;
    if ((await newestState(reporter, deployment.id)) === 'inactive') continue;
    await github('POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', {
      ...options.repo,
      deployment_id: deployment.id,
      state: 'inactive',
      description: clip(`Preview inactive: ${why}`),
    });
    log.info(`GitHub deployment ${deployment.id} (${environment}): inactive.`);
    marked++;
  }
  return marked;
}

/** The pull request a deployment's payload names (the kit's `pullRequest`), if any. */
function payloadPull(payload: ListedDeployment['payload']): number | undefined {
  const doc = typeof payload === 'string' ? parseJson(payload) : payload;
  const pull = doc?.pullRequest;
  return typeof pull === 'number' ? pull : undefined;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** A deployment's newest status (the highest id: ids only grow), whatever order GitHub lists them in. */
async function newestState(reporter: Reporter, deploymentId: number): Promise<string | undefined> {
  const { items } = await readPages<{ id: number; state: string }>(
    reporter.github,
    'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
    { ...reporter.options.repo, deployment_id: deploymentId },
  );
  return items.reduce<{ id: number; state: string } | undefined>(
    (newest, status) => (!newest || status.id > newest.id ? status : newest),
    undefined,
  )?.state;
}

/** The transient deployment of the pull request's head commit; its id. */
async function createPreview(
  reporter: Reporter,
  preview: PreviewReport,
  environment: string,
): Promise<number> {
  const { github, options } = reporter;
  const { data } = await github('POST /repos/{owner}/{repo}/deployments', {
    ...options.repo,
    ref: options.sha,
    environment,
    transient_environment: true,
    production_environment: false,
    auto_merge: false,
    required_contexts: [],
    description: clip(preview.versionId ? `Preview of Worker version ${preview.versionId}` : 'Preview'),
    payload: {
      pullRequest: options.pullNumber ?? null,
      versionId: preview.versionId ?? '',
      previewUrl: preview.url,
    },
  });
  const id = (data as { id?: number }).id;
  // 202 "Merged branch response" has a message and no id: no deployment was made.
  if (typeof id !== 'number')
    throw new Error(
      `GitHub made no deployment: ${String((data as { message?: unknown }).message ?? 'no id')}`,
    );
  return id;
}

/** Its status: success (or failure, when the run failed) with the preview URL and the run's log. */
async function setPreviewStatus(
  reporter: Reporter,
  preview: PreviewReport,
  environment: string,
  deploymentId: number,
): Promise<'success' | 'failure'> {
  const { github, options, log } = reporter;
  const state = options.state === 'success' ? 'success' : 'failure';
  await github('POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', {
    ...options.repo,
    deployment_id: deploymentId,
    state,
    description: clip(options.description),
    environment_url: preview.url,
    ...(options.targetUrl ? { log_url: options.targetUrl } : {}),
  });
  log.info(`GitHub deployment ${deploymentId} (${environment}): ${state}, ${preview.url}.`);
  return state;
}
