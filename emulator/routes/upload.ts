import { CloudflareApiError, send, type Call } from '../router.js';
import type { CloudflareState, Module, Script, Version } from '../state.js';

type Binding = Record<string, unknown>;

/** One Durable Object migration step (wrangler sends them under `steps`, cli.js 302828-302895). */
interface MigrationStep {
  new_classes?: string[];
  new_sqlite_classes?: string[];
  deleted_classes?: string[];
}

/** The upload's `migrations`: `{old_tag?, new_tag, steps}` from wrangler, or one flat step. */
interface Migrations extends MigrationStep {
  old_tag?: string;
  new_tag?: string;
  steps?: MigrationStep[];
}

/** The upload's metadata part, as wrangler's createWorkerUploadForm writes it (cli.js 161647-161675). */
export interface UploadMetadata {
  main_module?: string;
  bindings?: Binding[];
  keep_bindings?: string[];
  migrations?: Migrations;
  annotations?: Record<string, string>;
  compatibility_date?: string;
  compatibility_flags?: string[];
  containers?: Array<{ class_name: string }>;
}

/** One entry of the API envelope's `errors`. */
export interface ApiErrorEntry {
  code: number;
  message: string;
}

/**
 * Several API errors answered together: the API reports every unresolvable inherit binding as its
 * own entry of `errors`, and wrangler reads each one as a note (handleMissingSecretsError, cli.js
 * 302805-302818). The router answers one error per CloudflareApiError, so uploads go through
 * answerUpload, which sends them all.
 */
export class CloudflareApiErrors extends CloudflareApiError {
  constructor(
    status: number,
    readonly errors: ApiErrorEntry[],
  ) {
    super(status, errors[0]!.code, errors.map((error) => error.message).join('\n'));
  }
}

/** Runs an upload route, answering a CloudflareApiErrors with all its errors in the envelope. */
export async function answerUpload(call: Call, upload: () => Promise<void>): Promise<void> {
  try {
    await upload();
  } catch (err) {
    if (!(err instanceof CloudflareApiErrors)) throw err;
    send(call.res, err.status, { success: false, errors: err.errors, messages: [], result: null });
  }
}

/** The binding types wrangler's keepSecrets asks to keep (cli.js 161639-161642). */
const SECRET_TYPES = ['secret_text', 'secret_key'];

/**
 * INVALID_INHERIT_BINDING_CODE (cli.js 302775-302779). The message is the API's as wrangler's own
 * tests mock it (cloudflare/workers-sdk packages/wrangler/src/__tests__/deploy/secrets.test.ts,
 * "inherit binding 'API_KEY' is invalid: previous version does not have binding named 'API_KEY'");
 * wrangler matches /^inherit binding '(.+?)' is invalid/ on it (cli.js 302809). The 400 status is
 * the emulator's choice: no source gives it.
 */
const INVALID_INHERIT_BINDING = 10057;

/**
 * A version upload carrying a Durable Object migration: "A `wrangler versions upload` that includes
 * a Durable Object class lifecycle change is rejected with error 10211" (cloudflare-docs
 * src/content/docs/workers/versions-and-deployments/gradual-deployments/with-durable-objects.mdx).
 * The message is as public build logs quote the API's answer; the 400 status is the emulator's.
 */
const MIGRATION_IN_VERSION_UPLOAD = 10211;
const MIGRATION_IN_VERSION_UPLOAD_MESSAGE =
  'Version upload failed. You attempted to upload a version of a Worker that includes a Durable Object migration, but migrations must be fully applied via a non-versioned deployment.';

/** Parses a multipart upload (wrangler's script and version uploads) with the platform's FormData. */
async function multipart(call: Call): Promise<{ metadata: UploadMetadata; modules: Module[] }> {
  const form = await new Response(call.body, {
    headers: { 'content-type': call.req.headers['content-type'] ?? '' },
  }).formData();
  let metadata: UploadMetadata = {};
  const modules: Module[] = [];
  for (const [name, value] of form.entries()) {
    if (name === 'metadata') {
      metadata = JSON.parse(typeof value === 'string' ? value : await value.text()) as UploadMetadata;
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

/**
 * Replaces each `{"type":"inherit","name":X}` with the previous version's binding X (a copy; a
 * secret's value is picked up by takeSecrets). wrangler sends inherits for `versions upload` and
 * deploys with secrets.required (addRequiredSecretsInheritBindings, cli.js 302784-302804) and for
 * every binding of `versions secret put` (cli.js 302162-302186). Under bindings_inherit=strict, which
 * wrangler's deploy and versions upload send (cli.js 303278, 312077, 312134), an inherit the previous
 * version cannot satisfy is refused with 10057, all of them at once. `versions secret put` posts
 * without strict (cli.js 302220-302234); there an unresolvable inherit is dropped, which is what
 * "strict" implies (unverified).
 */
function resolveInherits(sent: Binding[], previous: Version | undefined, strict: boolean): Binding[] {
  const resolved: Binding[] = [];
  const refused: ApiErrorEntry[] = [];
  for (const binding of sent) {
    if (binding.type !== 'inherit') {
      resolved.push({ ...binding });
      continue;
    }
    const name = String(binding.name);
    const inherited = previous?.bindings.find((candidate) => candidate.name === name);
    if (inherited) resolved.push({ ...inherited });
    else if (strict)
      refused.push({
        code: INVALID_INHERIT_BINDING,
        message: `inherit binding '${name}' is invalid: previous version does not have binding named '${name}'`,
      });
  }
  if (refused.length) throw new CloudflareApiErrors(400, refused);
  return resolved;
}

/**
 * The binding types kept from the previous upload. With `keep_bindings` ("To add new bindings without
 * removing existing bindings, include `keep_bindings` in the upload metadata", cloudflare-docs
 * src/content/docs/cloudflare-for-platforms/workers-for-platforms/configuration/bindings.mdx),
 * exactly those: wrangler sends ["plain_text","json"] for --keep-vars, ["secret_text","secret_key"]
 * for deploy --secrets-file and every versions upload (cli.js 161634-161646, 303204-303207, 311966-
 * 311967), and only ["secret_key"] when `versions secret` replaces every secret (cli.js 302187-
 * 302190). A plain deploy sends none (keepSecrets is `keepVars || !!secretsFile`, cli.js 311967), yet
 * "secrets are never deleted by deployments" (wrangler's --keep-vars help, cli.js 235301-235305), and
 * secrets "were implicitly inherited bindings before" wrangler listed them (cloudflare/workers-sdk
 * PR #5296): without keep_bindings the secret types are kept.
 */
function keptTypes(metadata: UploadMetadata): string[] {
  return Array.isArray(metadata.keep_bindings) ? metadata.keep_bindings : SECRET_TYPES;
}

/** Adds the previous version's bindings of the kept types that the upload does not re-send by name. */
function keepBindings(bindings: Binding[], previous: Version | undefined, types: string[]): Binding[] {
  const sentNames = new Set(bindings.map((binding) => String(binding.name)));
  const kept = (previous?.bindings ?? []).filter(
    (binding) => types.includes(String(binding.type)) && !sentNames.has(String(binding.name)),
  );
  return [...bindings, ...kept.map((binding) => ({ ...binding }))];
}

/**
 * Takes the secret values out of the bindings (kept with the version, never returned, as the API
 * does): a sent secret_text carries `text`; an inherited or kept one takes the previous version's.
 */
function takeSecrets(bindings: Binding[], previous: Version | undefined): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const binding of bindings) {
    if (binding.type !== 'secret_text') continue;
    const name = String(binding.name);
    const value = 'text' in binding ? String(binding.text) : previous?.secrets[name];
    if (value !== undefined) secrets[name] = value;
    delete binding.text;
  }
  return secrets;
}

/** The version's bindings (inherits resolved, kept types carried over) and its secret values. */
export function uploadedBindings(
  metadata: UploadMetadata,
  previous: Version | undefined,
  strict: boolean,
): { bindings: Binding[]; secrets: Record<string, string> } {
  const resolved = resolveInherits(metadata.bindings ?? [], previous, strict);
  const bindings = keepBindings(resolved, previous, keptTypes(metadata));
  return { bindings, secrets: takeSecrets(bindings, previous) };
}

/**
 * Applies the upload's Durable Object migrations to the script: its tag becomes `new_tag`, and the
 * classes of `deleted_classes` are gone (until a later `new_classes` re-creates one), so a version
 * binding them cannot be rolled back to (rollbacks docs, "Bindings" limits).
 */
export function applyMigrations(script: Script, migrations: Migrations | undefined): void {
  if (!migrations) return;
  for (const step of migrations.steps ?? [migrations]) {
    const created = [...(step.new_classes ?? []), ...(step.new_sqlite_classes ?? [])];
    for (const className of created) script.deletedClasses.delete(className);
    for (const className of step.deleted_classes ?? []) script.deletedClasses.add(className);
  }
  if (migrations.new_tag) script.migrationTag = migrations.new_tag;
}

/**
 * Adds the version an upload describes to the script: `versioned` for POST versions (a version
 * upload, which may not carry a migration), not for PUT script (a deploy). Refusals come before any
 * change to the script.
 */
export async function versionFromUpload(
  state: CloudflareState,
  script: Script,
  call: Call,
  versioned: boolean,
): Promise<Version> {
  const { metadata, modules } = await multipart(call);
  if (versioned && metadata.migrations)
    throw new CloudflareApiError(400, MIGRATION_IN_VERSION_UPLOAD, MIGRATION_IN_VERSION_UPLOAD_MESSAGE);
  const strict = call.url.searchParams.get('bindings_inherit') === 'strict';
  const { bindings, secrets } = uploadedBindings(metadata, state.latestVersion(script), strict);
  applyMigrations(script, metadata.migrations);
  const annotations = metadata.annotations ?? {};
  return state.addVersion(script, {
    message: annotations['workers/message'],
    tag: annotations['workers/tag'],
    alias: annotations['workers/alias'],
    mainModule: String(metadata.main_module ?? modules[0]?.name ?? ''),
    modules,
    bindings,
    compatibilityDate: metadata.compatibility_date,
    compatibilityFlags: metadata.compatibility_flags ?? [],
    secrets,
    containerClasses: (metadata.containers ?? []).map((container) => container.class_name),
  });
}
