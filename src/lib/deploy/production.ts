import { UserError } from '../core/errors.js';
import type { Log } from '../core/io.js';
import { CloudflareApiError, type CloudflareApi } from '../wrangler/api.js';
import type { VersionShare } from '../wrangler/output.js';
import type { WranglerSession } from '../wrangler/session.js';
import { latestRollout, listApplications, type ApplicationView, type RolloutView } from './containers.js';

/** One container application bound to the Worker, as production runs it. */
export interface ApplicationRecord {
  id: string;
  name: string;
  /** The image the application is configured with (what its instances run once rolled out). */
  image: string;
  instance_type?: string;
  /** The newest rollout of the application, when it has one. */
  rollout?: { id: string; status: string; image?: string };
}

/**
 * Production: the Worker deployment (every version and its percentage) and the image of each
 * container application bound to it. `wrangler rollback` restores only the first; `wrangler deploy`
 * changes both (the images through a rollout it does not wait for). The `previous-state` output.
 */
export interface ProductionState {
  versions: VersionShare[];
  applications: ApplicationRecord[];
  /** Set when the deploy after this state made a Worker rollback impossible, and why. */
  irreversible?: string;
}

export const NOTHING_LIVE: ProductionState = { versions: [], applications: [] };

/**
 * Reads production: the deployment through wrangler, then the applications whose Durable Object
 * namespace one of the live versions binds (the link Cloudflare keeps: an application's
 * durable_objects.namespace_id, which wrangler itself reads from the version's bindings before it
 * creates or modifies the application: ../shared/reference/cloudflare-api.md, "deploy with a
 * containers section"). A Worker without Durable Objects makes no Containers API call.
 */
export async function readProduction(
  session: WranglerSession,
  api: CloudflareApi,
  log: Log,
): Promise<ProductionState> {
  const versions = await session.deployment();
  const namespaces = new Set<string>();
  for (const { version_id } of versions)
    for (const id of await durableObjectNamespaces(session, version_id)) namespaces.add(id);
  if (!namespaces.size) return { versions, applications: [] };
  const bound = (await readableApplications(api, log)).filter((app) => namespaces.has(app.namespaceId ?? ''));
  const applications: ApplicationRecord[] = [];
  for (const app of bound) {
    const rollout = await latestRollout(api, app.id);
    applications.push({
      id: app.id,
      name: app.name,
      image: app.image,
      ...(app.instanceType ? { instance_type: app.instanceType } : {}),
      ...(rollout ? { rollout: rolloutRecord(rollout) } : {}),
    });
  }
  return { versions, applications };
}

/**
 * The account's container applications; none, with a warning, when the token may not read them (a
 * Worker with Durable Objects but no containers, deployed with a token scoped to Workers only).
 */
async function readableApplications(api: CloudflareApi, log: Log): Promise<ApplicationView[]> {
  try {
    return await listApplications(api);
  } catch (err) {
    if (!(err instanceof CloudflareApiError) || (err.status !== 401 && err.status !== 403)) throw err;
    log.warning(`${err.message}: container images are not recorded, so a rollback restores the Worker only.`);
    return [];
  }
}

function rolloutRecord(rollout: RolloutView): ApplicationRecord['rollout'] {
  return { id: rollout.id, status: rollout.status, ...(rollout.image ? { image: rollout.image } : {}) };
}

/** The Durable Object namespace ids a version binds (`wrangler versions view <id> --json`). */
async function durableObjectNamespaces(session: WranglerSession, versionId: string): Promise<string[]> {
  const view = await session.run(['versions', 'view', versionId, '--json', ...session.common]);
  if (view.code !== 0) return [];
  try {
    const doc = JSON.parse(view.stdout.slice(view.stdout.indexOf('{'))) as {
      resources?: { bindings?: Array<{ type?: string; namespace_id?: string }> };
    };
    return (doc.resources?.bindings ?? [])
      .filter((binding) => binding.type === 'durable_object_namespace' && binding.namespace_id)
      .map((binding) => binding.namespace_id!);
  } catch {
    return [];
  }
}

/** Two deployments serve the same: the same versions at the same percentages. */
export function sameDeployment(first: VersionShare[], second: VersionShare[]): boolean {
  const key = (shares: VersionShare[]) =>
    [...shares]
      .map((share) => `${share.version_id}@${share.percentage}`)
      .sort()
      .join(',');
  return key(first) === key(second);
}

/** `v1@60%, v2@40%`, or `v1` alone at 100%; `nothing` when no version is live. */
export function describeDeployment(versions: VersionShare[]): string {
  if (!versions.length) return 'nothing';
  if (versions.length === 1 && versions[0]!.percentage === 100) return versions[0]!.version_id;
  return versions.map((share) => `${share.version_id}@${share.percentage}%`).join(', ');
}

/** The recorded state from the `previous-state` input: checked, one clear line when it is not. */
export function parseState(input: string, text: string): ProductionState | undefined {
  if (!text.trim()) return undefined;
  let doc: Partial<ProductionState>;
  try {
    doc = JSON.parse(text) as Partial<ProductionState>;
  } catch {
    throw StateError(input, 'is not JSON');
  }
  const versions = doc.versions ?? [];
  if (
    !Array.isArray(versions) ||
    versions.some((share) => !share?.version_id || typeof share.percentage !== 'number')
  )
    throw StateError(input, 'has no valid "versions" ([{version_id, percentage}])');
  const applications = doc.applications ?? [];
  if (!Array.isArray(applications) || applications.some((app) => !app?.id || !app.image))
    throw StateError(input, 'has an application without "id" or "image"');
  return { versions, applications, ...(doc.irreversible ? { irreversible: String(doc.irreversible) } : {}) };
}

function StateError(input: string, what: string): UserError {
  return new UserError(`Input "${input}" ${what}: pass deploy's previous-state output unchanged.`);
}

/** Logs the state in one line per part. */
export function logState(log: Log, label: string, state: ProductionState): void {
  log.info(`${label}: Worker ${describeDeployment(state.versions)}`);
  for (const app of state.applications)
    log.info(
      `${label}: application ${app.name} on ${app.image}${app.rollout ? ` (rollout ${app.rollout.id} ${app.rollout.status})` : ''}`,
    );
}
