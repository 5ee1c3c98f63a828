/** Links the summaries carry: the run, and the public page of a pushed image. */
import type { Env } from './io.js';
import { link } from './markdown.js';

/**
 * The run's page, `${GITHUB_SERVER_URL}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}`: the
 * form of a workflow run's `html_url` (GitHub REST "Get a workflow run",
 * docs.github.com/rest/actions/workflow-runs#get-a-workflow-run: "https://github.com/octo-org/
 * octo-repo/actions/runs/30433642"). Undefined when any of the three is missing (outside a runner).
 * The attempt is not in it: GitHub documents `/attempts/{n}` only for REST routes, not for pages.
 */
export function runUrl(env: Env): string | undefined {
  const server = env.GITHUB_SERVER_URL?.replace(/\/+$/, '');
  const { GITHUB_REPOSITORY: repository, GITHUB_RUN_ID: runId } = env;
  if (!server || !repository || !runId) return undefined;
  return `${server}/${repository}/actions/runs/${runId}`;
}

/**
 * "[run #12](…/actions/runs/…)": the run's page (`url`, else runUrl) under its number as GitHub's
 * pages show it (GITHUB_RUN_NUMBER); undefined when there is no page.
 */
export function runLink(env: Env, url = runUrl(env)): string | undefined {
  if (!url) return undefined;
  return link(env.GITHUB_RUN_NUMBER ? `run #${env.GITHUB_RUN_NUMBER}` : 'the run', url);
}

/**
 * The registry host of an image name or reference, '' when it has none (Docker Hub): the first
 * path component when it holds a "." or ":" or is "localhost", as docker reads a name
 * (distribution/reference, splitDockerDomain).
 */
export function registryHost(reference: string): string {
  const slash = reference.indexOf('/');
  if (slash <= 0) return '';
  const first = reference.slice(0, slash);
  return /[.:]/.test(first) || first === 'localhost' ? first : '';
}

/** The repository of a reference: no registry host, tag or digest ("ghcr.io/acme/app:1" → "acme/app"). */
export function repositoryPath(reference: string): string {
  const host = registryHost(reference);
  const name = (host ? reference.slice(host.length + 1) : reference).replace(/@.*$/, '');
  return name.replace(/:[^/]*$/, '');
}

/** The GitHub account a ghcr.io package may belong to: the repository's owner, from the event. */
export interface GitHubOwner {
  login: string;
  type: 'User' | 'Organization';
}

/** Docker Hub's hosts for an image name (docker.io is what docker adds to a name without one). */
const DOCKER_HUB = ['', 'docker.io', 'index.docker.io'];

/**
 * The public page of a pushed image, or undefined when its registry has none the kit can name:
 * - Docker Hub: https://hub.docker.com/r/<namespace>/<name>, and https://hub.docker.com/_/<name>
 *   for an official image (library/<name>, or a bare name: "nginx" is docker.io/library/nginx,
 *   Docker Docs "Build, tag, and publish an image"; official images' pages are hub.docker.com/_/<name>).
 * - ghcr.io/<owner>/<name>: https://github.com/users/<owner>/packages/container/package/<name>, or
 *   /orgs/ for an organization: the `html_url` GitHub's REST API gives a container package
 *   ("Get a package for a user|an organization", docs.github.com/rest/packages/packages, e.g.
 *   https://github.com/orgs/github/packages/container/package/super-linter; a name with "/" is
 *   URL-encoded). Which of the two depends on the account's type, known only for the repository's
 *   owner: another owner's package gets no link.
 * - Any other registry (registry.cloudflare.com, a local one): none.
 */
export function imagePage(reference: string, owner?: GitHubOwner): string | undefined {
  const host = registryHost(reference).toLowerCase();
  const path = repositoryPath(reference).split('/');
  if (DOCKER_HUB.includes(host)) {
    const [namespace, name] = path.length === 1 ? ['library', path[0]] : path;
    if (path.length > 2 || !namespace || !name) return undefined;
    return namespace === 'library'
      ? `https://hub.docker.com/_/${name}`
      : `https://hub.docker.com/r/${namespace}/${name}`;
  }
  if (host !== 'ghcr.io' || path.length < 2 || !owner) return undefined;
  const [account, ...rest] = path;
  if (account!.toLowerCase() !== owner.login.toLowerCase()) return undefined;
  const kind = owner.type === 'Organization' ? 'orgs' : 'users';
  return `https://github.com/${kind}/${account}/packages/container/package/${encodeURIComponent(rest.join('/'))}`;
}

/** The image's name (no tag or digest) linked to its public page, or as code when it has none. */
export function imageLink(reference: string, owner?: GitHubOwner): string {
  const host = registryHost(reference);
  const name = `${host ? `${host}/` : ''}${repositoryPath(reference)}`;
  const page = imagePage(reference, owner);
  return page ? link(name, page) : `\`${name}\``;
}
