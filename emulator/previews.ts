import { hasPreview } from './routes/versions.js';
import type { Script, Version } from './state.js';

/**
 * Which version a preview host serves, as Cloudflare's preview URLs do. Pure: the host calls it per
 * request, so an alias uploaded again moves to its new version at once.
 *
 * Source: Cloudflare's docs, cloudflare-docs src/content/docs/workers/versions-and-deployments/
 * preview-urls.mdx (https://developers.cloudflare.com/workers/versions-and-deployments/preview-urls/):
 * - "Both preview URL types follow the format: `<VERSION_PREFIX OR ALIAS>-<WORKER_NAME>.<SUBDOMAIN>.workers.dev`";
 *   the version prefix is the version id's first 8 characters (wrangler builds the URL from
 *   `versionId.slice(0, 8)`, wrangler-dist/cli.js 303375-303376).
 * - "Aliased preview URLs let you assign a persistent, readable alias to a specific Worker version";
 *   "Aliases may only be created during version upload" (the upload's `workers/alias` annotation,
 *   cli.js 303211-303215, kept as Version.alias): the alias serves the version that last uploaded it.
 * - "Only the 1000 most recently deployed aliases are retained. When a new alias is created beyond
 *   this limit, the least recently deployed alias is deleted." The page does not say per Worker or
 *   per account; the emulator counts per Worker, as the launch changelog did ("A maximum of 20
 *   aliases per Worker are retained": cloudflare/cloudflare-docs pull request #23668, since raised).
 * - "Preview URLs are not generated for Workers that implement a Durable Object, including
 *   Containers" (hasPreview, routes/versions.ts) and "Disabling Preview URLs will disable routing to
 *   both versioned and aliased preview URLs"; "If not given, `preview_urls = workers_dev` is the
 *   default" (as routes/subdomain.ts answers previews_enabled).
 * Not documented: whether a label that is both an existing version prefix and an alias picks the
 * version or the alias (an alias starts with a letter, so only prefixes starting a-f can collide);
 * the emulator takes the version.
 */
export const ALIASES_RETAINED = 1000;

/** The version a preview label (`<first 8 of a version id>` or `<alias>`) serves; undefined: no preview there. */
export function previewVersion(script: Script, label: string): Version | undefined {
  if (!(script.previewsEnabled ?? script.workersDev)) return undefined;
  const version = byPrefix(script, label) ?? byAlias(script, label);
  return version && hasPreview(script, version) ? version : undefined;
}

/** The version whose id starts with the 8-character prefix. */
function byPrefix(script: Script, label: string): Version | undefined {
  if (!/^[0-9a-f]{8}$/.test(label)) return undefined;
  return script.versions.find((version) => version.id.slice(0, 8) === label);
}

/** The newest version uploaded with the alias, while the alias is among the 1000 most recent. */
function byAlias(script: Script, label: string): Version | undefined {
  const newestFirst = [...script.versions].reverse();
  const retained = [...new Set(newestFirst.flatMap((version) => (version.alias ? [version.alias] : [])))];
  if (!retained.slice(0, ALIASES_RETAINED).includes(label)) return undefined;
  return newestFirst.find((version) => version.alias === label);
}

/** The preview's host name, `<label>-<worker>.<subdomain>.workers.dev`. */
export function previewHost(worker: string, label: string, subdomain: string): string {
  return `${label}-${worker}.${subdomain}.workers.dev`;
}
