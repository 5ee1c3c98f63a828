import { CloudflareApiError, readJson, reply, type Call, type Router } from '../router.js';
import type { CloudflareState, Deployment, Script, Version } from '../state.js';
import { ACCOUNT, requireScript, type Emulated } from './context.js';

export interface DeploymentRequest {
  strategy?: unknown;
  versions?: Deployment['versions'];
  annotations?: Record<string, string>;
}

function deploymentResult(deployment: Deployment) {
  return {
    id: deployment.id,
    source: deployment.source,
    strategy: 'percentage',
    author_email: 'slipway@example.test',
    created_on: deployment.createdOn,
    annotations: deployment.message ? { 'workers/message': deployment.message } : {},
    versions: deployment.versions,
  };
}

/**
 * "A deployment can consist of one or two versions of a Worker" (the API's own description, as the
 * cloudflare SDK wrangler bundles carries it: cli.js 120310-120313, workers.scripts.deployments).
 * wrangler refuses more client-side ("You must select at most 2 versions to deploy.", cli.js
 * 301517-301521; its hidden --max-versions "(when server-side limitation is lifted, we can update this
 * default …)", 301474-301479).
 */
const MAX_VERSIONS = 2;
/** wrangler's validateTrafficSubtotal allows the sum to miss 100 by EPSILON = 1e-3 (cli.js 301386-301392, 301422). */
const EPSILON = 1e-3;

/**
 * The body's strategy and versions, or the API's 10021 (validation error, as the emulator answers
 * every refused deployment; the API's own codes and words for these cases are in no source found).
 * wrangler always sends `strategy: "percentage"` (createDeployment, cli.js 153130-153148), the only
 * strategy there is.
 */
export function checkRequest(body: DeploymentRequest): Deployment['versions'] {
  if (body.strategy !== 'percentage')
    throw new CloudflareApiError(
      400,
      10021,
      `strategy must be "percentage" (got ${JSON.stringify(body.strategy)})`,
    );
  const versions = body.versions;
  if (!Array.isArray(versions) || versions.length < 1 || versions.length > MAX_VERSIONS)
    throw new CloudflareApiError(400, 10021, `a deployment must have 1 or ${MAX_VERSIONS} versions`);
  for (const entry of versions) {
    const { version_id: id, percentage } = entry ?? {};
    if (typeof id !== 'string' || typeof percentage !== 'number' || !(percentage >= 0 && percentage <= 100))
      throw new CloudflareApiError(
        400,
        10021,
        'each version needs a version_id and a percentage from 0 to 100',
      );
  }
  if (new Set(versions.map((entry) => entry.version_id)).size !== versions.length)
    throw new CloudflareApiError(400, 10021, 'a version may appear only once in a deployment');
  return versions.map(({ version_id, percentage }) => ({ version_id, percentage }));
}

/** The API's 10021: every version must exist and the percentages must add up to 100 (within EPSILON). */
export function checkVersions(script: Script, versions: Deployment['versions']): void {
  for (const entry of versions) {
    if (!script.versions.some((version) => version.id === entry.version_id))
      throw new CloudflareApiError(400, 10021, `version ${entry.version_id} does not exist`);
  }
  const sum = versions.reduce((total, entry) => total + entry.percentage, 0);
  if (Math.abs(sum - 100) > EPSILON)
    throw new CloudflareApiError(400, 10021, `version percentages must add up to 100 (got ${sum})`);
}

/** The names of the secrets whose values differ between two versions, sorted. */
function changedSecrets(live: Version, target: Version): string[] {
  const names = new Set([...Object.keys(live.secrets), ...Object.keys(target.secrets)]);
  return [...names].filter((name) => live.secrets[name] !== target.secrets[name]).sort();
}

/**
 * The API's 10220 (CANNOT_ROLLBACK_WITH_MODIFIED_SECERT_CODE, cli.js 302012). Rolling back across a
 * change of secrets needs force: wrangler re-posts with ?force=true after reading the names after
 * "The following secrets have changed:" (cli.js 302097-302115). The message is the API's as
 * wrangler's own tests mock it (cloudflare/workers-sdk packages/wrangler/src/__tests__/rollback.test.ts);
 * wrangler appends " [code: 10220]" itself. Only deploying an older version (a rollback) is refused.
 */
function refuseRollbackAcrossSecrets(
  call: Call,
  live: Version | undefined,
  target: Version | undefined,
): void {
  const forced = call.url.searchParams.get('force') === 'true';
  const changed = live && target && target.number < live.number ? changedSecrets(live, target) : [];
  if (changed.length && !forced) {
    throw new CloudflareApiError(
      400,
      10220,
      `A secret has changed since this version was active. If you are sure this is ok, add a ?force=true query parameter to allow the rollback. The following secrets have changed: ${changed.join(', ')}`,
    );
  }
}

/** "You can only roll back to the 100 most recently published versions" (rollbacks docs, Limits). */
const ROLLBACK_WINDOW = 100;

/**
 * Codes and messages of the rollback refusals the rollbacks docs describe
 * (https://developers.cloudflare.com/workers/configuration/versions-and-deployments/rollbacks/,
 * cloudflare-docs src/content/docs/workers/versions-and-deployments/rollbacks.mdx). No source gives
 * the versions API's answers; these are the legacy deployments API's as a wrangler maintainer
 * recorded them (cloudflare/workers-sdk issue #2756): 100147 "workers.api.error.deployment_too_old",
 * and 100140 "Failed to rollback due to external resources being modified
 * (durable-object:<tag>,r2:<name>)". The 400 status is the emulator's choice. Force does not pass them.
 */
const TOO_OLD = { code: 100147, message: 'workers.api.error.deployment_too_old' };
const RESOURCES_MODIFIED = 100140;

/** The versions a deployment would make live that are older than the live one: a rollback. */
function rollbackTargets(script: Script, live: Version | undefined, entries: Deployment['versions']) {
  const named = script.versions.filter((version) => entries.some((entry) => entry.version_id === version.id));
  return live ? named.filter((version) => version.number < live.number) : [];
}

/** The resource a binding names, as the refusal lists it, when it no longer exists. */
function deletedResource(state: CloudflareState, script: Script, binding: Record<string, unknown>) {
  if (binding.type === 'durable_object_namespace') {
    const ownClass = !binding.script_name || binding.script_name === script.name;
    const className = String(binding.class_name);
    return ownClass && script.deletedClasses.has(className) ? `durable-object:${className}` : undefined;
  }
  const resourceByType: Record<string, string> = {
    kv_namespace: `kv:${String(binding.namespace_id)}`,
    r2_bucket: `r2:${String(binding.bucket_name)}`,
    queue: `queue:${String(binding.queue_name)}`,
  };
  const resource = resourceByType[String(binding.type)];
  return resource && state.deletedResources.has(resource) ? resource : undefined;
}

/**
 * The rollbacks docs' "Bindings" limits: no rollback across a Durable Object migration (the
 * version's migration tag is not the script's) nor to a version binding an R2 bucket, KV namespace,
 * queue or (here also) a Durable Object class that no longer exists.
 */
function modifiedResources(state: CloudflareState, script: Script, version: Version): string[] {
  const modified =
    version.migrationTag === script.migrationTag ? [] : [`durable-object:${script.migrationTag}`];
  for (const binding of version.bindings) {
    const resource = deletedResource(state, script, binding);
    if (resource && !modified.includes(resource)) modified.push(resource);
  }
  return modified;
}

/** Refuses a rollback the rollbacks docs' limits forbid: too old, or across modified resources. */
function refuseRollbackLimits(state: CloudflareState, script: Script, targets: Version[]): void {
  const newestTooOld = script.versions.length - ROLLBACK_WINDOW;
  if (targets.some((version) => version.number <= newestTooOld))
    throw new CloudflareApiError(400, TOO_OLD.code, TOO_OLD.message);
  const modified = targets.flatMap((version) => modifiedResources(state, script, version));
  if (modified.length)
    throw new CloudflareApiError(
      400,
      RESOURCES_MODIFIED,
      `Failed to rollback due to external resources being modified (${[...new Set(modified)].join(',')})`,
    );
}

async function createDeployment(emulated: Emulated, call: Call): Promise<void> {
  const { state, workers } = emulated;
  const script = requireScript(state, call);
  const body = readJson<DeploymentRequest>(call);
  const versions = checkRequest(body);
  checkVersions(script, versions);
  const live = state.liveVersion(script);
  refuseRollbackLimits(state, script, rollbackTargets(script, live, versions));
  const target = script.versions.find((version) => version.id === versions[0]?.version_id);
  refuseRollbackAcrossSecrets(call, live, target);
  const deployment = state.deploy(script, versions, body.annotations?.['workers/message']);
  await workers.open(script.name);
  reply(call, deploymentResult(deployment));
}

/**
 * Deployments: list them (newest first, every one kept: a split's history reads back 10 → 50 → 100),
 * and create one (a deploy, or a rollback when the version is older).
 */
export function registerDeploymentRoutes(router: Router, emulated: Emulated): void {
  const { state } = emulated;
  router.on('GET', `${ACCOUNT}/workers/scripts/:name/deployments`, (call) =>
    reply(call, { deployments: requireScript(state, call).deployments.map(deploymentResult) }),
  );
  router.on('POST', `${ACCOUNT}/workers/scripts/:name/deployments`, (call) =>
    createDeployment(emulated, call),
  );
}
