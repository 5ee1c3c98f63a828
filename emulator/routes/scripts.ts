import { reply, type Call, type Router } from '../router.js';
import type { CloudflareState, Script } from '../state.js';
import { ACCOUNT, requireScript, type Emulated } from './context.js';
import { answerUpload, versionFromUpload } from './upload.js';

const SCRIPT_SETTINGS = { logpush: false, tail_consumers: null, observability: null };

function scriptSummary(script: Script) {
  return {
    id: script.name,
    tag: script.tag,
    etag: script.tag,
    created_on: script.createdOn,
    migration_tag: script.migrationTag,
  };
}

/** The upload's version; a refused upload that would have created the script leaves no script. */
async function uploadedVersion(state: CloudflareState, call: Call) {
  const name = call.params.name!;
  const existed = state.script(name) !== undefined;
  const script = state.ensureScript(name);
  try {
    return { script, version: await versionFromUpload(state, script, call, false) };
  } catch (err) {
    if (!existed) state.scripts.delete(name);
    throw err;
  }
}

/**
 * PUT script: wrangler's first deploy, and every deploy that applies a Durable Object migration or
 * has containers (canUseNewVersionsDeploymentsApi, cli.js 311996), uploads the script, which also
 * deploys it at 100%.
 */
async function uploadScript(emulated: Emulated, call: Call): Promise<void> {
  const { state, workers } = emulated;
  const { script, version } = await uploadedVersion(state, call);
  const deployment = state.deploy(script, [{ version_id: version.id, percentage: 100 }], version.message);
  await workers.open(script.name);
  reply(call, {
    id: script.name,
    tag: script.tag,
    etag: version.id.replace(/-/g, ''),
    deployment_id: version.id,
    startup_time_ms: 1,
    created_on: script.createdOn,
    modified_on: deployment.createdOn,
    handlers: ['fetch'],
    compatibility_date: version.compatibilityDate,
  });
}

/** Scripts: the service, the script list, the script upload, settings and script-settings. */
export function registerScriptRoutes(router: Router, emulated: Emulated): void {
  const { state } = emulated;
  router.on('GET', `${ACCOUNT}/workers/services/:name`, (call) => {
    const script = requireScript(state, call);
    reply(call, {
      id: script.name,
      default_environment: {
        environment: 'production',
        script: { id: script.name, tag: script.tag, etag: script.tag, migration_tag: script.migrationTag },
      },
      created_on: script.createdOn,
    });
  });
  router.on('GET', `${ACCOUNT}/workers/scripts`, (call) =>
    reply(call, [...state.scripts.values()].map(scriptSummary)),
  );
  router.on('PUT', `${ACCOUNT}/workers/scripts/:name`, (call) =>
    answerUpload(call, () => uploadScript(emulated, call)),
  );
  router.on('GET', `${ACCOUNT}/workers/scripts/:name/settings`, (call) =>
    reply(call, {
      bindings: [],
      logpush: false,
      tail_consumers: null,
      compatibility_date: state.liveVersion(requireScript(state, call))?.compatibilityDate,
    }),
  );
  // The script's secrets, names and types only (values never come back): wrangler's API client
  // `workers.scripts.secrets.list` (cli.js 120546) and `wrangler secret list`; since 4.1xx, deploy's
  // checkRemoteSecretsOverride reads it to refuse a var or binding named like an existing secret,
  // and takes 10007 as "a new Worker". The newest version carries the script's secrets.
  router.on('GET', `${ACCOUNT}/workers/scripts/:name/secrets`, (call) => {
    const latest = requireScript(state, call).versions.at(-1);
    reply(
      call,
      Object.keys(latest?.secrets ?? {}).map((name) => ({ name, type: 'secret_text' })),
    );
  });
  router.on('GET', `${ACCOUNT}/workers/scripts/:name/script-settings`, (call) =>
    reply(call, SCRIPT_SETTINGS),
  );
  router.on('PATCH', `${ACCOUNT}/workers/scripts/:name/script-settings`, (call) =>
    reply(call, SCRIPT_SETTINGS),
  );
}
