import type { Log } from '../core/io.js';
import type { CloudflareApi } from '../wrangler/api.js';
import { findWranglerConfig, workerSettings } from '../wrangler/config.js';
import type { WranglerSession } from '../wrangler/session.js';
import type { ProductionState } from './production.js';

/**
 * Why a Worker rollback will be impossible after this deploy, or undefined. Cloudflare refuses to
 * roll a Worker back across a Durable Object migration (developers.cloudflare.com/workers/
 * configuration/versions-and-deployments/rollbacks/), so a deploy that applies a migration the live
 * Worker has not had cannot be undone by a rollback. The live Worker's migration tag is read as
 * wrangler reads it before a deploy (GET workers/services/:name, default_environment.script
 * .migration_tag: ../shared/reference/cloudflare-api.md); a first deploy has nothing to undo.
 */
export async function irreversibleChange(
  session: WranglerSession,
  api: CloudflareApi,
  before: ProductionState,
  target: { config?: string; environment?: string },
  log: Log,
): Promise<string | undefined> {
  if (!before.versions.length) return undefined;
  let configPath: string;
  try {
    configPath = findWranglerConfig(session.cwd, target.config);
  } catch {
    return undefined; // no config: wrangler itself says so when it deploys
  }
  const settings = workerSettings(configPath, target.environment);
  if (!settings) {
    log.warning(
      'The wrangler config is TOML: Slipway cannot tell whether this deploy adds a Durable Object migration.',
    );
    return undefined;
  }
  if (!settings.name || !settings.migrationTag) return undefined;
  const live = await liveMigrationTag(api, settings.name);
  if (live === settings.migrationTag) return undefined;
  return `it applies Durable Object migration "${settings.migrationTag}" to ${settings.name} (live: ${live ? `"${live}"` : 'none'}), and Cloudflare refuses to roll a Worker back across a migration`;
}

async function liveMigrationTag(api: CloudflareApi, name: string): Promise<string | undefined> {
  const service = await api.call<{ default_environment?: { script?: { migration_tag?: string } } }>(
    'GET',
    `workers/services/${encodeURIComponent(name)}`,
  );
  return service?.default_environment?.script?.migration_tag;
}
