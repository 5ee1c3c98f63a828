import { CloudflareApiError, readJson, reply, type Call, type Router } from '../router.js';
import type { Deployment, Script, Version } from '../state.js';
import { ACCOUNT, requireScript, type Emulated } from './context.js';

interface DeploymentRequest {
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

/** The API's 10021: every version must exist and the percentages must add up to 100. */
function checkVersions(script: Script, versions: Deployment['versions']): void {
  for (const entry of versions) {
    if (!script.versions.some((version) => version.id === entry.version_id))
      throw new CloudflareApiError(400, 10021, `version ${entry.version_id} does not exist`);
  }
  if (versions.reduce((total, entry) => total + entry.percentage, 0) !== 100)
    throw new CloudflareApiError(400, 10021, 'version percentages must add up to 100');
}

/** The names of the secrets whose values differ between two versions, sorted. */
function changedSecrets(live: Version, target: Version): string[] {
  const names = new Set([...Object.keys(live.secrets), ...Object.keys(target.secrets)]);
  return [...names].filter((name) => live.secrets[name] !== target.secrets[name]).sort();
}

/**
 * The API's 10220. Rolling back across a change of secrets needs force (wrangler re-posts with
 * ?force=true). Only deploying an older version (a rollback) across a change of secrets is refused.
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
      `Rolling back would change secrets. The following secrets have changed: ${changed.join(', ')} [code: 10220]`,
    );
  }
}

async function createDeployment(emulated: Emulated, call: Call): Promise<void> {
  const { state, workers } = emulated;
  const script = requireScript(state, call);
  const body = readJson<DeploymentRequest>(call);
  const versions = body.versions ?? [];
  checkVersions(script, versions);
  const target = script.versions.find((version) => version.id === versions[0]?.version_id);
  refuseRollbackAcrossSecrets(call, state.liveVersion(script), target);
  const deployment = state.deploy(script, versions, body.annotations?.['workers/message']);
  await workers.open(script.name);
  reply(call, deploymentResult(deployment));
}

/** Deployments: list them, and create one (a deploy, or a rollback when the version is older). */
export function registerDeploymentRoutes(router: Router, emulated: Emulated): void {
  const { state } = emulated;
  router.on('GET', `${ACCOUNT}/workers/scripts/:name/deployments`, (call) =>
    reply(call, { deployments: requireScript(state, call).deployments.map(deploymentResult) }),
  );
  router.on('POST', `${ACCOUNT}/workers/scripts/:name/deployments`, (call) =>
    createDeployment(emulated, call),
  );
}
