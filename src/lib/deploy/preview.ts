import { UserError } from '../core/errors.js';
import type { Deps } from '../core/io.js';
import { cell, facts, link } from '../core/markdown.js';
import { lastLine } from '../core/text.js';
import { cloudflareApi, type CloudflareApi } from '../wrangler/api.js';
import type { WranglerRunResult } from '../wrangler/cli.js';
import { findWranglerConfig, workerSettings } from '../wrangler/config.js';
import { errorDetail } from '../wrangler/output.js';
import type { DeployOptions, DeployOutputs, DeployResult, DeploySession } from './deploy.js';
import {
  describeDeployment,
  logState,
  readProduction,
  sameDeployment,
  type ProductionState,
} from './production.js';

/**
 * A pull request's preview: `wrangler versions upload --preview-alias <alias>` uploads a version that
 * serves no production traffic, reachable at its preview URLs when Cloudflare generates them. Sources:
 * - Cloudflare's docs, cloudflare-docs src/content/docs/workers/versions-and-deployments/
 *   preview-urls.mdx: the URL formats ("`<VERSION_PREFIX OR ALIAS>-<WORKER_NAME>.<SUBDOMAIN>.workers.dev`"),
 *   the alias rules ("Rules and limitations") and "Preview URLs are not generated for Workers that
 *   implement a Durable Object, including Containers and Sandbox Workers" ("Limitations").
 * - wrangler 4.86 (wrangler-dist/cli.js): the alias goes to the API as the `workers/alias` annotation
 *   (303211-303215), unvalidated (303726); the URLs are printed and written as `preview_url` and
 *   `preview_alias_url` only when the upload's `metadata.has_preview` and the script's subdomain
 *   `previews_enabled` are both true (303290-303291, 303365-303382, 303768-303778).
 */
export const PREVIEW_DOCS =
  'https://developers.cloudflare.com/workers/versions-and-deployments/preview-urls/';

/** Why a Worker with a Durable Object (a container Worker among them) has no preview URL, with the docs. */
export const NO_PREVIEW_FOR_DURABLE_OBJECTS = `Cloudflare generates no preview URL for a Worker that implements a Durable Object, including Containers ("Preview URLs are not generated for Workers that implement a Durable Object, including Containers and Sandbox Workers": ${link('Preview URLs, Limitations', `${PREVIEW_DOCS}#limitations`)})`;

/** deploy's preview-note for such a Worker: no URL, and nothing live changed. */
export const NO_PREVIEW_NOTE = `${NO_PREVIEW_FOR_DURABLE_OBJECTS}. The version was uploaded and serves no traffic; production, and the image its containers run, are untouched.`;

/** Preview URLs are DNS labels: "must not exceed 63 characters due to DNS label limits" (preview-urls.mdx). */
export const MAX_PREVIEW_LABEL = 63;

/**
 * What is wrong with an alias, by Cloudflare's rules ("Aliases must use only lowercase letters,
 * numbers, and dashes." "Aliases must begin with a lowercase letter."); undefined when it is fine.
 * wrangler passes an explicit --preview-alias through unchecked (cli.js 303726), so the kit checks.
 */
export function aliasProblem(alias: string): string | undefined {
  if (!alias) return 'it is empty';
  if (!/^[a-z]/.test(alias)) return 'an alias starts with a lowercase letter';
  if (!/^[a-z0-9-]+$/.test(alias)) return 'an alias takes only lowercase letters, digits and dashes';
  return undefined;
}

/**
 * What is wrong with `<alias>-<worker>` as a preview URL's first label: "The alias and Worker name
 * combined (with a dash) must not exceed 63 characters due to DNS label limits" (preview-urls.mdx).
 */
export function aliasLengthProblem(alias: string, worker: string): string | undefined {
  const label = `${alias}-${worker}`;
  if (label.length <= MAX_PREVIEW_LABEL) return undefined;
  return `with the Worker's name, "${label}" is ${label.length} characters, over the ${MAX_PREVIEW_LABEL} a DNS label allows`;
}

/** The `preview-alias` input: the alias, or undefined when empty; a bad one is one line. */
export function parsePreviewAlias(input: string, value: string): string | undefined {
  const alias = value.trim();
  if (!alias) return undefined;
  // The Worker's name is not known yet: an alias leaving no room for "-" and one character is too long.
  const tooLong = alias.length > MAX_PREVIEW_LABEL - 2;
  const problem =
    aliasProblem(alias) ??
    (tooLong
      ? `it is ${alias.length} characters, and "<alias>-<worker>" must fit in the ${MAX_PREVIEW_LABEL} a DNS label allows`
      : undefined);
  if (problem)
    throw new UserError(
      `Input "${input}" is "${alias}": ${problem} (Cloudflare's preview alias rules), such as pr-7.`,
    );
  return alias;
}

/** Inputs a preview cannot take with it: refused before anything runs. */
export function previewRefusal(options: DeployOptions): void {
  if (!options.previewAlias) return;
  const refuse = (input: string, why: string) => {
    throw new UserError(
      `Input "preview-alias" uploads a preview, which ${why}: leave "${input}" unset with it.`,
    );
  };
  if (options.dryRun) refuse('dry-run', 'reaches Cloudflare (a dry run does not)');
  if (options.gradual)
    refuse('strategy', 'never sends production traffic to the version (strategy gradual does)');
}

/** What a preview upload works with: deploy's session and `wrangler deploy`'s arguments. */
export interface PreviewRun extends DeploySession {
  options: DeployOptions & { previewAlias: string };
  /** wrangler deploy's arguments (the first is "deploy"): versions upload takes the same. */
  args: string[];
}

/**
 * Uploads the preview: records production, runs `wrangler versions upload --preview-alias`, reads
 * production again and fails loudly if it changed (a preview never deploys), and says which preview
 * URLs Cloudflare made, or why there are none.
 */
export async function previewUpload(run: PreviewRun): Promise<DeployResult> {
  const { session, deps, options } = run;
  const alias = options.previewAlias;
  checkAliasLength(alias, configuredName(session.cwd, options));
  if (options.image)
    deps.log.warning(
      `Input "image" (${options.image}) is not used: a preview uploads a Worker version only (versions upload ships no container image), so the containers keep production's image.`,
    );
  const api = cloudflareApi(session.connection, deps);
  const before = await readProduction(session, api, deps.log);
  logState(deps.log, 'Live before the preview upload', before);
  const uploadArgs = ['versions', 'upload', ...run.args.slice(1), `--preview-alias=${alias}`];
  const uploaded = await deps.log.group(`wrangler versions upload --preview-alias=${alias}`, () =>
    run.wrangler(uploadArgs, false),
  );
  const after = await readProduction(session, api, deps.log).catch((err: Error) => err);
  const urls = await previewUrls(uploaded, api, deps);
  return previewResult({ alias, uploaded, before, after, urls });
}

/** The Worker's name as the config gives it (JSON configs only), for the length check before uploading. */
function configuredName(cwd: string, options: DeployOptions): string | undefined {
  try {
    return workerSettings(findWranglerConfig(cwd, options.config), options.environment)?.name;
  } catch {
    return undefined; // wrangler says what is wrong with the config itself
  }
}

function checkAliasLength(alias: string, worker: string | undefined): void {
  const problem = worker ? aliasLengthProblem(alias, worker) : undefined;
  if (problem)
    throw new UserError(
      `Input "preview-alias" is "${alias}": ${problem} (Cloudflare's preview alias rules): use a shorter alias.`,
    );
}

/** The preview URLs wrangler reported, or why there are none. */
interface PreviewUrls {
  url: string;
  aliasUrl: string;
  /** Why there is no preview URL; '' when there is one. */
  note: string;
}

/**
 * The URLs from wrangler's output; without them, the reason read from what wrangler itself reads
 * (cli.js 303290-303291, 303367-303369): the version's `metadata.has_preview` (false for a Worker
 * with a Durable Object), then the script's subdomain `previews_enabled` ("Disabling Preview URLs will
 * disable routing to both versioned and aliased preview URLs", preview-urls.mdx).
 */
async function previewUrls(
  uploaded: WranglerRunResult,
  api: CloudflareApi,
  deps: Deps,
): Promise<PreviewUrls> {
  const { previewUrl = '', previewAliasUrl = '', versionId, workerName } = uploaded.outcome;
  const found = { url: previewUrl, aliasUrl: previewAliasUrl, note: '' };
  if (previewUrl || uploaded.code !== 0 || !versionId || !workerName) return found;
  const script = `workers/scripts/${encodeURIComponent(workerName)}`;
  try {
    const version = await api.call<{ metadata?: { has_preview?: boolean } }>(
      'GET',
      `${script}/versions/${versionId}`,
    );
    if (version.metadata?.has_preview === false) return { ...found, note: NO_PREVIEW_NOTE };
    const subdomain = await api.call<{ previews_enabled?: boolean }>('GET', `${script}/subdomain`);
    if (subdomain.previews_enabled === false) return { ...found, note: PREVIEWS_OFF };
  } catch (err) {
    deps.log.warning(`Could not read why there is no preview URL: ${(err as Error).message}`);
  }
  return { ...found, note: 'wrangler reported no preview URL for this version.' };
}

const PREVIEWS_OFF = `Preview URLs are off for this Worker: set "preview_urls": true (or workers_dev, which it follows when unset) in its wrangler config (${link('Toggle Preview URLs', `${PREVIEW_DOCS}#toggle-preview-urls-enable-or-disable`)}).`;

interface Uploaded {
  alias: string;
  uploaded: WranglerRunResult;
  before: ProductionState;
  /** Production read again, or why it could not be. */
  after: ProductionState | Error;
  urls: PreviewUrls;
}

/** The outputs, the summary, and the failure: the upload's, or production changing under it. */
function previewResult(done: Uploaded): DeployResult {
  const { uploaded, before, after, urls } = done;
  const versionId = uploaded.outcome.versionId ?? '';
  const changed = after instanceof Error ? undefined : productionChange(before, after);
  const outputs: DeployOutputs = {
    versionId,
    previousVersionId: before.versions[0]?.version_id ?? '',
    deploymentUrl: '',
    workerName: uploaded.outcome.workerName ?? '',
    deployed: false,
    liveVersionId: (after instanceof Error ? before : after).versions[0]?.version_id ?? '',
    productionChanged: changed !== undefined,
    previousState: JSON.stringify(before),
    deployedState: JSON.stringify(after instanceof Error ? before : after),
    reversible: true,
    previewUrl: urls.url,
    previewAliasUrl: urls.aliasUrl,
    previewNote: urls.note,
  };
  // A TOML config's Worker name is known only now, from wrangler: too long, the alias URL cannot exist.
  const worker = uploaded.outcome.workerName;
  const tooLong = worker ? aliasLengthProblem(done.alias, worker) : undefined;
  const failure =
    previewFailure(uploaded, versionId, changed, after) ??
    (tooLong &&
      `The preview uploaded (version ${versionId}), but its alias cannot be a preview URL: ${tooLong}; use a shorter preview-alias.`);
  return { outputs, failure, summary: previewSummary(done, outputs, failure) };
}

/** How production differs after the upload (the Worker deployment, a container image); undefined when it does not. */
function productionChange(before: ProductionState, after: ProductionState): string | undefined {
  const changes: string[] = [];
  if (!sameDeployment(before.versions, after.versions))
    changes.push(
      `the Worker went from ${describeDeployment(before.versions)} to ${describeDeployment(after.versions)}`,
    );
  for (const app of after.applications) {
    const old = before.applications.find((candidate) => candidate.id === app.id);
    if (old && old.image !== app.image) changes.push(`${app.name} went from ${old.image} to ${app.image}`);
  }
  return changes.length ? changes.join('; ') : undefined;
}

function previewFailure(
  uploaded: WranglerRunResult,
  versionId: string,
  changed: string | undefined,
  after: ProductionState | Error,
): string | undefined {
  if (uploaded.code !== 0 || !versionId) {
    const said = [
      uploaded.outcome.failure?.message ?? lastLine(uploaded.stderr || uploaded.stdout),
      errorDetail(`${uploaded.stdout}\n${uploaded.stderr}`),
    ]
      .filter(Boolean)
      .join(' ');
    const code = uploaded.outcome.failure?.code;
    return `wrangler versions upload failed${code ? ` (code ${code})` : ''}: ${said || 'no message'}; production is unchanged.`;
  }
  if (changed)
    return `Production changed while the preview uploaded: ${changed}. versions upload never deploys, so someone or something else did: check production before you roll anything back.`;
  if (after instanceof Error)
    return `The preview uploaded (version ${versionId}), but production could not be read again to prove it unchanged: ${after.message}`;
  return undefined;
}

/** The job summary: the preview's URLs (or why there are none), and production untouched (or not). */
function previewSummary(done: Uploaded, outputs: DeployOutputs, failure?: string): string {
  const { alias, before, urls } = done;
  const worker = outputs.workerName ? ` of \`${outputs.workerName}\`` : '';
  const verdict = failure
    ? '❌'
    : outputs.previewAliasUrl || outputs.previewUrl
      ? '✅ live'
      : '✅ uploaded, no URL';
  const rows: Array<[string, string]> = [
    ['Version', `\`${outputs.versionId || '–'}\` (serves no production traffic)`],
    ['Alias URL', outputs.previewAliasUrl ? link(outputs.previewAliasUrl, outputs.previewAliasUrl) : '–'],
    ['Version URL', outputs.previewUrl ? link(outputs.previewUrl, outputs.previewUrl) : '–'],
    ...(urls.note ? [['No preview URL', cell(urls.note)] as [string, string]] : []),
    ['Production', cell(productionLine(before, outputs, failure))],
    ...imageRows(before),
    ...(failure ? [['Error', cell(failure)] as [string, string]] : []),
  ];
  return `### deploy: preview \`${alias}\`${worker} ${verdict}\n\n${facts(rows)}\n`;
}

function productionLine(before: ProductionState, outputs: DeployOutputs, failure?: string): string {
  if (outputs.productionChanged)
    return `changed during the upload: now serves ${outputs.liveVersionId || 'nothing'}`;
  const live = describeDeployment(before.versions);
  if (failure && outputs.versionId) return `still serves ${live} (not read again)`;
  return `unchanged: still serves ${live} (read before and after the upload)`;
}

/** What the containers run: production's image, untouched (versions upload ships no image). */
function imageRows(before: ProductionState): Array<[string, string]> {
  if (!before.applications.length) return [];
  const images = before.applications.map((app) => `${app.name} on ${app.image}`).join('; ');
  return [
    [
      'Containers',
      cell(`untouched: ${images}, production's image (a preview uploads a Worker version only)`),
    ],
  ];
}
