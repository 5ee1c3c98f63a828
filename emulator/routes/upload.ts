import type { Call } from '../router.js';
import type { CloudflareState, Module, Script, Version } from '../state.js';

type Binding = Record<string, unknown>;

/** Parses a multipart upload (wrangler's script and version uploads) with the platform's FormData. */
async function multipart(call: Call): Promise<{ metadata: Record<string, unknown>; modules: Module[] }> {
  const form = await new Response(call.body, {
    headers: { 'content-type': call.req.headers['content-type'] ?? '' },
  }).formData();
  let metadata: Record<string, unknown> = {};
  const modules: Module[] = [];
  for (const [name, value] of form.entries()) {
    if (name === 'metadata') {
      metadata = JSON.parse(typeof value === 'string' ? value : await value.text()) as Record<
        string,
        unknown
      >;
    } else if (typeof value !== 'string') {
      modules.push({
        name: value.name || name,
        type: value.type,
        content: Buffer.from(await value.arrayBuffer()),
      });
    }
  }
  return { metadata, modules };
}

/** Takes the secret values out of the bindings (kept with the version) and returns them by name. */
function takeSecrets(bindings: Binding[], live: Version | undefined): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const binding of bindings) {
    if (binding.type === 'secret_text') {
      secrets[String(binding.name)] = String(binding.text);
      delete binding.text; // never returned, as the API does
    }
  }
  // bindings_inherit=strict: secrets not re-sent are inherited from the live version.
  for (const binding of bindings) {
    const name = String(binding.name);
    if (binding.type === 'inherit' && live?.secrets[name] !== undefined) secrets[name] = live.secrets[name]!;
  }
  return secrets;
}

/** Adds the version an upload (PUT script or POST versions) describes to the script. */
export async function versionFromUpload(
  state: CloudflareState,
  script: Script,
  call: Call,
): Promise<Version> {
  const { metadata, modules } = await multipart(call);
  const annotations = (metadata.annotations ?? {}) as Record<string, string>;
  const migrations = metadata.migrations as { new_tag?: string } | undefined;
  if (migrations?.new_tag) script.migrationTag = migrations.new_tag;
  const bindings = ((metadata.bindings ?? []) as Binding[]).map((binding) => ({ ...binding }));
  const secrets = takeSecrets(bindings, state.liveVersion(script));
  return state.addVersion(script, {
    message: annotations['workers/message'],
    tag: annotations['workers/tag'],
    mainModule: String(metadata.main_module ?? modules[0]?.name ?? ''),
    modules,
    bindings,
    compatibilityDate: metadata.compatibility_date as string | undefined,
    compatibilityFlags: (metadata.compatibility_flags as string[] | undefined) ?? [],
    secrets,
    containerClasses: ((metadata.containers ?? []) as Array<{ class_name: string }>).map(
      (container) => container.class_name,
    ),
  });
}
