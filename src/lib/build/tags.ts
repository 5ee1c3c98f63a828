import { UserError } from '../core/errors.js';
import { registryHost, type GitHubOwner } from '../core/links.js';

/** What tagging needs to know about the run; the entry fills it from the runner's context. */
export interface RunContext {
  eventName: string;
  /** refs/heads/<branch>, refs/tags/<tag>, refs/pull/<n>/merge, or empty outside a runner. */
  ref: string;
  sha: string;
  defaultBranch?: string;
  prNumber?: number;
  /**
   * When the source was made (ISO): SOURCE_DATE_EPOCH, else the pushed head commit's timestamp. The
   * created label takes it, so a rebuild of the same source is the same image (and deploys start no
   * container rollout); undefined: the build's own time.
   */
  createdAt?: string;
  /** https://github.com and owner/name, for the source label. */
  serverUrl?: string;
  repository?: string;
  /** The repository's owner and whether it is a user or an organization (the event's repository.owner). */
  owner?: GitHubOwner;
}

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/;

/** A string made safe as a Docker tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
export function sanitizeTag(text: string): string {
  const tag = text.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[.-]+/, '');
  return (tag || 'unnamed').slice(0, 128);
}

export interface TagPlan {
  /** Tags (not full references), most specific first. */
  tags: string[];
  /** The version the image carries (OCI version label). */
  version: string;
}

/**
 * Tags as metadata-action plans them:
 * - default branch: `latest` and `sha-<7>`; other branches: `dev-<7>`
 * - semver tag vX.Y.Z: `vX.Y.Z`, `vX.Y`, `vX` (no `vX` for 0.x); a pre-release: only its full version
 * - any other tag: the tag itself; pull request: `pr-<N>`
 * - workflow_dispatch, schedule and the rest: like a push of their ref
 * `latest` is never given to anything but the default branch.
 */
export function planTags(ctx: RunContext): TagPlan {
  const sha7 = ctx.sha ? ctx.sha.slice(0, 7) : 'local';
  if (ctx.eventName === 'pull_request' || ctx.eventName === 'pull_request_target') {
    const pr = ctx.prNumber ?? Number(/^refs\/pull\/(\d+)\//.exec(ctx.ref)?.[1]);
    if (!pr) throw new UserError('This pull_request event has no pull request number in its payload or ref.');
    return { tags: [`pr-${pr}`], version: `pr-${pr}` };
  }
  if (ctx.ref.startsWith('refs/tags/')) {
    const tag = ctx.ref.slice('refs/tags/'.length);
    const semver = SEMVER.exec(tag);
    if (!semver) return { tags: [sanitizeTag(tag)], version: tag };
    const [, maj, min, pat, pre] = semver;
    const full = `${maj}.${min}.${pat}${pre ? `-${pre}` : ''}`;
    if (pre) return { tags: [sanitizeTag(`v${full}`)], version: full };
    const tags = [`v${full}`, `v${maj}.${min}`];
    if (maj !== '0') tags.push(`v${maj}`);
    return { tags, version: full };
  }
  const branch = ctx.ref.startsWith('refs/heads/') ? ctx.ref.slice('refs/heads/'.length) : '';
  if (branch && ctx.defaultBranch && branch === ctx.defaultBranch) {
    return { tags: ['latest', `sha-${sha7}`], version: `sha-${sha7}` };
  }
  return { tags: [`dev-${sha7}`], version: `dev-${sha7}` };
}

const NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** Checks an image name (no tag): registry host optional, path components lower-case. */
export function validateImageName(image: string): string {
  const name = image.trim();
  const host = registryHost(name);
  const path = host ? name.slice(host.length + 1) : name;
  if (!path || !NAME.test(path) || /:[^/]*$/.test(path) || name.includes('@')) {
    throw new UserError(
      `Input "image" is "${image}": give an image name without tag, lower-case, like ghcr.io/owner/app or app (put tags in "tags").`,
    );
  }
  return name;
}

/** Full references: the planned tags on the image, then extra tags (bare tags or full references). */
export function fullReferences(image: string, planned: string[], extra: string[]): string[] {
  const refs = planned.map((tag) => `${image}:${tag}`);
  for (const wanted of extra) {
    const lastSlash = wanted.lastIndexOf('/');
    const hasTag = wanted.slice(lastSlash + 1).includes(':');
    if (!hasTag && /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(wanted)) refs.push(`${image}:${wanted}`);
    else if (hasTag && /^[a-z0-9][a-z0-9._/:-]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(wanted))
      refs.push(wanted);
    else
      throw new UserError(
        `Input "tags" has "${wanted}", which is neither a tag (v1, edge) nor a reference (ghcr.io/o/app:v1).`,
      );
  }
  return [...new Set(refs)];
}

/** OCI labels: source, revision, created, version. User labels win over these. */
export function ociLabels(ctx: RunContext, version: string, now: Date): Array<[string, string]> {
  const labels: Array<[string, string]> = [];
  if (ctx.serverUrl && ctx.repository)
    labels.push(['org.opencontainers.image.source', `${ctx.serverUrl}/${ctx.repository}`]);
  if (ctx.sha) labels.push(['org.opencontainers.image.revision', ctx.sha]);
  labels.push(['org.opencontainers.image.created', ctx.createdAt ?? now.toISOString()]);
  labels.push(['org.opencontainers.image.version', version]);
  return labels;
}

/** The run context from the runner's environment and the event payload (GITHUB_EVENT_PATH). */
export function runContextFrom(env: Record<string, string | undefined>, payload: unknown): RunContext {
  const event = (payload ?? {}) as {
    repository?: { default_branch?: string; full_name?: string; owner?: { login?: string; type?: string } };
    pull_request?: { number?: number };
    number?: number;
    head_commit?: { timestamp?: string };
  };
  const createdAt = sourceDate(env.SOURCE_DATE_EPOCH) ?? isoDate(event.head_commit?.timestamp);
  return {
    ...(createdAt ? { createdAt } : {}),
    eventName: env.GITHUB_EVENT_NAME ?? '',
    ref: env.GITHUB_REF ?? '',
    sha: env.GITHUB_SHA ?? '',
    defaultBranch: event.repository?.default_branch,
    prNumber:
      event.pull_request?.number ??
      (env.GITHUB_EVENT_NAME?.startsWith('pull_request') ? event.number : undefined),
    serverUrl: env.GITHUB_SERVER_URL || 'https://github.com',
    repository: env.GITHUB_REPOSITORY || event.repository?.full_name,
    ...ownerOf(event.repository?.owner),
  };
}

/** The repository owner as the event's payload gives it (login, and type "User" or "Organization"). */
function ownerOf(owner: { login?: string; type?: string } | undefined): { owner?: GitHubOwner } {
  const type = owner?.type;
  if (!owner?.login || (type !== 'User' && type !== 'Organization')) return {};
  return { owner: { login: owner.login, type } };
}

/** SOURCE_DATE_EPOCH (reproducible-builds.org: seconds since the epoch) as ISO; undefined when unset or bad. */
function sourceDate(epoch: string | undefined): string | undefined {
  return epoch && /^\d+$/.test(epoch.trim()) ? new Date(Number(epoch) * 1000).toISOString() : undefined;
}

function isoDate(text: string | undefined): string | undefined {
  const time = text ? Date.parse(text) : NaN;
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}
