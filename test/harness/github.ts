import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local GitHub REST API for the report action's calls: commit statuses, issue comments, and
 * deployments with their statuses, answered with the fields and rules GitHub documents. Sources:
 * GitHub's OpenAPI description as @octokit/openapi-types ships it (node_modules/@octokit/openapi-types/
 * types.d.ts: "repos/list-deployments", "repos/create-deployment", "repos/list-deployment-statuses",
 * "repos/create-deployment-status", and the "deployment" and "deployment-status" schemas), and
 * github/docs content/rest/deployments/deployments.md ("Inactive deployments").
 */

export type Comment = { id: number; body: string };

/** A deployment as GitHub answers one ("deployment" schema); its statuses kept beside it. */
export interface Deployment {
  url: string;
  id: number;
  node_id: string;
  sha: string;
  ref: string;
  task: string;
  payload: Record<string, unknown> | string;
  original_environment: string;
  environment: string;
  description: string | null;
  creator: { login: string };
  created_at: string;
  updated_at: string;
  statuses_url: string;
  repository_url: string;
  transient_environment: boolean;
  production_environment: boolean;
}

/** A deployment status ("deployment-status" schema). */
export interface DeploymentStatus {
  url: string;
  id: number;
  node_id: string;
  state: string;
  creator: { login: string };
  description: string;
  environment: string;
  target_url: string;
  log_url: string;
  environment_url: string;
  created_at: string;
  updated_at: string;
  deployment_url: string;
  repository_url: string;
}

export interface Recorded {
  method: string;
  path: string;
  query: string;
  body: Record<string, unknown>;
  auth?: string;
}

/**
 * One page of a list, as GitHub pages it ("Using pagination in the REST API",
 * docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api): `per_page` items (default
 * 30, at most 100) of page `page` (default 1), and a Link header naming the first, previous, next and
 * last pages where there are such.
 */
export function githubPage<T>(items: T[], url: URL): { items: T[]; link?: string } {
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

/** "state" of create-deployment-status: "error" | "failure" | "inactive" | "in_progress" | "queued" | "pending" | "success". */
const DEPLOYMENT_STATES = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'];

type Send = (status: number, data: unknown, headers?: Record<string, string>) => void;

/** The stand-in: records every request; `deny` answers every call 403 (a fork's read-only token). */
export function fakeGitHub() {
  const requests: Recorded[] = [];
  /** The comments on each pull request, by its number; created ones get ids from 7001. */
  const issues = new Map<number, Comment[]>();
  /** Commit statuses per sha: context → state (the newest per context). */
  const commitStatuses = new Map<string, Map<string, string>>();
  const deployments: Deployment[] = [];
  const statuses = new Map<number, DeploymentStatus[]>();
  const ids = { comment: 7001, deployment: 555, status: 1 };
  let deny = false;
  let base = '';

  const handle = (req: IncomingMessage, body: Record<string, unknown>, send: Send) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const path = url.pathname;
    const method = req.method ?? '';
    requests.push({ method, path, query: url.search, body, auth: req.headers.authorization });
    if (deny) return send(403, { message: 'Resource not accessible by integration' });
    const repo = /^\/repos\/([^/]+)\/([^/]+)/.exec(path);
    const repoUrl = repo ? `${base}/repos/${repo[1]}/${repo[2]}` : base;
    const status = /\/statuses\/([0-9a-f]{40})$/.exec(path);
    if (method === 'POST' && status) return commitStatus(status[1]!, body, send);
    if (comments(method, path, url, body, send)) return;
    if (deploymentRoutes(method, path, url, body, repoUrl, send)) return;
    return send(404, { message: `fake GitHub has no ${method} ${path}` });
  };

  /** "Create a commit status": kept per sha and context, for required_contexts. */
  const commitStatus = (sha: string, body: Record<string, unknown>, send: Send) => {
    const contexts = commitStatuses.get(sha) ?? new Map<string, string>();
    contexts.set(String(body.context ?? 'default'), String(body.state));
    commitStatuses.set(sha, contexts);
    return send(201, { id: 1, ...body });
  };

  const comments = (method: string, path: string, url: URL, body: Record<string, unknown>, send: Send) => {
    const issue = /\/issues\/(\d+)\/comments$/.exec(path);
    const list = issue ? (issues.get(Number(issue[1])) ?? []) : [];
    if (issue) issues.set(Number(issue[1]), list);
    if (method === 'GET' && issue) {
      const { items, link } = githubPage(list, url);
      send(200, items, link ? { link } : {});
      return true;
    }
    if (method === 'POST' && issue) {
      list.push({ id: ids.comment++, body: String(body.body) });
      send(201, list.at(-1));
      return true;
    }
    const edit = /\/issues\/comments\/(\d+)$/.exec(path);
    const edited = edit && [...issues.values()].flat().find((c) => c.id === Number(edit[1]));
    if (method === 'PATCH' && edited) {
      edited.body = String(body.body);
      send(200, edited);
      return true;
    }
    return false;
  };

  const deploymentRoutes = (
    method: string,
    path: string,
    url: URL,
    body: Record<string, unknown>,
    repoUrl: string,
    send: Send,
  ) => {
    if (/^\/repos\/[^/]+\/[^/]+\/deployments$/.test(path)) {
      if (method === 'GET') listDeployments(url, send);
      else if (method === 'POST') createDeployment(body, repoUrl, send);
      else return false;
      return true;
    }
    const statusPath = /^\/repos\/[^/]+\/[^/]+\/deployments\/(\d+)\/statuses$/.exec(path);
    if (!statusPath) return false;
    const deployment = deployments.find((d) => d.id === Number(statusPath[1]));
    if (!deployment) send(404, { message: 'Not Found' });
    else if (method === 'GET') {
      const { items, link } = githubPage([...(statuses.get(deployment.id) ?? [])].reverse(), url);
      send(200, items, link ? { link } : {});
    } else if (method === 'POST') createStatus(deployment, body, repoUrl, send);
    else return false;
    return true;
  };

  /**
   * "List deployments": filtered by the `sha`, `ref`, `task` and `environment` query parameters,
   * newest first, a page at a time.
   */
  const listDeployments = (url: URL, send: Send) => {
    const query = url.searchParams;
    const matching = [...deployments]
      .reverse()
      .filter((d) =>
        ['sha', 'ref', 'task', 'environment'].every(
          (k) => !query.has(k) || d[k as keyof Deployment] === query.get(k),
        ),
      );
    const { items, link } = githubPage(matching, url);
    send(200, items, link ? { link } : {});
  };

  /**
   * "Create a deployment": `ref` required; `auto_merge` defaults to true, and merging the default
   * branch into a ref behind it answers 202 "Merged branch response" instead of a deployment (the
   * stand-in's pull request heads are behind their base); `required_contexts` omitted verifies "all
   * unique contexts", answering 409 when one is not success; `environment` defaults to production,
   * `production_environment` to "true when environment is production", `transient_environment` to false.
   */
  const createDeployment = (body: Record<string, unknown>, repoUrl: string, send: Send) => {
    const ref = body.ref;
    if (typeof ref !== 'string' || !ref)
      return send(422, { message: 'Validation Failed', errors: [{ field: 'ref', code: 'missing_field' }] });
    if (body.auto_merge !== false)
      return send(202, { message: `Auto-merged main into ${ref} on deployment.` });
    const contexts = [...(commitStatuses.get(ref)?.entries() ?? [])];
    const required = Array.isArray(body.required_contexts) ? (body.required_contexts as string[]) : undefined;
    const checked = required ? contexts.filter(([context]) => required.includes(context)) : contexts;
    if (checked.some(([, state]) => state !== 'success'))
      return send(409, { message: `Conflict: Commit status checks failed for ${ref}.` });
    const environment = typeof body.environment === 'string' ? body.environment : 'production';
    const id = ids.deployment++;
    const now = new Date().toISOString();
    const deployment: Deployment = {
      url: `${repoUrl}/deployments/${id}`,
      id,
      node_id: `DE_${id}`,
      sha: ref,
      ref,
      task: typeof body.task === 'string' ? body.task : 'deploy',
      payload: (body.payload as Deployment['payload']) ?? {},
      original_environment: environment,
      environment,
      description: typeof body.description === 'string' ? body.description : '',
      creator: { login: 'github-actions[bot]' },
      created_at: now,
      updated_at: now,
      statuses_url: `${repoUrl}/deployments/${id}/statuses`,
      repository_url: repoUrl,
      transient_environment: body.transient_environment === true,
      production_environment:
        typeof body.production_environment === 'boolean'
          ? body.production_environment
          : environment === 'production',
    };
    deployments.push(deployment);
    statuses.set(id, []);
    return send(201, deployment);
  };

  /**
   * "Create a deployment status": `state` one of the documented ones (else 422); `log_url` sets
   * `target_url` too; `auto_inactive` (default true) on a success "Adds a new inactive status to all
   * prior non-transient, non-production environment deployments with the same repository and
   * environment name … only added to deployments that had a success state": a transient one is
   * never touched, so a preview must mark its own earlier deployments inactive.
   */
  const createStatus = (
    deployment: Deployment,
    body: Record<string, unknown>,
    repoUrl: string,
    send: Send,
  ) => {
    const state = String(body.state ?? '');
    if (!DEPLOYMENT_STATES.includes(state))
      return send(422, { message: 'Validation Failed', errors: [{ field: 'state', code: 'invalid' }] });
    const made = addStatus(
      deployment,
      {
        state,
        description: String(body.description ?? ''),
        log_url: String(body.log_url ?? body.target_url ?? ''),
        environment_url: String(body.environment_url ?? ''),
      },
      repoUrl,
    );
    if (state === 'success' && body.auto_inactive !== false) autoInactivate(deployment, repoUrl);
    return send(201, made);
  };

  const addStatus = (
    deployment: Deployment,
    fields: { state: string; description: string; log_url: string; environment_url: string },
    repoUrl: string,
  ): DeploymentStatus => {
    const id = ids.status++;
    const now = new Date().toISOString();
    const made: DeploymentStatus = {
      url: `${repoUrl}/deployments/${deployment.id}/statuses/${id}`,
      id,
      node_id: `DES_${id}`,
      creator: { login: 'github-actions[bot]' },
      environment: deployment.environment,
      target_url: fields.log_url,
      created_at: now,
      updated_at: now,
      deployment_url: deployment.url,
      repository_url: repoUrl,
      ...fields,
    };
    statuses.get(deployment.id)!.push(made);
    return made;
  };

  const autoInactivate = (current: Deployment, repoUrl: string) => {
    for (const prior of deployments) {
      if (prior.id >= current.id || prior.environment !== current.environment) continue;
      if (prior.transient_environment || prior.production_environment) continue;
      if (latestState(prior.id) !== 'success') continue;
      addStatus(prior, { state: 'inactive', description: '', log_url: '', environment_url: '' }, repoUrl);
    }
  };

  const latestState = (id: number) => statuses.get(id)?.at(-1)?.state;

  const server: Server = createServer((req, res: ServerResponse) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const send: Send = (status, data, headers = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(data));
      };
      handle(req, raw ? (JSON.parse(raw) as Record<string, unknown>) : {}, send);
    });
  });

  return {
    requests,
    deployments,
    /** A deployment's statuses, oldest first. */
    statuses: (id: number) => statuses.get(id) ?? [],
    /** A deployment's newest status state. */
    latestState,
    /** The comments on a pull request (42 unless told), as the API holds them. */
    comments: (pull = 42) => issues.get(pull) ?? [],
    /** Puts comments on a pull request, as if others had written them. */
    seed: (pull: number, seeded: Comment[]) => issues.set(pull, seeded),
    denyAll: () => (deny = true),
    start: () =>
      new Promise<string>((r) =>
        server.listen(0, '127.0.0.1', () => {
          base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
          r(base);
        }),
      ),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
