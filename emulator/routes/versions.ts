import { CloudflareApiError, reply, type Router } from '../router.js';
import type { CloudflareState, Script, Version } from '../state.js';
import { ACCOUNT, requireScript, type Emulated } from './context.js';
import { answerUpload, versionFromUpload } from './upload.js';

/**
 * Whether the version gets preview URLs: "Preview URLs are not generated for Workers that implement
 * a Durable Object, including Containers" (cloudflare-docs src/content/docs/workers/
 * versions-and-deployments/preview-urls.mdx, "Limitations"; version-urls.mdx says the same). A
 * version implements one when it binds a Durable Object class of its own script or has containers.
 */
export function hasPreview(script: Script, version: Version): boolean {
  const ownDurableObject = version.bindings.some(
    (binding) =>
      binding.type === 'durable_object_namespace' &&
      (!binding.script_name || binding.script_name === script.name),
  );
  return !ownDurableObject && version.containerClasses.length === 0;
}

/**
 * A version as the API returns it (secret values are never in it). wrangler reads
 * `metadata.has_preview` after an upload (cli.js 303290-303291) and prints preview URLs only when it
 * is true and the script's subdomain has previews_enabled (cli.js 303367-303382); it sends the
 * preview alias as the `workers/alias` annotation (cli.js 303211-303215), kept here.
 */
function versionResult(state: CloudflareState, script: Script, version: Version) {
  return {
    id: version.id,
    number: version.number,
    metadata: {
      author_email: 'slipway@example.test',
      author_id: 'emulator',
      created_on: version.createdOn,
      modified_on: version.createdOn,
      source: 'wrangler',
      has_preview: hasPreview(script, version),
    },
    annotations: {
      ...(version.message ? { 'workers/message': version.message } : {}),
      ...(version.tag ? { 'workers/tag': version.tag } : {}),
      ...(version.alias ? { 'workers/alias': version.alias } : {}),
      'workers/triggered_by': 'upload',
    },
    resources: {
      script: { etag: version.id.replace(/-/g, ''), handlers: ['fetch'], last_deployed_from: 'wrangler' },
      script_runtime: {
        compatibility_date: version.compatibilityDate,
        compatibility_flags: version.compatibilityFlags,
        usage_model: 'standard',
      },
      bindings: version.bindings.map((binding) =>
        binding.type === 'durable_object_namespace' && !binding.script_name
          ? { ...binding, namespace_id: state.namespace(script, String(binding.class_name)) }
          : binding,
      ),
    },
    script_name: script.name,
  };
}

/** Versions: upload one (without deploying it), list them newest first, read one. */
export function registerVersionRoutes(router: Router, { state }: Emulated): void {
  router.on('POST', `${ACCOUNT}/workers/scripts/:name/versions`, (call) =>
    answerUpload(call, async () => {
      const script = requireScript(state, call);
      const version = await versionFromUpload(state, script, call, true);
      reply(call, { ...versionResult(state, script, version), startup_time_ms: 1 });
    }),
  );
  router.on('GET', `${ACCOUNT}/workers/scripts/:name/versions`, (call) => {
    const script = requireScript(state, call);
    reply(call, {
      items: [...script.versions].reverse().map((version) => versionResult(state, script, version)),
    });
  });
  router.on('GET', `${ACCOUNT}/workers/scripts/:name/versions/:id`, (call) => {
    const script = requireScript(state, call);
    const version = script.versions.find((candidate) => candidate.id === call.params.id);
    if (!version) throw new CloudflareApiError(404, 10223, `The version ${call.params.id} does not exist.`);
    reply(call, versionResult(state, script, version));
  });
}
